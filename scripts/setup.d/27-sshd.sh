#!/usr/bin/env bash
# A real OpenSSH server from Debian for the agent-forwarding e2e test (issue 15, item 3): started
# by the test itself on loopback with a throwaway host key and client key, never as a service.
# Pinned; installs only when missing (its openssh-client follows to the same version).
set -euo pipefail

version="1:9.2p1-2+deb12u10"
have="$(dpkg-query -W -f='${Status} ${Version}' openssh-server 2>/dev/null || true)"
if [ "$have" = "install ok installed $version" ]; then
  echo "setup/sshd: openssh-server $version present"
  exit 0
fi
echo "setup/sshd: installing openssh-server=$version"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d 101: the package must not start (or enable) a system sshd on port 22.
policy=/usr/sbin/policy-rc.d
created=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod +x "$policy"
  created=1
fi
$SUDO apt-get install -y -q --no-install-recommends "openssh-server=$version" "openssh-client=$version" </dev/null \
  || { $SUDO apt-get update -q </dev/null \
    && $SUDO apt-get install -y -q --no-install-recommends "openssh-server=$version" "openssh-client=$version" </dev/null; }
if [ -n "$created" ]; then $SUDO rm -f "$policy"; fi
