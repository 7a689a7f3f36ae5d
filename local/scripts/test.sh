#!/usr/bin/env bash
# Runs every test of the project, in one command, on a fresh Linux machine with
# Rust: formatting, lints, unit tests, the repository contract suite on every
# backend against a real server, handler tests on API Gateway events, the
# end-to-end suite over HTTP, the docs page in headless Chromium, Schemathesis
# against the OpenAPI description, and the deployment checks (deploy-checks.sh:
# template, compose file, release build, cargo lambda watch, cold start).
# Whatever the suites need is installed or started
# here, idempotently, on 127.0.0.1 only; each step says what it does.
set -euo pipefail
cd "$(dirname "$0")/../.."

step() { printf '\n==> %s\n' "$*"; }

step "formatting: cargo fmt --check"
cargo fmt --all -- --check

step "lints: cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "servers the suites need"
# shellcheck source=services/postgres.sh
source local/scripts/services/postgres.sh
ensure_postgres
export TEST_POSTGRES_URL="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
# The CA that verifies the server's certificate for localhost (TLS tests).
TEST_POSTGRES_CA="${TEST_POSTGRES_CA:-$(postgres_test_ca)}"
export TEST_POSTGRES_CA
# shellcheck source=services/clickhouse.sh
source local/scripts/services/clickhouse.sh
ensure_clickhouse
export TEST_CLICKHOUSE_URL="${TEST_CLICKHOUSE_URL:-http://127.0.0.1:8123}"
ensure_clickhouse_https
export TEST_CLICKHOUSE_HTTPS_URL="${TEST_CLICKHOUSE_HTTPS_URL:-https://localhost:8443}"
export TEST_CLICKHOUSE_CA="${TEST_CLICKHOUSE_CA:-$CLICKHOUSE_HTTPS_CA}"
# A current ClickHouse engine (chdb, from PyPI) checks the backend's SQL too.
# shellcheck source=services/python.sh
source local/scripts/services/python.sh
ensure_pip_packages chdb
export CLICKHOUSE_SQL_CHECK_PYTHON="$VENV/bin/python"
# shellcheck source=services/dynamodb.sh
source local/scripts/services/dynamodb.sh
ensure_dynamodb
export TEST_DYNAMODB_ENDPOINT="${TEST_DYNAMODB_ENDPOINT:-http://127.0.0.1:8000}"
# moto serves Secrets Manager and SSM on the same port (secret settings held in AWS).
export TEST_AWS_ENDPOINT="${TEST_AWS_ENDPOINT:-$TEST_DYNAMODB_ENDPOINT}"

step "tests: unit, contract (every backend), handler events, end-to-end (every backend)"
cargo test --workspace --all-features --no-fail-fast

step "docs page: /docs in headless Chromium lists every operation of /openapi.json"
timeout 900 local/scripts/docs-browser-test.sh

step "schemathesis: the dev server against its own OpenAPI description (all phases, all checks)"
timeout 900 local/scripts/schemathesis.sh

step "deployment: SAM template, compose file, release build, cargo lambda watch, cold start"
local/scripts/deploy-checks.sh

step "all tests passed"
