#!/usr/bin/env bash
# The better-auth stack of the test world (tests/world/betterauth: better-auth + its MCP plugin
# + the official TypeScript MCP SDK, pinned in its package-lock.json), a third independent OAuth/MCP
# implementation for the interop matrix. Runs on the system Node 20. Skips `npm ci` when
# node_modules already matches the lock file.
set -euo pipefail
cd "$(dirname "$0")/../../tests/world/betterauth"

stamp="node_modules/.lanyard-lock-sha256"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d node_modules/better-auth ]; then
  echo "setup/betterauth: tests/world/betterauth/node_modules up to date"
  exit 0
fi
echo "setup/betterauth: npm ci in tests/world/betterauth"
npm ci --no-audit --no-fund --loglevel=error </dev/null
echo "$want" >"$stamp"
