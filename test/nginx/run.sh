#!/usr/bin/env bash
# Real-nginx integration test of the resty.zookeeper Lua module.
#
#   test/nginx/run.sh
#
# Starts its own ZooKeeper (scripts/zk-testbed.sh, in a temp dir) and its own nginx (master
# process, 2 workers, a free 127.0.0.1 port; conf from test/nginx/nginx.conf.in, handlers in
# test/nginx/lua/zk_nginx_test.lua), then checks with curl (and kazoo, through test/kazoo_peer.py):
#   1. the module required in the master (init_by_lua) creates no thread there, and the
#      workers forked afterwards use it, still with no thread of their own after connecting;
#   2. a client made in an init_worker timer connects, creates its ephemeral node, reads it
#      back and hears changes made from outside through its watches (dispatch in that timer);
#   3. a per-request client in a content handler does new/connect/create/get_data/
#      get_children/delete/close correctly, and leaves no session behind;
#   4. while a request waits in client:watch(), plain requests are answered at once;
#   reload: after HUP (what `nginx -s reload` sends) the new workers connect and the old ones
#      close their sessions;
#   5. QUIT (what `nginx -s quit` sends) stops cleanly: no alert/crit/crash in the log, every
#      session closed;
#   exit-shared: each worker's shared client (zk.shared) closes its session, taking its
#      ephemeral node, within 1 s of HUP (reload) and of QUIT;
#   fork-after-connect: a second nginx whose master tries to connect (and call, and make a
#      shared client) in init_by_lua: refused with a clear error; its workers connect, quit works.
# Prints PASS/FAIL per check and "N passed, M failed"; exits non-zero on any failure.
#
# Environment: RESTY_ZOOKEEPER_NATIVE=<.so> skips the build and uses that library;
# SKIP_FORK_AFTER_CONNECT=1 skips the last check; KEEP=1 keeps the temp dir (always kept on
# failure); NGINX=<binary> (default nginx); NGX_LUA_ROOT=<dir> uses the Lua module, OpenResty's
# LuaJIT and lua-resty-core unpacked under <dir> instead of the installed ones (README.md);
# LUA_DIR=<dir> tests another copy of lua/.
set -uo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
WORK="$(mktemp -d /tmp/zk-nginx-test.XXXXXX)"
# shellcheck source=common.sh
source "$HERE/common.sh"
ROOT="/zk_nginx_test_$$"
NGINX_PID=""
NGX_DIR="$WORK/nginx"
WATCH_CURL_PID=""
ZK=""

cleanup() { finish_suite $? "$WATCH_CURL_PID"; }
trap cleanup EXIT
trap 'echo "# interrupted"; exit 130' INT TERM

# start_run_nginx DIR CONNECT_IN_MASTER: nginx from nginx.conf.in (see start_nginx in common.sh).
start_run_nginx() {
    start_nginx "$1" "$HERE/nginx.conf.in" "ZK=$ZK" "ROOT=$ROOT" "CONNECT_IN_MASTER=$2"
}

# The number of sessions each worker holds: its timer client and its shared client.
SESSIONS_PER_WORKER=2

# The current workers' init_worker clients (timer and shared) are all ready (or one of them
# reported an error).
workers_ready() {
    fetch_report || return 1
    local pid n=0
    for pid in $(workers_of "$NGINX_PID"); do
        grep -q "^[ws]:$pid:error=" <<<"$REPORT" && return 0   # no point waiting
        grep -q "^w:$pid:ready=yes" <<<"$REPORT" && grep -q "^s:$pid:ready=yes" <<<"$REPORT" && n=$((n + 1))
    done
    ((n >= 2))
}

# log_problems: crash/alert/error lines of $NGX_DIR/error.log, and anything on its stderr. The
# [error] lines nginx writes when a cosocket read times out are left to check f of
# openresty.sh (see README.md, known module issues); their number is logged here.
log_problems() {
    local bad
    bad="$(crash_lines "$NGX_DIR/error.log")"
    [[ -z "$bad" ]] || echo "error log: $(head -n 5 <<<"$bad" | tr '\n' ' ')"
    bad="$(error_lines "$NGX_DIR/error.log")"
    [[ -z "$bad" ]] || echo "error log has [error] lines: $(head -n 3 <<<"$bad" | tr '\n' ' ')"
    bad="$(grep -v '^$' "$NGX_DIR/stderr.log")"
    [[ -z "$bad" ]] || echo "stderr: $(head -n 5 <<<"$bad" | tr '\n' ' ')"
}

read_timeouts() { grep -cE "$READ_TIMEOUT_RE" "$NGX_DIR/error.log"; }

# ---- setup -----------------------------------------------------------------------------------

nginx_setup

t0=$(now_ms)
ZK="$(ZK_TESTBED_TIMEOUT=60 "$TESTBED" start-single "$WORK/zk" 2>"$WORK/zk-start.log")" ||
    { cat "$WORK/zk-start.log"; die "ZooKeeper did not start"; }
log "ZooKeeper $ZK serving after $(($(now_ms) - t0)) ms"
SESSIONS_AT_START="$(zk_sessions "$ZK")"
log "sessions on the server before nginx: $SESSIONS_AT_START"

start_run_nginx "$WORK/nginx" false || die "nginx did not start"
t0=$(now_ms)
wait_until 20 workers_ready || log "workers not ready after 20 s"
mapfile -t WORKERS < <(workers_of "$NGINX_PID")
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
        # Inside nginx the module moves its bytes on cosockets: no thread of its own, ever.
        [[ "$(report "w:$pid:threads_after_connect")" == 1 && "$(threads_of "$pid")" == 1 ]] ||
            problems+=("worker $pid has threads: $(report "w:$pid:threads_after_connect") after connect, $(threads_of "$pid") now")
        [[ "$(report "w:$pid:ready")" == yes ]] || problems+=("worker $pid not ready: $(report "w:$pid:error")")
        [[ "$(report "s:$pid:unknown_option")" == "unknown option 'sesion_timeout'|unknown option 'name'" ]] ||
            problems+=("worker $pid: unknown options answered '$(report "s:$pid:unknown_option")'")
    done
    log "master: threads before require/after require/after zk.new: $(report m:threads_before_require)/$(report m:threads_after_require)/$(report m:threads_after_new), now $master_threads; native $(report m:native)"
    for pid in "${WORKERS[@]}"; do
        log "worker $pid: threads before connect $(report "w:$pid:threads_before_connect"), after $(report "w:$pid:threads_after_connect") ($(cat /proc/"$pid"/task/*/comm 2>/dev/null | tr '\n' ' ')); connect took $(report "w:$pid:connect_ms") ms"
    done
    if ((${#problems[@]} == 0)); then
        pass "1 required in the master (1 thread before and after require and zk.new), the ${#WORKERS[@]} forked workers use it (still 1 thread each after connecting; unknown options refused)"
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
        pass "2 init_worker timer clients: ephemeral node per worker, read back, one-shot + persistent watches fired by outside changes (dispatch in the client's own timer)"
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
    # No per-request session may outlive its request: only the workers' own sessions remain.
    local want=$((SESSIONS_AT_START + SESSIONS_PER_WORKER * ${#WORKERS[@]}))
    sessions_settled() { [[ "$(zk_sessions "$ZK")" == "$want" ]]; }
    wait_until 5 sessions_settled || problems+=("$(zk_sessions "$ZK") sessions on the server after the requests, expected $want")
    if ((${#problems[@]} == 0)); then
        pass "3 per-request client: new/connect/create/get_data/get_children/delete/close correct in 6 requests, no session left"
    else
        fail "3 per-request client: ${problems[*]}"
    fi
}
check3

# ---- 4. a request waiting in watch(), the workers still serve ----------------------------------

# plain_burst N: N requests to /plain and one to /static; sets PLAIN_PIDS, PLAIN_TIMES, PLAIN_BAD,
# PLAIN_MAX (ms).
plain_burst() {
    PLAIN_PIDS=() PLAIN_TIMES=() PLAIN_BAD=0 PLAIN_MAX=0
    local i t
    for ((i = 0; i < $1; i++)); do
        if http /plain 2; then
            PLAIN_PIDS+=("${BODY##*pid=}")
            t="$(ms "$TIME")"
            PLAIN_TIMES+=("$t")
            PLAIN_MAX="$(awk -v a="$PLAIN_MAX" -v b="$t" 'BEGIN { print (b > a) ? b : a }')"
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
    local problems=() out="$WORK/watch-$name.out" t0 waited waiting="?" same=0
    t0=$(now_ms)
    curl -sS --max-time $((timeout_ms / 1000 + 10)) -o "$out" \
        "http://127.0.0.1:$PORT/watch?path=$path&kind=exists&timeout=$timeout_ms" 2>"$WORK/watch-$name.err" &
    WATCH_CURL_PID=$!
    pending() { fetch_report && [[ -n "$(report watch:pending)" ]]; }
    if ! wait_until 5 pending; then
        problems+=("the watch request never started waiting")
    else
        waiting="$(report watch:pending)"
        log "[$name] watch waiting in worker $waiting; /report served by $(report served_by)"
        # The waiting request holds no worker: every plain request is answered at once, also
        # by the worker it waits in (which one serves a request is up to the kernel).
        plain_burst 5
        local p
        for p in "${PLAIN_PIDS[@]}"; do [[ "$p" == "$waiting" ]] && same=$((same + 1)); done
        log "[$name] requests during the watch: latency (ms) ${PLAIN_TIMES[*]}; /plain served by ${PLAIN_PIDS[*]} ($same by the waiting worker)"
        ((PLAIN_BAD == 0)) || problems+=("$PLAIN_BAD plain requests failed while a request waited in worker $waiting")
        awk -v m="$PLAIN_MAX" 'BEGIN { exit !(m < 50) }' || problems+=("plain requests took up to $PLAIN_MAX ms (want < 50) while a request waited")
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
        pass "4$name a request waited in watch() in worker $waiting ($timeout_ms ms timeout, answered '${answer%% elapsed*}' after $elapsed ms); meanwhile 5 /plain + /static answered, max $PLAIN_MAX ms ($same /plain by the waiting worker)"
    else
        fail "4$name waiting watch: ${problems[*]}"
    fi
}
# a: the watch fires (a node created by another request).
watch_case a "$ROOT/watched" 6000 yes '^event type=1 state=3 path='"$ROOT"'/watched ' 0 5000
# b: nothing happens: the watch gives up at its timeout.
watch_case b "$ROOT/never" 2000 no '^err=timeout ' 1900 3500

# ---- reload: new workers connect, old ones close ----------------------------------------------

# shared_gone SIGNAL: sends SIGNAL to the master (kazoo_peer.py signal-gone, kazoo watching) and
# sets SHARED_GONE_MS (the slowest of the current workers' shared nodes to vanish, or "held")
# and SHARED_GONE (the tool's output).
shared_gone() {
    local pid paths=()
    fetch_report
    for pid in "${WORKERS[@]}"; do paths+=("$(report "s:$pid:node")"); done
    SHARED_GONE="$(timeout 30 "$PY" "$KAZOO" "$ZK" signal-gone "$NGINX_PID" "$1" 5 "${paths[@]}" 2>&1)"
    SHARED_GONE_MS="$(awk -v n="${#paths[@]}" '$1 == "gone" { c++; if ($3 > m) m = $3 } END { print (c == n) ? m + 0 : "held" }' <<<"$SHARED_GONE")"
}
EXIT_SHARED=()   # "SIGNAL ms old-sessions-still-on-the-server" per signal

check_reload() {
    local problems=() old=("${WORKERS[@]}") pid t0 old_sids=()
    fetch_report
    for pid in "${old[@]}"; do old_sids+=("$(report "s:$pid:session")"); done
    t0=$(now_ms)
    shared_gone HUP
    log "reload: HUP; old shared sessions' nodes: $(tr '\n' ' ' <<<"$SHARED_GONE")"
    new_workers_ready() {
        local p
        for p in "${old[@]}"; do alive "$p" && return 1; done
        workers_ready
    }
    wait_until 20 new_workers_ready || problems+=("old workers still running or new ones not ready 20 s after reload")
    mapfile -t WORKERS < <(workers_of "$NGINX_PID")
    log "reload: workers ${old[*]} -> ${WORKERS[*]} in $(($(now_ms) - t0)) ms"
    for pid in "${WORKERS[@]}"; do
        [[ "$(report "w:$pid:ready")" == yes ]] || problems+=("new worker $pid not ready: $(report "w:$pid:error")")
        [[ "$(report "s:$pid:ready")" == yes ]] || problems+=("new worker $pid's shared client not ready: $(report "s:$pid:error")")
        [[ "$(report "w:$pid:threads_before_connect")" == 1 ]] || problems+=("new worker $pid had $(report "w:$pid:threads_before_connect") threads before connect")
    done
    for pid in "${old[@]}"; do
        grep -q "zktest: worker $pid closed its client: true" "$NGX_DIR/error.log" || problems+=("old worker $pid did not log closing its client")
    done
    [[ "$(threads_of "$NGINX_PID")" == 1 ]] || problems+=("master has $(threads_of "$NGINX_PID") threads after reload")
    local want=$((SESSIONS_AT_START + SESSIONS_PER_WORKER * ${#WORKERS[@]}))
    sessions_settled() { [[ "$(zk_sessions "$ZK")" == "$want" ]]; }
    wait_until 5 sessions_settled || problems+=("$(zk_sessions "$ZK") sessions after reload, expected $want")
    local dump; dump="$("$TESTBED" 4lw "$ZK" dump 2>/dev/null)"
    for pid in "${old[@]}"; do
        grep -q "$ROOT/worker-$pid" <<<"$dump" && problems+=("old worker $pid's ephemeral still held")
    done
    local cons sid left=()
    cons="$("$TESTBED" 4lw "$ZK" cons 2>/dev/null)"
    for sid in "${old_sids[@]}"; do grep -q "sid=$sid[,)]" <<<"$cons" && left+=("$sid"); done
    EXIT_SHARED+=("HUP $SHARED_GONE_MS ${left[*]:-none}")
    http /crud 20 && [[ "$BODY" == *$'\ncrud ok' ]] || problems+=("/crud after reload: $CODE $(grep -v '^ok ' <<<"$BODY" | tr '\n' ' ')")
    local bad; bad="$(log_problems)"
    [[ -z "$bad" ]] || problems+=("$bad")
    if ((${#problems[@]} == 0)); then
        pass "reload HUP: old workers closed their sessions, new workers connected, master still 1 thread"
    else
        fail "reload: ${problems[*]}"
    fi
}
check_reload

# ---- 5. quit ---------------------------------------------------------------------------------

check5() {
    local problems=() pid old_sids=() t0
    log "sessions on the server before quit: $(zk_sessions "$ZK")"
    fetch_report
    for pid in "${WORKERS[@]}"; do old_sids+=("$(report "s:$pid:session")"); done
    t0=$(now_ms)
    shared_gone QUIT
    log "quit: QUIT; shared sessions' nodes: $(tr '\n' ' ' <<<"$SHARED_GONE")"
    wait_exit 20 "$t0"
    log "nginx exited with code $QUIT_RC $QUIT_MS ms after QUIT"
    ((QUIT_RC == 0)) || problems+=("nginx exit code $QUIT_RC (-1: hung, killed)")
    for pid in "${WORKERS[@]}"; do
        alive "$pid" && problems+=("worker $pid still alive")
        grep -q "zktest: worker $pid closed its client: true" "$NGX_DIR/error.log" ||
            problems+=("worker $pid did not log closing its client")
    done
    local bad; bad="$(log_problems)"
    [[ -z "$bad" ]] || problems+=("$bad")
    local t1; t1=$(now_ms)
    local cons sid left=()
    cons="$("$TESTBED" 4lw "$ZK" cons 2>/dev/null)"
    for sid in "${old_sids[@]}"; do grep -q "sid=$sid[,)]" <<<"$cons" && left+=("$sid"); done
    EXIT_SHARED+=("QUIT $SHARED_GONE_MS ${left[*]:-none}")
    sessions_back() { [[ "$(zk_sessions "$ZK")" == "$SESSIONS_AT_START" ]]; }
    if wait_until 10 sessions_back; then
        log "server connections back to $SESSIONS_AT_START $(($(now_ms) - t1)) ms after nginx exited"
    else
        problems+=("server still has $(zk_sessions "$ZK") sessions 10 s after nginx exited (start: $SESSIONS_AT_START)")
    fi
    # Closed sessions take their ephemerals at once; abandoned ones only at expiry (30 s).
    local dump; dump="$("$TESTBED" 4lw "$ZK" dump 2>/dev/null)"
    grep -q "$ROOT/" <<<"$dump" && problems+=("ephemerals still held: $(grep "$ROOT" <<<"$dump" | tr '\n' ' ')")
    log "[error] lines from cosocket read timeouts in this nginx's log: $(read_timeouts) (checked by openresty.sh, check f)"
    if ((${#problems[@]} == 0)); then
        pass "5 QUIT: exit code 0 in $QUIT_MS ms, no alert/crit/crash, both worker clients closed, cons back to $SESSIONS_AT_START, no ephemeral left"
    else
        fail "5 quit: ${problems[*]}"
    fi
}
check5

# ---- exit-shared: the shared clients' sessions end with their workers ---------------------------

check_exit_shared() {
    local problems=() entry sig gone left
    for entry in "${EXIT_SHARED[@]}"; do
        read -r sig gone left <<<"$entry"
        if [[ "$gone" == held ]] || ((gone > 1000)); then
            problems+=("$sig: the shared clients' ephemeral nodes gone after ${gone} ms (want <= 1000)")
        fi
        [[ "$left" == none ]] || problems+=("$sig: old shared sessions still on the server: $left")
    done
    ((${#EXIT_SHARED[@]} == 2)) || problems+=("measured ${#EXIT_SHARED[@]} of 2 signals")
    if ((${#problems[@]} == 0)); then
        pass "exit-shared: each worker's shared session closed (its ephemeral gone) within $(for entry in "${EXIT_SHARED[@]}"; do read -r sig gone _ <<<"$entry"; printf '%s ms of %s, ' "$gone" "$sig"; done | sed 's/, $//')"
    else
        fail "exit-shared: ${problems[*]}"
    fi
}
check_exit_shared

# ---- fork after connect: the master tries to connect before forking ---------------------------

check_fork_after_connect() {
    local problems=() pid want
    if ! start_run_nginx "$WORK/nginx-fork" true; then
        fail "fork-after-connect: nginx did not start"
        return
    fi
    wait_until 20 workers_ready || true
    local workers; mapfile -t workers < <(workers_of "$NGINX_PID")
    fetch_report || true
    log "fork-after-connect: master connect='$(report m:connect)' get='$(report m:get)' close=$(report m:close) shared='$(report m:shared)'; master threads after: $(report m:threads_after_close) ($(cat /proc/"$NGINX_PID"/task/*/comm 2>/dev/null | tr '\n' ' '))"
    # A session in the master would be shared by every forked worker: refused, clearly.
    want="nil resty.zookeeper: connect: no session in init_by_lua (the master process)"
    [[ "$(report m:connect)" == "$want"* ]] || problems+=("master connect: '$(report m:connect)', expected '$want...'")
    want="nil resty.zookeeper: get_data: cannot wait in the init phase"
    [[ "$(report m:get)" == "$want"* ]] || problems+=("master get_data: '$(report m:get)', expected '$want...'")
    want="nil resty.zookeeper: no session in init_by_lua (the master process)"
    [[ "$(report m:shared)" == "$want"* ]] || problems+=("master zk.shared{}: '$(report m:shared)', expected '$want...'")
    [[ "$(report m:threads_after_close)" == 1 && "$(threads_of "$NGINX_PID")" == 1 ]] ||
        problems+=("master threads: $(report m:threads_after_close) after the refused calls, $(threads_of "$NGINX_PID") now")
    for pid in "${workers[@]}"; do
        log "fork-after-connect: worker $pid: ready=$(report "w:$pid:ready") shared=$(report "s:$pid:ready") error='$(report "w:$pid:error")$(report "s:$pid:error")' after $(report "w:$pid:connect_ms") ms"
        [[ "$(report "w:$pid:ready")" == yes ]] || problems+=("worker $pid: $(report "w:$pid:error") after $(report "w:$pid:connect_ms") ms")
        [[ "$(report "s:$pid:ready")" == yes ]] || problems+=("worker $pid shared client: $(report "s:$pid:error")")
    done
    if http /crud 20 && [[ "$BODY" == *$'\ncrud ok' ]]; then
        log "fork-after-connect: /crud ok in $(ms "$TIME") ms"
    else
        problems+=("/crud: HTTP $CODE $(grep -v '^ok ' <<<"$BODY" | head -n 3 | tr '\n' ' ') ($(ms "$TIME") ms)")
    fi
    stop_nginx 10
    log "fork-after-connect: nginx -s quit -> exit code $QUIT_RC after $QUIT_MS ms"
    ((QUIT_RC == 0)) || problems+=("nginx -s quit: master did not exit within 10 s (exit code $QUIT_RC; -1: hung, killed)")
    for pid in "${workers[@]}"; do
        grep -q "zktest: worker $pid closed its client: true" "$NGX_DIR/error.log" || problems+=("worker $pid did not log closing its client")
    done
    local bad; bad="$(crash_lines "$NGX_DIR/error.log")"
    [[ -z "$bad" ]] || problems+=("error log: $(head -n 3 <<<"$bad" | tr '\n' ' ')")
    if ((${#problems[@]} == 0)); then
        pass "fork-after-connect: the master's connect, call and zk.shared{} in init_by_lua refused with a clear error (1 thread); its workers connect; quit is clean"
    else
        fail "fork-after-connect: ${problems[*]}"
    fi
}
if [[ "${SKIP_FORK_AFTER_CONNECT:-0}" == 1 ]]; then
    log "fork-after-connect check skipped (SKIP_FORK_AFTER_CONNECT=1)"
else
    check_fork_after_connect
fi

echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
