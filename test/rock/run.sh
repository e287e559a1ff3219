#!/usr/bin/env bash
# The LuaRock: `luarocks make --tree=TMP` at the repository root, then, from another directory
# and with only the rock tree's paths, `require "resty.zookeeper"` (and "zookeeper",
# "zk_connection") under lua5.1, luajit and nginx, each doing real calls against a server.
#   ZOOKEEPER_LUA_BUILD=debug|release   the configuration the rock builds (default release)
set -uo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="$(mktemp -d /tmp/zk-rock-test.XXXXXX)"
chmod 755 "$WORK"   # nginx workers (nobody) read the rock tree under it
NGINX_PID=""
finish() {
    [[ -z "$NGINX_PID" ]] || kill "$NGINX_PID" 2>/dev/null
    bash "$REPO/scripts/zk-testbed.sh" stop "$WORK/zk"
    rm -rf "$WORK"
}
trap finish EXIT
PASSED=0 FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "PASS $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }

TREE="$WORK/tree"
t0=$(date +%s)
if (cd "$REPO" && luarocks make --tree="$TREE" lua-resty-zookeeper-0.1.0-1.rockspec) >"$WORK/make.log" 2>&1; then
    pass "luarocks make --tree (${ZOOKEEPER_LUA_BUILD:-release}, $(($(date +%s) - t0)) s)"
else
    tail -n 30 "$WORK/make.log"; fail "luarocks make"; echo "$PASSED passed, $FAILED failed"; exit 1
fi
LUADIR="$TREE/share/lua/5.1"
for file in resty/zookeeper.lua resty/zookeeper/cosocket.lua resty/zookeeper/discovery.lua \
    zookeeper.lua zk_connection.lua resty/zookeeper_native.so; do
    if [[ -f "$LUADIR/$file" ]]; then pass "installed $file"; else fail "installed $file"; fi
done
ZK="$(bash "$REPO/scripts/zk-testbed.sh" start-single "$WORK/zk")" || { fail "start ZooKeeper"; exit 1; }

# Only the rock's paths; no repository path, no RESTY_ZOOKEEPER_NATIVE.
unset RESTY_ZOOKEEPER_NATIVE LUA_CPATH
export LUA_PATH="$LUADIR/?.lua;$LUADIR/?/init.lua;;"
mkdir -p "$WORK/elsewhere"
cat >"$WORK/elsewhere/use.lua" <<'LUA'
local zk = require "resty.zookeeper"
assert(require "zookeeper" == zk and require "zk_connection" == zk, "three names, one module")
local c = zk.new()
assert(c:connect(arg[1]))
local path = "/rock-" .. arg[2]
assert(c:create(path, "from the rock"))
assert(c:get_data(path) == "from the rock")
assert(c:delete(path))
c:close()
-- The native library loaded is the rock's, beside the shim.
local maps = io.open("/proc/self/maps"):read("*a")
local so = arg[3] .. "/resty/zookeeper_native.so"
assert(maps:find(so, 1, true), "not loaded from " .. so)
print("ok")
LUA
for lua in lua5.1 luajit; do
    out="$(cd "$WORK/elsewhere" && "$lua" use.lua "$ZK" "$lua" "$LUADIR" 2>&1)"
    if [[ "$out" == ok ]]; then pass "$lua requires and uses the rock"; else fail "$lua: $out"; fi
done

# nginx with only the rock's lua_package_path.
PORT="$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
mkdir -p "$WORK/nginx/logs" "$WORK/nginx/tmp"
cat >"$WORK/nginx/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log info;
events { worker_connections 16; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/tmp;
    lua_package_path "$LUADIR/?.lua;;";
    server {
        listen 127.0.0.1:$PORT;
        location = /rock {
            content_by_lua_block {
                local zk = require "resty.zookeeper"
                local c = zk.new()
                assert(c:connect("$ZK"))
                assert(c:create("/rock-nginx", "nginx"))
                local data = c:get_data("/rock-nginx")
                assert(c:delete("/rock-nginx"))
                c:close()
                ngx.say(data)
            }
        }
    }
}
CONF
(cd "$WORK/elsewhere" && exec nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log") &
NGINX_PID=$!
for _ in $(seq 100); do curl -s "http://127.0.0.1:$PORT/" >/dev/null 2>&1 && break; sleep 0.1; done
body="$(curl -s --max-time 10 "http://127.0.0.1:$PORT/rock")"
if [[ "$body" == nginx ]]; then pass "nginx requires and uses the rock"
else fail "nginx: '$body'"; tail -n 20 "$WORK/nginx/error.log"; fi

echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
