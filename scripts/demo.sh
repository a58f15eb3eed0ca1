#!/usr/bin/env bash
# make demo: apply examples/demo against the built-in fake gateway with whichever CLI is present,
# show what was stored, then destroy and clean up, leaving no process and no file behind.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/dev-overrides.sh"
cli=${DEMO_CLI:-}
if [ -z "$cli" ]; then
  for candidate in terraform "$root/bin/tofu" tofu; do
    if command -v "$candidate" >/dev/null 2>&1; then cli=$(command -v "$candidate"); break; fi
  done
fi
if [ -z "$cli" ]; then
  echo "demo: no terraform or tofu found; run 'make tools' to build OpenTofu into bin/" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/apimall-demo.XXXXXX")
gateway_pid=""
cleanup() {
  status=$?
  trap - EXIT INT TERM
  if [ -n "$gateway_pid" ] && kill -0 "$gateway_pid" 2>/dev/null; then
    kill -TERM "$gateway_pid" 2>/dev/null || true
    wait "$gateway_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "==> building the provider and the fake gateway"
go build -o "$work/bin/terraform-provider-apimall" "$root"
go build -o "$work/bin/apimall-fake" "$root/internal/cmd/apimall-fake"

echo "==> starting the fake API Mall gateway"
# In a session of its own, so that Ctrl-C reaches the CLI (which stops gracefully) and not the
# gateway it is talking to; cleanup stops the gateway.
detach=""
command -v setsid >/dev/null && detach=setsid
$detach "$work/bin/apimall-fake" >"$work/gateway.out" 2>"$work/gateway.err" &
gateway_pid=$!
for _ in $(seq 1 100); do
  grep -q '^APIMALL_API_KEY=' "$work/gateway.out" 2>/dev/null && break
  kill -0 "$gateway_pid" 2>/dev/null || { cat "$work/gateway.err" >&2; exit 1; }
  sleep 0.1
done
grep -q '^APIMALL_API_KEY=' "$work/gateway.out" || {
  echo "demo: the fake gateway did not start within 10 s" >&2
  cat "$work/gateway.err" >&2
  exit 1
}
APIMALL_BASE_URL=$(sed -n 's/^APIMALL_BASE_URL=//p' "$work/gateway.out")
APIMALL_API_KEY=$(sed -n 's/^APIMALL_API_KEY=//p' "$work/gateway.out")
export APIMALL_BASE_URL APIMALL_API_KEY
echo "    gateway at $APIMALL_BASE_URL"

use_dev_provider "$work/bin" "$work/cli.tfrc"
export TF_IN_AUTOMATION=1
mkdir "$work/config"
cp "$root/examples/demo/"*.tf "$work/config/"
tf() { "$cli" -chdir="$work/config" "$@"; }

echo "==> $("$cli" version | head -n 1): apply"
tf apply -auto-approve -input=false -no-color
url=$(tf output -json hosted_files | tr ',{}' '\n\n\n' | sed -n 's/.*"url":"\([^"]*\)".*/\1/p' | head -n 1)
echo "==> fetching $url back"
curl -fsS -o "$work/fetched" -D "$work/headers" "$url"
echo "    $(grep -i '^content-type:' "$work/headers" | tr -d '\r'), $(wc -c <"$work/fetched" | tr -d ' ') bytes received"

echo "==> destroy (API Mall has no delete endpoint: the files stay in storage)"
tf destroy -auto-approve -input=false -no-color 2>&1 | tail -n 1
echo "==> done; stopping the gateway and removing $work"
