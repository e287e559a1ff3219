#!/usr/bin/env bash
# Builds the native Lua module: .build/<config>/libzookeeper_lua.so, which lua/resty/zookeeper.lua
# finds by itself. Usage: build-lua.sh [release|debug] (default release).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:/opt/swift/bin:$PATH"
config="${1:-release}"
swift build -c "$config" --product zookeeper_lua >&2
echo "$PWD/.build/$config/libzookeeper_lua.so"
