#!/usr/bin/env bash
# The corporate-network e2e tests (tests/e2e/net_corporate.rs) reach the test world through two
# real proxies: mitmproxy (intercepts TLS and re-signs with its own CA, like Zscaler or
# Netskope) and tinyproxy (a plain CONNECT proxy). Both run from the tests on loopback with
# private configs; the packages' own services are not used. openssl makes the test CAs.
# Pinned to Debian bookworm's versions; installs only what is missing.
set -euo pipefail

packages=(
  mitmproxy=8.1.1-2
  tinyproxy=1.11.1-2.1+deb12u1
  openssl
)

missing=()
for spec in "${packages[@]}"; do
  name="${spec%%=*}"
  want="${spec#*=}"
  have="$(dpkg-query -W -f='${Status} ${Version}' "$name" 2>/dev/null || true)"
  if [ "$name" = "$spec" ]; then
    [[ "$have" == "install ok installed"* ]] || missing+=("$spec")
  else
    [ "$have" = "install ok installed $want" ] || missing+=("$spec")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup/corporate-net: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup/corporate-net: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q </dev/null
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
# The package starts a system tinyproxy on port 8888; the tests run their own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet tinyproxy 2>/dev/null; then
  $SUDO systemctl disable --now tinyproxy || true
fi
