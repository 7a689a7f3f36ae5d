"""Checks docker-compose.yml against the Compose Specification's JSON schema
(vendored at local/compose-spec.json) and against .env.example: the ports and
credentials of each store agree, every port is published on 127.0.0.1 only,
and .env.example lists every variable the code reads.

Usage: python check_compose.py   (from the repository root; no Docker needed)
"""

import re
import sys
from pathlib import Path

import jsonschema
import yaml

FAILURES = []
PASSED = []


def check(ok, what):
    (PASSED if ok else FAILURES).append(what)


def env_file(path):
    values = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        check(bool(sep) and re.fullmatch(r"[A-Z][A-Z0-9_]*", key), f"{path}:{number} is KEY=VALUE")
        check(key not in values, f"{path}: {key} listed once")
        values[key] = value
    return values


def published(service):
    """(host_ip, host_port, container_port) of a service's short-syntax ports."""
    rows = []
    for spec in service.get("ports", []):
        parts = str(spec).split(":")
        check(len(parts) == 3, f"port `{spec}` names its host address")
        if len(parts) == 3:
            rows.append((parts[0], parts[1], parts[2]))
    return rows


def main():
    schema = yaml.safe_load(Path("local/compose-spec.json").read_text())
    compose = yaml.safe_load(Path("docker-compose.yml").read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    errors = sorted(validator_class(schema).iter_errors(compose), key=lambda e: list(e.path))
    for error in errors:
        print(f"  schema: {'/'.join(map(str, error.path)) or '(root)'}: {error.message}")
    check(not errors, "docker-compose.yml follows the Compose Specification's schema")

    env = env_file(".env.example")
    services = compose.get("services", {})
    check(sorted(services) == ["clickhouse", "dynamodb", "postgres"], f"services postgres, clickhouse, dynamodb ({sorted(services)})")
    for name, service in services.items():
        for host, _, _ in published(service):
            check(host == "127.0.0.1", f"{name} is published on 127.0.0.1 only ({host})")

    pg = services.get("postgres", {})
    check(str(pg.get("image", "")).startswith("postgres:16"), "postgres runs postgres:16")
    pg_env = pg.get("environment", {})
    for var in ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"):
        check(pg_env.get(var) == env.get(var), f"postgres {var}: compose {pg_env.get(var)!r} == .env.example {env.get(var)!r}")
    check(("127.0.0.1", env.get("POSTGRES_PORT"), "5432") in published(pg), "postgres port matches POSTGRES_PORT")
    check(env.get("POSTGRES_HOST") == "127.0.0.1", "POSTGRES_HOST is the published address")

    ch = services.get("clickhouse", {})
    check(str(ch.get("image", "")).startswith("clickhouse/clickhouse-server"), "clickhouse runs clickhouse/clickhouse-server")
    ch_env = ch.get("environment", {})
    for compose_var, env_var in (("CLICKHOUSE_USER", "CLICKHOUSE_USER"), ("CLICKHOUSE_PASSWORD", "CLICKHOUSE_PASSWORD"), ("CLICKHOUSE_DB", "CLICKHOUSE_DATABASE")):
        check(ch_env.get(compose_var) == env.get(env_var), f"clickhouse {compose_var}: compose {ch_env.get(compose_var)!r} == .env.example {env_var} {env.get(env_var)!r}")
    check(("127.0.0.1", env.get("CLICKHOUSE_PORT"), "8123") in published(ch), "clickhouse HTTP port matches CLICKHOUSE_PORT")
    check(env.get("CLICKHOUSE_HOST") == "127.0.0.1", "CLICKHOUSE_HOST is the published address")

    ddb = services.get("dynamodb", {})
    check(str(ddb.get("image", "")).startswith("amazon/dynamodb-local"), "dynamodb runs amazon/dynamodb-local")
    check(("127.0.0.1", "8000", "8000") in published(ddb), "dynamodb is published on 127.0.0.1:8000")
    endpoint = "http://127.0.0.1:8000"
    example_endpoint = re.search(r"DYNAMODB_ENDPOINT.*?(http://[0-9.]+:[0-9]+)", Path(".env.example").read_text(), re.S)
    check(example_endpoint is not None and example_endpoint.group(1) == endpoint, f".env.example points DYNAMODB_ENDPOINT users at {endpoint}")

    # Every variable the code reads is documented in .env.example.
    read = set()
    sources = [*Path("shared/src/config").glob("*.rs"), *Path("local/src").glob("*.rs")]
    pattern = re.compile(r'(?:\bget\(|parse_num\(\s*&?get,\s*|env::var\()\s*"([A-Z][A-Z0-9_]+)"')
    for source in sources:
        read |= set(pattern.findall(source.read_text()))
    read |= {"RUST_LOG"}  # read by tracing's EnvFilter (shared/src/telemetry.rs)
    # Read but not a setting of ours: Lambda sets the function name (it picks
    # one held PostgreSQL connection); ADMIN_USERNAMES is read only to refuse it.
    read -= {"AWS_LAMBDA_FUNCTION_NAME", "ADMIN_USERNAMES"}
    check(len(read) >= 15, f"found the variables the code reads ({len(read)})")
    missing = sorted(read - set(env))
    check(not missing, f".env.example lists every variable the code reads (missing: {missing})")
    expected = {
        "DB_DRIVER": "sqlite", "DB_MAX_CONNECTIONS": "3", "DB_CONNECT_TIMEOUT_MS": "2000",
        "DB_STATEMENT_TIMEOUT_MS": "5000", "JWT_ISSUER": "commerce-api", "JWT_AUDIENCE": "commerce-api-clients",
        "JWT_TTL_SECONDS": "3600", "TAX_RATE_BPS": "1000", "CATALOG_WRITE": "authenticated",
        "AUTO_MIGRATE": "true", "RUST_LOG": "info", "PORT": "8080", "JWT_SECRET": "",
    }
    for key, value in expected.items():
        check(env.get(key) == value, f".env.example {key}={value} (has {env.get(key)!r})")


if __name__ == "__main__":
    main()
    for what in FAILURES:
        print(f"FAIL: {what}")
    print(f"compose checks: {len(PASSED)} passed, {len(FAILURES)} failed")
    sys.exit(1 if FAILURES else 0)
