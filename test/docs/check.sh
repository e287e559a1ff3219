#!/usr/bin/env bash
# Documentation checks (no build, no server):
#  - every Lua client method has a `### client:<name>` entry in docs/lua-api.md;
#  - every relative link in README.md, docs/*.md and bench/README.md points at a file that exists.
set -uo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$REPO"
PASSED=0 FAILED=0
pass() { PASSED=$((PASSED + 1)); }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }

# The declared method list. Today: the C METHODS[] table of the glue; when the methods move to
# one declared table elsewhere, change only this function (one name per line).
declared_methods() {
    # The one table of Lua methods (LuaMethodTable.swift); hidden ones (.hidden) are not API.
    grep -E '^\s*LuaMethod\("' Sources/ZooKeeperLua/LuaMethodTable.swift | grep -v '\.hidden' |
        sed -E 's/^\s*LuaMethod\("([a-z_]+)".*/\1/'
}

methods="$(declared_methods)"
[[ -n "$methods" ]] || fail "found no declared Lua methods (has the table moved? update declared_methods)"
while read -r name; do
    [[ -n "$name" ]] || continue
    if grep -qE "^### client:${name}\$" docs/lua-api.md; then pass; else fail "docs/lua-api.md has no '### client:$name' entry"; fi
done <<<"$methods"

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
