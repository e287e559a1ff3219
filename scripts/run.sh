#!/usr/bin/env bash
# The main job on a fresh machine: install what is missing, build the native Lua module, start a
# local ZooKeeper if none listens on 127.0.0.1:2181, and run the original client's harness
# (test/test_zk.lua) against it under lua5.1 and luajit.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
library=$(bash scripts/build-lua.sh release)
export RESTY_ZOOKEEPER_NATIVE="$library"
export LUA_PATH="./lua/?.lua;./lua/?/init.lua;;"

server="127.0.0.1:2181"
if [[ "$(bash scripts/zk-testbed.sh 4lw "$server" srvr 2>/dev/null)" != *Mode:* ]]; then
    dir=$(mktemp -d /tmp/zk-run.XXXXXX)
    trap 'bash scripts/zk-testbed.sh stop "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
    echo "starting a local ZooKeeper on $server (in $dir)"
    bash scripts/zk-testbed.sh start-single "$dir" 2181 >/dev/null
fi

for lua in lua5.1 luajit; do
    echo "== test/test_zk.lua under $lua"
    "$lua" test/test_zk.lua "$server" /test_zk
done
