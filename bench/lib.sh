# Sourced by every benchmark entry point (bench/<name>): moves to the repository root and offers
# one `need_*` function per prerequisite. Each installs or builds only what is missing or stale,
# so a benchmark runs on a fresh machine and costs nothing extra on the second run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Debian packages of the tests (gnome-keyring and D-Bus for the private keychain, Xvfb) and
# Node 20+ with the test world's npm packages (oidc-provider, the MCP SDK server, the browser).
need_world() {
  scripts/setup.d/10-apt.sh >/dev/null
  scripts/setup.d/20-node-world.sh >/dev/null
}

# bench/node_modules exactly as bench/package-lock.json pins it (mcp-remote, the MCP SDK):
# `npm ci` when the lock changed since the last install, as scripts/setup.d does for the world.
need_bench_npm() {
  local stamp=bench/node_modules/.lanyard-lock-sha256 want
  want="$(sha256sum bench/package-lock.json | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  echo "bench: npm ci in bench/" >&2
  (cd bench && npm ci --no-audit --no-fund --loglevel=error </dev/null)
  echo "$want" >"$stamp"
}

need_python_world() { scripts/setup.d/24-python-world.sh >/dev/null; }
need_ide_clis() { scripts/setup.d/25-ide-clis.sh >/dev/null; }
# WebKitGTK and friends, ui/dist (embedded in the tray at compile time).
need_tauri() { scripts/setup.d/60-tauri.sh >/dev/null; }

need_apt() { # command package: installs the Debian package when the command is missing
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "bench: apt-get install $2" >&2
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$2" </dev/null >/dev/null \
    || { DEBIAN_FRONTEND=noninteractive $sudo apt-get update -q </dev/null >/dev/null \
      && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$2" </dev/null >/dev/null; }
}

# The `lanyard` measured: LANYARD_BIN when set (e.g. target/release/lanyard), else a debug build
# of the current sources. Exports LANYARD_BIN for the Node scripts (bench/common.mjs).
need_lanyard() {
  if [ -n "${LANYARD_BIN:-}" ]; then
    [ -x "$LANYARD_BIN" ] || { echo "bench: LANYARD_BIN=$LANYARD_BIN is not an executable" >&2; exit 1; }
  else
    cargo build -p lanyard-cli --quiet
    LANYARD_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/lanyard"
  fi
  export LANYARD_BIN
}
