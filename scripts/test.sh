#!/usr/bin/env bash
# Runs every test: protocol unit tests, the decoder fuzz loop, and the integration tests, which
# start their own ZooKeeper servers (single and a 3-node ensemble) on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:/opt/swift/bin:$PATH"
swift build --build-tests
swift test --skip-build
