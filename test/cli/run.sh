#!/usr/bin/env bash
# The `zk` command line against a real server (scripts/zk-testbed.sh), every subcommand, each
# result cross-checked with kazoo (test/kazoo_peer.py), an independent client.
#   test/cli/run.sh            builds zk (debug) unless ZK_BIN names a binary
set -uo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:$PATH"
if [[ -z "${ZK_BIN:-}" ]]; then
    swift build --package-path "$REPO" --product zk >/dev/null || { echo "cannot build zk"; exit 1; }
    ZK_BIN="$(swift build --package-path "$REPO" --show-bin-path)/zk"
fi
PY=/usr/bin/python3   # Debian's, which has kazoo
KAZOO="$REPO/test/kazoo_peer.py"
WORK="$(mktemp -d /tmp/zk-cli-test.XXXXXX)"
WATCHERS=()
finish() {
    local pid
    for pid in "${WATCHERS[@]}"; do kill "$pid" 2>/dev/null; done
    bash "$REPO/scripts/zk-testbed.sh" stop "$WORK/zk"
    rm -rf "$WORK"
}
trap finish EXIT
export ZK_SERVER
ZK_SERVER="$(bash "$REPO/scripts/zk-testbed.sh" start-single "$WORK/zk")" || exit 1

PASSED=0 FAILED=0
check() {  # check NAME EXPECTED ACTUAL
    if [[ "$2" == "$3" ]]; then PASSED=$((PASSED + 1)); echo "PASS $1"
    else FAILED=$((FAILED + 1)); printf 'FAIL %s\n  expected: %s\n  actual:   %s\n' "$1" "$2" "$3"; fi
}
# (background jobs run "$ZK_BIN" itself: `zk ... &` would be a subshell, and signals would hit it)
zk() { "$ZK_BIN" "$@"; }
kz() { "$PY" "$KAZOO" "$ZK_SERVER" "$@" 2>>"$WORK/kazoo.err"; }
# Waits (up to 10 s) until FILE has a line matching REGEX.
wait_line() {
    local i
    for ((i = 0; i < 200; i++)); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
    return 1
}
R=/cli-$RANDOM$RANDOM

# create: persistent with data, sequential, ephemeral (gone with the command's session),
# container, TTL; kazoo reads what each made.
check "create prints the path" "$R" "$(zk create "$R" "root data")"
check "kazoo reads the data create wrote" "$(printf 'root data' | od -An -tx1 | tr -d ' \n')" "$(kz read "$R")"
seq="$(zk create "$R/s-" --sequential)"
check "create --sequential appends the counter" "$R/s-0000000000" "$seq"
check "create --ephemeral: gone once zk exits" "$R/e yes|$R/e no" "$(zk create "$R/e" --ephemeral >/dev/null; echo "$R/e yes")|$(kz exists "$R/e")"
zk create "$R/box" --container >/dev/null
zk create "$R/t" --ttl 60000 >/dev/null
check "create --container and --ttl: kazoo sees both" "$R/box yes
$R/t yes" "$(kz exists "$R/box" "$R/t")"
kz create "$R/from-kazoo" "kazoo data" >/dev/null

# get, get --stat, get --json, set --version
check "get prints what kazoo wrote" "kazoo data" "$(zk get "$R/from-kazoo")"
zk set "$R/from-kazoo" "v1" --version 0
check "set --version 0 then kazoo reads it" "$(printf v1 | od -An -tx1 | tr -d ' \n')" "$(kz read "$R/from-kazoo")"
out="$(zk set "$R/from-kazoo" "v2" --version 0 2>&1)"; rc=$?
check "set with a stale version: one line naming node and code, exit 1" "1|zk: $R/from-kazoo: BADVERSION (-103): bad version" "$rc|$out"
check "get --stat lists version 1" "version = 1" "$(zk get "$R/from-kazoo" --stat | grep '^version = ')"
kstat="$(kz stat "$R/from-kazoo")"
check "get --json --stat: the Stat matches kazoo's" \
    "$("$PY" -c 'import json,sys; print(json.dumps({"path": sys.argv[1], "data": "v1", "stat": json.loads(sys.argv[2])}, sort_keys=True))' "$R/from-kazoo" "$kstat")" \
    "$(zk get "$R/from-kazoo" --json --stat | "$PY" -c 'import json,sys; print(json.dumps(json.load(sys.stdin), sort_keys=True))')"

# stat and stat --json (fields by name), cross-checked field by field
check "stat --json equals kazoo's Stat" \
    "$(echo "$kstat" | "$PY" -c 'import json,sys; print(json.dumps(json.load(sys.stdin), sort_keys=True))')" \
    "$(zk stat "$R/from-kazoo" --json | "$PY" -c 'import json,sys; print(json.dumps(json.load(sys.stdin), sort_keys=True))')"
check "stat --json names the version" '"version":1' "$(zk stat "$R/from-kazoo" --json | grep -o '"version":1')"
check "stat prints dataLength" "dataLength = 2" "$(zk stat "$R/from-kazoo" | grep '^dataLength')"
out="$(zk stat "$R/none" 2>&1)"; rc=$?
check "stat of a missing node: NONODE, exit 1" "1|zk: $R/none: NONODE (-101): node does not exist" "$rc|$out"

# ls, ls -R, --json, tree
kz create "$R/a/b/c" x >/dev/null
check "ls lists the children kazoo sees" "$(kz children "$R" | tr ' ' '\n')" "$(zk ls "$R")"
check "ls --json" '["a","box","from-kazoo","s-0000000000","t"]' "$(zk ls "$R" --json)"
check "ls -R lists the node and kazoo's tree" "$R
$(kz tree "$R" | cut -d' ' -f1)" "$(zk ls -R "$R")"
check "ls -R --json" "[\"$R/a\",\"$R/a/b\",\"$R/a/b/c\"]" "$(zk ls -R "$R/a" --json)"
check "tree draws the subtree" "$R/a
└── b
    └── c" "$(zk tree "$R/a")"
check "tree --json" "{\"name\":\"b\",\"path\":\"$R/a/b\",\"children\":[{\"name\":\"c\",\"path\":\"$R/a/b/c\",\"children\":[]}]}" "$(zk tree "$R/a/b" --json)"

# acl get / set, cross-checked with kazoo's ACL
check "acl get: world:anyone:cdrwa" "world:anyone:cdrwa" "$(zk acl get "$R/a")"
zk acl set "$R/a" "world:anyone:cdr,ip:127.0.0.1:cdrwa"
check "acl set: kazoo reads the new ACL" "$(kz acl "$R/a" | "$PY" -c 'import json,sys; print(json.dumps(json.load(sys.stdin)))' | tr -d ' ')" "$(zk acl get "$R/a" --json)"
out="$(zk acl set "$R/a" "world:anyone:xyz" 2>&1)"; rc=$?
check "acl set with a bad permission fails before connecting" "64" "$rc"

# get --watch: prints the data, then the event kazoo's change fires
kz set "$R/a/b" x >/dev/null
"$ZK_BIN" get "$R/a/b" --watch >"$WORK/get-watch.out" 2>&1 &
watcher=$!; WATCHERS+=("$watcher")
# (the server sets the watch before it answers the read: once "x" is out, the watch is there)
wait_line "$WORK/get-watch.out" '^x$' || echo "get --watch printed no data"
kz set "$R/a/b" changed >/dev/null
wait "$watcher"
check "get --watch prints the data then the event" "x
NodeDataChanged $R/a/b" "$(cat "$WORK/get-watch.out")"

# watch --recursive: events of the node and its descendants until SIGINT
"$ZK_BIN" watch --recursive "$R/a" --json >"$WORK/watch.out" 2>"$WORK/watch.err" &
watcher=$!; WATCHERS+=("$watcher")
wait_line "$WORK/watch.err" "^watching $R/a\$" || echo "watch did not start: $(cat "$WORK/watch.err")"
kz create "$R/a/b/new" >/dev/null
kz set "$R/a/b/c" y >/dev/null
kz delete "$R/a/b/new" >/dev/null
wait_line "$WORK/watch.out" NodeDeleted
kill -INT "$watcher"; wait "$watcher"; rc=$?
check "watch --recursive prints each event, exits 0 on SIGINT" "0|{\"event\":\"NodeCreated\",\"path\":\"$R/a/b/new\"}
{\"event\":\"NodeDataChanged\",\"path\":\"$R/a/b/c\"}
{\"event\":\"NodeDeleted\",\"path\":\"$R/a/b/new\"}" "$rc|$(cat "$WORK/watch.out")"
"$ZK_BIN" watch "$R/a/b" >"$WORK/watch2.out" 2>"$WORK/watch2.err" &
watcher=$!; WATCHERS+=("$watcher")
wait_line "$WORK/watch2.err" "^watching" || echo "watch did not start: $(cat "$WORK/watch2.err")"
kz set "$R/a/b/c" z >/dev/null    # a grandchild: not heard without --recursive
kz set "$R/a/b" again >/dev/null
wait_line "$WORK/watch2.out" NodeDataChanged
kill -TERM "$watcher"; wait "$watcher"
check "watch (not recursive) hears the node, not its grandchildren" "NodeDataChanged $R/a/b" "$(cat "$WORK/watch2.out")"

# rm, rm --version, rm -r
out="$(zk rm "$R/a" 2>&1)"; rc=$?
check "rm of a node with children: NOTEMPTY, exit 1" "1|zk: $R/a: NOTEMPTY (-111): directory not empty" "$rc|$out"
out="$(zk rm --version 5 "$R/a/b/c" 2>&1)"; rc=$?
check "rm --version with the wrong version: BADVERSION" "1|zk: $R/a/b/c: BADVERSION (-103): bad version" "$rc|$out"
zk rm --version 2 "$R/a/b/c"
check "rm --version with the right version deletes" "$R/a/b/c no" "$(kz exists "$R/a/b/c")"
zk rm -r "$R"
check "rm -r deletes the whole tree" "$R no" "$(kz exists "$R")"

# 4lw: the answer the server gives, and JSON forms
check "4lw ruok" "imok" "$(zk 4lw ruok)"
check "4lw ruok --json" '{"ok":true}' "$(zk 4lw ruok --json)"
check "4lw srvr names the mode" "Mode: standalone" "$(zk 4lw srvr | grep '^Mode')"
check "4lw srvr --json" "standalone" "$(zk 4lw srvr --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["Mode"])')"
check "4lw mntr --json: numbers as numbers" "True" "$(zk 4lw mntr --json | "$PY" -c 'import json,sys; print(isinstance(json.load(sys.stdin)["zk_znode_count"], int))')"
check "4lw cons lists our connection" "1" "$(zk 4lw cons --json | "$PY" -c 'import json,sys; print(int(len(json.load(sys.stdin)["connections"]) >= 1))')"

# --server beats ZK_SERVER; an unreachable server is one line and exit 1
check "--server before the command" "zookeeper" "$(ZK_SERVER=127.0.0.1:1 zk --server "$ZK_SERVER" ls /)"
out="$(ZK_SERVER=127.0.0.1:1 zk --timeout 300 ls / 2>&1)"; rc=$?
check "unreachable server: one line, exit 1" "1|1" "$rc|$(echo "$out" | wc -l)"

echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
