#!/usr/bin/env bash
# bench/run.sh — the one command for the client benchmarks. From the repository root:
#
#     bash bench/run.sh                      # default: 5 rounds, about 8-10 minutes on 2 cores
#     BENCH_ROUNDS=2 BENCH_SEQ_SECONDS=1 BENCH_PIPE_SECONDS=1 BENCH_IDLE_SECONDS=3 bash bench/run.sh
#
# It installs what is missing (apt-get --no-remove: gcc, libzookeeper-mt-dev, lua-socket,
# python3-kazoo, lua5.1, and luajit2 only if there is no luajit at all — never Debian's `luajit`,
# which would displace the project's luajit2 and nginx's Lua module), compiles bench/c/*.c, builds
# our Lua module (scripts/build-lua.sh release), starts its own ZooKeeper (scripts/zk-testbed.sh,
# temp dir, stopped on exit), creates /bench/node and /bench/set (100 bytes each), warms the server
# up, then runs every workload for every client, interleaved (for each round, for each workload,
# the clients in an order rotated by one each round), and prints one table per workload (bench/report.py). Raw results: bench/out/<stamp>/.
#
# Workloads: exists | get | set       sequential, one request in flight (get/set: 100 B values)
#            pexists | pget           pipelined, BENCH_WINDOW (1000) requests outstanding
#            idle                     N sessions held open by one process for a while
# Clients:   bare (bench/c/bare.c, hand-written frames on one blocking socket: the ceiling),
#            c (bench/c/zkbench.c, libzookeeper_mt), kazoo (bench/kazoo_bench.py),
#            luasocket-lua5.1/-luajit (bench/luasocket_bench.lua, the original pure-Lua approach),
#            lua-lua5.1/-luajit (bench/lua_bench.lua, our resty.zookeeper module), swift (below),
#            swift-io (the same, its loop on the client's I/O thread: ZooKeeperClient.ioExecutor).
#
# THE PEER CONVENTION (every client program follows it; so must bench/swift.sh):
#     PROGRAM CONNECT_STRING WORKLOAD N SECONDS
#   * op workloads: run until N ops are done or SECONDS have passed, whichever comes first;
#     idle: open N sessions, hold them SECONDS, close them.
#   * environment: BENCH_PATH (/bench/node: exists/get/pexists/pget), BENCH_SET_PATH (/bench/set:
#     set, 100-byte value, version -1), BENCH_WINDOW (outstanding requests for pexists/pget),
#     BENCH_SESSION_TIMEOUT (ms, op workloads), BENCH_IDLE_SESSION_TIMEOUT (ms, idle).
#   * stdout: exactly one line that starts with '{', a JSON object (everything else to stderr):
#       op workloads: client, workload, ops, errors, seconds (of the timed loop), window,
#                     p50_us, p99_us (per-request latency; pipelined: send to completion),
#                     cpu_user_s, cpu_sys_s (getrusage(RUSAGE_SELF) deltas over the timed loop,
#                     all threads), max_rss_kb (peak RSS of the process)
#       idle:         client, workload, sessions, connected, seconds (held), session_timeout_ms,
#                     cpu_user_s, cpu_sys_s (over the hold), rss_kb (VmRSS at the end of the hold),
#                     base_rss_kb (VmRSS before opening sessions), max_rss_kb, threads
#   * exit status 2 = "this workload is not supported" (skipped silently); any other non-zero
#     exit or a missing result line counts as a failed run.
#
# SWIFT SLOT: if bench/swift.sh exists, the runner calls
#     bash bench/swift.sh build                              once, before the rounds (non-zero: skip swift)
#     bash bench/swift.sh CONNECT_STRING WORKLOAD N SECONDS  for each run, as client "swift"
# for every workload (exit 2 for the ones it does not do). bench/swift.sh runs Sources/zk-bench
# (`swift build -c release --product zk-bench` once, then exec the built binary, so that no
# `swift run` build step lands inside a measured run).
#
# Environment (defaults):
#   BENCH_ROUNDS=5            rounds (medians are over rounds)
#   BENCH_SEQ_OPS=1000000     BENCH_SEQ_SECONDS=2     sequential runs: op cap, time cap
#   BENCH_PIPE_OPS=2000000    BENCH_PIPE_SECONDS=2    pipelined runs
#   BENCH_WINDOW=1000         outstanding requests in pexists/pget
#   BENCH_IDLE_SESSIONS=1000  BENCH_IDLE_SECONDS=10   idle: sessions per process, hold time
#   BENCH_C_IDLE_SESSIONS     idle sessions for the C client (default BENCH_IDLE_SESSIONS; 2 threads each)
#   BENCH_IDLE_ROUNDS=2       idle runs only in the first BENCH_IDLE_ROUNDS rounds (memory barely varies)
#   BENCH_IDLE_SESSION_TIMEOUT=10000  BENCH_SESSION_TIMEOUT=30000  (ms)
#   BENCH_WARMUP_SECONDS=6    server warm-up load before round 1
#   BENCH_WORKLOADS="exists get set pexists pget idle"   BENCH_CLIENTS="" (all)
#   BENCH_PIN=0               1: server on CPU 1, clients on CPU 0 (taskset)
#   BENCH_SKIP_INSTALL=0  BENCH_SKIP_LUA_BUILD=0 (1: use an existing .build/release/libzookeeper_lua.so)
#   BENCH_OUT=bench/out/<stamp>   BENCH_SWIFT_SCRIPT=bench/swift.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
T_START=$SECONDS

ROUNDS=${BENCH_ROUNDS:-5}
SEQ_OPS=${BENCH_SEQ_OPS:-1000000}; SEQ_SECONDS=${BENCH_SEQ_SECONDS:-2}
PIPE_OPS=${BENCH_PIPE_OPS:-2000000}; PIPE_SECONDS=${BENCH_PIPE_SECONDS:-2}
IDLE_SESSIONS=${BENCH_IDLE_SESSIONS:-1000}; IDLE_SECONDS=${BENCH_IDLE_SECONDS:-10}
C_IDLE_SESSIONS=${BENCH_C_IDLE_SESSIONS:-$IDLE_SESSIONS}
IDLE_ROUNDS=${BENCH_IDLE_ROUNDS:-2}
WARMUP=${BENCH_WARMUP_SECONDS:-6}
WORKLOADS=${BENCH_WORKLOADS:-exists get set pexists pget idle}
PIN=${BENCH_PIN:-0}
export BENCH_WINDOW=${BENCH_WINDOW:-1000}
export BENCH_PATH=${BENCH_PATH:-/bench/node} BENCH_SET_PATH=${BENCH_SET_PATH:-/bench/set}
export BENCH_SESSION_TIMEOUT=${BENCH_SESSION_TIMEOUT:-30000}
export BENCH_IDLE_SESSION_TIMEOUT=${BENCH_IDLE_SESSION_TIMEOUT:-10000}
PY=/usr/bin/python3   # Debian's python, where python3-kazoo lives

OUT=${BENCH_OUT:-bench/out/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
LOG="$OUT/run.log"; RESULTS="$OUT/results.jsonl"
: >"$RESULTS"
say() { echo "$*"; echo "$*" >>"$LOG"; }

# ---- 1. packages --------------------------------------------------------------------------------
if [[ "${BENCH_SKIP_INSTALL:-0}" != 1 ]]; then
    missing=()
    for p in gcc libzookeeper-mt-dev lua-socket python3-kazoo lua5.1; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    # Any luajit will do; the project's is OpenResty's luajit2 (scripts/install-deps.sh). Debian's
    # `luajit` conflicts with it and with nginx's Lua module, so never ask for that one.
    command -v luajit >/dev/null || missing+=(luajit2)
    if ((${#missing[@]})); then
        say "installing: ${missing[*]}"
        # --no-remove: abort rather than let apt remove anything the project installed
        apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends --no-remove "$@"; }
        apt_install "${missing[@]}" >>"$LOG" 2>&1 ||
            { apt-get update -q >>"$LOG" 2>&1 && apt_install "${missing[@]}" >>"$LOG" 2>&1; } ||
            { say "apt-get install ${missing[*]} failed (see $LOG)"; exit 1; }
    fi
fi

# ---- 2. build -----------------------------------------------------------------------------------
BIN="$OUT/bin"; mkdir -p "$BIN"
gcc -O2 -Wall -o "$BIN/bare" bench/c/bare.c
gcc -O2 -Wall -o "$BIN/zkbench" bench/c/zkbench.c -lzookeeper_mt -lpthread

LUA_MODULE_OK=1
if [[ "${BENCH_SKIP_LUA_BUILD:-0}" == 1 ]]; then
    lib="$ROOT/.build/release/libzookeeper_lua.so"
else
    say "building the Lua module (scripts/build-lua.sh release; waits for SwiftPM's lock if busy)"
    lib=$(bash scripts/build-lua.sh release 2>>"$LOG") || {
        lib="$ROOT/.build/release/libzookeeper_lua.so"
        say "WARNING: scripts/build-lua.sh release failed (see $LOG); using the existing $lib if any"
    }
fi
if [[ -f "$lib" ]]; then
    # A private copy: another build in this package must not swap the library under a run.
    cp "$lib" "$BIN/libzookeeper_lua.so"
    export RESTY_ZOOKEEPER_NATIVE="$BIN/libzookeeper_lua.so"
else
    say "WARNING: no libzookeeper_lua.so: the lua-* clients are skipped"
    LUA_MODULE_OK=0
fi
export LUA_PATH="$ROOT/lua/?.lua;$ROOT/lua/?/init.lua;;"

SWIFT_SCRIPT=${BENCH_SWIFT_SCRIPT:-bench/swift.sh}
SWIFT_OK=0
if [[ -f "$SWIFT_SCRIPT" ]]; then
    say "building the swift peer (bash $SWIFT_SCRIPT build)"
    if bash "$SWIFT_SCRIPT" build >>"$LOG" 2>&1; then SWIFT_OK=1
    else say "WARNING: $SWIFT_SCRIPT build failed (see $LOG): swift skipped"; fi
fi

# ---- 3. clients ---------------------------------------------------------------------------------
ALL_CLIENTS=(bare c kazoo luasocket-lua5.1 luasocket-luajit)
((LUA_MODULE_OK)) && ALL_CLIENTS+=(lua-lua5.1 lua-luajit)
((SWIFT_OK)) && ALL_CLIENTS+=(swift swift-io)
if [[ -n "${BENCH_CLIENTS:-}" ]]; then
    sel=()
    for c in "${ALL_CLIENTS[@]}"; do [[ " $BENCH_CLIENTS " == *" $c "* ]] && sel+=("$c"); done
    ALL_CLIENTS=("${sel[@]}")
fi

supports() {   # supports CLIENT WORKLOAD
    case "$2" in
        exists|get|set) return 0 ;;
        pexists|pget) [[ "$1" != luasocket-* ]] ;;
        idle) [[ "$1" == c || "$1" == lua-* || "$1" == swift ]] ;;
        *) return 1 ;;
    esac
}

client_cmd() {   # client_cmd CLIENT -> the command words, in CMD
    case "$1" in
        bare) CMD=("$BIN/bare") ;;
        c) CMD=("$BIN/zkbench") ;;
        kazoo) CMD=("$PY" bench/kazoo_bench.py) ;;
        luasocket-lua5.1) CMD=(lua5.1 bench/luasocket_bench.lua) ;;
        luasocket-luajit) CMD=(luajit bench/luasocket_bench.lua) ;;
        lua-lua5.1) CMD=(lua5.1 bench/lua_bench.lua) ;;
        lua-luajit) CMD=(luajit bench/lua_bench.lua) ;;
        swift) CMD=(bash "$SWIFT_SCRIPT") ;;
        swift-io) CMD=(env BENCH_SWIFT_EXECUTOR=io bash "$SWIFT_SCRIPT") ;;
    esac
    if [[ "$PIN" == 1 ]]; then CMD=(taskset -c 0 "${CMD[@]}"); fi
}

# ---- 4. server ----------------------------------------------------------------------------------
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true   # 1,000 C sessions take 3 fds each
ZKDIR=$(mktemp -d /tmp/zk-bench.XXXXXX)
cleanup() {
    bash scripts/zk-testbed.sh stop "$ZKDIR" >/dev/null 2>&1 || true
    [[ -d "$ZKDIR/log" ]] && cp "$ZKDIR/log/zookeeper.log" "$OUT/zookeeper.log" 2>/dev/null || true
    rm -rf "$ZKDIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if [[ "$PIN" == 1 ]]; then
    CS=$(taskset -c 1 bash scripts/zk-testbed.sh start-single "$ZKDIR")
else
    CS=$(bash scripts/zk-testbed.sh start-single "$ZKDIR")
fi

"$PY" - "$CS" "$BENCH_PATH" "$BENCH_SET_PATH" >>"$LOG" 2>&1 <<'EOF'
import sys
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1]); zk.start(timeout=30)
for p in sys.argv[2:]:
    zk.ensure_path(p.rsplit("/", 1)[0] or "/")
    if zk.exists(p): zk.set(p, b"x" * 100)
    else: zk.create(p, b"x" * 100)
    assert zk.get(p)[1].dataLength == 100
zk.stop(); zk.close()
EOF

# ---- 5. header ----------------------------------------------------------------------------------
server_version=$(bash scripts/zk-testbed.sh 4lw "$CS" srvr 2>/dev/null | sed -n 's/^Zookeeper version: //p' | cut -d- -f1)
{
    echo "# ZooKeeper client benchmark — $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "nproc=$(nproc)  cpu: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
    echo "server: ZooKeeper $server_version on $CS (same machine$([[ $PIN == 1 ]] && echo ', pinned to CPU 1; clients on CPU 0'))"
    echo "clients: ${ALL_CLIENTS[*]}"
    echo "versions: gcc $(gcc -dumpfullversion), libzookeeper-mt $(dpkg-query -W -f='${Version}' libzookeeper-mt2 2>/dev/null)," \
         "kazoo $(dpkg-query -W -f='${Version}' python3-kazoo 2>/dev/null), $(lua5.1 -v 2>&1 | cut -d' ' -f1-2), $(luajit -v | cut -d' ' -f1-2)," \
         "lua-socket $(dpkg-query -W -f='${Version}' lua-socket 2>/dev/null)"
    echo "settings: rounds=$ROUNDS seq=${SEQ_SECONDS}s/${SEQ_OPS}ops pipe=${PIPE_SECONDS}s/${PIPE_OPS}ops window=$BENCH_WINDOW" \
         "idle=${IDLE_SESSIONS}x${IDLE_SECONDS}s (c: $C_IDLE_SESSIONS) in $IDLE_ROUNDS round(s) warmup=${WARMUP}s"
} | tee "$OUT/header.txt" >>"$LOG"
cat "$OUT/header.txt"

# ---- 6. runs ------------------------------------------------------------------------------------
run_one() {   # run_one ROUND CLIENT WORKLOAD
    local round=$1 client=$2 w=$3 n secs status line
    case "$w" in
        exists|get|set) n=$SEQ_OPS; secs=$SEQ_SECONDS ;;
        pexists|pget) n=$PIPE_OPS; secs=$PIPE_SECONDS ;;
        idle) n=$IDLE_SESSIONS; secs=$IDLE_SECONDS; [[ "$client" == c ]] && n=$C_IDLE_SESSIONS ;;
    esac
    client_cmd "$client"
    echo "--- round $round $w $client: ${CMD[*]} $CS $w $n $secs" >>"$LOG"
    status=0
    timeout -k 5 $((secs * 4 + 90)) "${CMD[@]}" "$CS" "$w" "$n" "$secs" >"$OUT/last.out" 2>>"$LOG" || status=$?
    cat "$OUT/last.out" >>"$LOG"
    line=$(grep '^{' "$OUT/last.out" | tail -n 1 || true)
    if [[ $status == 0 && -z "$line" ]]; then status=99; fi
    [[ $status == 0 ]] || line=null
    printf '{"round":%d,"label":"%s","workload":"%s","status":%d,"result":%s}\n' \
        "$round" "$client" "$w" "$status" "$line" >>"$RESULTS"
    if [[ $status == 0 ]]; then
        printf ' %s' "$client"
    elif [[ $status != 2 ]]; then
        printf ' %s(FAILED:%d)' "$client" "$status"
    fi
}

if ((WARMUP > 0)); then
    part=$(( (WARMUP + 2) / 3 ))
    say "warm-up: ${WARMUP}s of load (bare pexists, bare pget, c set)"
    BENCH_WINDOW=200 "$BIN/bare" "$CS" pexists 100000000 "$part" >>"$LOG" 2>&1 || true
    BENCH_WINDOW=200 "$BIN/bare" "$CS" pget 100000000 "$part" >>"$LOG" 2>&1 || true
    "$BIN/zkbench" "$CS" set 100000000 "$part" >>"$LOG" 2>&1 || true
fi

n_clients=${#ALL_CLIENTS[@]}
for ((r = 1; r <= ROUNDS; r++)); do
    # rotate the client order by one each round
    order=()
    for ((i = 0; i < n_clients; i++)); do order+=("${ALL_CLIENTS[$(( (i + r - 1) % n_clients ))]}"); done
    for w in $WORKLOADS; do
        [[ "$w" == idle ]] && ((r > IDLE_ROUNDS)) && continue
        printf 'round %d/%d %-8s' "$r" "$ROUNDS" "$w"
        for c in "${order[@]}"; do
            supports "$c" "$w" || continue
            run_one "$r" "$c" "$w"
        done
        printf '   [%ds]\n' $((SECONDS - T_START))
    done
done
rm -f "$OUT/last.out"

# ---- 7. report ----------------------------------------------------------------------------------
{
    cat "$OUT/header.txt"
    "$PY" bench/report.py "$RESULTS"
    echo
    echo "total wall time: $((SECONDS - T_START)) s; raw results: $RESULTS; log: $LOG"
} | tee "$OUT/report.txt"
