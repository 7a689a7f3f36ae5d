# shellcheck shell=bash
# Ensures a ClickHouse server answers over HTTP on 127.0.0.1:8123 (user
# `default`, no password), idempotently. Sourced by local/scripts/test.sh.
#  1. Something already answers /ping there (a developer's own server, or one
#     this script started earlier): use it.
#  2. Otherwise: install Debian's `clickhouse-server` package if needed and run
#     a private server, loopback only, with its own config, data and logs in
#     .build/clickhouse (never the system-wide /var/lib/clickhouse).
# ensure_clickhouse_https does the same for HTTPS on 127.0.0.1:8443: a second
# private server, HTTPS only, with a certificate for localhost from the test CA
# (tls.sh) and its own data in .build/clickhouse-https; it sets
# CLICKHOUSE_HTTPS_CA to the CA that verifies it (the test command's
# TEST_CLICKHOUSE_CA). A separate server, so that one already answering on
# 8123 (possibly not this script's) never needs a restart; one this script
# started from another checkout is used with that checkout's CA.

# shellcheck source=tls.sh
source "$(dirname "${BASH_SOURCE[0]}")/tls.sh"

CLICKHOUSE_HTTPS_PORT=8443

ensure_clickhouse() {
    local port=8123
    if clickhouse_answers "http://127.0.0.1:$port"; then
        echo "ClickHouse already answers on 127.0.0.1:$port"
        return 0
    fi
    start_private_clickhouse "$PWD/.build/clickhouse" "<http_port>$port</http_port>"
    wait_for_clickhouse "http://127.0.0.1:$port" "$PWD/.build/clickhouse"
}

# ensure_clickhouse_https: HTTPS on 127.0.0.1:8443 with a certificate the
# test CA ($TLS_DIR/ca.pem) verifies for localhost.
ensure_clickhouse_https() {
    local port=$CLICKHOUSE_HTTPS_PORT
    local url="https://localhost:$port" dir="$PWD/.build/clickhouse-https"
    ensure_server_cert clickhouse
    local ca
    for ca in "$TLS_DIR/ca.pem" $(running_clickhouse_https_cas); do
        if clickhouse_answers "$url" --cacert "$ca"; then
            echo "ClickHouse already answers over HTTPS on 127.0.0.1:$port (CA $ca)"
            CLICKHOUSE_HTTPS_CA=$ca
            return 0
        fi
    done
    if clickhouse_answers "$url" --insecure; then
        echo "something on 127.0.0.1:$port speaks HTTPS with a certificate no known test CA signed; stop it or free the port" >&2
        return 1
    fi
    mkdir -p "$dir/tls"
    install -m 644 "$TLS_DIR/server-clickhouse.pem" "$dir/tls/server.crt"
    install -m 600 "$TLS_DIR/server-clickhouse.key" "$dir/tls/server.key"
    install -m 644 "$TLS_DIR/ca.pem" "$dir/tls/ca.pem"
    CLICKHOUSE_HTTPS_CA="$TLS_DIR/ca.pem"
    start_private_clickhouse "$dir" "<https_port>$port</https_port>
    <openSSL>
        <server>
            <certificateFile>$dir/tls/server.crt</certificateFile>
            <privateKeyFile>$dir/tls/server.key</privateKeyFile>
            <verificationMode>none</verificationMode>
            <loadDefaultCAFile>false</loadDefaultCAFile>
            <cacheSessions>true</cacheSessions>
            <disableProtocols>sslv2,sslv3,tlsv1,tlsv1_1</disableProtocols>
            <preferServerCiphers>true</preferServerCiphers>
        </server>
    </openSSL>"
    wait_for_clickhouse "$url" "$dir" --cacert "$TLS_DIR/ca.pem"
}

# running_clickhouse_https_cas: the CA copies (tls/ca.pem) beside the configs
# of the HTTPS servers this script started, from any checkout.
running_clickhouse_https_cas() {
    local dir
    ps -eo args 2>/dev/null |
        sed -n 's|^clickhouse-server --config-file=\(.*/clickhouse-https\)/config.xml.*|\1|p' |
        while read -r dir; do
            [ -r "$dir/tls/ca.pem" ] && echo "$dir/tls/ca.pem"
        done
}

# start_private_clickhouse DIR LISTENERS: a server with its config, data and
# logs in DIR, listening as LISTENERS (XML) says, installing the package first
# if needed.
start_private_clickhouse() {
    local dir=$1 listeners=$2
    if ! command -v clickhouse-server >/dev/null 2>&1; then
        echo "installing Debian's clickhouse-server package (apt-get)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y -qq clickhouse-server >/dev/null
    fi
    mkdir -p "$dir/data/tmp" "$dir/data/user_files" "$dir/log"
    write_clickhouse_config "$dir" "$listeners"
    # The package's service user owns the data when it exists, as the server
    # expects; otherwise (a foreign setup) the server runs as the caller.
    local run=()
    if id clickhouse >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        chown -R clickhouse "$dir/data" "$dir/log"
        [ -d "$dir/tls" ] && chown -R clickhouse "$dir/tls"
        run=(runuser -u clickhouse --)
    fi
    echo "starting a private ClickHouse server on 127.0.0.1 (data and logs in $dir)"
    "${run[@]}" clickhouse-server --config-file="$dir/config.xml" --pid-file="$dir/log/server.pid" --daemon
}

# clickhouse_answers URL [CURL OPTION...]: whether URL/ping answers Ok.
clickhouse_answers() {
    local url=$1
    shift
    curl -fsS --max-time 2 "$@" "$url/ping" 2>/dev/null | grep -q Ok
}

# wait_for_clickhouse URL DIR [CURL OPTION...]
wait_for_clickhouse() {
    local url=$1 dir=$2
    shift 2
    for _ in $(seq 1 30); do
        clickhouse_answers "$url" "$@" && { echo "ClickHouse is up at $url"; return 0; }
        sleep 1
    done
    echo "ClickHouse did not come up at $url; see $dir/log" >&2
    return 1
}

# The server's own config: the given listeners, on the loopback address only,
# a user `default` without password that may connect from the loopback address
# only, UTC as the server time zone.
write_clickhouse_config() {
    local dir=$1 listeners=$2
    cat >"$dir/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>$dir/log/server.log</log>
        <errorlog>$dir/log/server.err.log</errorlog>
        <size>100M</size>
        <count>2</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    $listeners
    <max_concurrent_queries>200</max_concurrent_queries>
    <mark_cache_size>268435456</mark_cache_size>
    <path>$dir/data/</path>
    <tmp_path>$dir/data/tmp/</tmp_path>
    <user_files_path>$dir/data/user_files/</user_files_path>
    <users_config>$dir/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
</yandex>
XML
    cat >"$dir/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
XML
}
