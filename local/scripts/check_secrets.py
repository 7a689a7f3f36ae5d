"""Checks of the translated template's secrets: no secret is a plain value in
any function's environment or a parameter, each function reads exactly the
secrets its environment names (secretsmanager:GetSecretValue on those ARNs and
no others), and each function gets only the settings it uses (the authorizer
the token's, health the store's).

Every check runs for two deployments, evaluated offline by cfn_resolve: the
defaults (DynamoDB, no optional secret), and every optional setting given.
"""

import re

from cfn_resolve import Resolver
from checks import as_list, check, refs_of

# Settings that hold a secret (or, deployed, a reference to one).
SECRET_VARS = {"JWT_SECRET", "DATABASE_URL", "CLICKHOUSE_PASSWORD", "POSTGRES_PASSWORD"}
JWT_VARS = {"JWT_SECRET", "JWT_ISSUER", "JWT_AUDIENCE", "JWT_TTL_SECONDS"}
STORE_PREFIXES = ("DB_", "DYNAMODB_", "POSTGRES_", "CLICKHOUSE_", "SQLITE_")
STORE_VARS = {"DATABASE_URL", "AUTO_MIGRATE"}

ACCOUNT = "arn:aws:secretsmanager:us-east-1:123456789012:secret"
# Every optional setting given, each secret as the ARN of an existing secret.
EVERYTHING = {
    "DbDriver": "postgres",
    "DatabaseUrlSecretArn": f"{ACCOUNT}:commerce/database-url-AbCdEf",
    "ClickHouseUrl": "http://clickhouse.internal:8123",
    "ClickHousePasswordSecretArn": f"{ACCOUNT}:commerce/clickhouse-GhIjKl",
    "AlarmTopicArn": "arn:aws:sns:us-east-1:123456789012:commerce-ops",
}
SCENARIOS = {"defaults": {}, "every optional setting": EVERYTHING}


def is_store_var(name):
    return name in STORE_VARS or name.startswith(STORE_PREFIXES)


def secret_of(value, secret_resources):
    """What a resolved value names as a secret: a stack secret's logical id, an
    existing secret's ARN, or None for anything else (a plain value)."""
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in secret_resources:
        return value["Ref"]
    if isinstance(value, str) and value.startswith("arn:aws:secretsmanager:"):
        return value
    return None


def secret_reads(role_props):
    """(resources, other secretsmanager actions) of a role's resolved inline policies."""
    resources, others = [], []
    for policy in role_props.get("Policies", []):
        for st in as_list(policy["PolicyDocument"].get("Statement", [])):
            actions = [a for a in as_list(st.get("Action", [])) if str(a).startswith("secretsmanager:")]
            if not actions:
                continue
            others += [a for a in actions if a != "secretsmanager:GetSecretValue"]
            check(st.get("Effect") == "Allow" and "Condition" not in st, f"a plain Allow statement ({st})")
            resources += as_list(st.get("Resource", []))
    return resources, others


def check_parameters(doc):
    params = doc.get("Parameters", {})
    no_echo = sorted(name for name, p in params.items() if p.get("NoEcho"))
    check(not no_echo, f"no secret is a (NoEcho) parameter value ({no_echo})")
    secretish = sorted(n for n in params if re.search(r"secret|password", n, re.I) and not n.endswith("SecretArn"))
    check(not secretish, f"every secret-like parameter is the ARN of a secret, named ...SecretArn ({secretish})")
    for name in sorted(n for n in params if n.endswith("SecretArn")):
        p = params[name]
        pattern = re.compile(p.get("AllowedPattern", ""))
        check(p.get("Default") == "", f"{name}: optional (empty by default)")
        check(
            bool(pattern.pattern) and pattern.fullmatch("") and pattern.fullmatch(f"{ACCOUNT}:x/y-AbCdEf"),
            f"{name}: its AllowedPattern admits an empty value and a Secrets Manager ARN",
        )
        check(
            not pattern.fullmatch("postgres://app:hunter2@db:5432/app") and not pattern.fullmatch("hunter2"),
            f"{name}: its AllowedPattern refuses a plain secret",
        )


def check_secrets(doc, functions, authorizer_functions, binaries):
    resources = doc["Resources"]
    check_parameters(doc)
    secret_resources = {k for k, r in resources.items() if r["Type"] == "AWS::SecretsManager::Secret"}
    jwt_secrets = {
        ref
        for fn in functions
        for ref in refs_of(resources[fn]["Properties"].get("Environment", {}).get("Variables", {}).get("JWT_SECRET"))
    }
    check(len(jwt_secrets) == 1 and jwt_secrets <= secret_resources, f"JWT_SECRET is one secret of the stack ({jwt_secrets})")
    for logical in sorted(jwt_secrets & secret_resources):
        props = resources[logical]["Properties"]
        generated = props.get("GenerateSecretString", {})
        check("SecretString" not in props, f"{logical}: no literal value in the template")
        check(generated.get("PasswordLength", 0) >= 64, f"{logical}: generated, 64 characters or more")
        check(
            generated.get("ExcludePunctuation") is True and "SecretStringTemplate" not in generated,
            f"{logical}: a bare string of letters and digits (no punctuation to escape, no JSON around it)",
        )

    for scenario, overrides in SCENARIOS.items():
        resolver = Resolver(doc, overrides)
        for name, value in overrides.items():
            pattern = doc["Parameters"][name].get("AllowedPattern")
            check(pattern is None or re.fullmatch(pattern, value), f"[{scenario}] {name}={value} is allowed")
        for fn in sorted(functions):
            props = resources[fn]["Properties"]
            env = resolver.resolve(props.get("Environment", {}).get("Variables", {}))
            where = f"[{scenario}] {fn}"
            needed = set()
            for var in sorted(SECRET_VARS & set(env)):
                secret = secret_of(env[var], secret_resources)
                check(secret is not None, f"{where}: {var} names a Secrets Manager secret, not a value ({env[var]})")
                needed.add(secret)
            role = next(iter(refs_of(props.get("Role"))), None)
            granted, others = secret_reads(resolver.resolve(resources.get(role, {}).get("Properties", {})))
            check(not others, f"{where}: no secretsmanager action but GetSecretValue ({others})")
            granted_ids = [secret_of(r, secret_resources) or r for r in granted]
            check(
                sorted(map(str, granted_ids)) == sorted(map(str, needed)),
                f"{where}: GetSecretValue on exactly the secrets it is given ({sorted(map(str, granted_ids))})",
            )
            if fn in authorizer_functions:
                check(
                    "JWT_SECRET" in env and set(env) <= JWT_VARS,
                    f"{where}: the authorizer's environment holds only the token settings ({sorted(env)})",
                )
            if binaries.get(fn) == "health":
                check(
                    set(env) and all(is_store_var(v) for v in env),
                    f"{where}: health's environment holds only the store settings ({sorted(env)})",
                )
            if "DB_DRIVER" in env:
                check(
                    props["Environment"]["Variables"].get("POSTGRES_SSLMODE") == {"Ref": "PostgresSslMode"},
                    f"{where}: POSTGRES_SSLMODE from the PostgresSslMode parameter",
                )
            if scenario != "defaults" and "DB_DRIVER" in env:
                check(
                    env.get("DATABASE_URL") == overrides["DatabaseUrlSecretArn"]
                    and env.get("CLICKHOUSE_PASSWORD") == overrides["ClickHousePasswordSecretArn"],
                    f"{where}: the store's secrets arrive as the ARNs given",
                )
    check(
        doc["Parameters"].get("PostgresSslMode", {}).get("Default") == "verify-full",
        "PostgreSQL TLS defaults to verify-full",
    )
