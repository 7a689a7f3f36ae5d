# shellcheck shell=bash
# Ensures a ClickHouse server answers over HTTP on 127.0.0.1:8123 (user
# `default`, no password), idempotently. Sourced by local/scripts/test.sh.
#  1. Something already answers /ping there (a developer's own server, or one
#     this script started earlier): use it.
#  2. Otherwise: install Debian's `clickhouse-server` package if needed and run
#     a private server, loopback only, with its own config, data and logs in
#     .build/clickhouse (never the system-wide /var/lib/clickhouse).

ensure_clickhouse() {
    local port=8123
    if clickhouse_answers "$port"; then
        echo "ClickHouse already answers on 127.0.0.1:$port"
        return 0
    fi
    if ! command -v clickhouse-server >/dev/null 2>&1; then
        echo "installing Debian's clickhouse-server package (apt-get)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y -qq clickhouse-server >/dev/null
    fi
    local dir="$PWD/.build/clickhouse"
    mkdir -p "$dir/data/tmp" "$dir/data/user_files" "$dir/log"
    write_clickhouse_config "$dir" "$port"
    # The package's service user owns the data when it exists, as the server
    # expects; otherwise (a foreign setup) the server runs as the caller.
    local run=()
    if id clickhouse >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        chown -R clickhouse "$dir/data" "$dir/log"
        run=(runuser -u clickhouse --)
    fi
    echo "starting a private ClickHouse server on 127.0.0.1:$port (data and logs in $dir)"
    "${run[@]}" clickhouse-server --config-file="$dir/config.xml" --pid-file="$dir/log/server.pid" --daemon
    wait_for_clickhouse "$port"
}

clickhouse_answers() {
    curl -fsS --max-time 2 "http://127.0.0.1:$1/ping" 2>/dev/null | grep -q Ok
}

wait_for_clickhouse() {
    local port=$1
    for _ in $(seq 1 30); do
        clickhouse_answers "$port" && { echo "ClickHouse is up on 127.0.0.1:$port"; return 0; }
        sleep 1
    done
    echo "ClickHouse did not come up on 127.0.0.1:$port; see $PWD/.build/clickhouse/log" >&2
    return 1
}

# The server's own config: HTTP only, on the loopback address only, a user
# `default` without password that may connect from the loopback address only,
# UTC as the server time zone.
write_clickhouse_config() {
    local dir=$1 port=$2
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
    <http_port>$port</http_port>
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
