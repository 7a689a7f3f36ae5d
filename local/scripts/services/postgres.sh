# shellcheck shell=bash
# Ensures a PostgreSQL server answers on 127.0.0.1:5432 with trust auth for the
# user `postgres`, idempotently. Sourced by local/scripts/test.sh.
#  1. Something already answers there (this project's machines): use it.
#  2. A Debian cluster exists but is stopped: start it.
#  3. Otherwise: install Debian's `postgresql` package if needed and run a
#     private cluster (trust auth, loopback only) with its data in .build/postgres.

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
    echo "starting the private PostgreSQL cluster on 127.0.0.1:$port"
    runuser -u postgres -- "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $port -k /tmp" start >/dev/null
    wait_for_postgres "$port"
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
