#!/usr/bin/env bash
# The "swift" client of bench/run.sh: our Swift API (Sources/zk-bench).
# Convention (see the top of bench/run.sh):
#   bench/swift.sh build                              build once, before the rounds
#   bench/swift.sh CONNECT_STRING WORKLOAD N SECONDS  one run: prints one JSON line, exit 2 if the
#                                                     workload is not supported
# The zk-bench executable measures itself in-process (getrusage(RUSAGE_SELF) deltas over its timed
# loop, VmHWM / ru_maxrss), exactly like bench/c/zkbench.c.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:/opt/swift/bin:$PATH"
if [[ "${1:-}" == build ]]; then
    exec swift build -c release --product zk-bench >&2
fi
# exec the built binary rather than `swift run`, so that no build step lands inside a measured run
exec "$(swift build -c release --show-bin-path)/zk-bench" "$@"
