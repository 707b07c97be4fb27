#!/usr/bin/env bash
# The parsing code and schemas of the assistants without an npm CLI (VS Code's own JSONC parser and
# mcp.json schema from @codingame/monaco-vscode-api, jsonc-parser, Ajv), which judge what Lanyard
# writes for VS Code, Zed, Windsurf and Claude Desktop (tests/e2e/ides_editors.rs), at the exact
# versions of tests/ide-parsers/package-lock.json.
# Skips `npm ci` when node_modules already matches the lock file.
set -euo pipefail
cd "$(dirname "$0")/../../tests/ide-parsers"

stamp="node_modules/.lanyard-lock-sha256"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "setup/ide-parsers: tests/ide-parsers/node_modules up to date"
  exit 0
fi
echo "setup/ide-parsers: npm ci in tests/ide-parsers"
npm ci --no-audit --no-fund --loglevel=error </dev/null
echo "$want" >"$stamp"
