#!/usr/bin/env bash
# Real-nginx integration test of the resty.zookeeper Lua module.
#
#   test/nginx/run.sh
#
# Starts its own ZooKeeper (scripts/zk-testbed.sh, in a temp dir) and its own nginx (master
# process, 2 workers, a free 127.0.0.1 port; conf from test/nginx/nginx.conf.in, handlers in
# test/nginx/lua/zk_nginx_test.lua), then checks with curl:
#   1. the module required in the master (init_by_lua) creates no thread there, and the
#      workers forked afterwards use it;
#   2. a client made in an init_worker timer connects, creates its ephemeral node, reads it
#      back and hears changes made from outside through its watches (dispatch in a timer);
#   3. a per-request client in a content handler does new/connect/create/get_data/
#      get_children/delete/close correctly, and leaves no session behind;
#   4. while one worker blocks in client:watch(), the other worker answers plain requests;
#   reload: after `nginx -s reload` the new workers connect and the old ones close their sessions;
#   5. `nginx -s quit` stops cleanly: no alert/crit/crash in the log, every session closed;
#   exit-gc: sessions of clients a handler never closed end when the worker's Lua VM goes;
#   fork-after-connect: a second nginx whose master connects (and closes) a client in
#      init_by_lua before forking: its workers must still connect, and quit must still work.
# Prints PASS/FAIL per check and "N passed, M failed"; exits non-zero on any failure.
#
# Environment: RESTY_ZOOKEEPER_NATIVE=<.so> skips the build and uses that library;
# SKIP_FORK_AFTER_CONNECT=1 skips the last check; KEEP=1 keeps the temp dir (always kept on
# failure); NGINX=<binary> (default nginx); NGX_LUA_ROOT=<dir> uses the Lua module, OpenResty's
# LuaJIT and lua-resty-core unpacked under <dir> instead of the installed ones (README.md).
set -uo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
NGINX="${NGINX:-nginx}"
TESTBED="$REPO/scripts/zk-testbed.sh"
WORK="$(mktemp -d /tmp/zk-nginx-test.XXXXXX)"
ROOT="/zk_nginx_test_$$"
PASSED=0
FAILED=0
NGINX_PID=""
NGX_DIR="$WORK/nginx"
WATCH_CURL_PID=""
ZK=""

log() { echo "# $*"; }
pass() { PASSED=$((PASSED + 1)); echo "PASS $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }
now_ms() { date +%s%3N; }

alive() {
    local state
    [[ -n "$1" && -r "/proc/$1/stat" ]] || return 1
    read -r _ _ state _ <"/proc/$1/stat" 2>/dev/null || return 1
    [[ "$state" != Z ]]
}

print_logs() {
    local dir f
    for dir in "$WORK"/nginx*; do
        for f in "$dir/error.log" "$dir/stderr.log" "$dir/stdout.log"; do
            [[ -s "$f" ]] || continue
            echo "----- tail of $f -----"
            tail -n 60 "$f"
        done
    done
    if [[ -s "$WORK/zk/log/zookeeper.log" ]]; then
        echo "----- tail of $WORK/zk/log/zookeeper.log -----"
        tail -n 30 "$WORK/zk/log/zookeeper.log"
    fi
}

kill_nginx() {
    alive "$NGINX_PID" || return 0
    local workers; workers="$(ps -o pid= --ppid "$NGINX_PID" 2>/dev/null || true)"
    kill -KILL "$NGINX_PID" $workers 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    alive "$WATCH_CURL_PID" && kill "$WATCH_CURL_PID" 2>/dev/null
    if alive "$NGINX_PID"; then
        log "cleanup: stopping nginx master $NGINX_PID"
        kill -QUIT "$NGINX_PID" 2>/dev/null || true
        local deadline=$((SECONDS + 10))
        while alive "$NGINX_PID" && ((SECONDS < deadline)); do sleep 0.1; done
        kill_nginx
    fi
    [[ -d "$WORK/zk" ]] && "$TESTBED" stop "$WORK/zk" >/dev/null 2>&1
    ((FAILED > 0 || rc != 0)) && print_logs
    if [[ "${KEEP:-0}" == 1 || $FAILED -gt 0 || $rc -ne 0 ]]; then
        echo "# logs kept in $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'echo "# interrupted"; exit 130' INT TERM

die() {
    echo "FAIL setup: $*"
    FAILED=$((FAILED + 1))
    echo "$PASSED passed, $FAILED failed"
    exit 1
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# http PATH [MAX_SECONDS]: sets CODE, TIME (seconds), BODY; returns non-zero unless 200.
http() {
    local out
    out="$(curl -sS --max-time "${2:-10}" -o "$WORK/body" -w '%{http_code} %{time_total}' \
        "http://127.0.0.1:$PORT$1" 2>"$WORK/curl.err")"
    CODE="${out%% *}"
    TIME="${out##* }"
    BODY="$(cat "$WORK/body" 2>/dev/null || true)"
    rm -f "$WORK/body"
    [[ "$CODE" == 200 ]]
}

ms() { awk -v t="$1" 'BEGIN { printf "%.1f", t * 1000 }'; }

# fetch_report: GET /report into REPORT; report KEY: a value from it.
fetch_report() { http /report 5 && REPORT="$BODY"; }
report() { sed -n "s|^$1=||p" <<<"$REPORT" | head -n 1; }

# Established sessions on the server (the 4lw connection itself has no sid).
zk_sessions() {
    local answer
    answer="$("$TESTBED" 4lw "$ZK" cons 2>/dev/null)" || { echo -1; return; }
    grep -c 'sid=0x' <<<"$answer" || true
}

# wait_until SECONDS COMMAND...: polls every 0.1 s.
wait_until() {
    local deadline=$(($(now_ms) + $1 * 1000)); shift
    until "$@"; do
        (($(now_ms) < deadline)) || return 1
        sleep 0.1
    done
}

threads_of() { ls "/proc/$1/task" 2>/dev/null | wc -l; }

# start_nginx DIR CONNECT_IN_MASTER: writes DIR/nginx.conf from the template, starts nginx on a
# free port and waits until it answers; sets NGINX_PID, PORT, CONF, NGX_DIR.
start_nginx() {
    NGX_DIR="$1"
    PORT="$(free_port)"
    mkdir -p "$NGX_DIR/tmp"
    sed -e "s|@WORK@|$NGX_DIR|g" -e "s|@REPO@|$REPO|g" -e "s|@HERE@|$HERE|g" \
        -e "s|@PORT@|$PORT|g" -e "s|@ZK@|$ZK|g" -e "s|@ROOT@|$ROOT|g" -e "s|@CONNECT_IN_MASTER@|$2|g" \
        -e "s|@LUA_MODULE@|$LUA_MODULE|g" -e "s|@EXTRA_LUA_PATH@|$EXTRA_LUA_PATH|g" \
        "$HERE/nginx.conf.in" >"$NGX_DIR/nginx.conf"
    CONF=("-p" "$NGX_DIR" "-c" "$NGX_DIR/nginx.conf")
    timeout 30 "${NGINX_ENV[@]}" "$NGINX" "${CONF[@]}" -t >"$NGX_DIR/configtest.log" 2>&1 ||
        { cat "$NGX_DIR/configtest.log"; return 1; }
    local t0; t0=$(now_ms)
    "${NGINX_ENV[@]}" "$NGINX" "${CONF[@]}" >"$NGX_DIR/stdout.log" 2>"$NGX_DIR/stderr.log" &
    NGINX_PID=$!
    nginx_up() { alive "$NGINX_PID" || return 2; http /static 1; }
    wait_until 30 nginx_up || { echo "# nginx (pid $NGINX_PID) did not answer on 127.0.0.1:$PORT"; return 1; }
    log "nginx master $NGINX_PID listening on 127.0.0.1:$PORT after $(($(now_ms) - t0)) ms"
}

# The current workers' init_worker clients are all ready (or one of them reported an error).
workers_ready() {
    fetch_report || return 1
    local pid n=0
    for pid in $(ps -o pid= --ppid "$NGINX_PID"); do
        grep -q "^w:$pid:error=" <<<"$REPORT" && return 0   # no point waiting
        grep -q "^w:$pid:ready=yes" <<<"$REPORT" && n=$((n + 1))
    done
    ((n >= 2))
}

# stop_nginx SECONDS: nginx -s quit, then wait for the master; KILL it (and its workers) if it
# hangs. Sets QUIT_MS and QUIT_RC (-1 when it had to be killed).
stop_nginx() {
    local t0; t0=$(now_ms)
    timeout 10 "${NGINX_ENV[@]}" "$NGINX" "${CONF[@]}" -s quit >"$NGX_DIR/signal.log" 2>&1 || kill -QUIT "$NGINX_PID" 2>/dev/null
    local deadline=$(($(now_ms) + $1 * 1000))
    while alive "$NGINX_PID" && (($(now_ms) < deadline)); do sleep 0.05; done
    QUIT_MS=$(($(now_ms) - t0))
    if alive "$NGINX_PID"; then
        QUIT_RC=-1
        log "master $NGINX_PID still alive $1 s after quit (its threads: $(cat /proc/"$NGINX_PID"/task/*/comm 2>/dev/null | tr '\n' ' ')); killing it"
        kill_nginx
    else
        wait "$NGINX_PID"; QUIT_RC=$?
    fi
    NGINX_PID=""
}

# log_problems: crash/alert/error lines of $NGX_DIR/error.log, and anything on its stderr.
log_problems() {
    local bad
    bad="$(grep -E '\[(alert|crit|emerg)\]|exited on signal|core dumped' "$NGX_DIR/error.log")"
    [[ -z "$bad" ]] || echo "error log: $(head -n 5 <<<"$bad" | tr '\n' ' ')"
    bad="$(grep -E '\[error\]' "$NGX_DIR/error.log")"
    [[ -z "$bad" ]] || echo "error log has [error] lines: $(head -n 3 <<<"$bad" | tr '\n' ' ')"
    bad="$(grep -v '^$' "$NGX_DIR/stderr.log")"
    [[ -z "$bad" ]] || echo "stderr: $(head -n 5 <<<"$bad" | tr '\n' ' ')"
}

# ---- setup -----------------------------------------------------------------------------------

for tool in "$NGINX" curl python3 java; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
# The Lua module: Debian's libnginx-mod-http-lua, or one unpacked under NGX_LUA_ROOT (see README).
LUA_MODULE=/usr/lib/nginx/modules/ngx_http_lua_module.so
EXTRA_LUA_PATH=""
NGINX_ENV=()
if [[ -n "${NGX_LUA_ROOT:-}" ]]; then
    LUA_MODULE="$NGX_LUA_ROOT/usr/lib/nginx/modules/ngx_http_lua_module.so"
    luajit_lib="$(ls "$NGX_LUA_ROOT"/usr/lib/*/libluajit-5.1.so.2 2>/dev/null | head -n 1)"
    [[ -n "$luajit_lib" ]] || die "no libluajit-5.1.so.2 under $NGX_LUA_ROOT/usr/lib/*/"
    NGINX_ENV=(env "LD_LIBRARY_PATH=$(dirname "$luajit_lib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
    EXTRA_LUA_PATH="$NGX_LUA_ROOT/usr/share/lua/5.1/?.lua;$NGX_LUA_ROOT/usr/share/lua/5.1/?/init.lua;"
fi
[[ -f "$LUA_MODULE" ]] ||
    die "$LUA_MODULE not found: install libnginx-mod-http-lua (it conflicts with Debian's luajit package, which removes it), or set NGX_LUA_ROOT"
[[ -f /usr/lib/nginx/modules/ndk_http_module.so ]] || die "libnginx-mod-http-ndk is not installed"

if [[ -n "${RESTY_ZOOKEEPER_NATIVE:-}" ]]; then
    SO="$RESTY_ZOOKEEPER_NATIVE"
else
    log "building the native module (scripts/build-lua.sh debug)"
    t0=$(now_ms)
    SO="$(timeout 1800 "$REPO/scripts/build-lua.sh" debug 2>"$WORK/build.log" | tail -n 1)" ||
        { tail -n 30 "$WORK/build.log"; die "build failed"; }
    log "built $SO in $(($(now_ms) - t0)) ms"
fi
[[ -f "$SO" ]] || die "native library $SO not found"
SO="$(readlink -f "$SO")"   # .build/debug is a symlink; /proc/PID/maps names the real file
export RESTY_ZOOKEEPER_NATIVE="$SO"   # passed to nginx by `env RESTY_ZOOKEEPER_NATIVE;`

t0=$(now_ms)
ZK="$(ZK_TESTBED_TIMEOUT=60 "$TESTBED" start-single "$WORK/zk" 2>"$WORK/zk-start.log")" ||
    { cat "$WORK/zk-start.log"; die "ZooKeeper did not start"; }
log "ZooKeeper $ZK serving after $(($(now_ms) - t0)) ms"
SESSIONS_AT_START="$(zk_sessions)"
log "sessions on the server before nginx: $SESSIONS_AT_START"

start_nginx "$WORK/nginx" false || die "nginx did not start"
t0=$(now_ms)
wait_until 20 workers_ready || log "workers not ready after 20 s"
mapfile -t WORKERS < <(ps -o pid= --ppid "$NGINX_PID" | tr -d ' ')
log "worker pids: ${WORKERS[*]}; their clients ready $(($(now_ms) - t0)) ms after nginx answered"

# ---- 1. required in the master, used by the forked workers ------------------------------------

check1() {
    local problems=() pid k
    [[ "$(report m:pid)" == "$NGINX_PID" ]] || problems+=("init_by_lua ran in pid $(report m:pid), not the master $NGINX_PID")
    [[ "$(report m:version)" == 1.0.0 ]] || problems+=("_VERSION=$(report m:version)")
    [[ "$(report m:native)" == "$SO" ]] || problems+=("master mapped '$(report m:native)', expected $SO")
    for k in threads_before_require threads_after_require threads_after_new threads_after_gc; do
        [[ "$(report "m:$k")" == 1 ]] || problems+=("master $k=$(report "m:$k")")
    done
    [[ "$(report m:new)" == ok ]] || problems+=("zk.new in the master: $(report m:new)")
    local master_threads; master_threads="$(threads_of "$NGINX_PID")"
    [[ "$master_threads" == 1 ]] || problems+=("master has $master_threads threads now")
    ((${#WORKERS[@]} == 2)) || problems+=("${#WORKERS[@]} workers, expected 2")
    for pid in "${WORKERS[@]}"; do
        [[ "$(report "w:$pid:threads_before_connect")" == 1 ]] ||
            problems+=("worker $pid had $(report "w:$pid:threads_before_connect") threads before its first connect")
        [[ "$(report "w:$pid:ready")" == yes ]] || problems+=("worker $pid not ready: $(report "w:$pid:error")")
    done
    log "master: threads before require/after require/after zk.new: $(report m:threads_before_require)/$(report m:threads_after_require)/$(report m:threads_after_new), now $master_threads; native $(report m:native)"
    for pid in "${WORKERS[@]}"; do
        log "worker $pid: threads before connect $(report "w:$pid:threads_before_connect"), after $(report "w:$pid:threads_after_connect") ($(cat /proc/"$pid"/task/*/comm 2>/dev/null | tr '\n' ' ')); connect took $(report "w:$pid:connect_ms") ms"
    done
    if ((${#problems[@]} == 0)); then
        pass "1 required in the master (1 thread before and after require and zk.new), the ${#WORKERS[@]} forked workers use it"
    else
        fail "1 master/fork: ${problems[*]}"
    fi
}
check1

# ---- 2. the init_worker timer's client: node, readback, watches -------------------------------

event_count() { # PID KIND
    local v; v="$(report "w:$1:n_$2")"; echo "${v:-0}"
}

check2() {
    local problems=() pid node t0 setter events expected
    for pid in "${WORKERS[@]}"; do
        node="$ROOT/worker-$pid"
        [[ "$(report "w:$pid:node")" == "$node" ]] || { problems+=("worker $pid: node '$(report "w:$pid:node")' error '$(report "w:$pid:error")'"); continue; }
        [[ "$(report "w:$pid:readback")" == ok ]] || problems+=("worker $pid readback: $(report "w:$pid:readback")")
        [[ "$(report "w:$pid:session")" =~ ^0x[0-9a-f]+$ ]] || problems+=("worker $pid session id '$(report "w:$pid:session")'")
        [[ "$(event_count "$pid" get)" == 0 && "$(event_count "$pid" persistent)" == 0 ]] ||
            problems+=("worker $pid heard events before any change: $(report "w:$pid:events")")

        # First change from outside (another session, in a request): both watches fire.
        t0=$(now_ms)
        if ! http "/op?op=set&path=$node&data=changed-1" || [[ "$BODY" != ok* ]]; then
            problems+=("set_data $node: $CODE $BODY"); continue
        fi
        setter="${BODY##*pid=}"
        fired1() { fetch_report && (($(event_count "$pid" get) >= 1 && $(event_count "$pid" persistent) >= 1)); }
        if wait_until 10 fired1; then
            log "worker $pid heard the 1st change $(($(now_ms) - t0)) ms after the request (set_data served by worker $setter)"
        else
            problems+=("worker $pid: no event 10 s after the 1st change (events: '$(report "w:$pid:events")')"); continue
        fi
        # Second change: only the persistent watch fires again.
        t0=$(now_ms)
        if ! http "/op?op=set&path=$node&data=changed-2" || [[ "$BODY" != ok* ]]; then
            problems+=("2nd set_data $node: $CODE $BODY"); continue
        fi
        fired2() { fetch_report && (($(event_count "$pid" persistent) >= 2)); }
        if wait_until 10 fired2; then
            log "worker $pid heard the 2nd change $(($(now_ms) - t0)) ms after the request"
        else
            problems+=("worker $pid: persistent watch silent 10 s after the 2nd change (events: '$(report "w:$pid:events")')"); continue
        fi
        sleep 0.3; fetch_report
        expected="get:3:3:$node persistent:3:3:$node persistent:3:3:$node"
        events="$(report "w:$pid:events")"
        # The order of the two callbacks of the first change is not specified.
        [[ "$(tr ' ' '\n' <<<"$events" | sort)" == "$(tr ' ' '\n' <<<"$expected" | sort)" ]] ||
            problems+=("worker $pid events '$events', expected '$expected' (any order)")
        [[ -z "$(report "w:$pid:dispatch_error")" ]] || problems+=("worker $pid dispatch error: $(report "w:$pid:dispatch_error")")
        log "worker $pid events: $events; state changes heard: '$(report "w:$pid:states")'"
    done
    if ((${#problems[@]} == 0)); then
        pass "2 init_worker timer clients: ephemeral node per worker, read back, one-shot + persistent watches fired by outside changes"
    else
        fail "2 worker clients: ${problems[*]}"
    fi
}
check2

# ---- 3. per-request clients in a content handler ----------------------------------------------

check3() {
    local problems=() i served=() times=()
    for i in 1 2 3 4 5 6; do
        if http /crud 20 && [[ "$BODY" == *$'\ncrud ok' ]]; then
            served+=("$(sed -n 's/.*pid=\([0-9]*\)$/\1/p' <<<"$BODY" | tail -n 1)")
            times+=("$(ms "$TIME")")
        else
            problems+=("request $i: HTTP $CODE: $(grep -v '^ok ' <<<"$BODY" | tr '\n' ' ')")
        fi
    done
    log "/crud request times (ms): ${times[*]}; served by: ${served[*]}"
    # No per-request session may outlive its request: only the two worker sessions remain.
    local want=$((SESSIONS_AT_START + ${#WORKERS[@]}))
    sessions_settled() { [[ "$(zk_sessions)" == "$want" ]]; }
    wait_until 5 sessions_settled || problems+=("$(zk_sessions) sessions on the server after the requests, expected $want")
    if ((${#problems[@]} == 0)); then
        pass "3 per-request client: new/connect/create/get_data/get_children/delete/close correct in 6 requests, no session left"
    else
        fail "3 per-request client: ${problems[*]}"
    fi
}
check3

# ---- 4. a blocking watch in one worker, the other worker still serves -------------------------

# plain_burst N: N requests to /plain and one to /static; sets PLAIN_PIDS, PLAIN_TIMES, PLAIN_BAD.
plain_burst() {
    PLAIN_PIDS=() PLAIN_TIMES=() PLAIN_BAD=0
    local i
    for ((i = 0; i < $1; i++)); do
        if http /plain 2; then
            PLAIN_PIDS+=("${BODY##*pid=}")
            PLAIN_TIMES+=("$(ms "$TIME")")
        else
            PLAIN_BAD=$((PLAIN_BAD + 1))
            PLAIN_TIMES+=("fail(${CODE})")
        fi
    done
    if http /static 2; then PLAIN_TIMES+=("static:$(ms "$TIME")"); else PLAIN_BAD=$((PLAIN_BAD + 1)); fi
}

# watch_case NAME PATH TIMEOUT_MS FIRE(yes/no) EXPECT_REGEX MIN_MS MAX_MS
watch_case() {
    local name="$1" path="$2" timeout_ms="$3" fire="$4" want="$5" min_ms="$6" max_ms="$7"
    local problems=() out="$WORK/watch-$name.out" t0 waited blocked="?"
    t0=$(now_ms)
    curl -sS --max-time $((timeout_ms / 1000 + 10)) -o "$out" \
        "http://127.0.0.1:$PORT/watch?path=$path&kind=exists&timeout=$timeout_ms" 2>"$WORK/watch-$name.err" &
    WATCH_CURL_PID=$!
    pending() { fetch_report && [[ -n "$(report watch:pending)" ]]; }
    if ! wait_until 5 pending; then
        problems+=("the watch request never started waiting")
    else
        blocked="$(report watch:pending)"
        log "[$name] watch waiting in worker $blocked; /report served by $(report served_by)"
        plain_burst 5
        local other=0 p
        for p in "${PLAIN_PIDS[@]}"; do [[ "$p" != "$blocked" ]] && other=$((other + 1)); done
        log "[$name] requests during the watch: latency (ms) ${PLAIN_TIMES[*]}; /plain served by ${PLAIN_PIDS[*]}"
        ((PLAIN_BAD == 0)) || problems+=("$PLAIN_BAD plain requests failed while worker $blocked waited")
        ((other == ${#PLAIN_PIDS[@]})) || problems+=("plain requests served by the blocked worker?")
        if [[ "$fire" == yes ]]; then
            if http "/op?op=create&path=$path" 5 && [[ "$BODY" == ok* ]]; then
                log "[$name] created $path $(($(now_ms) - t0)) ms after the watch request (served by worker ${BODY##*pid=})"
            else
                problems+=("create $path: $CODE $BODY")
            fi
        fi
    fi
    local deadline=$(($(now_ms) + timeout_ms + 10000))
    while alive "$WATCH_CURL_PID" && (($(now_ms) < deadline)); do sleep 0.05; done
    wait "$WATCH_CURL_PID" 2>/dev/null
    WATCH_CURL_PID=""
    waited=$(($(now_ms) - t0))
    local answer; answer="$(cat "$out" 2>/dev/null)"
    log "[$name] watch request answered after $waited ms: $answer"
    [[ "$answer" =~ $want ]] || problems+=("watch answered '$answer', expected /$want/")
    local elapsed; elapsed="$(sed -n 's/.*elapsed_ms=\([0-9]*\).*/\1/p' <<<"$answer")"
    if [[ -n "$elapsed" ]] && ((elapsed < min_ms || elapsed > max_ms)); then
        problems+=("watch waited $elapsed ms, expected $min_ms..$max_ms")
    fi
    if ((${#problems[@]} == 0)); then
        pass "4$name worker $blocked blocked in watch() ($timeout_ms ms timeout, answered '${answer%% elapsed*}' after $elapsed ms); the other worker served 5 /plain + /static, max latency $(printf '%s\n' "${PLAIN_TIMES[@]}" | sed 's/static://' | sort -n | tail -n 1) ms"
    else
        fail "4$name blocking watch: ${problems[*]}"
    fi
}
# a: the watch fires (a node created by a request the other worker serves).
watch_case a "$ROOT/watched" 6000 yes '^event type=1 state=3 path='"$ROOT"'/watched ' 0 5000
# b: nothing happens: the watch gives up at its timeout.
watch_case b "$ROOT/never" 2000 no '^err=timeout ' 1900 3500

# ---- reload: new workers connect, old ones close ----------------------------------------------

check_reload() {
    local problems=() old=("${WORKERS[@]}") pid t0
    t0=$(now_ms)
    timeout 10 "${NGINX_ENV[@]}" "$NGINX" "${CONF[@]}" -s reload >"$NGX_DIR/signal.log" 2>&1 || problems+=("nginx -s reload failed")
    new_workers_ready() {
        local p
        for p in "${old[@]}"; do alive "$p" && return 1; done
        workers_ready
    }
    wait_until 20 new_workers_ready || problems+=("old workers still running or new ones not ready 20 s after reload")
    mapfile -t WORKERS < <(ps -o pid= --ppid "$NGINX_PID" | tr -d ' ')
    log "reload: workers ${old[*]} -> ${WORKERS[*]} in $(($(now_ms) - t0)) ms"
    for pid in "${WORKERS[@]}"; do
        [[ "$(report "w:$pid:ready")" == yes ]] || problems+=("new worker $pid not ready: $(report "w:$pid:error")")
        [[ "$(report "w:$pid:threads_before_connect")" == 1 ]] || problems+=("new worker $pid had $(report "w:$pid:threads_before_connect") threads before connect")
    done
    for pid in "${old[@]}"; do
        grep -q "zktest: worker $pid closed its client: true" "$NGX_DIR/error.log" || problems+=("old worker $pid did not log closing its client")
    done
    [[ "$(threads_of "$NGINX_PID")" == 1 ]] || problems+=("master has $(threads_of "$NGINX_PID") threads after reload")
    local want=$((SESSIONS_AT_START + ${#WORKERS[@]}))
    sessions_settled() { [[ "$(zk_sessions)" == "$want" ]]; }
    wait_until 5 sessions_settled || problems+=("$(zk_sessions) sessions after reload, expected $want")
    local dump; dump="$("$TESTBED" 4lw "$ZK" dump 2>/dev/null)"
    for pid in "${old[@]}"; do
        grep -q "$ROOT/worker-$pid" <<<"$dump" && problems+=("old worker $pid's ephemeral still held")
    done
    http /crud 20 && [[ "$BODY" == *$'\ncrud ok' ]] || problems+=("/crud after reload: $CODE $(grep -v '^ok ' <<<"$BODY" | tr '\n' ' ')")
    local bad; bad="$(log_problems)"
    [[ -z "$bad" ]] || problems+=("$bad")
    if ((${#problems[@]} == 0)); then
        pass "reload nginx -s reload: old workers closed their sessions, new workers connected, master still 1 thread"
    else
        fail "reload: ${problems[*]}"
    fi
}
check_reload

# ---- 5. nginx -s quit ------------------------------------------------------------------------

# For the exit-gc check: two clients with an ephemeral each that the handler never closes.
KEPT=()
for i in 1 2; do
    if http /keep 10 && [[ "$BODY" == ok* ]]; then
        read -r _ kept_path kept_session <<<"$BODY"
        KEPT+=("$kept_path")
        log "kept (never closed) client: $kept_path, session $kept_session"
    else
        log "/keep failed: $CODE $BODY"
    fi
done

check5() {
    local problems=() pid
    log "sessions on the server before quit: $(zk_sessions)"
    stop_nginx 20
    log "nginx exited with code $QUIT_RC $QUIT_MS ms after nginx -s quit"
    ((QUIT_RC == 0)) || problems+=("nginx exit code $QUIT_RC (-1: hung, killed)")
    for pid in "${WORKERS[@]}"; do
        alive "$pid" && problems+=("worker $pid still alive")
        grep -q "zktest: worker $pid closed its client: true" "$NGX_DIR/error.log" ||
            problems+=("worker $pid did not log closing its client")
    done
    local bad; bad="$(log_problems)"
    [[ -z "$bad" ]] || problems+=("$bad")
    local t1; t1=$(now_ms)
    sessions_back() { [[ "$(zk_sessions)" == "$SESSIONS_AT_START" ]]; }
    if wait_until 10 sessions_back; then
        log "server connections back to $SESSIONS_AT_START $(($(now_ms) - t1)) ms after nginx exited"
    else
        problems+=("server still has $(zk_sessions) sessions 10 s after nginx exited (start: $SESSIONS_AT_START)")
    fi
    # Closed sessions take their ephemerals at once; abandoned ones only at expiry (30 s).
    local dump; dump="$("$TESTBED" 4lw "$ZK" dump 2>/dev/null)"
    grep -q "$ROOT/worker-" <<<"$dump" && problems+=("ephemerals still held: $(grep "$ROOT" <<<"$dump" | tr '\n' ' ')")
    if ((${#problems[@]} == 0)); then
        pass "5 nginx -s quit: exit code 0 in $QUIT_MS ms, no alert/crit/crash, both worker clients closed, cons back to $SESSIONS_AT_START, no ephemeral left"
    else
        fail "5 quit: ${problems[*]}"
    fi
}
check5

# ---- exit-gc: clients never closed end their sessions when the worker exits ---------------------

check_exit_gc() {
    if ((${#KEPT[@]} == 0)); then
        fail "exit-gc: no kept client was created"
        return
    fi
    # nginx has exited (check 5); a session its worker's Lua VM collected should be closed by
    # now, taking its ephemeral at once; an abandoned one keeps it until expiry (10 s).
    kept_gone() { ! "$TESTBED" 4lw "$ZK" dump 2>/dev/null | grep -q "$ROOT/kept-"; }
    if wait_until 2 kept_gone; then
        pass "exit-gc: the ${#KEPT[@]} clients never closed by their handlers ended their sessions when nginx exited"
    else
        local held; held="$("$TESTBED" 4lw "$ZK" dump 2>/dev/null | grep -o "$ROOT/kept-[0-9-]*" | tr '\n' ' ')"
        fail "exit-gc (module bug, see test/nginx/README.md): ephemerals of never-closed clients still held 2 s after nginx exited (sessions not closed, left to expire): $held"
    fi
}
check_exit_gc

# ---- fork after connect: the master connects (and closes) before forking -----------------------

check_fork_after_connect() {
    local problems=() pid
    if ! start_nginx "$WORK/nginx-fork" true; then
        fail "fork-after-connect: nginx did not start"
        return
    fi
    wait_until 20 workers_ready || true
    local workers; mapfile -t workers < <(ps -o pid= --ppid "$NGINX_PID" | tr -d ' ')
    fetch_report || true
    log "fork-after-connect: master connect=$(report m:connect) get=$(report m:get) close=$(report m:close); master threads after close: $(report m:threads_after_close) ($(cat /proc/"$NGINX_PID"/task/*/comm 2>/dev/null | tr '\n' ' '))"
    [[ "$(report m:connect)" == ok && "$(report m:get)" == ok ]] || problems+=("master: connect $(report m:connect), get $(report m:get)")
    for pid in "${workers[@]}"; do
        log "fork-after-connect: worker $pid: ready=$(report "w:$pid:ready") error='$(report "w:$pid:error")' after $(report "w:$pid:connect_ms") ms"
        [[ "$(report "w:$pid:ready")" == yes ]] || problems+=("worker $pid: $(report "w:$pid:error") after $(report "w:$pid:connect_ms") ms")
    done
    if http /crud 20 && [[ "$BODY" == *$'\ncrud ok' ]]; then
        log "fork-after-connect: /crud ok in $(ms "$TIME") ms"
    else
        problems+=("/crud: HTTP $CODE $(grep -v '^ok ' <<<"$BODY" | head -n 3 | tr '\n' ' ') ($(ms "$TIME") ms)")
    fi
    stop_nginx 10
    log "fork-after-connect: nginx -s quit -> exit code $QUIT_RC after $QUIT_MS ms"
    ((QUIT_RC == 0)) || problems+=("nginx -s quit: master did not exit within 10 s (exit code $QUIT_RC; -1: hung, killed)")
    local bad; bad="$(grep -E '\[(alert|crit|emerg)\]|exited on signal|core dumped' "$NGX_DIR/error.log")"
    [[ -z "$bad" ]] || problems+=("error log: $(head -n 3 <<<"$bad" | tr '\n' ' ')")
    if ((${#problems[@]} == 0)); then
        pass "fork-after-connect: workers of a master that connected and closed a client before forking connect; quit is clean"
    else
        fail "fork-after-connect (module bug, see test/nginx/README.md): ${problems[*]}"
    fi
}
if [[ "${SKIP_FORK_AFTER_CONNECT:-0}" == 1 ]]; then
    log "fork-after-connect check skipped (SKIP_FORK_AFTER_CONNECT=1)"
else
    check_fork_after_connect
fi

echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
