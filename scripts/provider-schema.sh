#!/usr/bin/env bash
# Prints `providers schema -json` for the provider built from this tree, with whichever CLI $CLI
# names, for tfplugindocs --providers-schema. tfplugindocs would otherwise look for `terraform`
# on the PATH (or download it), so docs could not be generated with OpenTofu alone. The
# provider is addressed as registry.terraform.io/hashicorp/apimall, the key tfplugindocs looks
# up, and both CLIs report it under that address.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cli=${CLI:?set CLI to a terraform or tofu binary}
work=$(mktemp -d "${TMPDIR:-/tmp}/apimall-schema.XXXXXX")
trap 'rm -rf "$work"' EXIT

go build -o "$work/bin/terraform-provider-apimall" "$root"
cat >"$work/cli.tfrc" <<TFRC
provider_installation {
  dev_overrides {
    "registry.terraform.io/hashicorp/apimall" = "$work/bin"
  }
  direct {}
}
TFRC
mkdir "$work/config"
printf 'terraform {\n  required_providers {\n    apimall = { source = "registry.terraform.io/hashicorp/apimall" }\n  }\n}\n' >"$work/config/main.tf"
TF_CLI_CONFIG_FILE="$work/cli.tfrc" CHECKPOINT_DISABLE=1 "$cli" -chdir="$work/config" providers schema -json
