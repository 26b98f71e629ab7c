#!/usr/bin/env bash
# compat.typescript_sdk: runs the official TypeScript SDK against sluice-sim (tests/compat/sdk_compat.mjs).
# Usage: run_sdk_compat.sh SLUICE_SIM_BINARY CACHE_DIR
# The SDK is installed once per pinned version into CACHE_DIR (in the build directory) and reused by later runs.
# Exit: 0 pass, 1 fail, 77 skipped (node is not installed; scripts/deps test installs it).
set -euo pipefail

if ! command -v node >/dev/null 2>&1; then
  echo "SKIP: node is not installed (scripts/deps test installs nodejs and npm)"
  exit 77
fi

sim=$1
cache=$2
here=$(cd "$(dirname "$0")" && pwd)
# Pinned after `npm view @anthropic-ai/sdk version`; bump deliberately, the cache is keyed by it.
sdk_version=1.16.0
key=sk-sluice-compat-not-a-real-key

node_major=$(node -p 'process.versions.node.split(".")[0]')
if ((node_major < 18)); then
  echo "FAIL: node $(node --version) is too old for @anthropic-ai/sdk (needs 18 or later)"
  exit 1
fi

dir="$cache/sdk-$sdk_version"
if [[ ! -f $dir/node_modules/@anthropic-ai/sdk/package.json ]]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "FAIL: npm is not installed and no cached SDK in $dir (scripts/deps test installs npm)"
    exit 1
  fi
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/install.XXXXXX")
  echo '{"private": true}' >"$tmp/package.json"
  echo "installing @anthropic-ai/sdk@$sdk_version into $dir"
  if ! (cd "$tmp" && timeout 300 npm install --no-audit --no-fund --loglevel=error "@anthropic-ai/sdk@$sdk_version"); then
    rm -rf "$tmp"
    echo "FAIL: npm install @anthropic-ai/sdk@$sdk_version failed"
    exit 1
  fi
  rm -rf "$dir"
  mv "$tmp" "$dir"
fi
# The script must sit beside node_modules so that `import '@anthropic-ai/sdk'` resolves.
cp "$here/sdk_compat.mjs" "$dir/sdk_compat.mjs"

out=$(mktemp)
"$sim" --port 0 --api-key "$key" --seed 7 >"$out" 2>&1 &
sim_pid=$!
cleanup() {
  kill "$sim_pid" 2>/dev/null || true
  wait "$sim_pid" 2>/dev/null || true
  rm -f "$out"
}
trap cleanup EXIT

port=
for _ in $(seq 100); do
  port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$out")
  [[ -n $port ]] && break
  kill -0 "$sim_pid" 2>/dev/null || break
  sleep 0.1
done
if [[ -z $port ]]; then
  echo "FAIL: sluice-sim did not report a port within 10 s; its output:"
  cat "$out"
  exit 1
fi
echo "sluice-sim listening on 127.0.0.1:$port"

ANTHROPIC_BASE_URL="http://127.0.0.1:$port" ANTHROPIC_API_KEY="$key" \
  SLUICE_SIM_CONTROL_URL="http://127.0.0.1:$port/control" \
  timeout 120 node "$dir/sdk_compat.mjs"
