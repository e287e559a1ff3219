#!/usr/bin/env bash
# Runs every test: the Swift packages' tests (protocol units, a fuzz smoke loop, state machine,
# the direct driver, the Swift API against real single and ensemble servers, kazoo cross-checks),
# libFuzzer on the decoders and the session machine (scripts/fuzz.sh, 30 s a target),
# the `zk` command line against a real server (test/cli/run.sh), the documentation check,
# the Lua suite under lua5.1 and luajit (scripts/test-lua.sh), and the real-nginx test
# (test/nginx/run.sh), and the LuaRock (test/rock/run.sh). Every suite starts the servers it needs on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:/opt/swift/bin:$PATH"

failed=()
suite() {
    local name="$1"; shift
    echo "=== $name"
    if "$@"; then echo "=== $name: passed"; else echo "=== $name: FAILED"; failed+=("$name"); fi
}

swift build --build-tests
suite "swift test" swift test --skip-build
# Coverage-guided fuzzing, bounded: about 2 minutes with its own release build (docs/testing.md).
suite "fuzz (libFuzzer)" bash scripts/fuzz.sh 30
suite "zk command line" env ZK_BIN="$(swift build --show-bin-path)/zk" bash test/cli/run.sh
suite "documentation" bash test/docs/check.sh
# DocC: 3-7 s on a warm build, plus compiling the plugin (SymbolKit) once on a fresh machine.
suite "DocC (ZooKeeper)" swift package --disable-sandbox generate-documentation --target ZooKeeper --warnings-as-errors
native=$(bash scripts/build-lua.sh debug)
export RESTY_ZOOKEEPER_NATIVE="$native"
suite "lua" bash scripts/test-lua.sh
suite "parity (native and nginx)" bash test/parity/run.sh
suite "nginx" bash test/nginx/run.sh
suite "nginx openresty" bash test/nginx/openresty.sh
suite "nginx tls and sasl" bash test/nginx/security.sh
# The fault campaign (docs/chaos.md) with 5 faults: about a minute and a half.
suite "fault campaign (5 faults)" bash test/chaos/run.sh 5
# The rock reuses the debug module built above (a release build takes ~45 s more).
suite "luarock (lua5.1, luajit, nginx)" env ZOOKEEPER_LUA_BUILD=debug bash test/rock/run.sh

if ((${#failed[@]})); then
    echo "FAILED: ${failed[*]}"
    exit 1
fi
echo "all suites passed"
