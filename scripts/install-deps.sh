#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need; quick when they are already there.
set -euo pipefail

PACKAGES=(
    zookeeper            # the real server the integration tests start (3.8)
    libslf4j-java liblog4j1.2-java   # so that server writes a log the tests can show
    python3              # the test bed picks free ports with it
    python3-kazoo        # an independent client for cross-checks (run by /usr/bin/python3)
    python3-pure-sasl    # kazoo's SASL (DIGEST-MD5), for the cross-checks of the SASL server
    liblua5.1-0-dev lua5.1 # Lua headers for the native module, and the plain Lua host
    luajit2              # OpenResty's LuaJIT (not Debian's luajit, which conflicts with nginx's Lua)
    lua-busted           # the Lua test runner
    nginx-light libnginx-mod-http-lua  # nginx with its Lua module, for the OpenResty tests
    curl                 # drives the nginx tests
    iproute2             # ss: the nginx tests map connections to workers
)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:/opt/swift/bin:$PATH"
command -v swift >/dev/null || { echo "swift not found (expected under /opt/swift)" >&2; exit 1; }
