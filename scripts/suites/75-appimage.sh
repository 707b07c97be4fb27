#!/usr/bin/env bash
# AppImage suite (issue 7 "Packages"): build the AppImage with the Tauri CLI (debug profile, as
# the .deb suite does; the tools come from the package registries, see scripts/appimage-tools and scripts/package),
# then use it as a person who downloaded it would, in a throwaway HOME:
#   - the file is a type-2 AppImage holding the tray, the CLI, the desktop entry and WebKit;
#   - the CLI runs from it (a `lanyard` link to the image; `--cli`), through FUSE and without;
#   - the tray runs from it (tests/tray/sni_host.py: menu, wizard painted by the bundled WebKit,
#     a lanyard:// link handed to the running tray, Quit), and puts the CLI on PATH;
#   - that CLI signs in to the test world and connects Claude Code; the config names the copy
#     outside the image; the tray from the image shows the server signed in;
#   - `lanyard uninstall --yes` removes the CLI copy, the PATH link and the link handler.
# Prints `N passed, N failed`.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
  exec scripts/with-keyring "$0" "$@"
fi
passed=0 failed=0
check() { if eval "$2"; then echo "PASS $1"; passed=$((passed + 1)); else echo "FAIL $1"; failed=$((failed + 1)); fi; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit; }

target_dir="${CARGO_TARGET_DIR:-$root/target}"
log="$target_dir/appimage-build.log"
check "scripts/package --debug appimage (log: $log)" 'scripts/package --debug appimage >"$log" 2>&1'
image="$(ls "$target_dir"/debug/bundle/appimage/*.AppImage 2>/dev/null | head -1)"
check "an .AppImage is produced" '[ -n "$image" ] && [ -x "$image" ]'
[ -n "$image" ] || { tail -30 "$log"; finish; }
echo "image: $image ($(du -h "$image" | cut -f1))"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/lanyard-appimage.XXXXXX")"
# The AppImage runtime mounts the image under $TMPDIR: under ours, so that the clean-up finds
# what a killed run left mounted, and never touches anyone else's.
export TMPDIR="$tmp"
pids=()
cleanup() {
  for p in "${pids[@]}"; do pkill -P "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  # Mounts under our folder (never an image mounted by anyone else's running Lanyard), and
  # xdg-desktop-portal's document store.
  for m in $(grep -o " $tmp/[^ ]*" /proc/mounts 2>/dev/null); do fusermount -uz "$m" 2>/dev/null; done
  if [ -n "${LANYARD_KEYRING_HOME:-}" ] && [ -d "$LANYARD_KEYRING_HOME/run/doc" ]; then
    fusermount -uz "$LANYARD_KEYRING_HOME/run/doc" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# --- what is inside
check "type-2 AppImage magic (AI 02 at offset 8)" '[ "$(od -An -tx1 -j8 -N3 "$image" | tr -d " ")" = 414902 ]'
(cd "$tmp" && APPIMAGE_EXTRACT_AND_RUN=1 "$image" --appimage-extract >/dev/null 2>&1)
app="$tmp/squashfs-root"
check "holds the tray and the CLI" '[ -x "$app/usr/bin/lanyard-tray" ] && [ -x "$app/usr/bin/lanyard" ]'
check "holds the desktop entry (opens lanyard:// links) and the icons" \
  'grep -q "^Exec=lanyard-tray %u" "$app/Lanyard.desktop" && grep -q "x-scheme-handler/lanyard" "$app/Lanyard.desktop" && ls "$app"/usr/share/icons/hicolor/*/apps/lanyard-tray.png >/dev/null && [ -e "$app/.DirIcon" ]'
check "holds WebKitGTK and its helper processes" \
  'ls "$app"/usr/lib/libwebkit2gtk-4.1.so* >/dev/null && [ -x "$app/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/WebKitWebProcess" ]'
check "AppRun is Lanyard's, behind linuxdeploy's GTK hook" \
  'cmp -s "$app/AppRun.wrapped" src-tauri/linux/appimage/AppRun && grep -q "linuxdeploy-plugin-gtk.sh" "$app/AppRun"'
rm -rf "$app"

# --- the CLI from the image
ln -s "$image" "$tmp/lanyard"
want="lanyard $(cargo pkgid -p lanyard-cli 2>/dev/null | sed 's/.*[#@]//')"
check "a link named lanyard runs the CLI (FUSE)" '[ "$("$tmp/lanyard" --version 2>&1)" = "$want" ]'
check "a link named lanyard runs the CLI (no FUSE: APPIMAGE_EXTRACT_AND_RUN=1)" \
  '[ "$(APPIMAGE_EXTRACT_AND_RUN=1 "$tmp/lanyard" --version 2>&1)" = "$want" ]'
check "--cli runs the CLI" '[ "$("$image" --cli --version 2>&1)" = "$want" ]'

# --- the tray from the image, in a throwaway home
export HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config" XDG_DATA_HOME="$tmp/home/.local/share"
export XDG_STATE_HOME="$tmp/home/.local/state" XDG_CACHE_HOME="$tmp/home/.cache"
export CLAUDE_CONFIG_DIR="$tmp/home/.claude" CODEX_HOME="$tmp/home/.codex"
export XDG_RUNTIME_DIR="$tmp/run"
mkdir -p "$HOME" "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
unset LANYARD_BIN LANYARD_CONFIG_DIR
export WEBKIT_DISABLE_COMPOSITING_MODE=1 NO_AT_BRIDGE=1 LANYARD_TRAY_POLL_SECS=2
shots="$target_dir/appimage-screenshots"
mkdir -p "$shots"
run_py() { # a tests/tray host; its PASS/FAIL lines count here
  local out="$tmp/py.out" line
  xvfb-run -a -s "-screen 0 1280x900x24" /usr/bin/python3 "$@" >"$out" 2>&1
  grep -E '^(PASS|FAIL|menu:)' "$out"
  line="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -1)"
  if [ -n "$line" ]; then
    passed=$((passed + $(echo "$line" | cut -d' ' -f1)))
    failed=$((failed + $(echo "$line" | cut -d' ' -f3)))
  else
    tail -20 "$out"
    failed=$((failed + 1))
  fi
}
echo "== the tray from the image"
run_py tests/tray/sni_host.py --shots "$shots" -- "$image"
copy="$XDG_DATA_HOME/dev.lanyard.tray/bin/lanyard"
check "the tray put the CLI outside the image" '[ -x "$copy" ] && [ "$("$copy" --version)" = "$want" ]'
check "… on PATH as ~/.local/bin/lanyard" '[ "$(readlink "$HOME/.local/bin/lanyard")" = "$copy" ]'
handler="$XDG_DATA_HOME/applications/lanyard-tray-handler.desktop"
check "the image is registered for lanyard:// links" \
  'grep -qF "Exec=\"$image\" %u" "$handler" && grep -q "x-scheme-handler/lanyard" "$handler" && [ "$(XDG_UTILS_DEBUG_LEVEL=0 xdg-mime query default x-scheme-handler/lanyard)" = lanyard-tray-handler.desktop ]'

# --- sign in with that CLI, connect an assistant, see it in the image's tray
mkfifo "$tmp/world-in"
(exec node tests/world/world.mjs --config '{"issuers":[{"name":"idp"}],"mcpServers":[{"name":"demo","issuer":"idp"}]}' \
  <"$tmp/world-in" >"$tmp/world.json" 2>"$tmp/world.log") &
pids+=($!)
exec 9>"$tmp/world-in"
for _ in $(seq 1 300); do [ -s "$tmp/world.json" ] && break; sleep 0.1; done
world="$(head -1 "$tmp/world.json")"
check "the test world started" '[ -n "$world" ]'
[ -n "$world" ] || { cat "$tmp/world.log"; finish; }
field() { echo "$world" | /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
export BROWSER="$(field 'd["browser"]')"
url="$(field 'd["mcpServers"]["demo"]["url"]')"
lanyard="$HOME/.local/bin/lanyard"
check "lanyard add (the CLI on PATH) signs in" '"$lanyard" add "$url" --name demo >"$tmp/add.out" 2>&1 || { cat "$tmp/add.out"; false; }'
check "lanyard connect demo --ide claude" '"$lanyard" connect demo --ide claude >/dev/null'
check "Claude Code's config names the CLI outside the image" \
  'grep -qF "$copy" "$CLAUDE_CONFIG_DIR/.claude.json" && ! grep -q "\.mount_\|squashfs-root" "$CLAUDE_CONFIG_DIR/.claude.json"'
check "the CLI run inside the image (--cli) also names the copy: lanyard connect demo --ide codex" \
  '"$image" --cli connect demo --ide codex >/dev/null && grep -qF "$copy" "$CODEX_HOME/config.toml" && ! grep -q "\.mount_" "$CODEX_HOME/config.toml"'
check "the helper it names prints a token" '[ -n "$("$copy" token demo)" ]'
# "Start at login" was turned on while the image lived elsewhere (the file was moved since).
mkdir -p "$XDG_CONFIG_HOME/autostart"
printf '[Desktop Entry]\nType=Application\nVersion=1.0\nName=Lanyard\nComment=Lanyardstartup script\nExec=%s --autostart\nStartupNotify=false\nTerminal=false\n' \
  "$tmp/Downloads/Lanyard.AppImage" >"$XDG_CONFIG_HOME/autostart/Lanyard.desktop"
run_py tests/tray/sni_host.py --shots "$shots" --expect-server demo -- "$image"
check "a moved image's login item is pointed at where the image is now" \
  'grep -qxF "Exec=$image --autostart" "$XDG_CONFIG_HOME/autostart/Lanyard.desktop"'

# --- uninstall removes what the image added
check "lanyard uninstall --yes" '"$lanyard" uninstall --yes >"$tmp/uninstall.out" 2>&1 || { cat "$tmp/uninstall.out"; false; }'
check "the CLI copy, the PATH link and the link handler are gone" \
  '[ ! -e "$copy" ] && [ ! -L "$HOME/.local/bin/lanyard" ] && [ ! -e "$handler" ]'
check "the login item is gone" '[ ! -e "$XDG_CONFIG_HOME/autostart/Lanyard.desktop" ]'
check "no lanyard:// association is left" '! grep -qs "lanyard-tray-handler.desktop" "$XDG_CONFIG_HOME/mimeapps.list"'
finish
