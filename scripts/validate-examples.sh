#!/usr/bin/env bash
# Validates every example directory with the provider built from this tree, through a
# throwaway CLI configuration with dev_overrides, so nothing is downloaded.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/dev-overrides.sh"
cli=${CLI:-terraform}
work=$(mktemp -d "${TMPDIR:-/tmp}/apimall-examples.XXXXXX")
trap 'rm -rf "$work"' EXIT

go build -o "$work/bin/terraform-provider-apimall" "$root"
use_dev_provider "$work/bin" "$work/cli.tfrc"

for dir in $(cd "$root" && find examples -name '*.tf' -exec dirname {} \; | sort -u); do
  copy="$work/$dir"
  mkdir -p "$copy"
  cp "$root/$dir"/*.tf "$copy/"
  # The documentation examples leave out the terraform block; the provider's address is needed.
  if ! grep -q required_providers "$copy"/*.tf; then
    printf 'terraform {\n  required_providers {\n    apimall = { source = "apimall/apimall" }\n  }\n}\n' >"$copy/zz_required_providers.tf"
  fi
  if out=$("$cli" -chdir="$copy" validate -no-color 2>&1); then
    echo "valid: $dir"
  else
    echo "$out" >&2
    echo "invalid: $dir" >&2
    exit 1
  fi
done
