# Helpers shared by the real-nginx suites (test/nginx/run.sh, test/nginx/openresty.sh); sourced,
# not run. The sourcing script sets WORK (its temp dir) before calling most of them, and PORT
# before http().
#
# After `nginx_setup`: LUA_MODULE, EXTRA_LUA_PATH, NGINX_ENV (a prefix for running nginx, from
# NGX_LUA_ROOT), SO (the native library: RESTY_ZOOKEEPER_NATIVE, or built with
# scripts/build-lua.sh debug), and RESTY_ZOOKEEPER_NATIVE exported for nginx's `env` directive.

NGINX="${NGINX:-nginx}"
TESTBED="$REPO/scripts/zk-testbed.sh"
# kazoo is a Debian package: use Debian's python, whatever `python3` is on PATH.
PY=/usr/bin/python3
ZK_TOOL="$HERE/zk_tool.py"
# The suites' one kazoo helper (an independent client, for cross-checks).
KAZOO="$REPO/test/kazoo_peer.py"
# The Lua modules under test (resty/zookeeper.lua and resty/zookeeper/*): LUA_DIR=<dir> tests
# another copy of the repository's lua/ directory.
LUA_DIR="${LUA_DIR:-$REPO/lua}"
PASSED=0
FAILED=0

log() { echo "# $*"; }
pass() { PASSED=$((PASSED + 1)); echo "PASS $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }
now_ms() { date +%s%3N; }
ms() { awk -v t="$1" 'BEGIN { printf "%.1f", t * 1000 }'; }

# A zombie still answers kill -0, so look at the process state too.
alive() {
    local state
    [[ -n "$1" && -r "/proc/$1/stat" ]] || return 1
    read -r _ _ state _ <"/proc/$1/stat" 2>/dev/null || return 1
    [[ "$state" != Z ]]
}

die() {
    echo "FAIL setup: $*"
    FAILED=$((FAILED + 1))
    echo "$PASSED passed, $FAILED failed"
    exit 1
}

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_until SECONDS COMMAND...: polls every 0.1 s.
wait_until() {
    local deadline=$(($(now_ms) + $1 * 1000)); shift
    until "$@"; do
        (($(now_ms) < deadline)) || return 1
        sleep 0.1
    done
}

# http PATH [MAX_SECONDS]: sets CODE, TIME (seconds), BODY; returns non-zero unless 200.
http() {
    local out
    out="$(curl -sS --max-time "${2:-10}" -o "$WORK/body" -w '%{http_code} %{time_total}' \
        "http://127.0.0.1:$PORT$1" 2>"$WORK/curl.err")"
    CODE="${out%% *}"
    TIME="${out##* }"
    BODY="$(cat "$WORK/body" 2>/dev/null || true)"
    rm -f "$WORK/body"
    [[ "$CODE" == 200 ]]
}

# fetch_report: GET /report into REPORT; report KEY: a value from it.
fetch_report() { http /report 5 && REPORT="$BODY"; }
report() { sed -n "s|^$1=||p" <<<"$REPORT" | head -n 1; }

# Sessions established on a server (the 4lw connection itself has no sid): zk_sessions HOST:PORT.
zk_sessions() {
    local answer
    answer="$("$TESTBED" 4lw "$1" cons 2>/dev/null)" || { echo -1; return; }
    grep -c 'sid=0x' <<<"$answer" || true
}

threads_of() { ls "/proc/$1/task" 2>/dev/null | wc -l; }
workers_of() { ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' '; }

# Finds the Lua module (Debian's, or one unpacked under NGX_LUA_ROOT, see README.md) and the
# native library.
nginx_setup() {
    local tool
    for tool in "$NGINX" curl "$PY" java; do
        command -v "$tool" >/dev/null || die "$tool not found"
    done
    "$PY" -c 'import kazoo' 2>/dev/null || die "$PY cannot import kazoo (python3-kazoo)"
    LUA_MODULE=/usr/lib/nginx/modules/ngx_http_lua_module.so
    EXTRA_LUA_PATH=""
    NGINX_ENV=()
    if [[ -n "${NGX_LUA_ROOT:-}" ]]; then
        LUA_MODULE="$NGX_LUA_ROOT/usr/lib/nginx/modules/ngx_http_lua_module.so"
        local luajit_lib
        luajit_lib="$(ls "$NGX_LUA_ROOT"/usr/lib/*/libluajit-5.1.so.2 2>/dev/null | head -n 1)"
        [[ -n "$luajit_lib" ]] || die "no libluajit-5.1.so.2 under $NGX_LUA_ROOT/usr/lib/*/"
        NGINX_ENV=(env "LD_LIBRARY_PATH=$(dirname "$luajit_lib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
        EXTRA_LUA_PATH="$NGX_LUA_ROOT/usr/share/lua/5.1/?.lua;$NGX_LUA_ROOT/usr/share/lua/5.1/?/init.lua;"
    fi
    [[ -f "$LUA_MODULE" ]] ||
        die "$LUA_MODULE not found: install libnginx-mod-http-lua (it conflicts with Debian's luajit package, which removes it), or set NGX_LUA_ROOT"
    [[ -f /usr/lib/nginx/modules/ndk_http_module.so ]] || die "libnginx-mod-http-ndk is not installed"

    if [[ -n "${RESTY_ZOOKEEPER_NATIVE:-}" ]]; then
        SO="$RESTY_ZOOKEEPER_NATIVE"
    else
        log "building the native module (scripts/build-lua.sh debug)"
        local t0; t0=$(now_ms)
        SO="$(timeout 1800 "$REPO/scripts/build-lua.sh" debug 2>"$WORK/build.log" | tail -n 1)" ||
            { tail -n 30 "$WORK/build.log"; die "build failed"; }
        log "built $SO in $(($(now_ms) - t0)) ms"
    fi
    [[ -f "$SO" ]] || die "native library $SO not found"
    SO="$(readlink -f "$SO")" # .build/debug is a symlink; /proc/PID/maps names the real file
    export RESTY_ZOOKEEPER_NATIVE="$SO" # passed to nginx by `env RESTY_ZOOKEEPER_NATIVE;`
}

# render TEMPLATE OUT KEY=VALUE...: copies TEMPLATE to OUT with every @KEY@ replaced (and the
# common @WORK@ = OUT's directory, @REPO@, @HERE@, @LUA_DIR@, @LUA_MODULE@, @EXTRA_LUA_PATH@).
render() {
    local template="$1" out="$2" kv args=(); shift 2
    for kv in "WORK=$(dirname "$out")" "REPO=$REPO" "HERE=$HERE" "LUA_DIR=$LUA_DIR" "LUA_MODULE=$LUA_MODULE" \
        "EXTRA_LUA_PATH=$EXTRA_LUA_PATH" "$@"; do
        args+=(-e "s|@${kv%%=*}@|${kv#*=}|g")
    done
    sed "${args[@]}" "$template" >"$out"
}

# start_nginx DIR TEMPLATE KEY=VALUE...: renders DIR/nginx.conf (PORT is a fresh free port),
# tests it, starts nginx (daemon off, its master is our child) and waits until GET /static
# answers. Sets NGINX_PID, PORT, CONF, NGX_DIR.
start_nginx() {
    NGX_DIR="$1"
    local template="$2"; shift 2
    PORT="$(free_port)"
    mkdir -p "$NGX_DIR/tmp"
    render "$template" "$NGX_DIR/nginx.conf" "PORT=$PORT" "$@"
    CONF=("-p" "$NGX_DIR" "-c" "$NGX_DIR/nginx.conf")
    timeout 30 "${NGINX_ENV[@]}" "$NGINX" "${CONF[@]}" -t >"$NGX_DIR/configtest.log" 2>&1 ||
        { cat "$NGX_DIR/configtest.log"; return 1; }
    local t0; t0=$(now_ms)
    "${NGINX_ENV[@]}" "$NGINX" "${CONF[@]}" >"$NGX_DIR/stdout.log" 2>"$NGX_DIR/stderr.log" &
    NGINX_PID=$!
    nginx_up() { alive "$NGINX_PID" || return 2; http /static 1; }
    wait_until 30 nginx_up || { echo "# nginx (pid $NGINX_PID) did not answer on 127.0.0.1:$PORT"; return 1; }
    log "nginx master $NGINX_PID listening on 127.0.0.1:$PORT after $(($(now_ms) - t0)) ms"
}

kill_nginx() {
    alive "$NGINX_PID" || return 0
    local workers; workers="$(workers_of "$NGINX_PID")"
    kill -KILL "$NGINX_PID" $workers 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null
}

# stop_nginx SECONDS: nginx -s quit, then wait for the master; KILL it (and its workers) if it
# hangs. Sets QUIT_MS and QUIT_RC (-1 when it had to be killed).
stop_nginx() {
    local t0; t0=$(now_ms)
    timeout 10 "${NGINX_ENV[@]}" "$NGINX" "${CONF[@]}" -s quit >"$NGX_DIR/signal.log" 2>&1 || kill -QUIT "$NGINX_PID" 2>/dev/null
    wait_exit "$1" "$t0"
}

# wait_exit SECONDS T0_MS: waits for the master after a quit signal; sets QUIT_MS, QUIT_RC.
wait_exit() {
    local deadline=$(($(now_ms) + $1 * 1000))
    while alive "$NGINX_PID" && (($(now_ms) < deadline)); do sleep 0.05; done
    QUIT_MS=$(($(now_ms) - $2))
    if alive "$NGINX_PID"; then
        QUIT_RC=-1
        log "master $NGINX_PID still alive $1 s after quit (its threads: $(cat /proc/"$NGINX_PID"/task/*/comm 2>/dev/null | tr '\n' ' ')); killing it"
        kill_nginx
    else
        wait "$NGINX_PID"; QUIT_RC=$?
    fi
    NGINX_PID=""
}

# Lines nginx writes at [error] level when a cosocket read times out: the per-request driver
# reads with a timeout whenever it waits (see README.md, known module issues).
READ_TIMEOUT_RE='\[error\].*lua tcp socket read timed out'

# crash_lines FILE: alert/crit/emerg lines and crashes.
crash_lines() { grep -E '\[(alert|crit|emerg)\]|exited on signal|core dumped' "$1"; }
# error_lines FILE: [error] lines but the read timeouts (checked on their own).
error_lines() { grep -E '\[error\]' "$1" | grep -Ev "$READ_TIMEOUT_RE"; }

print_logs() {
    local dir f
    for dir in "$WORK"/nginx*; do
        for f in "$dir/error.log" "$dir/stderr.log" "$dir/stdout.log"; do
            [[ -s "$f" ]] || continue
            echo "----- tail of $f (without debug lines) -----"
            grep -v '\[debug\]' "$f" | tail -n 60
        done
    done
    for f in "$WORK"/zk*/log/zookeeper.log "$WORK"/zk*/*/log/zookeeper.log; do
        [[ -s "$f" ]] || continue
        echo "----- tail of $f -----"
        tail -n 20 "$f"
    done
}

# finish_suite RC PID...: the EXIT trap of a suite. Stops the given background processes, the
# nginx master (QUIT, then KILL after 10 s) and every ZooKeeper test bed under WORK (zk*/), prints
# the logs on failure, keeps WORK on failure or KEEP=1 (removes it otherwise), exits with RC.
finish_suite() {
    local rc=$1 pid dir
    shift
    trap - EXIT INT TERM
    for pid in "$@"; do alive "$pid" && kill "$pid" 2>/dev/null; done
    if alive "$NGINX_PID"; then
        log "cleanup: stopping nginx master $NGINX_PID"
        kill -QUIT "$NGINX_PID" 2>/dev/null || true
        local deadline=$((SECONDS + 10))
        while alive "$NGINX_PID" && ((SECONDS < deadline)); do sleep 0.1; done
        kill_nginx
    fi
    for dir in "$WORK"/zk*/; do [[ -d "$dir" ]] && "$TESTBED" stop "${dir%/}" >/dev/null 2>&1; done
    ((FAILED > 0 || rc != 0)) && print_logs
    if [[ "${KEEP:-0}" == 1 || $FAILED -gt 0 || $rc -ne 0 ]]; then
        echo "# logs kept in $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
