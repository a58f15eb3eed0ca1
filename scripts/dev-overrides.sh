# Sourced by the scripts that run a CLI against the provider built from this tree.

# use_dev_provider <provider dir> <config file>: writes a CLI configuration whose dev_overrides
# make Terraform and OpenTofu load the provider from <provider dir> instead of a registry, and
# points TF_CLI_CONFIG_FILE at it.
use_dev_provider() {
  cat >"$2" <<TFRC
provider_installation {
  dev_overrides {
    "registry.terraform.io/apimall/apimall" = "$1"
    "registry.opentofu.org/apimall/apimall" = "$1"
  }
  direct {}
}
TFRC
  export TF_CLI_CONFIG_FILE="$2" CHECKPOINT_DISABLE=1
}
