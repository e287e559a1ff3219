#!/usr/bin/env bash
# The Lua test suite against a ZooKeeper of its own: builds the native module (debug), starts a
# single server (scripts/zk-testbed.sh) in a temporary directory, runs the original harness
# test/test_zk.lua and the busted specs of test/spec under lua5.1 and luajit, stops the server.
# Exits non-zero if anything failed.
#
#   scripts/test-lua.sh            # everything
#   scripts/test-lua.sh -v         # extra arguments go to busted
set -euo pipefail
cd "$(dirname "$0")/.."

workdir="$(mktemp -d "${TMPDIR:-/tmp}/test-lua.XXXXXX")"
cleanup() {
    scripts/zk-testbed.sh stop "$workdir/zk" || true
    scripts/zk-testbed.sh stop "$workdir/zk-secure" || true
    rm -rf "$workdir"
}
trap cleanup EXIT

echo "== building the native module (debug)"
native="$(scripts/build-lua.sh debug)"
[[ -f "$native" ]] || { echo "test-lua: no module at $native" >&2; exit 1; }

echo "== starting ZooKeeper"
connect="$(scripts/zk-testbed.sh start-single "$workdir/zk")"
echo "server: $connect"
echo "== starting a secure ZooKeeper (SASL, TLS with client certificates)"
secure="$(scripts/zk-testbed.sh start-secure "$workdir/zk-secure")"
echo "secure server: $secure"
export ZK_SECURE="$secure"

export ZK_CONNECT="$connect"
export RESTY_ZOOKEEPER_NATIVE="$native"
export LUA_PATH="./lua/?.lua;./lua/?/init.lua;;"
unset LUA_CPATH

failed=()
run() {
    local name="$1"; shift
    echo
    echo "== $name"
    if "$@"; then
        echo "-- $name: passed"
    else
        echo "-- $name: FAILED (exit $?)"
        failed+=("$name")
    fi
}

run "test/test_zk.lua (lua5.1)" lua5.1 test/test_zk.lua "$connect" /test_zk_lua51
run "test/test_zk.lua (luajit)" luajit test/test_zk.lua "$connect" /test_zk_luajit

for lua in lua5.1 luajit; do
    count_file="$workdir/assertions-$lua"
    : >"$count_file"
    args=()
    [[ "$lua" == luajit ]] && args+=(--lua=luajit)
    run "busted test/spec ($lua)" env ZK_ASSERT_COUNT_FILE="$count_file" busted "${args[@]}" "$@" test/spec
    echo "assertions run ($lua): $(cat "$count_file" 2>/dev/null || echo '?')"
done

echo
if ((${#failed[@]})); then
    echo "test-lua: FAILED: ${failed[*]}"
    exit 1
fi
echo "test-lua: all passed"
