#!/usr/bin/env bash
# Tray click → painted wizard (bench/tray-click.py) under Xvfb and a private session bus.
#   bench/tray-click.sh [SAMPLES]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if [ -z "${DISPLAY:-}" ]; then exec xvfb-run -a -s "-screen 0 1280x900x24" "$0" "$@"; fi
if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then exec dbus-run-session -- "$0" "$@"; fi
target="${CARGO_TARGET_DIR:-$root/target}"
cargo build -q -p lanyard-tray
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
export HOME="$tmp" XDG_CONFIG_HOME="$tmp/.config" XDG_DATA_HOME="$tmp/.local/share" XDG_STATE_HOME="$tmp/.local/state"
export WEBKIT_DISABLE_COMPOSITING_MODE=1 NO_AT_BRIDGE=1 LANYARD_BIN="$target/debug/lanyard"
echo "profile: debug; Xvfb, software rendering"
/usr/bin/python3 bench/tray-click.py "$target/debug/lanyard-tray" "${1:-5}"
