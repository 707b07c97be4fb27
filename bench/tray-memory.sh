#!/usr/bin/env bash
# Idle memory of the tray (issue 6): PSS summed over the whole process tree (the tray and any
# WebKit helper processes), started with no window open, against a minimal Tauri app with one
# window open (src-tauri/examples/minimal_window.rs), measured in the same run, same machine.
# Target: tray under 80 MB. Prints both figures and the ratio. Not a test: no pass/fail.
#   bench/tray-memory.sh [SETTLE_SECONDS]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if [ -z "${DISPLAY:-}" ]; then exec xvfb-run -a -s "-screen 0 1280x900x24" "$0" "$@"; fi
if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then exec dbus-run-session -- "$0" "$@"; fi
settle="${1:-8}"
target="${CARGO_TARGET_DIR:-$root/target}"
cargo build -q -p lanyard-tray -p lanyard-cli --example minimal_window

tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
export HOME="$tmp" XDG_CONFIG_HOME="$tmp/.config" XDG_DATA_HOME="$tmp/.local/share" XDG_STATE_HOME="$tmp/.local/state"
export WEBKIT_DISABLE_COMPOSITING_MODE=1 NO_AT_BRIDGE=1 LANYARD_BIN="$target/debug/lanyard"

tree_pids() { # PID and all its descendants
  local p=$1; echo "$p"
  for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do tree_pids "$c"; done
}
pss_kb() { # sum of Pss over the tree
  local sum=0 kb
  for p in $(tree_pids "$1"); do
    kb=$(awk '/^Pss:/ {print $2}' /proc/"$p"/smaps_rollup 2>/dev/null || echo 0)
    sum=$((sum + ${kb:-0}))
  done
  echo "$sum"
}
measure() { # name, command... → prints "name KB processes"
  local name=$1; shift
  "$@" >/dev/null 2>&1 &
  local pid=$!
  sleep "$settle"
  local kb n
  kb=$(pss_kb "$pid"); n=$(tree_pids "$pid" | wc -l)
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
  echo "$name $kb $n"
}

read -r _ tray_kb tray_n < <(measure tray "$target/debug/lanyard-tray")
# GDK loads the GL stack (Mesa and LLVM here) when it opens the display; with GDK_GL=disable it
# does not. Shown separately: the tray does not set it (WebKit's windows may want GL).
read -r _ nogl_kb nogl_n < <(measure tray-nogl env GDK_GL=disable "$target/debug/lanyard-tray")
read -r _ min_kb min_n < <(measure minimal "$target/debug/examples/minimal_window")
mb() { echo "scale=1; $1/1024" | bc; }
echo "profile: debug (what CI builds); PSS summed over the process tree, after ${settle}s idle"
printf 'tray, idle, no window                : %6s MB PSS (%d processes)\n' "$(mb "$tray_kb")" "$tray_n"
printf 'tray, idle, no window, GDK_GL=disable: %6s MB PSS (%d processes)\n' "$(mb "$nogl_kb")" "$nogl_n"
printf 'minimal Tauri app, 1 window          : %6s MB PSS (%d processes)\n' "$(mb "$min_kb")" "$min_n"
printf 'ratio tray / minimal                 : %6s   (target: tray under 80 MB)\n' "$(echo "scale=2; $tray_kb/$min_kb" | bc)"
