# shellcheck shell=bash
# The dev server for scripts that test it from outside (docs-browser-test.sh,
# schemathesis.sh): built, then started on a free 127.0.0.1 port with a fresh
# SQLite store in a temporary folder, stopped and removed when the script exits.
#
# start_dev_server PROFILE NAME [LOG]
#   PROFILE  debug or release; NAME names the store file; LOG is where the
#   server writes (default: server.log in the temporary folder).
#   Sets: $base (the server's URL), $work (the temporary folder), $server (its pid).

start_dev_server() {
    local profile=$1 name=$2 port
    if [ "$profile" = release ]; then
        timeout 2400 cargo build -q --release -p local
    else
        timeout 900 cargo build -q -p local
    fi
    mkdir -p .build
    work=$(mktemp -d)
    local log=${3:-$work/server.log}
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    DB_DRIVER=sqlite SQLITE_PATH="$work/$name.db" "target/$profile/local" --port "$port" >"$log" 2>&1 &
    server=$!
    trap stop_dev_server EXIT
    base="http://127.0.0.1:$port"
    for _ in $(seq 1 100); do
        curl -fsS "$base/health" >/dev/null 2>&1 && break
        sleep 0.2
    done
}

stop_dev_server() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    rm -rf "$work"
}
