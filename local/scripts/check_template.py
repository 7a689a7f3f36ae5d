"""Asserts what the translated CloudFormation template deploys, and that the
dev server routes exactly what API Gateway will route. The secrets and each
function's settings are checked by check_secrets.py; tracing, logs,
throttling and alarms by check_operations.py.

Usage: python check_template.py TRANSLATED_JSON ROUTES_JSON

Besides the routes: the authorizer, invoke permissions, IAM policies, and
CORS (present only when the CorsAllowedOrigins parameter names origins).

TRANSLATED_JSON is the output of sam_translate.py; ROUTES_JSON is the dev
server's own route table (`cargo run -p local -- routes --json`), read from
template.yaml by `local::template::load`. Every check that fails is printed,
then the script exits 1; it never skips one.
"""

import json
import re
import sys
from pathlib import Path

from check_operations import check_operations
from check_secrets import check_secrets
from checks import FAILURES, PASSED, as_list, check, refs_of


def routes_of_api(resources, api_id):
    """(METHOD, path, function, protected) rows of the HTTP API's OpenAPI body."""
    api = resources[api_id]["Properties"]
    body = api.get("Body")
    check(isinstance(body, dict), f"{api_id} carries its routes as an OpenAPI Body")
    schemes = body.get("components", {}).get("securitySchemes", {})
    rows = set()
    for path, operations in body.get("paths", {}).items():
        for method, op in operations.items():
            # The $default route (and any ANY route): SAM writes API Gateway's
            # extension; the dev server says ANY.
            if method == "x-amazon-apigateway-any-method":
                method = "ANY"
            integration = op.get("x-amazon-apigateway-integration", {})
            where = f"{method.upper()} {path}"
            check(integration.get("type") == "aws_proxy", f"{where}: a Lambda proxy integration")
            check(integration.get("payloadFormatVersion") == "2.0", f"{where}: payload format 2.0")
            targets = refs_of(integration.get("uri"))
            check(len(targets) == 1, f"{where}: integrates exactly one function ({sorted(targets)})")
            security = [name for req in op.get("security", []) for name in req]
            unknown = [name for name in security if name != "NONE" and name not in schemes]
            check(not unknown, f"{where}: security names a declared authorizer ({unknown})")
            protected = any(name in schemes for name in security)
            rows.add((method.upper(), path, next(iter(targets), "?"), protected))
    return rows, schemes


# What CORS must allow and expose when origins are given (the API's headers).
CORS_ALLOW_HEADERS = {"authorization", "content-type", "idempotency-key"}
CORS_EXPOSE_HEADERS = {"location", "link", "idempotent-replayed", "retry-after"}
HTTP_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def evaluate(expr, conditions, params):
    """The value of a condition expression for these parameter values (the
    intrinsics a condition may use)."""
    if isinstance(expr, dict) and len(expr) == 1:
        (fn, arg), = expr.items()
        if fn == "Ref":
            return params[arg]
        if fn == "Condition":
            return evaluate(conditions[arg], conditions, params)
        if fn == "Fn::Not":
            return not evaluate(arg[0], conditions, params)
        if fn == "Fn::And":
            return all(evaluate(a, conditions, params) for a in arg)
        if fn == "Fn::Or":
            return any(evaluate(a, conditions, params) for a in arg)
        if fn == "Fn::Equals":
            return evaluate(arg[0], conditions, params) == evaluate(arg[1], conditions, params)
        if fn == "Fn::Join":
            return arg[0].join(evaluate(arg[1], conditions, params))
        raise ValueError(f"condition function {fn} is not evaluated here")
    if isinstance(expr, list):
        return [evaluate(e, conditions, params) for e in expr]
    return expr


def lower_set(value):
    return {str(v).lower() for v in as_list(value or [])}


def check_cors(doc, api_id, cfn_routes):
    """CORS exists only when the CorsAllowedOrigins parameter names origins;
    then it allows the API's methods and the request headers clients send, and
    exposes the response headers they read."""
    param = doc.get("Parameters", {}).get("CorsAllowedOrigins", {})
    check(param.get("Type") == "CommaDelimitedList", "CorsAllowedOrigins is a CommaDelimitedList parameter")
    check(param.get("Default") == "", "CorsAllowedOrigins names no origin by default")
    cors = doc["Resources"][api_id]["Properties"].get("Body", {}).get("x-amazon-apigateway-cors")
    branches = cors.get("Fn::If") if isinstance(cors, dict) else None
    if not check(
        isinstance(branches, list) and len(branches) == 3 and branches[2] == {"Ref": "AWS::NoValue"},
        f"{api_id}: the CORS configuration is an Fn::If whose other branch is AWS::NoValue ({cors})",
    ):
        return
    condition, config, _ = branches
    conditions = doc.get("Conditions", {})
    if not check(condition in conditions, f"CORS condition {condition} is declared"):
        return

    def params(origins):
        values = {name: p.get("Default") for name, p in doc.get("Parameters", {}).items()}
        values["CorsAllowedOrigins"] = origins
        return values

    # CloudFormation splits a CommaDelimitedList: the empty default is [""].
    check(
        evaluate(conditions[condition], conditions, params([""])) is False,
        f"{condition} is false for the default: no CORS configuration is deployed",
    )
    check(
        evaluate(conditions[condition], conditions, params(["https://shop.example"])) is True,
        f"{condition} is true when an origin is given",
    )
    origins = config.get("allowOrigins")
    # SAM resolves a parameter's Ref in CorsConfiguration to the value it was
    # given at transform time (offline, the default).
    check(
        origins in ({"Ref": "CorsAllowedOrigins"}, param.get("Default")),
        f"CORS origins come from the CorsAllowedOrigins parameter ({origins})",
    )
    api_methods = {m for m, _, _, _ in cfn_routes if m in HTTP_METHODS}
    check(
        lower_set(config.get("allowMethods")) == {m.lower() for m in api_methods},
        f"CORS allows exactly the API's methods {sorted(api_methods)} ({config.get('allowMethods')})",
    )
    check(
        lower_set(config.get("allowHeaders")) == CORS_ALLOW_HEADERS,
        f"CORS allows the request headers {sorted(CORS_ALLOW_HEADERS)} ({config.get('allowHeaders')})",
    )
    check(
        lower_set(config.get("exposeHeaders")) == CORS_EXPOSE_HEADERS,
        f"CORS exposes the response headers {sorted(CORS_EXPOSE_HEADERS)} ({config.get('exposeHeaders')})",
    )
    check(config.get("allowCredentials") is not True, "CORS sends no credentials (bearer tokens, no cookies)")
    max_age = config.get("maxAge")
    check(isinstance(max_age, int) and 0 < max_age <= 7200, f"CORS preflights are cached briefly ({max_age} s)")


def main(translated_path, routes_path):
    doc = json.loads(Path(translated_path).read_text())
    resources = doc["Resources"]
    by_type = {}
    for logical_id, resource in resources.items():
        by_type.setdefault(resource["Type"], []).append(logical_id)

    check(
        "AWS::ApiGatewayV2::Route" not in by_type,
        "routes live in the API's OpenAPI body (no AWS::ApiGatewayV2::Route this check does not read)",
    )

    # The HTTP API, its stage, and the authorizer with caching.
    apis = by_type.get("AWS::ApiGatewayV2::Api", [])
    if not check(len(apis) == 1, f"exactly one HTTP API ({apis})"):
        return
    api_id = apis[0]
    check(
        any(
            api_id in refs_of(resources[s]["Properties"].get("ApiId"))
            for s in by_type.get("AWS::ApiGatewayV2::Stage", [])
        ),
        f"{api_id} has a deployed stage",
    )
    cfn_routes, schemes = routes_of_api(resources, api_id)
    check(len(schemes) == 1, f"one authorizer on the API ({sorted(schemes)})")
    authorizer_functions = set()
    for name, scheme in schemes.items():
        auth = scheme.get("x-amazon-apigateway-authorizer", {})
        check(auth.get("type") == "request", f"{name}: a Lambda REQUEST authorizer")
        check(auth.get("authorizerPayloadFormatVersion") == "2.0", f"{name}: payload format 2.0")
        check(auth.get("enableSimpleResponses") is True, f"{name}: simple responses")
        ttl = auth.get("authorizerResultTtlInSeconds", 0)
        check(isinstance(ttl, int) and ttl > 0, f"{name}: answers cached (TTL {ttl} s > 0)")
        check(
            auth.get("identitySource") == ["$request.header.Authorization"],
            f"{name}: keyed on the Authorization header",
        )
        targets = refs_of(auth.get("authorizerUri"))
        check(len(targets) == 1, f"{name}: invokes one function ({sorted(targets)})")
        authorizer_functions |= targets

    # One function per endpoint group, each with its routes.
    functions = set(by_type.get("AWS::Lambda::Function", []))
    routed = {row[2] for row in cfn_routes}
    check(routed <= functions, f"every route targets a function of the stack ({sorted(routed - functions)})")
    check(authorizer_functions <= functions, "the authorizer is a function of the stack")
    check(
        functions == routed | authorizer_functions,
        f"every function serves routes or authorizes ({sorted(functions - routed - authorizer_functions)})",
    )
    check(not (routed & authorizer_functions), "the authorizer serves no route itself")
    binaries = {}
    for fn in sorted(functions):
        res = resources[fn]
        props = res["Properties"]
        routes = sorted(f"{m} {p}" for m, p, f, _ in cfn_routes if f == fn)
        print(f"  {fn}: {', '.join(routes) if routes else '(authorizer)'}")
        check(props.get("Runtime") == "provided.al2023", f"{fn}: runtime provided.al2023")
        check(props.get("Handler") == "bootstrap", f"{fn}: handler bootstrap")
        check(props.get("Architectures") == ["arm64"], f"{fn}: arm64")
        binary = res.get("Metadata", {}).get("BuildProperties", {}).get("Binary")
        check(res.get("Metadata", {}).get("BuildMethod") == "rust-cargolambda", f"{fn}: built by cargo lambda")
        check(
            bool(binary) and Path("functions", binary, "src", "main.rs").is_file(),
            f"{fn}: its binary `{binary}` is a crate under functions/",
        )
        binaries[fn] = binary
    check(len(set(binaries.values())) == len(binaries), "one binary per function")

    # API Gateway may invoke each function: one permission per route, and the authorizer's.
    permissions = {}
    for pid in by_type.get("AWS::Lambda::Permission", []):
        props = resources[pid]["Properties"]
        if props.get("Principal") != "apigateway.amazonaws.com" or props.get("Action") != "lambda:InvokeFunction":
            continue
        source = props.get("SourceArn", {})
        if api_id not in refs_of(source):
            continue
        sub = source.get("Fn::Sub")
        text = sub if isinstance(sub, str) else sub[0]
        for fn in refs_of(props.get("FunctionName")):
            permissions.setdefault(fn, []).append(text.split(":")[-1])
    # The $default route's permission is the whole stage (`.../${__Stage__}/*`,
    # written by SAM); it covers that function's other routes too, for which
    # SAM then writes no permission of their own.
    def whole_stage(text):
        return text.endswith("}/*")

    for method, path, fn, _ in sorted(cfn_routes):
        arn_path = re.sub(r"\{[^}]+\}", "*", path)
        wanted = f"/{method}{arn_path}"
        check(
            any(text.endswith(wanted) or whole_stage(text) for text in permissions.get(fn, [])),
            f"API Gateway may invoke {fn} for {method} {path}",
        )
    defaults = [(m, fn, protected) for m, p, fn, protected in cfn_routes if p == "$default"]
    check(
        len(defaults) == 1 and defaults[0][0] == "ANY" and defaults[0][2] is False,
        f"one public $default route takes every request no other route matches ({defaults})",
    )
    for _, fn, _ in defaults:
        check(
            any(whole_stage(text) for text in permissions.get(fn, [])),
            f"API Gateway may invoke {fn} for the $default route",
        )
    for fn in authorizer_functions:
        check(
            any(text.endswith("/authorizers/*") for text in permissions.get(fn, [])),
            f"API Gateway may invoke the authorizer {fn}",
        )

    # The table, and per-function IAM policies on it without wildcard actions.
    tables = by_type.get("AWS::DynamoDB::Table", [])
    check(len(tables) == 1, f"one DynamoDB table ({tables})")
    table = tables[0] if tables else None
    roles_seen = {}
    for fn in sorted(functions):
        role_refs = refs_of(resources[fn]["Properties"].get("Role"))
        role = next(iter(role_refs), None)
        check(
            len(role_refs) == 1 and resources.get(role, {}).get("Type") == "AWS::IAM::Role",
            f"{fn}: has its own execution role",
        )
        if role is None or role not in resources:
            continue
        roles_seen.setdefault(role, []).append(fn)
        statements = [
            st
            for policy in resources[role]["Properties"].get("Policies", [])
            for st in as_list(policy["PolicyDocument"].get("Statement", []))
        ]
        dynamo = []
        for st in statements:
            actions = as_list(st.get("Action", []))
            check("NotAction" not in st and "NotResource" not in st, f"{fn}: no NotAction/NotResource")
            check(
                all(isinstance(a, str) and "*" not in a for a in actions),
                f"{fn}: no wildcard action ({actions})",
            )
            for res in as_list(st.get("Resource", [])):
                check(res != "*", f"{fn}: no policy on Resource '*'")
            if any(str(a).startswith("dynamodb:") for a in actions):
                dynamo.append(st)
                check(
                    table is not None
                    and all(refs_of(r) == {table} for r in as_list(st.get("Resource", []))),
                    f"{fn}: its DynamoDB actions are on {table} (and its indexes) only",
                )
        env = resources[fn]["Properties"].get("Environment", {}).get("Variables", {})
        if fn in authorizer_functions:
            check(not dynamo, f"{fn}: the authorizer has no DynamoDB access")
        elif "DB_DRIVER" not in env:
            # A function that reads no store (docs): no table, no access to it.
            check(not dynamo and "DYNAMODB_TABLE" not in env, f"{fn}: reads no store and has no DynamoDB access")
        else:
            check(bool(dynamo), f"{fn}: has a DynamoDB policy on the table")
            check(env.get("DYNAMODB_TABLE") == {"Ref": table}, f"{fn}: DYNAMODB_TABLE names the table")
        managed = resources[role]["Properties"].get("ManagedPolicyArns", [])
        check(
            all(
                str(arn).endswith(("/service-role/AWSLambdaBasicExecutionRole", "/AWSXrayWriteOnlyAccess"))
                for arn in managed
            ),
            f"{fn}: only the basic execution and X-Ray write managed policies ({managed})",
        )
    check(all(len(fns) == 1 for fns in roles_seen.values()), "no role is shared between functions")

    check("ApiUrl" in doc.get("Outputs", {}), "the stack outputs the API URL")

    check_cors(doc, api_id, cfn_routes)
    check_secrets(doc, functions, authorizer_functions, binaries)
    check_operations(doc, functions, api_id, cfn_routes)

    # The drift test: the dev server's route table is API Gateway's.
    local_rows = json.loads(Path(routes_path).read_text())
    local_routes = {(r["method"], r["path"], r["function"], r["protected"]) for r in local_rows}
    check(len(local_rows) == len(local_routes), "the dev server has no duplicate route")
    for fn, binary in binaries.items():
        for r in local_rows:
            if r["function"] == fn:
                check(r["binary"] == binary, f"dev server runs {fn} as `{binary}` (not `{r['binary']}`)")
    only_cfn = sorted(cfn_routes - local_routes)
    only_local = sorted(local_routes - cfn_routes)
    for row in only_cfn:
        print(f"  only in the deployed API:  {row}")
    for row in only_local:
        print(f"  only in the dev server:    {row}")
    check(
        not only_cfn and not only_local and len(cfn_routes) > 0,
        f"dev server and API Gateway route the same {len(cfn_routes)} (method, path, function, protected) rows",
    )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
    for what in FAILURES:
        print(f"FAIL: {what}")
    print(f"template checks: {len(PASSED)} passed, {len(FAILURES)} failed")
    sys.exit(1 if FAILURES else 0)
