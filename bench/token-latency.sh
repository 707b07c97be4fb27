#!/usr/bin/env bash
# Benchmark of issue 4: `lanyard token` latency vs mcp-remote warm start, and the refresh
# daemon's RSS/CPU with 1,000 servers. Private keychain, pinned npm packages, builds lanyard.
#   bench/token-latency.sh   (BENCH_TOKEN_RUNS=50 BENCH_REMOTE_RUNS=10 BENCH_SERVERS=1000
#                             BENCH_IDLE_SECS=30; LANYARD_BIN=target/release/lanyard to
#                             measure a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.d/20-node-world.sh >/dev/null
if [ ! -d bench/node_modules/mcp-remote ]; then (cd bench && npm ci --no-audit --no-fund --loglevel=error); fi
command -v hyperfine >/dev/null || { echo "hyperfine is missing (apt-get install hyperfine)" >&2; exit 1; }
if [ -z "${LANYARD_BIN:-}" ]; then cargo build -p lanyard-cli --quiet; fi
exec scripts/with-keyring node bench/token-latency.mjs "$@"
