#!/usr/bin/env bash
# Same calls, same results, whatever drives the session: runs test/parity/calls.lua (every
# call of the module, results with ids and times masked) natively under lua5.1 and luajit, and
# inside real nginx over cosockets through a per-request client (in a content handler and in a
# timer) and through the worker's shared client; the texts must be identical (the shared
# client's lacks only the connect and close steps). Starts its own ZooKeeper and nginx.
#
#   test/parity/run.sh        (RESTY_ZOOKEEPER_NATIVE=<.so> to skip the debug build)
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
WORK="$(mktemp -d /tmp/zk-parity.XXXXXX)"
NGINX_PID=""

cleanup() {
    if [[ -s "$WORK/nginx.pid" ]]; then
        NGINX_PID="$(cat "$WORK/nginx.pid")"
        kill -QUIT "$NGINX_PID" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$NGINX_PID" 2>/dev/null
    fi
    bash "$REPO/scripts/zk-testbed.sh" stop "$WORK/zk" >/dev/null 2>&1
    [[ "${KEEP:-}" == 1 ]] || rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

export RESTY_ZOOKEEPER_NATIVE="${RESTY_ZOOKEEPER_NATIVE:-$(cd "$REPO" && bash scripts/build-lua.sh debug)}"
ZK="$(bash "$REPO/scripts/zk-testbed.sh" start-single "$WORK/zk")" || { echo "FAIL: no ZooKeeper"; exit 1; }
PORT="$(free_port)"
mkdir -p "$WORK/tmp"
sed -e "s|@WORK@|$WORK|g" -e "s|@REPO@|$REPO|g" -e "s|@PORT@|$PORT|g" -e "s|@ZK@|$ZK|g" \
    "$HERE/nginx.conf.in" >"$WORK/nginx.conf"
nginx -p "$WORK" -c "$WORK/nginx.conf" || { echo "FAIL: nginx did not start"; exit 1; }
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$PORT/nope" >/dev/null 2>&1; [[ $? == 22 ]] && break; sleep 0.1; done

failed=0
cd "$REPO"
lua5.1 test/parity/native.lua "$ZK" /parity_lua51 >"$WORK/lua5.1.txt" 2>&1
for variant in luajit nginx-per-request nginx-timer nginx-shared; do
    case "$variant" in
    luajit) luajit test/parity/native.lua "$ZK" /parity_luajit >"$WORK/$variant.txt" 2>&1 ;;
    nginx-per-request) curl -s --max-time 120 "http://127.0.0.1:$PORT/per-request?root=/parity_request" >"$WORK/$variant.txt" ;;
    nginx-timer) curl -s --max-time 120 "http://127.0.0.1:$PORT/timer?root=/parity_timer" >"$WORK/$variant.txt" ;;
    nginx-shared) curl -s --max-time 120 "http://127.0.0.1:$PORT/shared?root=/parity_shared" >"$WORK/$variant.txt" ;;
    esac
    expected="$WORK/lua5.1.txt"
    if [[ "$variant" == nginx-shared ]]; then
        grep -Ev '^(connect|close|after close|session_state after close|states) ->' "$WORK/lua5.1.txt" >"$WORK/expected-shared.txt"
        expected="$WORK/expected-shared.txt"
    fi
    if diff -u "$expected" "$WORK/$variant.txt" >"$WORK/$variant.diff"; then
        echo "PASS $variant: $(wc -l <"$WORK/$variant.txt") results identical to lua5.1's"
    else
        failed=1
        echo "FAIL $variant differs from lua5.1:"
        cat "$WORK/$variant.diff"
    fi
done
if [[ "$(wc -l <"$WORK/lua5.1.txt")" -lt 70 ]]; then
    failed=1
    echo "FAIL the native run stopped early:"
    tail -5 "$WORK/lua5.1.txt"
fi
if grep -E '\[(alert|crit|emerg)\]|exited on signal' "$WORK/error.log"; then
    failed=1
    echo "FAIL nginx error log has alerts"
fi
((failed)) && { KEEP=1; tail -30 "$WORK/error.log"; exit 1; }
echo "parity: all variants identical"
