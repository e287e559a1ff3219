#!/usr/bin/env bash
# bench/nginx/run.sh — throughput and tail latency of ZooKeeper reads inside nginx (OpenResty
# mode of resty.zookeeper), against the original's approach and nginx's own ceiling. From the
# repository root:
#
#     bash bench/nginx/run.sh                          # default: 3 rounds x 5 variants x 10 s, about 3 min
#     BENCH_ROUNDS=1 BENCH_SECONDS=3 bash bench/nginx/run.sh      # a quick trial
#
# It installs wrk (and python3-kazoo, curl) if missing (apt-get --no-remove), builds our Lua
# module (scripts/build-lua.sh release; a private copy is used), starts its own ZooKeeper
# (scripts/zk-testbed.sh, temp dir) and its own nginx (Debian's nginx + libnginx-mod-http-lua,
# master + BENCH_WORKERS workers, default 1 so that a number is one worker's, on a free
# 127.0.0.1 port; conf bench/nginx/nginx.conf.in, handlers bench/nginx/lua/bench_nginx.lua),
# creates ZNODE (100 bytes) and 10 children of MEMBERS (100 bytes each), checks that every
# variant answers 200 with exactly those 100 bytes (it stops, loudly, otherwise), warms up, then
# for each round runs wrk on every variant (order rotated by one each round):
#
#   shared    zk.shared():get_data(ZNODE): the worker's one session, made in init_worker
#   ours      per request: zk.new, connect, get_data, close (a ZooKeeper session per request)
#   original  per request, the original's way: bench/nginx/lua/original_client.lua (cosocket,
#             hand-written ConnectRequest, GetData, closeSession, close)
#   dict      discovery.members(dict, MEMBERS): the mirror's shared dict, no round trip
#   plain     no ZooKeeper work: the ceiling of nginx + Lua on this machine
#
# Every handler checks the bytes it read and answers 500 on any mismatch or error (the error
# messages are counted in a shared dict and reported), so wrk's non-2xx count is the error
# count; a variant with any error (non-2xx, socket errors, timeouts, a worker that died) is
# flagged in the table. wrk -t THREADS -c CONNECTIONS -d SECONDS --latency, HTTP/1.1 keep-alive.
#
# Also measured per run: CPU of the nginx workers and of the ZooKeeper server per request
# (/proc, user+sys), and for the per-request variants the sessions ZooKeeper made during the run
# (ZooKeeper numbers sessions in sequence: a probe session, GET /sid, before and after the run),
# and the sessions still alive afterwards above the baseline (mntr zk_global_sessions: a leak).
#
# Output: a table (median over rounds: req/s, p50, p99, CPU/request; errors summed) and the
# ratios shared/ours, shared/original, ours/original, dict/shared. Raw results in
# bench/out/nginx-<stamp>/: runs/<phase>-r<round>-<variant>.{wrk,meta,errors} (wrk's text output
# with a WRKJSON line, our measurements, the handlers' error counts), results.jsonl, report.txt,
# header.txt, run.log, nginx-error.log and zookeeper.log (their last 5,000 lines), nginx.conf.
#
# Note: everything shares the machine (2 cores here): wrk (BENCH_THREADS threads), the nginx
# worker(s) and the ZooKeeper JVM compete for the same CPUs, so req/s is the system's; the
# CPU-per-request columns show where the cost goes (they too shift with load: batching).
#
# Environment (defaults):
#   BENCH_ROUNDS=3  BENCH_SECONDS=10 (per variant per round)  BENCH_WARMUP_SECONDS=3 (per variant)
#   BENCH_CONNECTIONS=50  BENCH_THREADS=2  BENCH_WRK_TIMEOUT=5 (s; slower answers count as timeouts)
#   BENCH_WORKERS=1 (nginx worker_processes)   BENCH_VARIANTS="shared ours original dict plain"
#   BENCH_TIMEOUT=3000  BENCH_SESSION_TIMEOUT=30000 (ms, for every client)
#   BENCH_SKIP_INSTALL=0  BENCH_SKIP_LUA_BUILD=0 (1: use .build/release/libzookeeper_lua.so as it is)
#   BENCH_LUA_REF=<git ref>: run the lua/ tree of that commit (git archive) instead of the work tree's
#   RESTY_ZOOKEEPER_NATIVE=<.so> (implies no build)   BENCH_OUT=bench/out/nginx-<stamp>   KEEP=1 (keep the temp dir)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/bench/nginx
T_START=$SECONDS

ROUNDS=${BENCH_ROUNDS:-3}
DURATION=${BENCH_SECONDS:-10}
WARMUP=${BENCH_WARMUP_SECONDS:-3}
CONNECTIONS=${BENCH_CONNECTIONS:-50}
THREADS=${BENCH_THREADS:-2}
WRK_TIMEOUT=${BENCH_WRK_TIMEOUT:-5}
WORKERS=${BENCH_WORKERS:-1}
read -r -a VARIANTS <<<"${BENCH_VARIANTS:-shared ours original dict plain}"
ZK_TIMEOUT=${BENCH_TIMEOUT:-3000}
SESSION_TIMEOUT=${BENCH_SESSION_TIMEOUT:-30000}
ZNODE=/bench_nginx/node
MEMBERS=/bench_nginx/members
DATA=$(printf '0123456789%.0s' {1..10})   # the 100 bytes; bench_nginx.lua's DATA
PY=/usr/bin/python3
CLK_TCK=$(getconf CLK_TCK)

for v in "${VARIANTS[@]}"; do
    case "$v" in shared|ours|original|dict|plain) ;; *) echo "unknown variant: $v" >&2; exit 1 ;; esac
done
for n in "$ROUNDS" "$DURATION" "$WARMUP" "$CONNECTIONS" "$THREADS" "$WORKERS" "$WRK_TIMEOUT"; do
    [[ "$n" =~ ^[0-9]+$ ]] || { echo "not a number: $n" >&2; exit 1; }
done
((DURATION > 0 && CONNECTIONS >= THREADS && THREADS > 0 && WORKERS > 0)) ||
    { echo "need BENCH_SECONDS > 0, BENCH_THREADS > 0, BENCH_CONNECTIONS >= BENCH_THREADS, BENCH_WORKERS > 0" >&2; exit 1; }

OUT=${BENCH_OUT:-bench/out/nginx-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT/runs"
OUT=$(cd "$OUT" && pwd)
LOG="$OUT/run.log"
: >"$LOG"
say() { echo "$*"; echo "$*" >>"$LOG"; }
die() { say "FATAL: $*"; exit 1; }

# ---- 1. packages --------------------------------------------------------------------------------
[[ -f /usr/lib/nginx/modules/ngx_http_lua_module.so && -f /usr/lib/nginx/modules/ndk_http_module.so ]] ||
    die "nginx's Lua module is missing (libnginx-mod-http-lua; see test/nginx/README.md)"
command -v nginx >/dev/null || die "no nginx"
if [[ "${BENCH_SKIP_INSTALL:-0}" != 1 ]]; then
    missing=()
    command -v wrk >/dev/null || missing+=(wrk)
    command -v curl >/dev/null || missing+=(curl)
    dpkg-query -W -f='${Status}' python3-kazoo 2>/dev/null | grep -q "install ok installed" || missing+=(python3-kazoo)
    if ((${#missing[@]})); then
        say "installing: ${missing[*]}"
        apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends --no-remove "$@"; }
        apt_install "${missing[@]}" >>"$LOG" 2>&1 ||
            { apt-get update -q >>"$LOG" 2>&1 && apt_install "${missing[@]}" >>"$LOG" 2>&1; } ||
            die "apt-get install ${missing[*]} failed (see $LOG)"
    fi
fi
command -v wrk >/dev/null || die "no wrk (apt-get install wrk)"

# ---- 2. temp dir, cleanup ----------------------------------------------------------------------
WORK=$(mktemp -d /tmp/zk-nginx-bench.XXXXXX)
ZKDIR="$WORK/zk"
NGX="$WORK/nginx"
NGINX_PID=""
WRK_PID=""

alive() {
    local state
    [[ -n "$1" && -r "/proc/$1/stat" ]] || return 1
    read -r _ _ state _ <"/proc/$1/stat" 2>/dev/null || return 1
    [[ "$state" != Z ]]
}
workers() { ps -o pid= --ppid "$NGINX_PID" 2>/dev/null | tr -s ' \n' ' ' | sed 's/^ //; s/ $//'; }

cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    trap '' PIPE   # a closed stdout must not cut the cleanup short
    set +e
    if alive "$WRK_PID"; then kill "$WRK_PID" 2>/dev/null; wait "$WRK_PID" 2>/dev/null; fi
    if alive "$NGINX_PID"; then
        local ws; ws=$(workers)
        kill -QUIT "$NGINX_PID" 2>/dev/null
        local deadline=$((SECONDS + 10))
        while alive "$NGINX_PID" && ((SECONDS < deadline)); do sleep 0.1; done
        if alive "$NGINX_PID"; then
            echo "nginx master $NGINX_PID did not quit in 10 s: killing it and its workers ($ws)" | tee -a "$LOG"
            # shellcheck disable=SC2086
            kill -KILL "$NGINX_PID" $ws 2>/dev/null
        fi
        wait "$NGINX_PID" 2>/dev/null
    fi
    [[ -d "$ZKDIR" ]] && bash scripts/zk-testbed.sh stop "$ZKDIR" >/dev/null 2>&1
    [[ -f "$NGX/error.log" ]] && tail -n 5000 "$NGX/error.log" >"$OUT/nginx-error.log"
    [[ -f "$NGX/nginx.conf" ]] && cp "$NGX/nginx.conf" "$OUT/nginx.conf"
    [[ -f "$ZKDIR/log/zookeeper.log" ]] && tail -n 5000 "$ZKDIR/log/zookeeper.log" >"$OUT/zookeeper.log"
    if [[ "${KEEP:-0}" == 1 ]]; then echo "temp dir kept: $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
trap 'exit 141' PIPE

# ---- 3. the module ------------------------------------------------------------------------------
BIN="$WORK/bin"; mkdir -p "$BIN"
if [[ -n "${RESTY_ZOOKEEPER_NATIVE:-}" ]]; then
    lib=$RESTY_ZOOKEEPER_NATIVE
elif [[ "${BENCH_SKIP_LUA_BUILD:-0}" == 1 ]]; then
    lib="$ROOT/.build/release/libzookeeper_lua.so"
else
    say "building the Lua module (scripts/build-lua.sh release; waits for SwiftPM's lock if busy)"
    lib=$(bash scripts/build-lua.sh release 2>>"$LOG") || die "scripts/build-lua.sh release failed (see $LOG)"
fi
[[ -f "$lib" ]] || die "no native library at $lib"
# A private copy: another build in this package must not swap the library under a run.
cp "$lib" "$BIN/libzookeeper_lua.so"
export RESTY_ZOOKEEPER_NATIVE="$BIN/libzookeeper_lua.so"

# ---- 4. the Lua code under test -------------------------------------------------------------------
if [[ -n "${BENCH_LUA_REF:-}" ]]; then
    commit=$(git rev-parse --verify "${BENCH_LUA_REF}^{commit}") || die "BENCH_LUA_REF=$BENCH_LUA_REF: no such commit"
    mkdir -p "$WORK/src"
    git archive "$commit" lua | tar -x -C "$WORK/src" || die "git archive $commit lua failed"
    LUA_DIR="$WORK/src/lua"
    LUA_DESC="lua/ of $BENCH_LUA_REF ($(git log -1 --format='%h %s' "$commit" | cut -c1-70))"
else
    LUA_DIR="$ROOT/lua"
    dirty=$(git status --porcelain -- lua 2>/dev/null | awk '{ print $2 }' | tr '\n' ' ')
    LUA_DESC="lua/ of the work tree at $(git log -1 --format=%h 2>/dev/null || echo '?')${dirty:+ + uncommitted changes: $dirty}"
fi
say "Lua code: $LUA_DESC"

# ---- 5. ZooKeeper -------------------------------------------------------------------------------
ZK=$(bash scripts/zk-testbed.sh start-single "$ZKDIR") || die "ZooKeeper did not start"
ZK_PID=$(cat "$ZKDIR/pid")
say "ZooKeeper on $ZK (pid $ZK_PID)"
"$PY" - "$ZK" "$ZNODE" "$MEMBERS" "$DATA" >>"$LOG" 2>&1 <<'EOF' || die "could not create the znodes (see $LOG)"
import sys
from kazoo.client import KazooClient
hosts, node, members, data = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].encode()
assert len(data) == 100
zk = KazooClient(hosts=hosts); zk.start(timeout=30)
zk.ensure_path(node.rsplit("/", 1)[0])
zk.create(node, data)
zk.ensure_path(members)
for i in range(10):
    zk.create(f"{members}/m{i:02d}", data)
assert zk.get(node)[0] == data and len(zk.get_children(members)) == 10
zk.stop(); zk.close()
print("created", node, "and 10 children of", members)
EOF

zk_4lw() { bash scripts/zk-testbed.sh 4lw "$ZK" "$1" 2>/dev/null; }
zk_sessions() { zk_4lw mntr | awk '$1 == "zk_global_sessions" { print $2; found = 1 } END { if (!found) print -1 }'; }

# ---- 6. nginx -----------------------------------------------------------------------------------
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$NGX/tmp"
sed -e "s|@DIR@|$NGX|g" -e "s|@LUA@|$LUA_DIR|g" -e "s|@HERE@|$HERE|g" -e "s|@PORT@|$PORT|g" \
    -e "s|@ZK@|$ZK|g" -e "s|@WORKERS@|$WORKERS|g" -e "s|@PATH@|$ZNODE|g" -e "s|@MEMBERS_PATH@|$MEMBERS|g" \
    -e "s|@TIMEOUT@|$ZK_TIMEOUT|g" -e "s|@SESSION_TIMEOUT@|$SESSION_TIMEOUT|g" \
    "$HERE/nginx.conf.in" >"$NGX/nginx.conf"
NGINX_CMD=(nginx -p "$NGX" -c "$NGX/nginx.conf" -e "$NGX/error.log")
"${NGINX_CMD[@]}" -t >>"$LOG" 2>&1 || die "nginx -t failed (see $LOG)"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
"${NGINX_CMD[@]}" >"$NGX/stdout.log" 2>"$NGX/stderr.log" &
NGINX_PID=$!
BASE="http://127.0.0.1:$PORT"

# get PATH: sets CODE and BODY (curl, 5 s at most)
get() {
    CODE=$(curl -sS --max-time 5 -o "$WORK/body" -w '%{http_code}' "$BASE$1" 2>>"$LOG") || CODE=000
    BODY=$(cat "$WORK/body" 2>/dev/null || true)
    rm -f "$WORK/body"
}
deadline=$((SECONDS + 30))
until get /plain; [[ "$CODE" == 200 ]]; do
    alive "$NGINX_PID" || { cat "$NGX/stderr.log" "$NGX/error.log" >>"$LOG" 2>/dev/null; die "nginx exited (see $LOG)"; }
    ((SECONDS < deadline)) || die "nginx did not answer on $BASE in 30 s"
    sleep 0.1
done
say "nginx master $NGINX_PID, $WORKERS worker(s) ($(workers)), on $BASE"

# ---- 7. every variant must answer 200 with the 100 bytes -------------------------------------------
for v in "${VARIANTS[@]}"; do
    # shared and dict: until the worker's session is up and the mirror has read; others: at once
    if [[ "$v" == shared || "$v" == dict ]]; then deadline=$((SECONDS + 30)); else deadline=$((SECONDS + 2)); fi
    while get "/$v"; [[ "$CODE" != 200 || "$BODY" != "$DATA" ]]; do
        if ((SECONDS >= deadline)) || ! alive "$NGINX_PID"; then
            say "FATAL: /$v answers $CODE with ${#BODY} bytes: ${BODY:0:200}"
            get /stats
            say "handler errors: $BODY"
            say "nginx error.log (last 20 lines):"; tail -n 20 "$NGX/error.log" | tee -a "$LOG"
            exit 1
        fi
        sleep 0.2
    done
    say "check: /$v answers 200 with the expected 100 bytes"
done
get /sid
[[ "$CODE" == 200 && "$BODY" =~ ^0x[0-9a-f]{16}$ ]] || die "/sid answers $CODE: $BODY"
get /stats?reset=1
SESSIONS_BASE=$(zk_sessions)
say "sessions alive on the server at rest: $SESSIONS_BASE (the workers' shared sessions)"

# ---- 8. header ----------------------------------------------------------------------------------
zk_version=$(zk_4lw srvr | sed -n 's/^Zookeeper version: //p' | cut -d- -f1)
{
    echo "# nginx ZooKeeper read benchmark — $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "nproc=$(nproc)  cpu: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)  load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "nginx $(nginx -v 2>&1 | sed 's|.*nginx/||') (libnginx-mod-http-lua $(dpkg-query -W -f='${Version}' libnginx-mod-http-lua 2>/dev/null)), $WORKERS worker(s);" \
         "ZooKeeper $zk_version (same machine); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
    echo "load: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency --timeout ${WRK_TIMEOUT}s (keep-alive)," \
         "$ROUNDS round(s), warm-up ${WARMUP}s per variant; variants: ${VARIANTS[*]}"
    echo "code: $LUA_DESC; native: $(sha256sum "$RESTY_ZOOKEEPER_NATIVE" | cut -c1-12)"
    echo "read: $ZNODE (100 bytes); dict: 10 children of $MEMBERS; session timeout ${SESSION_TIMEOUT} ms"
} | tee "$OUT/header.txt" >>"$LOG"
cat "$OUT/header.txt"

# ---- 9. runs ------------------------------------------------------------------------------------
cpu_ticks() {   # cpu_ticks PID...: user+sys clock ticks of those processes (all threads)
    local pid total=0 stat rest
    for pid in "$@"; do
        stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
        rest=${stat##*) }
        read -r -a f <<<"$rest"
        total=$((total + f[11] + f[12]))   # fields 14 and 15 of stat: utime, stime
    done
    echo "$total"
}
note() { printf '%s' "$*"; printf '%s' "$*" >>"$LOG"; }   # no newline
sid_probe() { get /sid; [[ "$CODE" == 200 ]] && echo "$BODY" || echo none; }

run_one() {   # run_one PHASE ROUND VARIANT SECONDS
    local phase=$1 round=$2 v=$3 secs=$4 name status ws_before ws_after sid_before=none sid_after=none
    local n0 n1 z0 z1 left=0 sessions_after
    name="$phase-r$round-$v"
    get "/stats?reset=1"
    ws_before=$(workers)
    [[ "$v" == ours || "$v" == original ]] && sid_before=$(sid_probe)
    # shellcheck disable=SC2086
    n0=$(cpu_ticks $ws_before); z0=$(cpu_ticks "$ZK_PID")
    status=0
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${secs}s" --latency --timeout "${WRK_TIMEOUT}s" \
        -s "$HERE/wrk_json.lua" "$BASE/$v" >"$OUT/runs/$name.wrk" 2>&1 &
    WRK_PID=$!
    wait "$WRK_PID" || status=$?
    WRK_PID=""
    # shellcheck disable=SC2086
    n1=$(cpu_ticks $ws_before); z1=$(cpu_ticks "$ZK_PID")
    [[ "$v" == ours || "$v" == original ]] && sid_after=$(sid_probe)
    ws_after=$(workers)
    # Sessions of the per-request variants still alive once the last handlers are done (a leak).
    # Ours keeps sessions between requests: the worker closes them once idle past their limit
    # (7.5 s here: a quarter of the session timeout, below keepalive's 10 s default).
    if [[ "$v" == ours || "$v" == original ]]; then
        local limit=$((SECONDS + 5))
        [[ "$v" == ours ]] && limit=$((SECONDS + 5 + SESSION_TIMEOUT / 4000))
        while sessions_after=$(zk_sessions); ((sessions_after > SESSIONS_BASE && SECONDS < limit)); do sleep 0.2; done
        left=$((sessions_after - SESSIONS_BASE))
    fi
    get /stats
    printf '%s' "$BODY" >"$OUT/runs/$name.errors"
    {
        echo "phase=$phase"; echo "round=$round"; echo "variant=$v"; echo "seconds=$secs"
        echo "wrk_status=$status"; echo "connections=$CONNECTIONS"; echo "threads=$THREADS"
        echo "nginx_cpu_s=$(awk -v a="$n0" -v b="$n1" -v t="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / t }')"
        echo "zk_cpu_s=$(awk -v a="$z0" -v b="$z1" -v t="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / t }')"
        echo "sid_before=$sid_before"; echo "sid_after=$sid_after"; echo "sessions_left=$left"
        echo "workers_before=$ws_before"; echo "workers_after=$ws_after"
        echo "nginx_alive=$(alive "$NGINX_PID" && echo 1 || echo 0)"
    } >"$OUT/runs/$name.meta"
    local summary
    summary=$(sed -n 's/^WRKJSON //p' "$OUT/runs/$name.wrk" | tail -n 1)
    if [[ -z "$summary" ]]; then
        note " $v(FAILED: wrk $status)"
    else
        local bad
        bad=$("$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); print(sum(d[k] for k in ("connect_errors","read_errors","write_errors","status_errors","timeouts")))' "$summary")
        if ((bad > 0)) || [[ -s "$OUT/runs/$name.errors" ]] || [[ "$ws_before" != "$ws_after" ]] || ((left > 0)); then
            note " $v(ERRORS)"
        else
            note " $v"
        fi
    fi
    alive "$NGINX_PID" || die "nginx master died during $name (see $NGX/error.log)"
}

if ((WARMUP > 0)); then
    note "warm-up ${WARMUP}s each:"
    for v in "${VARIANTS[@]}"; do run_one warmup 0 "$v" "$WARMUP"; done
    say "   [$((SECONDS - T_START))s]"
fi

n=${#VARIANTS[@]}
for ((r = 1; r <= ROUNDS; r++)); do
    order=()
    for ((i = 0; i < n; i++)); do order+=("${VARIANTS[$(( (i + r - 1) % n ))]}"); done
    note "round $r/$ROUNDS:"
    for v in "${order[@]}"; do run_one run "$r" "$v" "$DURATION"; done
    say "   [$((SECONDS - T_START))s]"
done

# ---- 10. report ----------------------------------------------------------------------------------
grep -E '\[(alert|crit|emerg)\]|exited on signal|core dumped' "$NGX/error.log" >"$OUT/nginx-problems.txt" || true
cp "$OUT/header.txt" "$OUT/report.txt"   # printed above already
{
    "$PY" "$HERE/report.py" "$OUT"
    n_err=$(grep -c '\[error\]' "$NGX/error.log" || true)
    ((n_err == 0)) || { echo; echo "nginx error.log has $n_err [error] line(s) (see $OUT/nginx-error.log), first: $(grep -m1 '\[error\]' "$NGX/error.log")"; }
    if [[ -s "$OUT/nginx-problems.txt" ]]; then
        echo
        echo "nginx error.log has $(wc -l <"$OUT/nginx-problems.txt") alert/crit/crash line(s), first:"
        head -n 3 "$OUT/nginx-problems.txt"
    fi
    echo
    echo "total wall time: $((SECONDS - T_START)) s; raw results: $OUT"
} | tee -a "$OUT/report.txt"
