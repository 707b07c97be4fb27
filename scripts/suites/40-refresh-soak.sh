#!/usr/bin/env bash
# Refresh under load (issue 18): ~2 minutes on loopback against the test world — 12 s and 60 s
# access tokens with rotating refresh tokens, the daemon running (and killed with kill -9),
# bursts of concurrent `lanyard token`, an issuer outage, kill -9 of token/tools/call/bridge at
# random moments. Fails on any lost grant or double refresh (bench/refresh-load.mjs --soak).
# SOAK_SECS sets the length of the load phase (default 100).
set -uo pipefail
cd "$(dirname "$0")/../.."
scripts/setup.d/20-node-world.sh >/dev/null || exit 1
if [ ! -d bench/node_modules/@modelcontextprotocol ]; then
  (cd bench && npm ci --no-audit --no-fund --loglevel=error) || exit 1
fi
export LANYARD_BIN="${LANYARD_BIN:-$PWD/target/debug/lanyard}"
[ -x "$LANYARD_BIN" ] || cargo build -p lanyard-cli --quiet || exit 1
log=/tmp/lanyard-refresh-soak.log
if NODE_NO_WARNINGS=1 timeout 300 node bench/refresh-load.mjs --soak >"$log" 2>&1; then
  cat "$log"
  echo "1 passed, 0 failed"
else
  cat "$log"
  echo "0 passed, 1 failed"
  exit 1
fi
