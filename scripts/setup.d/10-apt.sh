#!/usr/bin/env bash
# Debian packages the tests and the CLI need. Installs only what is missing (no apt-get at all
# when everything is present). Other parts add their own numbered files for their packages.
set -euo pipefail

packages=(
  ca-certificates
  dbus            # dbus-daemon, dbus-send: the private session bus of the tests
  dbus-x11        # dbus-launch for tools that expect it
  gnome-keyring   # the Secret Service the keychain store talks to on Linux
  libsecret-1-dev
  libsecret-tools # secret-tool: proves the private keychain works
  libdbus-1-dev
  pkg-config
  xvfb
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup/apt: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup/apt: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q </dev/null
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
