#!/usr/bin/env bash
# Packaging suite (issue 7 "Packages"): build the .deb with the Tauri CLI (debug profile, the
# one CI builds), install it with dpkg, run `lanyard --version` and `lanyard-tray --version` from
# PATH, check the desktop entry and icons, remove the package. Prints `N passed, N failed`.
# Needs root (dpkg); skipped with a note otherwise.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
passed=0 failed=0
check() { if eval "$2"; then echo "PASS $1"; passed=$((passed + 1)); else echo "FAIL $1"; failed=$((failed + 1)); fi; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit; }

if [ "$(id -u)" != 0 ]; then
  echo "deb suite: needs root for dpkg; skipped"
  finish
fi
if dpkg-query -W -f='${Status}' lanyard 2>/dev/null | grep -q "install ok installed"; then
  echo "deb suite: a lanyard package is already installed on this machine; not touching it"
  finish
fi

target_dir="${CARGO_TARGET_DIR:-$root/target}"
check "scripts/package --debug deb (cargo tauri build --debug --bundles deb)" 'scripts/package --debug deb >/dev/null'
deb="$(ls "$target_dir"/debug/bundle/deb/*.deb 2>/dev/null | head -1)"
check ".deb produced" '[ -n "$deb" ]'
[ -n "$deb" ] || finish
check "dpkg -i" 'dpkg -i "$deb" >/dev/null'
check "lanyard on PATH runs --version" '[ "$(command -v lanyard)" = /usr/bin/lanyard ] && lanyard --version'
check "lanyard-tray on PATH runs --version" 'lanyard-tray --version'
check "desktop entry installed (opens lanyard:// links)" 'grep -q "^Exec=lanyard-tray %u" /usr/share/applications/Lanyard.desktop && grep -q "x-scheme-handler/lanyard" /usr/share/applications/Lanyard.desktop'
check "icons installed" 'ls /usr/share/icons/hicolor/*/apps/lanyard-tray.png >/dev/null'
check "dpkg -r" 'dpkg -r lanyard >/dev/null'
check "nothing left on PATH" 'hash -r; ! command -v lanyard-tray >/dev/null && [ ! -e /usr/bin/lanyard ]'
finish
