#!/usr/bin/env bash
# Schemathesis (PyPI, pinned) against the dev server on a fresh SQLite store
# in a temporary folder, with the description the server itself serves at
# /openapi.json: every phase (examples, coverage, fuzzing, stateful, which
# follows the description's links), every check, a fixed seed and a bounded
# number of examples per operation. Protected operations get the bearer token
# of a user registered and logged in first. Any failure fails the step.
# Usage: local/scripts/schemathesis.sh [--release]   (default: debug build)
# Environment: ST_MAX_EXAMPLES (default 100), ST_SEED (default 20261128).
set -euo pipefail
cd "$(dirname "$0")/../.."

profile=debug
[ "${1:-}" = "--release" ] && profile=release

# shellcheck source=services/python.sh
source local/scripts/services/python.sh
ensure_pip_packages schemathesis==4.32.5

# shellcheck source=services/dev_server.sh
source local/scripts/services/dev_server.sh
start_dev_server "$profile" schemathesis .build/schemathesis-server.log

# A user of its own, and its token for the protected operations.
user="fuzz_$(date +%s)"
password="fuzz-password-$RANDOM$RANDOM"
curl -fsS -X POST "$base/register" -H 'content-type: application/json' \
    -d "{\"username\":\"$user\",\"password\":\"$password\"}" >/dev/null
token=$(curl -fsS -X POST "$base/login" -H 'content-type: application/json' \
    -d "{\"username\":\"$user\",\"password\":\"$password\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

echo "schemathesis $("$VENV/bin/schemathesis" --version | awk '{print $NF}') against $base/openapi.json"
# One worker: with two, Python 3.11's ast.parse (hypothesis describes its
# filters with it) raced between threads ("AST constructor recursion depth
# mismatch", a CPython bug) and failed the run with errors not of the server.
timeout 600 "$VENV/bin/schemathesis" --config-file local/schemathesis/schemathesis.toml \
    run "$base/openapi.json" \
    --phases examples,coverage,fuzzing,stateful \
    --checks all \
    --seed "${ST_SEED:-20261128}" \
    --max-examples "${ST_MAX_EXAMPLES:-100}" \
    --workers 1 \
    --header "Authorization: Bearer $token" \
    --report junit --report-dir .build/schemathesis \
    --no-color
