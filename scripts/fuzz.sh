#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer) of the frame decoder, every record decoder and the session
# state machine (Tests/ZooKeeperProtocolTests/FuzzTargets). Builds the one fuzz binary apart from the normal
# build (.build-fuzz, release, -sanitize=fuzzer; only what the targets need, so SwiftNIO is never
# built or instrumented), then runs each target for SECONDS (default 30) on a corpus seeded by
# the target itself (the seeded smoke loop's seeds) and kept in .build-fuzz/corpus between runs.
# Fails on a crash, a trap, a leak past the memory limits or a timeout; the input is left in
# .build-fuzz/crashes/. Replay one: ZK_FUZZ_TARGET=session .build-fuzz/release/zk-fuzz FILE
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:/opt/swift/bin:$PATH"
seconds="${1:-30}"
scratch="${ZK_FUZZ_SCRATCH:-.build-fuzz}"

build_log=$(mktemp)
trap 'rm -f "$build_log"' EXIT
if ! ZK_FUZZ=1 swift build -c release --scratch-path "$scratch" --product zk-fuzz -Xswiftc -sanitize=fuzzer >"$build_log" 2>&1; then
    cat "$build_log"
    exit 1
fi
grep -E "^Build of product" "$build_log" || true
binary="$scratch/release/zk-fuzz"
mkdir -p "$scratch/crashes"

failed=()
for target in frame records session; do
    corpus="$scratch/corpus/$target"
    mkdir -p "$corpus"
    ZK_FUZZ_TARGET="$target" ZK_FUZZ_WRITE_SEEDS="$corpus" "$binary"
    log="$scratch/$target.log"
    # Memory is bounded per process (rss) and per allocation (malloc): a decoder that allocates
    # from a length field it did not check fails here.
    if ZK_FUZZ_TARGET="$target" "$binary" "$corpus" -max_total_time="$seconds" -rss_limit_mb=512 \
        -malloc_limit_mb=64 -max_len=4096 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$scratch/crashes/$target-" >"$log" 2>&1; then
        status=passed
    else
        status=FAILED
        failed+=("$target")
        grep -E "ERROR|Fatal error|Test unit written|Base64" "$log" | head -20 || true
    fi
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")
    coverage=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1)
    echo "fuzz $target: $status, ${executions:-?} runs in ${seconds} s (${rate:-?}/s), $coverage, peak rss ${rss:-?} MB (log: $log)"
done

if ((${#failed[@]})); then
    echo "fuzzing FAILED: ${failed[*]} (inputs in $scratch/crashes/)"
    exit 1
fi
