#!/usr/bin/env bash
# Documentation checks (no build, no server):
#  - every relative link in README.md, docs/*.md and bench/README.md points at a file that exists.
set -uo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$REPO"
PASSED=0 FAILED=0
pass() { PASSED=$((PASSED + 1)); }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }

# Every declared Lua method has its entry in docs/lua-api.md: MethodTableTests (swift test) checks it
# against LuaMethodTable.swift, both ways.

for doc in README.md docs/*.md bench/README.md; do
    [[ -f "$doc" ]] || { fail "$doc is missing"; continue; }
    while read -r target; do
        target="${target%%#*}"
        [[ -z "$target" || "$target" == *://* || "$target" == mailto:* ]] && continue
        if [[ -e "$(dirname "$doc")/$target" ]]; then pass; else fail "$doc links to $target, which does not exist"; fi
    done < <(grep -oE '\]\([^)]+\)' "$doc" | sed -E 's/^\]\(([^) ]+).*/\1/')
done

echo "docs: $PASSED passed, $FAILED failed"
((FAILED == 0))
