#!/usr/bin/env bash
# TLS against plaintext: sequential and pipelined `exists` from Lua (bench/lua_bench.lua under
# luajit, the direct driver with OpenSSL) and Swift (zk-bench, SwiftNIO with swift-nio-ssl), on one
# server of `scripts/zk-testbed.sh start-secure` (its plain port, and its TLS port with client
# certificates). Rounds interleave plain and TLS run by run; prints each run's JSON line, then per
# client and workload the median ops/s of plain and TLS and the median of the per-round TLS/plain
# ratios.
#
#   bench/tls.sh [ROUNDS (5)] [N (20000)] [SECONDS (5)]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-5}" N="${2:-20000}" SECONDS_PER_RUN="${3:-5}"
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:/opt/swift/bin:$PATH"
WORK="$(mktemp -d /tmp/bench-tls.XXXXXX)"
trap 'scripts/zk-testbed.sh stop "$WORK/zk" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

native="$(scripts/build-lua.sh release | tail -n 1)"
bash bench/swift.sh build
read -r PLAIN SECURE CERTS < <(scripts/zk-testbed.sh start-secure "$WORK/zk")
/usr/bin/python3 test/kazoo_peer.py "$PLAIN" write /bench/node 61 >/dev/null
export BENCH_PATH=/bench/node
export RESTY_ZOOKEEPER_NATIVE="$native" LUA_PATH="./lua/?.lua;./lua/?/init.lua;;"

run() { # CLIENT WORKLOAD MODE
    local cs="$PLAIN" env=()
    [[ "$3" == tls ]] && cs="$SECURE" env=(BENCH_TLS_DIR="$CERTS")
    local line
    case "$1" in
        lua) line="$(env "${env[@]}" luajit bench/lua_bench.lua "$cs" "$2" "$N" "$SECONDS_PER_RUN")" ;;
        swift) line="$(env "${env[@]}" bash bench/swift.sh "$cs" "$2" "$N" "$SECONDS_PER_RUN")" ;;
    esac
    echo "{\"mode\":\"$3\",\"round\":$4,\"run\":$line}" | tee -a "$WORK/results.jsonl"
}

for ((round = 1; round <= ROUNDS; round++)); do
    for client in lua swift; do
        for workload in exists pexists; do
            # Alternate which goes first, so that drift favours neither.
            if ((round % 2)); then order=(plain tls); else order=(tls plain); fi
            for mode in "${order[@]}"; do run "$client" "$workload" "$mode" "$round"; done
        done
    done
done

/usr/bin/python3 - "$WORK/results.jsonl" <<'PY'
import json, statistics, sys
from collections import defaultdict
rate = defaultdict(dict)  # (client, workload) -> {(mode, round): ops/s}
for line in open(sys.argv[1]):
    r = json.loads(line)
    run = r["run"]
    client = "lua" if run["client"].startswith("lua") else "swift"
    rate[(client, run["workload"])][(r["mode"], r["round"])] = run["ops"] / run["seconds"]
print("%-6s %-8s %12s %12s %14s" % ("client", "workload", "plain ops/s", "tls ops/s", "tls/plain"))
for (client, workload), runs in sorted(rate.items()):
    rounds = sorted({k[1] for k in runs})
    plain = statistics.median(runs[("plain", n)] for n in rounds)
    tls = statistics.median(runs[("tls", n)] for n in rounds)
    ratio = statistics.median(runs[("tls", n)] / runs[("plain", n)] for n in rounds)
    print("%-6s %-8s %12.0f %12.0f %14.2f" % (client, workload, plain, tls, ratio))
PY
