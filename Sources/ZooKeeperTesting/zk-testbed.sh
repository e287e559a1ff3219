#!/usr/bin/env bash
# Local ZooKeeper servers for integration tests, using Debian's `zookeeper` package: the one
# implementation of the test bed. The shell suites run it as scripts/zk-testbed.sh; the Swift
# library ZooKeeperTesting (ZooKeeperServer) runs this copy, bundled as its resource.
#
#   zk-testbed.sh start-single DIR [PORT]   -> prints 127.0.0.1:PORT
#   zk-testbed.sh start-ensemble DIR        -> prints the 3-server connect string
#   zk-testbed.sh stop DIR                  stop every server under DIR
#   zk-testbed.sh kill9 DIR N               SIGKILL server N, wait until it is gone
#   zk-testbed.sh pause|resume DIR N        SIGSTOP / SIGCONT server N (silent partition)
#   zk-testbed.sh restart DIR N             stop server N if running, start it again, wait until serving
#   zk-testbed.sh wait DIR [N]              wait until server N (or every running one) serves
#   zk-testbed.sh status DIR                pid, port and mode of each server
#   zk-testbed.sh 4lw HOST:PORT WORD        print the answer to a four-letter word
#   zk-testbed.sh start-secure DIR          -> prints PLAIN SECURE CERTDIR: a single server with
#                                              SASL (user bob, password bobsecret) on the plain
#                                              port, TLS needing client certificates on the secure
#                                              one; certificates from scripts/zk-test-certs.sh
#   zk-testbed.sh start-secure-ensemble DIR -> prints PLAIN SECURE CERTDIR: the same as a 3-server
#                                              ensemble (PLAIN, SECURE: connect strings)
#
# For a single server N may be omitted. Layout: single -> DIR/{zoo.cfg,pid,port,data,log};
# ensemble -> the same under DIR/1, DIR/2, DIR/3.
# Environment: ZK_TESTBED_TIMEOUT (seconds, default 60), ZK_TESTBED_JAVA_OPTS
# (default "-Xmx256m -XX:+UseSerialGC"), ZK_TESTBED_CONFIG (extra zoo.cfg lines, one per line:
# where TLS and SASL settings go; @SECURE_PORT@ in them becomes a free port, written to
# DIR/secure-port), ZK_TESTBED_JVM_OPTIONS (a server's own JVM options, one per line, kept in
# DIR/jvm-options for restarts: JAAS for SASL), ZOOKEEPER_CLASSPATH (default: Debian's jars).
# A start without a given port retries twice with fresh ports if another process took one.
set -euo pipefail
shopt -s inherit_errexit   # let failures inside $(...) stop the script too

# Debian's zookeeper.jar manifest pulls in slf4j-api but no binding, so without the two
# logging jars the server logs nothing at all (SLF4J NOP). Debian's conf dir carries a
# log4j 1.2 log4j.properties driven by zookeeper.root.logger / zookeeper.log.dir.
# netty-codec and netty-resolver: zookeeper.jar's manifest lacks them; the TLS (Netty) server needs them.
ZK_CLASSPATH="${ZOOKEEPER_CLASSPATH:-/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar:/usr/share/java/netty-codec.jar:/usr/share/java/netty-resolver.jar}"
TIMEOUT="${ZK_TESTBED_TIMEOUT:-60}"
read -r -a JAVA_OPTS <<<"${ZK_TESTBED_JAVA_OPTS:--Xmx256m -XX:+UseSerialGC}"

die() { echo "zk-testbed: $*" >&2; exit 1; }

abs_dir() { mkdir -p "$1" && (cd "$1" && pwd); }
existing_dir() { [[ -d "$1" ]] || die "no such directory: $1"; (cd "$1" && pwd); }

# Distinct free loopback ports: all sockets stay bound until every port is picked.
free_ports() {
    python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# A zombie still answers kill -0, so look at the process state too.
alive() {
    local state
    [[ -n "$1" && -r "/proc/$1/stat" ]] || return 1
    read -r _ _ state _ <"/proc/$1/stat" 2>/dev/null || return 1
    [[ "$state" != Z ]]
}

# Only touch a pid that is still our server (guards against stale pid files and pid reuse).
ours() {
    local cmdline
    alive "$1" && cmdline="$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)" && [[ "$cmdline" == *"$2/zoo.cfg"* ]]
}

recorded_pid() { [[ -f "$1/pid" ]] && cat "$1/pid" || true; }

server_dir() {
    local dir; dir="$(existing_dir "$1")"
    if [[ -n "${2:-}" ]]; then
        [[ -f "$dir/$2/zoo.cfg" ]] || die "no server $2 under $dir"
        echo "$dir/$2"
    else
        [[ -f "$dir/zoo.cfg" ]] || die "no single server in $dir (give a server number)"
        echo "$dir"
    fi
}

four_letter_word() {
    local host="${1%:*}" port="${1##*:}" word="$2"
    # The server answers and closes the connection, so read to EOF.
    timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf %s "$2" >&3 && cat <&3' "$host" "$port" "$word"
}

# write_cfg SDIR CLIENT_PORT [server lines...]
write_cfg() {
    local sdir="$1" port="$2"; shift 2
    mkdir -p "$sdir/data" "$sdir/log"
    {
        echo "tickTime=500"
        echo "initLimit=10"
        echo "syncLimit=2"
        echo "dataDir=$sdir/data"
        echo "clientPort=$port"
        echo "clientPortAddress=127.0.0.1"
        echo "maxClientCnxns=0"
        echo "minSessionTimeout=1000"
        echo "maxSessionTimeout=60000"
        echo "admin.enableServer=false"
        echo "4lw.commands.whitelist=*"
        echo "extendedTypesEnabled=true"
        # Test data is throwaway; skipping fsync keeps writes fast on a shared disk.
        echo "forceSync=no"
        printf '%s\n' "$@"
        local extra="${ZK_TESTBED_CONFIG:-}"
        if [[ "$extra" == *@SECURE_PORT@* ]]; then
            local secure; secure="$(free_ports 1)"
            extra="${extra//@SECURE_PORT@/$secure}"
            echo "$secure" >"$sdir/secure-port"
        fi
        [[ -z "$extra" ]] || printf '%s\n' "$extra"
    } >"$sdir/zoo.cfg"
    echo "$port" >"$sdir/port"
    if [[ -n "${ZK_TESTBED_JVM_OPTIONS:-}" ]]; then printf '%s\n' "$ZK_TESTBED_JVM_OPTIONS" >"$sdir/jvm-options"; fi
}

launch() {
    local sdir="$1" pid
    local old; old="$(recorded_pid "$sdir")"
    ours "$old" "$sdir" && die "server in $sdir already running as pid $old"
    local -a extra=()
    [[ -f "$sdir/jvm-options" ]] && mapfile -t extra <"$sdir/jvm-options"
    # setsid detaches the server from our session; it execs in place, so $! is java's pid.
    setsid java "${JAVA_OPTS[@]}" "${extra[@]}" \
        -Dzookeeper.log.dir="$sdir/log" -Dzookeeper.root.logger=INFO,ROLLINGFILE \
        -Dzookeeper.jmx.log4j.disable=true \
        -cp "$ZK_CLASSPATH" org.apache.zookeeper.server.quorum.QuorumPeerMain "$sdir/zoo.cfg" \
        </dev/null >>"$sdir/log/stdout.log" 2>&1 &
    pid=$!
    echo "$pid" >"$sdir/pid"
}

fail_with_log() {
    local sdir="$1"; shift
    echo "zk-testbed: $*" >&2
    echo "--- tail of $sdir/log/zookeeper.log ---" >&2
    tail -n 40 "$sdir/log/zookeeper.log" >&2 2>/dev/null || true
    if [[ -s "$sdir/log/stdout.log" ]]; then
        echo "--- tail of $sdir/log/stdout.log ---" >&2
        tail -n 20 "$sdir/log/stdout.log" >&2
    fi
    return 1
}

# start_and_wait SDIR...: launch, wait until all serve; on failure stop what we launched and
# return wait_serving's status (2: a port was taken, worth retrying on fresh ports).
start_and_wait() {
    local sdir status=0
    for sdir in "$@"; do launch "$sdir"; done
    wait_serving "$@" || status=$?
    ((status == 0)) || stop_servers "$@"
    return "$status"
}

# Serving means `srvr` reports a Mode; `ruok` already answers before sessions are accepted.
# `conf` names the dataDir, which tells our server from another one already on the port.
serving_state() {
    local port="$1" sdir="$2" answer
    # Capture output first: `| grep -q` could SIGPIPE the reader and fail under pipefail.
    answer="$(four_letter_word "127.0.0.1:$port" srvr 2>/dev/null || true)"
    [[ "$answer" == *$'\nMode: '* ]] || { echo starting; return; }
    answer="$(four_letter_word "127.0.0.1:$port" conf 2>/dev/null || true)"
    if [[ "$answer" == *"dataDir=$sdir/data/"* ]]; then echo serving
    elif [[ "$answer" == *"dataDir="* ]]; then echo foreign
    else echo starting   # lost its leader in between; poll again
    fi
}

wait_serving() {
    local deadline=$((SECONDS + TIMEOUT)) sdir pid port state
    for sdir in "$@"; do
        pid="$(recorded_pid "$sdir")"; port="$(cat "$sdir/port")"
        while state="$(serving_state "$port" "$sdir")"; [[ "$state" != serving ]]; do
            [[ "$state" != foreign ]] ||
                { fail_with_log "$sdir" "port $port is served by another ZooKeeper, not by pid $pid"; return 2; }
            # (usually a port taken between picking and binding it)
            alive "$pid" || { fail_with_log "$sdir" "server (pid $pid) exited during startup"; return 2; }
            ((SECONDS < deadline)) || { fail_with_log "$sdir" "server on port $port not serving after ${TIMEOUT}s"; return 1; }
            sleep 0.2
        done
    done
}

wait_gone() {
    local deadline=$((SECONDS + $1)) pid; shift
    for pid in "$@"; do
        while alive "$pid"; do
            ((SECONDS < deadline)) || return 1
            sleep 0.1
        done
    done
}

# stop_servers SDIR...: TERM, then KILL after a grace period; returns once all are gone.
stop_servers() {
    local sdir pid pids=()
    for sdir in "$@"; do
        pid="$(recorded_pid "$sdir")"
        if ours "$pid" "$sdir"; then
            kill -CONT "$pid" 2>/dev/null || true   # a paused JVM cannot act on TERM
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid")
        fi
    done
    ((${#pids[@]})) || return 0
    if ! wait_gone 5 "${pids[@]}"; then
        for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
        wait_gone 30 "${pids[@]}" || die "pids ${pids[*]} still alive after SIGKILL"
    fi
}

all_server_dirs() {
    local dir; dir="$(existing_dir "$1")"
    [[ -f "$dir/zoo.cfg" ]] && echo "$dir"
    for sdir in "$dir"/*/; do
        [[ -f "$sdir/zoo.cfg" ]] && echo "${sdir%/}"
    done
    return 0
}

# with_retries COMMAND ARGS...: runs a start up to 3 times while it fails with status 2.
with_retries() {
    local attempt status
    for attempt in 1 2 3; do
        status=0
        "$@" || status=$?
        ((status == 2 && attempt < 3)) || return "$status"
        echo "zk-testbed: retrying with fresh ports" >&2
    done
}

# The servers under DIR whose process runs and is not stopped (SIGSTOP).
running_server_dirs() {
    local sdir pid state
    while read -r sdir; do
        pid="$(recorded_pid "$sdir")"
        ours "$pid" "$sdir" || continue
        read -r _ _ state _ <"/proc/$pid/stat" 2>/dev/null || continue
        [[ "$state" == T ]] || echo "$sdir"
    done < <(all_server_dirs "$1")
}

cmd_start_single() {
    local dir; dir="$(abs_dir "$1")"
    if [[ -n "${2:-}" ]]; then start_single_on "$dir" "$2"; else with_retries start_single_on "$dir" ""; fi
}

start_single_on() {
    local dir="$1" port="$2"
    [[ -n "$port" ]] || port="$(free_ports 1)"
    write_cfg "$dir" "$port"
    start_and_wait "$dir" || return
    echo "127.0.0.1:$port"
}

# secure_settings DIR: certificates and JAAS under DIR; sets SECURE_JVM and SECURE_CONFIG, the
# JVM options and zoo.cfg lines of a server with SASL (user bob) on its plain port and TLS
# needing client certificates on its secure one.
secure_settings() {
    local dir="$1"
    local scripts; scripts="$(dirname "${BASH_SOURCE[0]}")/../../scripts"
    bash "$scripts/zk-test-certs.sh" "$dir/certs" 2>/dev/null
    printf 'Server {\n  org.apache.zookeeper.server.auth.DigestLoginModule required user_bob="bobsecret";\n};\n' >"$dir/jaas.conf"
    SECURE_JVM="-Djava.security.auth.login.config=$dir/jaas.conf
-Dzookeeper.serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory"
    SECURE_CONFIG="authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider
authProvider.2=org.apache.zookeeper.server.auth.X509AuthenticationProvider
secureClientPort=@SECURE_PORT@
secureClientPortAddress=127.0.0.1
ssl.keyStore.location=$dir/certs/server.p12
ssl.keyStore.password=testpass
ssl.keyStore.type=PKCS12
ssl.trustStore.location=$dir/certs/trust.p12
ssl.trustStore.password=testpass
ssl.trustStore.type=PKCS12
ssl.clientAuth=need"
}

cmd_start_secure() {
    local dir; dir="$(abs_dir "$1")"
    secure_settings "$dir"
    local plain
    plain="$(ZK_TESTBED_JVM_OPTIONS="$SECURE_JVM" ZK_TESTBED_CONFIG="$SECURE_CONFIG" cmd_start_single "$dir")" || return
    echo "$plain 127.0.0.1:$(cat "$dir/secure-port") $dir/certs"
}

cmd_start_secure_ensemble() {
    local dir; dir="$(abs_dir "$1")"
    secure_settings "$dir"
    local plain
    plain="$(ZK_TESTBED_JVM_OPTIONS="$SECURE_JVM" ZK_TESTBED_CONFIG="$SECURE_CONFIG" cmd_start_ensemble "$dir")" || return
    local i secure=()
    for i in 1 2 3; do secure+=("127.0.0.1:$(cat "$dir/$i/secure-port")"); done
    echo "$plain $(IFS=,; echo "${secure[*]}") $dir/certs"
}

cmd_start_ensemble() { with_retries start_ensemble_in "$(abs_dir "$1")"; }

start_ensemble_in() {
    local dir="$1"
    local ports; ports="$(free_ports 9)"
    local -a p; read -r -a p <<<"$ports"
    local servers=() connect=() i
    for i in 1 2 3; do
        servers+=("server.$i=127.0.0.1:${p[3 + i - 1]}:${p[6 + i - 1]}")
        connect+=("127.0.0.1:${p[i - 1]}")
    done
    for i in 1 2 3; do
        write_cfg "$dir/$i" "${p[i - 1]}" "${servers[@]}"
        echo "$i" >"$dir/$i/data/myid"
    done
    start_and_wait "$dir/1" "$dir/2" "$dir/3" || return
    (IFS=,; echo "${connect[*]}")
}

cmd_signal() {
    local sig="$1" sdir pid; sdir="$(server_dir "$2" "${3:-}")"
    pid="$(recorded_pid "$sdir")"
    ours "$pid" "$sdir" || die "server in $sdir is not running"
    kill "-$sig" "$pid"
    if [[ "$sig" == KILL ]]; then
        wait_gone 30 "$pid" || die "pid $pid still alive after SIGKILL"
    fi
}

cmd_restart() {
    local sdir; sdir="$(server_dir "$1" "${2:-}")"
    stop_servers "$sdir"
    start_and_wait "$sdir" || exit 1
}

cmd_status() {
    local sdir pid port mode
    while read -r sdir; do
        pid="$(recorded_pid "$sdir")"; port="$(cat "$sdir/port")"
        if ours "$pid" "$sdir"; then
            mode="$(four_letter_word "127.0.0.1:$port" srvr 2>/dev/null | sed -n 's/^Mode: //p' || true)"
            echo "$sdir pid=$pid port=$port mode=${mode:-not-serving}"
        else
            echo "$sdir port=$port stopped"
        fi
    done < <(all_server_dirs "$1")
}

main() {
    local cmd="${1:-}"; shift || true
    case "$cmd" in
        start-single)   (($# >= 1)) || die "usage: start-single DIR [PORT]"; cmd_start_single "$@" || exit 1 ;;
        start-ensemble) (($# == 1)) || die "usage: start-ensemble DIR"; cmd_start_ensemble "$1" || exit 1 ;;
        start-secure)   (($# == 1)) || die "usage: start-secure DIR"; cmd_start_secure "$1" || exit 1 ;;
        start-secure-ensemble)
                        (($# == 1)) || die "usage: start-secure-ensemble DIR"; cmd_start_secure_ensemble "$1" || exit 1 ;;
        stop)           (($# == 1)) || die "usage: stop DIR"
                        [[ -d "$1" ]] || exit 0   # nothing was ever started there
                        mapfile -t dirs < <(all_server_dirs "$1"); stop_servers "${dirs[@]}" ;;
        kill9)          (($# >= 1)) || die "usage: kill9 DIR [N]"; cmd_signal KILL "$@" ;;
        pause)          (($# >= 1)) || die "usage: pause DIR [N]"; cmd_signal STOP "$@" ;;
        resume)         (($# >= 1)) || die "usage: resume DIR [N]"; cmd_signal CONT "$@" ;;
        restart)        (($# >= 1)) || die "usage: restart DIR [N]"; cmd_restart "$@" ;;
        wait)           (($# >= 1)) || die "usage: wait DIR [N]"
                        if (($# == 2)); then wait_serving "$(server_dir "$1" "$2")" || exit 1
                        else mapfile -t dirs < <(running_server_dirs "$1"); wait_serving "${dirs[@]}" || exit 1; fi ;;
        status)         (($# == 1)) || die "usage: status DIR"; existing_dir "$1" >/dev/null; cmd_status "$1" ;;
        4lw)            (($# == 2)) || die "usage: 4lw HOST:PORT WORD"; four_letter_word "$1" "$2" ;;
        *) sed -n '2,30s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
    esac
}

main "$@"
