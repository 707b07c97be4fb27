#!/usr/bin/env bash
# The real assistant CLIs that judge Lanyard's config writers (tests/e2e/ides_*.rs):
# @anthropic-ai/claude-code and @openai/codex at the exact versions of tests/ide-clis/package-lock.json.
# Skips `npm ci` when node_modules already matches the lock file.
set -euo pipefail
cd "$(dirname "$0")/../../tests/ide-clis"

stamp="node_modules/.lanyard-lock-sha256"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "setup/ide-clis: tests/ide-clis/node_modules up to date"
  exit 0
fi
echo "setup/ide-clis: npm ci in tests/ide-clis"
npm ci --no-audit --no-fund --loglevel=error </dev/null
echo "$want" >"$stamp"
