#!/usr/bin/env bash
# The rockspec's install step: copies lua/ (every module under it) and the native library, as
# resty/zookeeper_native.so beside the shim, into LUADIR (the rock's Lua directory).
# Usage: rock-install.sh LUADIR NATIVE_SO
set -euo pipefail
cd "$(dirname "$0")/.."
luadir="$1" native="$2"
[[ -f "$native" ]] || { echo "rock-install: no native library at '$native'" >&2; exit 1; }
mkdir -p "$luadir/resty"
(cd lua && find . -name '*.lua' -print0 | while IFS= read -r -d '' file; do
    mkdir -p "$luadir/$(dirname "$file")"
    cp "$file" "$luadir/$file"
done)
cp "$native" "$luadir/resty/zookeeper_native.so"
