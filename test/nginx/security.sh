#!/usr/bin/env bash
# TLS and SASL on nginx cosockets, against a real nginx and the secure 3-server ensemble of
# `scripts/zk-testbed.sh start-secure-ensemble` (SASL user bob on the plain ports; TLS needing
# client certificates on the secure ones):
#   GET /request   a per-request client over TLS with a client certificate: who_am_i shows
#                  x509 CN=client; 200 KB and 1 MB values round-trip;
#   GET /shared    the worker's zk.shared{ tls =, sasl = }: both identities, an ACL sasl:bob node;
#   GET /sasl      a per-request SASL client reads its sasl:bob node, an anonymous one gets
#                  NoAuth; a wrong password is auth_failed at once, not echoed;
#   GET /refusals  another server name, no client certificate: refused at once; tls.ca_file and
#                  an unreadable certificate file refused by zk.new / zk.shared;
#   GET /wrong-ca  a location whose lua_ssl_trusted_certificate did not sign the server;
#   then failover: GET /failover-before (a shared TLS+SASL client sets a watch, an ACL sasl:bob
#                  ephemeral, and names its server), kill -9 of that server, GET /failover-after:
#                  the same session on another server, both identities, the node readable, the
#                  watch fires once.
# Each handler prints "ok NAME" / "not ok NAME: why"; any "not ok" (or a handler that did not
# answer) fails. Environment as test/nginx/run.sh (RESTY_ZOOKEEPER_NATIVE, KEEP, NGINX,
# NGX_LUA_ROOT, LUA_DIR).
set -uo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
WORK="$(mktemp -d /tmp/zk-nginx-security.XXXXXX)"
# shellcheck source=common.sh
source "$HERE/common.sh"
NGINX_PID=""

cleanup() { finish_suite $?; }
trap cleanup EXIT
trap 'echo "# interrupted"; exit 130' INT TERM

nginx_setup

t0=$(now_ms)
read -r PLAIN SECURE CERTS < <(ZK_TESTBED_TIMEOUT=60 "$TESTBED" start-secure-ensemble "$WORK/zk-secure" 2>"$WORK/zk-start.log") ||
    { cat "$WORK/zk-start.log"; die "the secure ZooKeeper did not start"; }
[[ -n "${CERTS:-}" ]] || { cat "$WORK/zk-start.log"; die "the secure ZooKeeper did not start"; }
log "secure ZooKeeper: SASL on $PLAIN, TLS on $SECURE, certificates in $CERTS ($(($(now_ms) - t0)) ms)"

# nginx's workers run as another user (nobody): they read the CA, and the Lua module the client
# certificate and key, so the test's certificates are readable by all (test material only).
chmod a+rx "$WORK" "$WORK/zk-secure" "$CERTS"
chmod a+r "$CERTS"/*

start_nginx "$WORK/nginx" "$HERE/security.conf.in" "PLAIN=$PLAIN" "SECURE=$SECURE" "CERTS=$CERTS" ||
    die "nginx did not start"

# check_location PATH SECONDS: every line "ok ..." (lines "key=value" are facts, not checks).
check_location() {
    if ! http "$1" "$2"; then
        fail "$1: HTTP $CODE $(head -c 300 <<<"$BODY")"
        return 1
    fi
    local bad; bad="$(grep -v '^ok \|^[a-z_]*=' <<<"$BODY")"
    if [[ -z "$bad" ]] && grep -q '^ok ' <<<"$BODY"; then
        pass "$1 ($(ms "$TIME") ms): $(grep '^ok ' <<<"$BODY" | sed 's/^ok //' | paste -sd ';' | sed 's/;/; /g')"
    else
        fail "$1: $(paste -sd ';' <<<"${bad:-no checks ran}")"
        return 1
    fi
}

for location in request shared sasl refusals wrong-ca; do check_location "/$location" 30; done

# Failover: kill -9 the server the shared client is on (found by its TLS port).
if check_location /failover-before 30; then
    server="$(sed -n 's/^server=//p' <<<"$BODY")"
    victim=""
    for n in 1 2 3; do
        [[ "127.0.0.1:$(cat "$WORK/zk-secure/$n/secure-port")" == "$server" ]] && victim=$n
    done
    if [[ -z "$victim" ]]; then
        fail "failover: the shared client's server '$server' is none of the ensemble's"
    else
        "$TESTBED" kill9 "$WORK/zk-secure" "$victim" >/dev/null
        log "killed server $victim ($server)"
        check_location /failover-after 30
    fi
fi

stop_nginx 10
((QUIT_RC == 0)) || fail "nginx did not quit within 10 s"
bad="$(crash_lines "$NGX_DIR/error.log")"
[[ -z "$bad" ]] || fail "error log: $(head -n 3 <<<"$bad" | tr '\n' ' ')"

echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
