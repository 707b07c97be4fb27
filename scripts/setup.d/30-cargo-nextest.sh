#!/usr/bin/env bash
# cargo-nextest runs the workspace's tests (each test in its own process). Installed only if missing.
set -euo pipefail
if cargo nextest --version >/dev/null 2>&1; then
  echo "setup/cargo: $(cargo nextest --version | head -1) present"
  exit 0
fi
echo "setup/cargo: installing cargo-nextest"
cargo install cargo-nextest --locked </dev/null
