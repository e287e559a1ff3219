#!/usr/bin/env bash
# Test certificates for TLS servers and clients, made fresh (nothing secret is checked in):
#   zk-test-certs.sh DIR
# DIR gets ca.pem (the CA), unrelated-ca.pem (a CA that signed nothing), server.pem/.key (for the
# name localhost only, so clients connecting to 127.0.0.1 must check the name they were given),
# client.pem/.key (CN=client), and the server's PKCS12 server.p12 and trust.p12 (password testpass).
set -euo pipefail
mkdir -p "$1"
cd "$1"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1" 2>/dev/null; }
ca() { key "$1.key"; openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 2 -subj "/CN=$2"; }
leaf() {
    key "$1.key"
    openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$2"
    printf '%s\n' "$3" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$1.pem" -days 2 -extfile "$1.ext" 2>/dev/null
}
ca ca zk-test-ca
ca unrelated-ca zk-unrelated-ca
leaf server localhost "subjectAltName=DNS:localhost"
leaf client client "extendedKeyUsage=clientAuth"
openssl pkcs12 -export -in server.pem -inkey server.key -certfile ca.pem -name server -out server.p12 -passout pass:testpass
rm -f trust.p12
keytool -importcert -noprompt -alias ca -file ca.pem -keystore trust.p12 -storetype PKCS12 -storepass testpass >/dev/null
