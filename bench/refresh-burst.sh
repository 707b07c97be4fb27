#!/usr/bin/env bash
# Benchmark of issue 18: `lanyard token` latency (p50/p99) in bursts of 10 concurrent callers
# with 15 s and 3-minute access tokens (rotating refresh tokens), next to a single caller, in the
# same run. Private keychain, test world, builds lanyard unless LANYARD_BIN is set
# (LANYARD_BIN=target/release/lanyard to measure a release build).
#   bench/refresh-burst.sh   (BENCH_ROUNDS=12 SOAK_BURST=10)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.d/20-node-world.sh >/dev/null
if [ ! -d bench/node_modules/@modelcontextprotocol ]; then (cd bench && npm ci --no-audit --no-fund --loglevel=error); fi
if [ -z "${LANYARD_BIN:-}" ]; then cargo build -p lanyard-cli --quiet; fi
NODE_NO_WARNINGS=1 exec scripts/with-keyring node bench/refresh-load.mjs --burst "$@"
