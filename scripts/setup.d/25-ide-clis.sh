#!/usr/bin/env bash
# The real assistant CLIs that judge Lanyard's config writers (tests/e2e/ides_*.rs):
# @anthropic-ai/claude-code, @openai/codex, @google/gemini-cli, @github/copilot, opencode-ai and
# @sourcegraph/amp at the exact versions of tests/ide-clis/package-lock.json (about 1.4 GB in
# node_modules, most of it Copilot's and opencode's native binaries; the four added in session 5
# took 50 s to install; all six from nothing 26 s). Their binaries come inside registry packages
# (Crush's npm package downloads its binary from GitHub at install time, so it is not among them).
# `npm install --no-save`, not `npm ci`: the registry reached here has opencode's and Amp's
# binary packages for Linux x64 only, so the lock file lists only those, and `npm ci` calls a lock
# without the other platforms' optional packages out of sync. With exact versions in package.json
# and the lock followed, the install is the same; --no-save leaves both files alone.
# Skips the install when node_modules already matches the lock file.
set -euo pipefail
cd "$(dirname "$0")/../../tests/ide-clis"

stamp="node_modules/.lanyard-lock-sha256"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "setup/ide-clis: tests/ide-clis/node_modules up to date"
  exit 0
fi
echo "setup/ide-clis: npm install in tests/ide-clis"
npm install --no-save --no-audit --no-fund --loglevel=error </dev/null
echo "$want" >"$stamp"
