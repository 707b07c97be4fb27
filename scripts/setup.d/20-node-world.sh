#!/usr/bin/env bash
# The test world's npm packages (exact versions from tests/world/package-lock.json).
# Skips `npm ci` when node_modules already matches the lock file.
set -euo pipefail
cd "$(dirname "$0")/../../tests/world"

if ! command -v node >/dev/null 2>&1; then
  echo "setup/node: Node.js 20 or newer is required for the test world (node is not on PATH)" >&2
  exit 1
fi
major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 20 ]; then
  echo "setup/node: Node.js 20 or newer is required for the test world (found $(node --version))" >&2
  exit 1
fi

stamp="node_modules/.lanyard-lock-sha256"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "setup/node: tests/world/node_modules up to date"
  exit 0
fi
echo "setup/node: npm ci in tests/world"
npm ci --no-audit --no-fund --loglevel=error </dev/null
echo "$want" >"$stamp"
