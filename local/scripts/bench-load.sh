#!/usr/bin/env bash
# Load benchmark, on demand (not part of the test command): requests per
# second and p50/p99 latency of GET /products/{id}, POST /orders (with a token)
# and POST /login against the release dev server, 32 concurrent clients for
# 10 s each, on SQLite and then on PostgreSQL, over 127.0.0.1 only; every
# non-2xx answer is an error, and afterwards the store must hold exactly the
# orders that were answered 201 (local/examples/load.rs says how).
# Usage: local/scripts/bench-load.sh [sqlite|postgres ...] [--concurrency N] [--duration S]
#   PostgreSQL: TEST_POSTGRES_URL's server (default postgres://postgres@127.0.0.1:5432/postgres),
#   started here if it is the local default and not running; a fresh database
#   is made for the run and dropped after it.
set -euo pipefail
cd "$(dirname "$0")/../.."

step() { printf '\n==> %s\n' "$*"; }

drivers=()
options=()
while [ $# -gt 0 ]; do
    case "$1" in
        sqlite | postgres) drivers+=("$1") ;;
        --concurrency | --duration) options+=("$1" "$2"); shift ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
[ ${#drivers[@]} -gt 0 ] || drivers=(sqlite postgres)

step "release build of the dev server and the load generator"
cargo build --release -p local --bin local --example load

for driver in "${drivers[@]}"; do
    if [ "$driver" = postgres ] && [ -z "${TEST_POSTGRES_URL:-}" ]; then
        # shellcheck source=services/postgres.sh
        source local/scripts/services/postgres.sh
        ensure_postgres
        export TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres
    fi
    step "load on $driver"
    timeout 600 target/release/examples/load "$driver" "${options[@]}"
done
