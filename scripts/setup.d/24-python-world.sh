#!/usr/bin/env bash
# The test world's Python stacks (FastMCP, the official MCP Python SDK): a venv at
# tests/world/python/.venv with the exact pins of tests/world/python/requirements.txt.
# Skips pip when the venv was built from the same requirements file (a stamp of its sha256) and
# its interpreter still imports both stacks.
set -euo pipefail
cd "$(dirname "$0")/../../tests/world/python"

venv=".venv"
stamp="$venv/.lanyard-requirements-sha256"
want="$(sha256sum requirements.txt | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
  && "$venv/bin/python" -c 'import fastmcp, mcp, uvicorn, httpx' >/dev/null 2>&1; then
  echo "setup/python: tests/world/python/.venv up to date"
  exit 0
fi

py="$(command -v python3 || true)"
if [ -z "$py" ]; then
  echo "setup/python: python3 (3.10+) is required for the Python test world" >&2
  exit 1
fi
if ! "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
  echo "setup/python: python3 3.10 or newer is required (found $("$py" --version 2>&1))" >&2
  exit 1
fi
# Debian's python3 has no ensurepip without python3-venv.
if ! "$py" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "setup/python: installing python3-venv"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q </dev/null
  $SUDO apt-get install -y -q --no-install-recommends python3-venv </dev/null
fi

echo "setup/python: building $venv with $("$py" --version 2>&1)"
rm -rf "$venv"
"$py" -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --no-input -r requirements.txt </dev/null
echo "$want" >"$stamp"
echo "setup/python: tests/world/python/.venv ready"
