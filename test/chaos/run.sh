#!/usr/bin/env bash
# The fault campaign (docs/chaos.md):
#
#   test/chaos/run.sh [N]        N faults (default 20)
#
# A 3-node ensemble (scripts/zk-testbed.sh); three writers, each with a ledger of what it saw
# acknowledged: the Lua module under luajit (test/chaos/lua_writer.lua, with a re-armed child
# watch), nginx's shared client in a timer (test/chaos/nginx_writer.lua, with a discovery
# registration) and the Swift API (test/chaos/swift, `zk-chaos`, with a persistent recursive
# watch). Then N faults, one at a time so that a quorum always remains: kill -9 and restart, or a
# freeze (SIGSTOP for 1.5-4 s, then SIGCONT), of the leader or of a follower, chosen at random
# (seeded: CHAOS_SEED, printed). Then the checks (test/chaos/check.py, the truth read with
# kazoo); then the quorum lost (both followers frozen) for longer than the session timeout, and
# the expiry checks. Prints PASS/FAIL per phase and the figures; exits non-zero on a failure and
# keeps its directory (printed) then, or with KEEP=1.
#
# Environment: CHAOS_SEED, CHAOS_SESSION_MS (default 5000), CHAOS_CALL_MS (3000),
# RESTY_ZOOKEEPER_NATIVE (the Lua module; else built), CHAOS_SWIFT_BIN (zk-chaos; else built),
# CHAOS_BREAK=drop|twice (tamper with the server's truth before the checks: they must fail).
set -uo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
WORK="$(mktemp -d /tmp/zk-chaos.XXXXXX)"
# The nginx suites' helpers: nginx_setup, start_nginx, wait_until, alive, finish_suite, ...
# shellcheck source=../nginx/common.sh
source "$REPO/test/nginx/common.sh"
N="${1:-20}"
SEED="${CHAOS_SEED:-$((RANDOM * 32768 + RANDOM))}"
RANDOM="$SEED"
SESSION_MS="${CHAOS_SESSION_MS:-5000}"
CALL_MS="${CHAOS_CALL_MS:-3000}"
ZK3="$WORK/zk3"
WRITERS=(luajit nginx swift)
NGINX_PID=""
BG_PIDS=()
T0=$(now_ms)

cleanup() { finish_suite $? "${BG_PIDS[@]}"; }
trap cleanup EXIT
trap 'echo "# interrupted"; exit 130' INT TERM

log "seed $SEED, $N faults, session timeout $SESSION_MS ms, call timeout $CALL_MS ms, directory $WORK"

# ---- build and start ---------------------------------------------------------------------------
command -v luajit >/dev/null || die "luajit not found"
nginx_setup
if [[ -n "${CHAOS_SWIFT_BIN:-}" ]]; then
    SWIFT_BIN="$CHAOS_SWIFT_BIN"
else
    command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:$PATH"
    (cd "$REPO" && swift build --product zk-chaos >"$WORK/swift-build.log" 2>&1) || { tail -n 20 "$WORK/swift-build.log"; die "swift build --product zk-chaos failed"; }
    SWIFT_BIN="$(cd "$REPO" && swift build --show-bin-path)/zk-chaos"
fi
[[ -x "$SWIFT_BIN" ]] || die "no $SWIFT_BIN"

# The host's own stalls (a shared machine): a loop that sleeps 100 ms notes every wake-up more
# than a second late; check.py names them when a call outlived its timeout plus a second.
(while :; do t=$(date +%s%3N); sleep 0.1; late=$(($(date +%s%3N) - t - 100)); ((late < 1000)) || echo "stall $t $late"; done) >"$WORK/stalls" &
BG_PIDS+=($!)

ENSEMBLE="$("$TESTBED" start-ensemble "$ZK3" 2>"$WORK/zk3-start.log")" || { cat "$WORK/zk3-start.log"; die "the ensemble did not start"; }
log "ensemble $ENSEMBLE"

LUA_PATH="$REPO/lua/?.lua;$REPO/lua/?/init.lua;$HERE/?.lua;;" luajit "$HERE/lua_writer.lua" "$ENSEMBLE" "$WORK" luajit \
    "$SESSION_MS" "$CALL_MS" /chaos/swift >"$WORK/luajit.out" 2>&1 &
WRITER_PIDS=($!)
"$SWIFT_BIN" "$ENSEMBLE" "$WORK" swift "$SESSION_MS" "$CALL_MS" >"$WORK/swift.out" 2>&1 &
WRITER_PIDS+=($!)
BG_PIDS+=("${WRITER_PIDS[@]}")
# nginx's worker runs as another user (nobody when started as root): it reads the control files
# and appends to its ledger.
chmod 755 "$WORK" && : >"$WORK/nginx.ledger" && chmod 666 "$WORK/nginx.ledger"
start_nginx "$WORK/nginx" "$HERE/nginx.conf.in" "ZK=$ENSEMBLE" "CHAOS=$HERE" "RUN=$WORK" \
    "SESSION_MS=$SESSION_MS" "CALL_MS=$CALL_MS" || die "nginx did not start"

# marked WORD: every writer's ledger has a line WORD.
marked() {
    local w
    for w in "${WRITERS[@]}"; do grep -qx "$1" "$WORK/$w.ledger" 2>/dev/null || return 1; done
}
wait_until 60 marked ready || die "writers not ready: $(for w in "${WRITERS[@]}"; do echo "$w: $(tail -n 2 "$WORK/$w.ledger" 2>/dev/null | tr '\n' ' ')"; done)"
log "writers ready after $(($(now_ms) - T0)) ms"

# ---- faults --------------------------------------------------------------------------------------
port_of() { cat "$ZK3/$1/port"; }
mode_of() { "$TESTBED" 4lw "127.0.0.1:$(port_of "$1")" srvr 2>/dev/null | sed -n 's/^Mode: //p'; }
# roles: sets LEADER and FOLLOWERS (returns non-zero unless one leader and two followers).
roles() {
    LEADER="" FOLLOWERS=()
    local i mode
    for i in 1 2 3; do
        mode="$(mode_of "$i")"
        if [[ "$mode" == leader ]]; then LEADER="$i"; elif [[ "$mode" == follower ]]; then FOLLOWERS+=("$i"); fi
    done
    [[ -n "$LEADER" && ${#FOLLOWERS[@]} == 2 ]]
}
rand_ms() { echo $(($1 + RANDOM % ($2 - $1 + 1))); }

declare -A FAULTS=()
for ((f = 1; f <= N; f++)); do
    wait_until 60 roles || die "fault $f: no leader and two followers 60 s after the last fault ($("$TESTBED" status "$ZK3" | tr '\n' ' '))"
    role=$([[ $((RANDOM % 2)) == 0 ]] && echo leader || echo follower)
    if [[ "$role" == leader ]]; then victim="$LEADER"; else victim="${FOLLOWERS[RANDOM % 2]}"; fi
    kind=$([[ $((RANDOM % 2)) == 0 ]] && echo kill || echo freeze)
    t=$(now_ms)
    if [[ "$kind" == kill ]]; then
        "$TESTBED" kill9 "$ZK3" "$victim" || die "fault $f: kill9 $victim failed"
        # The server comes back empty and takes a snapshot from the leader. From its own log it
        # can come back without transactions that ZooKeeper 3.8.0 applied but never logged after
        # a DIFF sync, and lose them for everyone once it leads (found by this campaign, twice in
        # 300 faults: docs/chaos.md). The clients' faults are the same either way.
        rm -rf "$ZK3/$victim/data/version-2"
        "$TESTBED" restart "$ZK3" "$victim" >/dev/null 2>"$WORK/restart.log" || die "fault $f: restart of $victim failed: $(tail -n 5 "$WORK/restart.log")"
        what="kill -9 and restart"
    else
        hold=$(rand_ms 1500 4000)
        "$TESTBED" pause "$ZK3" "$victim" || die "fault $f: pause $victim failed"
        sleep "$(awk -v ms="$hold" 'BEGIN { printf "%.3f", ms / 1000 }')"
        "$TESTBED" resume "$ZK3" "$victim" || die "fault $f: resume $victim failed"
        "$TESTBED" wait "$ZK3" "$victim" 2>"$WORK/wait.log" || die "fault $f: server $victim not serving after its freeze: $(tail -n 5 "$WORK/wait.log")"
        what="freeze ${hold} ms"
    fi
    FAULTS["$kind $role"]=$((${FAULTS["$kind $role"]:-0} + 1))
    echo "fault $f $kind $role server=$victim start=$t end=$(now_ms)" >>"$WORK/faults"
    log "fault $f/$N: $what of the $role (server $victim), back after $(($(now_ms) - t)) ms"
    sleep "$(awk -v ms="$(rand_ms 300 1500)" 'BEGIN { printf "%.3f", ms / 1000 }')"
done

# ---- checks after the faults -----------------------------------------------------------------------
wait_until 60 roles || die "no leader and two followers after the faults"
sleep 1
touch "$WORK/quiesce"
wait_until 30 marked quiesced || die "writers did not stop: $(for w in "${WRITERS[@]}"; do echo "$w: $(tail -n 2 "$WORK/$w.ledger" | tr '\n' ' ')"; done)"
touch "$WORK/dump"
viewed() { grep -qx viewed "$WORK/luajit.ledger" && grep -qx viewed "$WORK/swift.ledger"; }
wait_until 30 viewed || die "watchers did not write their views"
timeout 300 "$PY" "$HERE/check.py" writes "$WORK" "$ENSEMBLE" "$CALL_MS" "${WRITERS[@]}" 2>>"$WORK/kazoo.err" | tee "$WORK/check-writes.out"
if ((PIPESTATUS[0] == 0)); then pass "writes and watches over $N faults"; else fail "writes and watches over $N faults"; fi

# ---- the quorum lost for longer than the session timeout -----------------------------------------
wait_until 60 roles || die "no leader and two followers before the quorum loss"
frozen_ports=""
T_FREEZE=$(now_ms)
for i in "${FOLLOWERS[@]}"; do
    "$TESTBED" pause "$ZK3" "$i" || die "pause $i failed"
    frozen_ports+="${frozen_ports:+,}$(port_of "$i")"
done
log "quorum lost: followers ${FOLLOWERS[*]} frozen (leader $LEADER)"
expired_all() {
    local w
    for w in "${WRITERS[@]}"; do grep -q '^state [0-9]* \(polled:\)\{0,1\}expired' "$WORK/$w.ledger" || return 1; done
}
wait_until $((SESSION_MS * 3 / 1000 + 5)) expired_all || log "not every client heard the expiry"
sleep 2
for i in "${FOLLOWERS[@]}"; do "$TESTBED" resume "$ZK3" "$i" || die "resume $i failed"; done
log "quorum back after $(($(now_ms) - T_FREEZE)) ms"
reregistered() { grep -q '^registered [0-9]* connected true' <(sed -n '/expired/,$p' "$WORK/nginx.ledger"); }
wait_until 40 reregistered || log "the nginx client did not register again within 40 s"
timeout 120 "$PY" "$HERE/check.py" expiry "$WORK" "$ENSEMBLE" "$SESSION_MS" "$T_FREEZE" "$frozen_ports" "${WRITERS[@]}" \
    2>>"$WORK/kazoo.err" | tee "$WORK/check-expiry.out"
if ((PIPESTATUS[0] == 0)); then pass "quorum loss: expiry reported, ephemerals gone, registration back"; else fail "quorum loss"; fi

# The processes end cleanly: the writers exit 0 with nothing on stderr, nginx logs no crash.
touch "$WORK/stop"
ends=()
for i in 0 1; do
    pid="${WRITER_PIDS[i]}"
    wait_until 10 eval '! alive '"$pid" || kill "$pid" 2>/dev/null
    wait "$pid"; ends+=("${WRITERS[i * 2]}=$?")
done
stop_nginx 10
ends+=("nginx=$QUIT_RC")
crashes="$(crash_lines "$WORK/nginx/error.log")"
if [[ "${ends[*]}" == "luajit=0 swift=0 nginx=0" && -z "$crashes" && ! -s "$WORK/luajit.out" && ! -s "$WORK/swift.out" ]]; then
    pass "clean ends (${ends[*]})"
else
    fail "clean ends: exit codes ${ends[*]}, nginx alerts: '$(head -n 3 <<<"$crashes")', stderr: $(head -c 300 "$WORK/luajit.out" "$WORK/swift.out")"
fi

# ---- figures ----------------------------------------------------------------------------------------
log "faults by kind: $(for k in "${!FAULTS[@]}"; do echo -n "$k=${FAULTS[$k]} "; done)"
grep -h '^figure' "$WORK"/check-*.out | sed 's/^figure /# /'
echo "$PASSED passed, $FAILED failed ($(($(now_ms) - T0)) ms, seed $SEED)"
((FAILED == 0))
