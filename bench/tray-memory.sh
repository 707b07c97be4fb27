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
# --bins too: with only --example, cargo would build the example alone and measure a stale tray.
cargo build -q -p lanyard-tray -p lanyard-cli --bins --example minimal_window

tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
export HOME="$tmp" XDG_CONFIG_HOME="$tmp/.config" XDG_DATA_HOME="$tmp/.local/share" XDG_STATE_HOME="$tmp/.local/state"
export WEBKIT_DISABLE_COMPOSITING_MODE=1 NO_AT_BRIDGE=1 LANYARD_BIN="$target/debug/lanyard"

tree_pids() { # PID and all its descendants
  local p=$1; echo "$p"
  for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do tree_pids "$c"; done
}
pss_kb() { # sum of Pss (or of field $2, e.g. Rss) over the tree
  local sum=0 kb field=${2:-Pss}
  for p in $(tree_pids "$1"); do
    kb=$(awk -v f="$field:" '$1 == f {print $2}' /proc/"$p"/smaps_rollup 2>/dev/null || echo 0)
    sum=$((sum + ${kb:-0}))
  done
  echo "$sum"
}
measure() { # name, command... → prints "name PSS_KB processes RSS_KB"
  local name=$1; shift
  "$@" >/dev/null 2>&1 &
  local pid=$!
  sleep "$settle"
  local kb n rss
  kb=$(pss_kb "$pid"); n=$(tree_pids "$pid" | wc -l); rss=$(pss_kb "$pid" Rss)
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
  echo "$name $kb $n $rss"
}

# GDK probes GLX when it opens the display, loading Mesa and LLVM; the tray sets GDK_GL=disable
# for itself unless the user set GDK_GL (src-tauri/src/gl.rs). `GDK_GL=` (set, empty) is that
# override: GTK's default, GL probe included — the tray's figure before it set the variable.
# Measured first: GTK records the probe's answer on the X root window and later GTK clients of
# the same X server skip the probe, so only the first one shows its cost.
read -r _ gl_kb gl_n gl_rss < <(measure tray-gl env GDK_GL= "$target/debug/lanyard-tray")
read -r _ tray_kb tray_n tray_rss < <(measure tray env -u GDK_GL "$target/debug/lanyard-tray")
read -r _ min_kb min_n min_rss < <(measure minimal "$target/debug/examples/minimal_window")
mb() { echo "scale=1; $1/1024" | bc; }
echo "profile: debug (what CI builds); PSS summed over the process tree, after ${settle}s idle"
echo "(PSS splits shared pages among the processes mapping them: other GTK/WebKit apps running meanwhile lower every PSS figure; RSS counts shared pages whole)"
printf 'tray, idle, no window                : %6s MB PSS (%d processes; RSS %s MB)\n' "$(mb "$tray_kb")" "$tray_n" "$(mb "$tray_rss")"
printf 'tray, idle, no window, GDK_GL=, GL on : %6s MB PSS (%d processes; RSS %s MB)\n' "$(mb "$gl_kb")" "$gl_n" "$(mb "$gl_rss")"
printf 'minimal Tauri app, 1 window          : %6s MB PSS (%d processes; RSS %s MB)\n' "$(mb "$min_kb")" "$min_n" "$(mb "$min_rss")"
printf 'ratio tray / minimal                 : %6s   (target: tray under 80 MB)\n' "$(echo "scale=2; $tray_kb/$min_kb" | bc)"
