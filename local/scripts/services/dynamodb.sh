# shellcheck shell=bash
# Ensures a DynamoDB-compatible server answers on 127.0.0.1:8000, idempotently.
# Sourced by local/scripts/test.sh.
#  1. Something already answers there as DynamoDB (a running moto, DynamoDB
#     Local from docker compose): use it.
#  2. Otherwise: install moto[server] from PyPI into the project's venv if
#     needed, and start it in the background, loopback only, with its log and
#     pid under .build/.
# moto's own HTTP server handles requests on parallel threads without any lock,
# and its TransactWriteItems snapshots and restores whole tables: concurrent
# requests can undo each other's writes, which DynamoDB never does (it
# serialises the writes to an item and applies each request atomically). So
# moto is started through moto_serial.py, the same server with each request
# handled whole before the next, giving it DynamoDB's per-request atomicity.

# shellcheck source=python.sh
source "$(dirname "${BASH_SOURCE[0]}")/python.sh"

DYNAMODB_PORT=8000

ensure_dynamodb() {
    local port=$DYNAMODB_PORT
    if dynamodb_answers "$port"; then
        echo "a DynamoDB-compatible server already answers on 127.0.0.1:$port"
        return 0
    fi
    ensure_pip_packages 'moto[server]'
    mkdir -p .build
    local log="$PWD/.build/dynamodb.log" pidfile="$PWD/.build/dynamodb.pid"
    echo "starting moto (DynamoDB API) on 127.0.0.1:$port, log $log"
    nohup "$VENV/bin/python" "$(dirname "${BASH_SOURCE[0]}")/moto_serial.py" -H 127.0.0.1 -p "$port" \
        >"$log" 2>&1 </dev/null &
    echo $! >"$pidfile"
    for _ in $(seq 1 30); do
        if dynamodb_answers "$port"; then
            echo "moto is up on 127.0.0.1:$port (pid $(cat "$pidfile"))"
            return 0
        fi
        sleep 1
    done
    echo "moto did not come up on 127.0.0.1:$port; see $log" >&2
    return 1
}

# Whether a DynamoDB API answers: an unsigned-looking ListTables gets a JSON
# answer (a table list, or an auth error from a stricter server) in DynamoDB's
# JSON protocol. python3 is there anyway (the venv needs it); curl may not be.
dynamodb_answers() {
    python3 - "$1" <<'PY' 2>/dev/null
import sys, urllib.error, urllib.request
request = urllib.request.Request(
    f"http://127.0.0.1:{sys.argv[1]}/",
    data=b"{}",
    headers={
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "DynamoDB_20120810.ListTables",
        "Authorization": "AWS4-HMAC-SHA256 Credential=local/20250101/us-east-1/dynamodb/aws4_request, "
        "SignedHeaders=host, Signature=0",
    },
)
try:
    body = urllib.request.urlopen(request, timeout=2).read()
except urllib.error.HTTPError as e:
    body = e.read()
sys.exit(0 if b"TableNames" in body or b"__type" in body else 1)
PY
}
