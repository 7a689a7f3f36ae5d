# shellcheck shell=bash
# A private certificate authority for the test servers' TLS, made with openssl
# in the project's ignored build folder (.build/tls), idempotently. Sourced by
# the service scripts that serve TLS (postgres.sh, clickhouse.sh).
#   .build/tls/ca.pem             the CA certificate the tests trust
#   .build/tls/<name>.pem, .key   a server certificate for localhost and 127.0.0.1
# Nothing here is a secret worth keeping: the key never leaves the machine and
# only signs certificates for the loopback address.

TLS_DIR="$PWD/.build/tls"

# ensure_test_ca: the CA, created once (ten years), recreated if unreadable.
ensure_test_ca() {
    mkdir -p "$TLS_DIR"
    if openssl x509 -in "$TLS_DIR/ca.pem" -noout -checkend 86400 >/dev/null 2>&1 &&
        [ -s "$TLS_DIR/ca.key" ]; then
        return 0
    fi
    echo "creating a private test CA in $TLS_DIR"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
        -subj "/CN=commerce-api test CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$TLS_DIR/ca.key" -out "$TLS_DIR/ca.pem" 2>/dev/null
    chmod 600 "$TLS_DIR/ca.key"
    # Certificates of an older CA no longer verify: issue them again.
    rm -f "$TLS_DIR"/server-*.pem "$TLS_DIR"/server-*.key
}

# ensure_server_cert NAME: .build/tls/server-NAME.{pem,key}, signed by the
# test CA, for DNS:localhost and IP:127.0.0.1; reissued when it no longer
# verifies against the CA or expires within a day. Prints nothing else.
ensure_server_cert() {
    local name=$1
    ensure_test_ca
    local cert="$TLS_DIR/server-$name.pem" key="$TLS_DIR/server-$name.key"
    if openssl verify -CAfile "$TLS_DIR/ca.pem" "$cert" >/dev/null 2>&1 &&
        openssl x509 -in "$cert" -noout -checkend 86400 >/dev/null 2>&1 && [ -s "$key" ]; then
        return 0
    fi
    echo "issuing a test certificate for localhost ($name) in $TLS_DIR"
    local csr="$TLS_DIR/server-$name.csr" ext="$TLS_DIR/server-$name.ext"
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
        -keyout "$key" -out "$csr" 2>/dev/null
    cat >"$ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1
EXT
    openssl x509 -req -in "$csr" -CA "$TLS_DIR/ca.pem" -CAkey "$TLS_DIR/ca.key" \
        -CAcreateserial -days 825 -sha256 -extfile "$ext" -out "$cert" 2>/dev/null
    rm -f "$csr" "$ext"
    chmod 600 "$key"
}
