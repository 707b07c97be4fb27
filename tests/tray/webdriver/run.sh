#!/usr/bin/env bash
# Runs tests/tray/webdriver/flow.py: the test world, tauri-driver (+ WebKitWebDriver), Xvfb.
# Called by scripts/suites/60-tray.sh with a throwaway HOME already exported.
# Usage: run.sh TRAY_BINARY SCREENSHOT_DIR [TEST_SCRIPT (default flow.py; deeplink.py)]
set -uo pipefail
# The tray (started by tauri-driver) and the screenshots need one X display.
if [ -z "${DISPLAY:-}" ]; then
  exec xvfb-run -a -s "-screen 0 1280x900x24" "$0" "$@"
fi
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
tray="$1" shots="$2" script="${3:-flow.py}"
work="$(mktemp -d "${TMPDIR:-/tmp}/lanyard-wd.XXXXXX")"
pids=()
cleanup() { # our children and theirs (WebKitWebDriver under tauri-driver), by process id
  for p in "${pids[@]}"; do pkill -P "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# Two issuers: "idp" with DCR open (servers "demo" and "wiki"), "locked" with DCR refused (403,
# Keycloak's Trusted Hosts style) and a pre-registered client (server "locked").
# A registry ("open", for import.py) lists demo and locked (with its client id as a hint), plus a
# stdio-only and a broken entry; the test changes what it lists. "gated" is protected by idp and
# lists wiki.
config='{"issuers":[{"name":"idp"},{"name":"locked","dcr":"forbidden","clients":[{"client_id":"lanyard-desktop"}]}],"mcpServers":[{"name":"demo","issuer":"idp"},{"name":"locked","issuer":"locked"},{"name":"wiki","issuer":"idp"}],"registries":[{"name":"open","servers":["demo","locked"],"meta":{"locked":{"dev.lanyard/oauth":{"client_id":"lanyard-desktop"}}}},{"name":"gated","issuer":"idp","servers":["wiki"],"stdioOnly":false,"broken":false}]}'
# The world prints one JSON line, then serves until its stdin closes.
mkfifo "$work/world-in"
(exec node "$root/tests/world/world.mjs" --config "$config" <"$work/world-in" >"$work/world.json" 2>"$work/world.log") &
pids+=($!)
exec 9>"$work/world-in"
export WORLD_EXIT_ON_STDIN_EOF=1
for _ in $(seq 1 300); do [ -s "$work/world.json" ] && break; sleep 0.1; done
world="$(head -1 "$work/world.json")"
if [ -z "$world" ]; then
  cat "$work/world.log" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
export BROWSER="$(echo "$world" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["browser"])')"

# A tray host, as on a desktop (without one, the tray icon falls back to GtkStatusIcon).
(exec /usr/bin/python3 "$here/../watcher.py" >"$work/watcher.log" 2>&1) &
pids+=($!)
# Free ports: several runs (and other users' test runs) may share this machine.
# Below Linux's ephemeral range (32768+), so outgoing connections cannot take them meanwhile.
read -r port native_port < <(/usr/bin/python3 -c '
import random, socket
found = []
while len(found) < 2:
    p = random.randrange(20000, 32000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); found.append(p)
    except OSError:
        pass
    finally:
        s.close()
print(*found)')
# THEME=dark: the GTK theme's dark variant, what a desktop set to dark gives GTK apps.
[ "${THEME:-light}" = dark ] && export GTK_THEME=Adwaita:dark
(exec tauri-driver --port "$port" --native-port "$native_port" >"$work/driver.log" 2>&1) &
pids+=($!)
for _ in $(seq 1 100); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done

# The app is started through a wrapper that records how it ended (for a failing run's log).
cat >"$work/app" <<WRAP
#!/bin/sh
"$tray" "\$@" 2>>"$work/app.log"
echo "tray exited with status \$?" >>"$work/app.log"
WRAP
chmod +x "$work/app"
TAURI_DRIVER_PORT=$port /usr/bin/python3 "$here/$script" "$work/app" "$shots" "$world"
status=$?
if [ "$status" != 0 ]; then
  echo "--- tauri-driver log" >&2; grep -v "^ *[0-9]*: |^ *at " "$work/driver.log" | tail -40 >&2
  echo "--- tray log" >&2; grep -v INFO "$work/app.log" | tail -20 >&2
  echo "--- world log" >&2; tail -30 "$work/world.log" >&2
fi
exit "$status"
