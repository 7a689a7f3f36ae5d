# shellcheck shell=bash
# Ensures a PostgreSQL server answers on 127.0.0.1:5432 with trust auth for the
# user `postgres`, idempotently. Sourced by local/scripts/test.sh.
#  1. Something already answers there (this project's machines): use it.
#  2. A Debian cluster exists but is stopped: start it.
#  3. Otherwise: install Debian's `postgresql` package if needed and run a
#     private cluster (trust auth, loopback only) with its data in .build/postgres
#     and TLS on, with a certificate for localhost from the test CA (tls.sh).
# postgres_test_ca then names the CA the TLS tests trust for that server.

# shellcheck source=tls.sh
source "$(dirname "${BASH_SOURCE[0]}")/tls.sh"

ensure_postgres() {
    local port=5432
    if pg_isready -q -h 127.0.0.1 -p "$port" 2>/dev/null; then
        echo "PostgreSQL already answers on 127.0.0.1:$port"
        return 0
    fi
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
        local version
        version=$(ls /etc/postgresql | sort -V | tail -n 1)
        echo "starting the Debian PostgreSQL $version cluster"
        pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
        if wait_for_postgres "$port"; then return 0; fi
    fi
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        echo "installing Debian's postgresql package (apt-get)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
    fi
    local bin data
    bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")
    data="$PWD/.build/postgres"
    if [ ! -f "$data/PG_VERSION" ]; then
        echo "creating a private PostgreSQL cluster in $data (trust auth, 127.0.0.1 only)"
        mkdir -p "$data" && chown postgres "$data" 2>/dev/null || true
        runuser -u postgres -- "$bin/initdb" -D "$data" -U postgres --auth=trust >/dev/null
    fi
    # The server reads its key only if the server's user owns it, mode 0600.
    ensure_server_cert postgres
    install -m 600 "$TLS_DIR/server-postgres.pem" "$data/server.crt"
    install -m 600 "$TLS_DIR/server-postgres.key" "$data/server.key"
    # Beside the certificate, for postgres_test_ca (from any checkout).
    install -m 644 "$TLS_DIR/ca.pem" "$data/ca.pem"
    chown postgres "$data/server.crt" "$data/server.key" 2>/dev/null || true
    echo "starting the private PostgreSQL cluster on 127.0.0.1:$port (TLS on)"
    runuser -u postgres -- "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $port -k /tmp -c ssl=on -c ssl_cert_file=$data/server.crt -c ssl_key_file=$data/server.key" \
        start >/dev/null
    wait_for_postgres "$port"
}

# postgres_test_ca: prints the CA file that verifies the certificate of the
# server on 127.0.0.1:5432 (for the TLS tests' TEST_POSTGRES_CA): the ca.pem
# beside it (a private cluster of this script, from whichever checkout), or
# the certificate itself when it is self-signed (as Debian's "snakeoil" one
# is). Fails when the server has TLS off, or when its CA cannot be known.
postgres_test_ca() {
    local ssl cert
    ssl=$(psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -Atc "SHOW ssl" 2>/dev/null) || return 1
    [ "$ssl" = on ] || { echo "PostgreSQL on 127.0.0.1:5432 has TLS off" >&2; return 1; }
    cert=$(psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -Atc "SHOW ssl_cert_file" 2>/dev/null) || return 1
    if [ -r "$(dirname "$cert")/ca.pem" ] &&
        openssl verify -CAfile "$(dirname "$cert")/ca.pem" "$cert" >/dev/null 2>&1; then
        echo "$(dirname "$cert")/ca.pem"
    elif [ -r "$cert" ] && [ "$(openssl x509 -in "$cert" -noout -subject 2>/dev/null | cut -d= -f2-)" = \
        "$(openssl x509 -in "$cert" -noout -issuer 2>/dev/null | cut -d= -f2-)" ]; then
        echo "$cert"
    else
        echo "cannot tell which CA signed $cert; set TEST_POSTGRES_CA" >&2
        return 1
    fi
}

wait_for_postgres() {
    local port=$1
    for _ in $(seq 1 30); do
        pg_isready -q -h 127.0.0.1 -p "$port" 2>/dev/null && { echo "PostgreSQL is up on 127.0.0.1:$port"; return 0; }
        sleep 1
    done
    echo "PostgreSQL did not come up on 127.0.0.1:$port" >&2
    return 1
}
