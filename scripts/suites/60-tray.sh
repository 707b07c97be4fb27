#!/usr/bin/env bash
# Tray suite (issue 6), headless: Xvfb + the session bus of scripts/with-keyring.
#  1. The tray menu through D-Bus: tests/tray/sni_host.py plays the StatusNotifierWatcher,
#     reads the exported dbusmenu, clicks items, checks the windows appear, screenshots them.
#  1b. Memory (issue 17): tests/tray/memory.py measures the PSS of the tray's process tree idle,
#     after opening and closing each window kind (they run in a windows process that exits after
#     its last window) and after TRAY_MEMORY_CYCLES (50) open/close cycles; figures go to
#     target/tray-memory.txt.
#  2. The needs-sign-in notification: tests/tray/notify_host.py plays the notification server,
#     clicks the notification and checks that the sign-in window opens.
#  3. The WebDriver flows (tests/tray/webdriver/), when tauri-driver is installed: add, the
#     lanyard://add link, the dashboard with three servers in the light and the dark theme
#     (switches, keyboard, axe-core on each page), "Remove everything and quit…".
# Screenshots go to target/tray-screenshots/; LANYARD_UPDATE_SCREENSHOTS=1 also copies them to
# docs/screenshots/ (the README shows those). Prints `N passed, N failed`.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
  exec scripts/with-keyring "$0" "$@"
fi

target_dir="${CARGO_TARGET_DIR:-$root/target}"
# A LANYARD_BIN or LANYARD_TRAY given by the caller is used as it is, not built.
packages=()
[ -z "${LANYARD_TRAY:-}" ] && packages+=(-p lanyard-tray)
[ -z "${LANYARD_BIN:-}" ] && packages+=(-p lanyard-cli)
if [ "${#packages[@]}" -gt 0 ] && ! cargo build -q "${packages[@]}"; then
  echo "0 passed, 1 failed"
  exit 1
fi
tray="${LANYARD_TRAY:-$target_dir/debug/lanyard-tray}"
export LANYARD_BIN="${LANYARD_BIN:-$target_dir/debug/lanyard}"

# A throwaway home: the tray must never touch the real HOME's IDE configs or autostart entries.
tmp="$(mktemp -d "${TMPDIR:-/tmp}/lanyard-tray-suite.XXXXXX")"
# GTK in the tray starts xdg-desktop-portal on the private bus, which FUSE-mounts its document
# store under the bus's runtime dir; unmount it so scripts/with-keyring can delete that dir.
cleanup() {
  if [ -n "${LANYARD_KEYRING_HOME:-}" ] && [ -d "$LANYARD_KEYRING_HOME/run/doc" ]; then
    fusermount -uz "$LANYARD_KEYRING_HOME/run/doc" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
use_home() {
  export HOME="$1" XDG_CONFIG_HOME="$1/.config" XDG_DATA_HOME="$1/.local/share"
  export XDG_STATE_HOME="$1/.local/state" XDG_CACHE_HOME="$1/.cache"
  export CLAUDE_CONFIG_DIR="$1/.claude" CODEX_HOME="$1/.codex"
  mkdir -p "$HOME"
}
use_home "$tmp/home"
export XDG_RUNTIME_DIR="$tmp/run"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
# WebKitGTK under Xvfb without a GPU.
export WEBKIT_DISABLE_COMPOSITING_MODE=1
export NO_AT_BRIDGE=1 LANYARD_TRAY_POLL_SECS="${LANYARD_TRAY_POLL_SECS:-5}"

shots="$root/target/tray-screenshots"
mkdir -p "$shots"
passed=0 failed=0
run_test() { # runs a test command, shows its output, adds its "N passed, N failed" line
  local out="$tmp/test.out" line
  "$@" >"$out" 2>&1
  grep -v -E '^(dbus-daemon|SpiRegistry)|a11y|xdg-desktop-portal' "$out"
  line="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -1)"
  if [ -n "$line" ]; then
    passed=$((passed + $(echo "$line" | cut -d' ' -f1)))
    failed=$((failed + $(echo "$line" | cut -d' ' -f3)))
  else
    failed=$((failed + 1))
  fi
}

echo "== tray menu over D-Bus"
run_test xvfb-run -a -s "-screen 0 1280x900x24" /usr/bin/python3 tests/tray/sni_host.py --shots "$shots" -- "$tray"

echo "== memory: each window kind, then ${TRAY_MEMORY_CYCLES:-50} open/close cycles"
use_home "$tmp/home-memory"
run_test xvfb-run -a -s "-screen 0 1280x900x24" /usr/bin/python3 tests/tray/memory.py \
  --cycles "${TRAY_MEMORY_CYCLES:-50}" --report "$root/target/tray-memory.txt" -- "$tray"
use_home "$tmp/home"

echo "== needs-sign-in notification → sign-in window"
use_home "$tmp/home-notify"
run_test xvfb-run -a -s "-screen 0 1280x900x24" /usr/bin/python3 tests/tray/notify_host.py -- "$tray"
use_home "$tmp/home"

# One WebDriver flow, in a fresh home per attempt: WebKitWebDriver sometimes drops its connection
# mid-test under Xvfb, with the app still running fine (about one run in five on a quiet machine;
# up to every other run while other builds load both cores); two retries are made, and shown.
# Usage: webdriver_flow HOME_PREFIX SCRIPT.
webdriver_flow() {
  local prefix="$1" script="$2" attempt out
  for attempt in 1 2 3; do
    use_home "$tmp/$prefix$attempt"
    out="$tmp/$prefix.out"
    tests/tray/webdriver/run.sh "$tray" "$shots" "$script" >"$out" 2>&1
    if grep -q "^[0-9]* passed, 0 failed$" "$out" || [ "$attempt" = 3 ] || ! grep -q "RemoteDisconnected\|ConnectionReset\|timed out" "$out"; then
      run_test cat "$out"
      break
    fi
    echo "(WebDriver connection dropped; retrying in a fresh home)"
    grep -E '^(PASS|FAIL)' "$out"
  done
}

if [ -x tests/tray/webdriver/run.sh ] && command -v tauri-driver >/dev/null 2>&1; then
  echo "== wizard → sign-in → tools through WebDriver"
  webdriver_flow home-wd flow.py
  echo "== lanyard://add link: nothing contacted before consent, cancel, issuer warning"
  webdriver_flow home-link deeplink.py
  for attempt in 1 2 3; do [ -d "$tmp/home-wd$attempt" ] && use_home "$tmp/home-wd$attempt"; done
  echo "== the tray menu shows the added server"
  run_test xvfb-run -a -s "-screen 0 1280x900x24" /usr/bin/python3 tests/tray/sni_host.py --shots "$shots" --expect-server demo -- "$tray"
  echo "== the dashboard at a glance: three servers, switches, keyboard, axe-core (light theme)"
  THEME=light webdriver_flow home-dash-light dashboard.py
  echo "== the dashboard in the dark theme (GTK_THEME=Adwaita:dark)"
  THEME=dark webdriver_flow home-dash-dark dashboard.py
  echo "== Import from your gateway: costs, skipped entries, the issuer before sign-in, added, in the dashboard"
  LANYARD_TRAY_REGISTRY_SECS=3 webdriver_flow home-import import.py
  echo "== Remove everything and quit: the tray's own uninstall"
  webdriver_flow home-remove remove.py
fi

if [ "${LANYARD_UPDATE_SCREENSHOTS:-}" = 1 ]; then
  mkdir -p docs/screenshots && cp "$shots"/*.png docs/screenshots/ 2>/dev/null
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
