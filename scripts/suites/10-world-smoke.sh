#!/usr/bin/env bash
# The test world checks itself without Lanyard (DCR, PKCE sign-in through the scripted browser,
# JWT audience, refresh rotation, revocation, consent denied, issuer restart, RFC 7592 delete).
set -uo pipefail
cd "$(dirname "$0")/../.."
if NODE_NO_WARNINGS=1 node tests/world/smoke.mjs >/tmp/lanyard-world-smoke.log 2>&1; then
  tail -1 /tmp/lanyard-world-smoke.log | cut -c1-200
  echo "1 passed, 0 failed"
else
  cat /tmp/lanyard-world-smoke.log
  echo "0 passed, 1 failed"
  exit 1
fi
