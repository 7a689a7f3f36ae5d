#!/usr/bin/env bash
# Cold-start benchmark: each function's release `bootstrap` as `sam build`
# made it (.aws-sam/build/<FunctionLogicalId>/bootstrap), started as Lambda
# starts it, against a local emulator of the Lambda Runtime API (127.0.0.1
# only), timed from process exec to its first response, next to a hello-world
# lambda_http function built with the same release profile.
# Usage: local/scripts/bench-cold-start.sh [--runs N] [--goal-ratio R] [--driver D] [--no-build]
#                                          [--reach-store]
#   --no-build  uses the artifacts already built (else it runs
#               local/scripts/lambda-build.sh first: sam build, sizes)
#   --driver postgres-tls --reach-store
#               first requests that reach PostgreSQL over verified TLS: the
#               local server (started if need be), database bench_cold_start,
#               sslmode=verify-full with the CA that signed its certificate
set -euo pipefail
cd "$(dirname "$0")/../.."

step() { printf '\n==> %s\n' "$*"; }

build=1
args=()
for arg in "$@"; do
    if [ "$arg" = "--no-build" ]; then build=0; else args+=("$arg"); fi
done

if [ "$build" = 1 ]; then
    step "release artifacts (local/scripts/lambda-build.sh)"
    local/scripts/lambda-build.sh
fi

if [[ " $* " == *" postgres-tls "* ]]; then
    # shellcheck source=services/postgres.sh
    source local/scripts/services/postgres.sh
    ensure_postgres
    ca="${TEST_POSTGRES_CA:-$(postgres_test_ca)}"
    step "database bench_cold_start on the local PostgreSQL, reached over TLS (CA $ca)"
    psql -q -h 127.0.0.1 -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'bench_cold_start'" | grep -q 1 ||
        psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE bench_cold_start"
    export BENCH_DATABASE_URL="postgres://postgres@localhost:5432/bench_cold_start?sslmode=verify-full&sslrootcert=$ca"
fi
# .build/venv's Python: lambda_artifacts.py reads template.yaml (the function
# binaries and logical ids, the same in lambda-build.sh's copy) with PyYAML.
# shellcheck source=services/python.sh
source local/scripts/services/python.sh
ensure_pip_packages aws-sam-cli==1.170.0

step "cold start: exec -> first response, per function and for hello-world"
timeout 900 "$VENV/bin/python" local/scripts/bench_cold_start.py "${args[@]}"
