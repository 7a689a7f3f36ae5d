"""Every function under `cargo lambda watch`, answering as the dev server does.

Usage: python lambda_watch_e2e.py   (from the repository root; cargo-lambda on PATH)

Starts, on free 127.0.0.1 ports, `cargo lambda watch --features sqlite` (the
functions as Lambda runs them, one process per binary, reached at
/lambda-url/<binary>/<path>; SQLite, the local-only store, is not in a
function's default features) and
the dev server (`cargo run -p local`), each on its own fresh SQLite file under
.build/watch-e2e/, with the same JWT secret. Then:

1. The same sequence of real HTTP requests goes to both (every route of every
   function: register, login, catalog, orders, invoices, health, docs): each answer
   must have the same status and the same body shape (keys and value types,
   recursively) and the same Location header.
2. `cargo lambda invoke` sends the API Gateway v2 events of local/events/ to
   each function; each answer must match the dev server's answer to the same
   request (status and body shape).
3. Without an authorizer in front, a function verifies the bearer token itself:
   under watch a missing or forged token is a 401 with the API's JSON error
   body, where the dev server answers as API Gateway does (401
   {"message":"Unauthorized"} without a header, 403 {"message":"Forbidden"} for
   a token the authorizer refuses).
4. The authorizer function, invoked with payload-2.0 REQUEST events, allows a
   real token (with the caller's identity as context) and refuses the others.
5. Logs: the functions' lines (RUST_LOG=debug) are JSON, carry the Lambda
   request id and X-Ray trace id of their invocation, and never contain the password, the token
   or the password's argon2 hash; neither do the dev server's.
6. Metrics: the functions' CloudWatch EMF lines declare what they carry, one
   cold start per function named as Lambda names it, and exactly one line per
   order placed, invoice paid and login refused, each with the request id and
   trace id of the invocation it happened in.

Each failed check is printed; the script exits 1 if any failed. Both servers
are stopped at the end, and every wait is bounded.
"""

import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

WORK = Path(".build/watch-e2e")
SECRET = "watch-e2e-secret-0123456789abcdef0123456789"
PASSWORD = "Corr3ct-Horse-Battery-Staple!"
USERNAME = "watch_e2e_user"
START_TIMEOUT_S = 600  # the first request under watch may wait for a build
REQUEST_TIMEOUT_S = 300  # the first request to a function may wait for its build

FAILURES = []
PASSED = []


def check(ok, what):
    (PASSED if ok else FAILURES).append(what)
    if not ok:
        print(f"  FAIL: {what}")
    return ok


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, what, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{what} did not listen on 127.0.0.1:{port} within {timeout} s")


def http(base, method, path, body=None, token=None, raw=None):
    data = raw.encode() if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=REQUEST_TIMEOUT_S) as resp:
            status, headers, text = resp.status, resp.headers, resp.read().decode()
    except urllib.error.HTTPError as err:
        status, headers, text = err.code, err.headers, err.read().decode()
    try:
        payload = json.loads(text) if text else None
    except json.JSONDecodeError:
        payload = {"<not json>": text[:200]}
    return status, payload, headers.get("Location")


def shape(value):
    """The body's shape: keys and value types, recursively (values ignored)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return "string"


def is_error_body(body, code):
    return (
        isinstance(body, dict)
        and set(body) == {"error", "code", "timestamp", "request_id"}
        and body.get("code") == code
    )


class Servers:
    def __init__(self):
        self.procs = []

    def start(self, args, env, log_path):
        log = open(log_path, "wb")
        proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append((proc, log))
        return proc

    def stop(self):
        for proc, log in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=15)
            log.close()


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    watch_port, dev_port = free_port(), free_port()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "SQLITE_", "DATABASE_", "JWT_", "POSTGRES_"))}
    servers = Servers()
    try:
        dev_env = dict(base_env, PORT=str(dev_port), DB_DRIVER="sqlite", SQLITE_PATH=str(WORK / "dev.db"),
                       JWT_SECRET=SECRET, RUST_LOG="debug")
        dev = servers.start(["cargo", "run", "-q", "-p", "local"], dev_env, WORK / "dev.log")
        # The functions' settings, given the way Lambda gives them: environment
        # variables of the function (--env-var), not of the watch process.
        function_env = ",".join([
            "DB_DRIVER=sqlite", f"SQLITE_PATH={(WORK / 'watch.db').resolve()}", f"JWT_SECRET={SECRET}",
            "RUST_LOG=debug", "AUTO_MIGRATE=true",
        ])
        watch = servers.start(
            ["cargo", "lambda", "watch", "--invoke-address", "127.0.0.1", "--invoke-port", str(watch_port),
             "--ignore-changes", "--features", "sqlite", "--env-vars", function_env],
            dict(base_env, RUST_LOG="info"), WORK / "watch.log",
        )
        wait_for_port(dev_port, dev, "the dev server", START_TIMEOUT_S)
        wait_for_port(watch_port, watch, "cargo lambda watch", START_TIMEOUT_S)
        run_checks(f"http://127.0.0.1:{dev_port}", watch_port)
    finally:
        servers.stop()
    check_logs()


def via_watch(watch_port):
    def call(binary, method, path, **kw):
        return http(f"http://127.0.0.1:{watch_port}/lambda-url/{binary}", method, path, **kw)
    return call


def run_checks(dev, watch_port):
    watch = via_watch(watch_port)
    compare = []  # (what, dev answer, watch answer)

    def both(binary, method, path, expect, **kw):
        d = http(dev, method, path, **kw)
        w = watch(binary, method, path, **kw)
        what = f"{method} {path}"
        check(d[0] == expect, f"dev server: {what} -> {expect} (got {d[0]}: {str(d[1])[:200]})")
        compare.append((what, d, w))
        return d, w

    # 1. Every function over real HTTP, the same sequence on both.
    both("health", "GET", "/health", 200)
    # The docs function: the description, and (the $default route on the dev
    # server) the JSON 404 and 405 of routes no other function takes.
    both("docs", "GET", "/openapi.json", 200)
    both("docs", "GET", "/no/such/route", 404)
    both("docs", "DELETE", "/health", 405)
    (_, products, _), _ = both("products", "GET", "/products", 200)
    in_stock = next(p for p in products if p["in_stock"])
    both("products", "GET", f"/products/{in_stock['product_id']}", 200)
    both("products", "GET", f"/products/category/{in_stock['category']}", 200)
    both("products", "GET", "/products/999999", 404)
    both("auth", "POST", "/register", 201, body={"username": USERNAME, "password": PASSWORD})
    both("auth", "POST", "/register", 409, body={"username": USERNAME, "password": PASSWORD})
    both("auth", "POST", "/login", 401, body={"username": USERNAME, "password": PASSWORD + "x"})
    (_, dev_login, _), (_, watch_login, _) = both("auth", "POST", "/login", 200, body={"username": USERNAME, "password": PASSWORD})
    dev_token, watch_token = dev_login["token"], watch_login["token"]
    tokens = [dev_token, watch_token]
    user_id = dev_login["user"]["id"]

    def both_auth(binary, method, path, expect, **kw):
        d = http(dev, method, path, token=dev_token, **kw)
        w = watch(binary, method, path, token=watch_token, **kw)
        what = f"{method} {path} (authenticated)"
        check(d[0] == expect, f"dev server: {what} -> {expect} (got {d[0]}: {str(d[1])[:200]})")
        compare.append((what, d, w))
        return d, w

    new_product = {"name": "Desk lamp", "description": "LED, warm white", "price": 39.5, "category": "home"}
    (_, created, _), _ = both_auth("products", "POST", "/products", 201, body=new_product)
    pid = created["product_id"]
    both_auth("products", "PUT", f"/products/{pid}", 200, body={"price": 41.25})
    both_auth("products", "PUT", f"/products/{pid}/stock", 200, body={"in_stock": True})
    (_, order, _), _ = both_auth("orders", "POST", "/orders", 201, body={"items": [{"product_id": in_stock["product_id"], "quantity": 2}]})
    both_auth("orders", "POST", f"/orders/{USERNAME}", 201, body={"product_id": pid, "quantity": 1})
    both_auth("orders", "GET", "/orders", 200)
    both_auth("orders", "GET", f"/orders/{USERNAME}", 200)
    both_auth("orders", "GET", "/orders/someone_else", 403)
    (_, invoice, _), _ = both_auth("invoices", "POST", "/invoices", 201, body={"order_id": order["order_id"]})
    both_auth("invoices", "POST", "/invoices", 200, body={"order_id": order["order_id"]})
    both_auth("invoices", "GET", f"/invoices/{invoice['invoice_id']}", 200)
    both_auth("invoices", "GET", f"/invoices/order/{order['order_id']}", 200)
    both_auth("invoices", "GET", f"/invoices/user/{user_id}", 200)
    both_auth("invoices", "PUT", f"/invoices/{invoice['invoice_id']}", 200, body={"status": "sent"})
    both_auth("invoices", "PUT", f"/invoices/{invoice['invoice_id']}", 200, body={"status": "paid"})
    both_auth("invoices", "PUT", f"/invoices/{invoice['invoice_id']}", 409, body={"status": "draft"})
    both_auth("orders", "POST", "/orders", 400, raw='{"items": [')

    for what, d, w in compare:
        if isinstance(w[1], dict) and "request_id" in w[1]:
            ERROR_BODY_IDS.append(w[1]["request_id"])
        check(w[0] == d[0], f"watch: {what} -> {d[0]} like the dev server (got {w[0]}: {str(w[1])[:200]})")
        check(shape(w[1]) == shape(d[1]), f"watch: {what}: same body shape as the dev server\n    dev:   {shape(d[1])}\n    watch: {shape(w[1])}")
        check((w[2] is None) == (d[2] is None) and (w[2] or "").endswith((d[2] or "").split("/")[-1]),
              f"watch: {what}: same Location header ({d[2]} / {w[2]})")

    # 3. No authorizer in front under watch: the functions check the token themselves.
    forged = SECRET_FORGED_TOKEN
    for binary, method, path in [("orders", "GET", "/orders"), ("invoices", "GET", "/invoices/1"),
                                 ("products", "POST", "/products"), ("orders", "POST", "/orders")]:
        body = new_product if method == "POST" else None
        status, payload, _ = watch(binary, method, path, body=body)
        check(status == 401 and is_error_body(payload, "unauthorized"),
              f"watch: {method} {path} without a token -> 401 JSON error body (got {status}: {payload})")
        status, payload, _ = watch(binary, method, path, body=body, token=forged)
        check(status == 401 and is_error_body(payload, "unauthorized"),
              f"watch: {method} {path} with a forged token -> 401 JSON error body (got {status}: {payload})")
        status, payload, _ = http(dev, method, path, body=body)
        check(status == 401 and payload == {"message": "Unauthorized"},
              f"dev server: {method} {path} without a token -> API Gateway's 401 (got {status}: {payload})")
        status, payload, _ = http(dev, method, path, body=body, token=forged)
        check(status == 403 and payload == {"message": "Forbidden"},
              f"dev server: {method} {path} with a forged token -> API Gateway's 403 (got {status}: {payload})")

    # 2. and 4. `cargo lambda invoke` with the event files.
    def invoke(binary, event_path):
        out = subprocess.run(
            ["cargo", "lambda", "invoke", binary, "--data-file", str(event_path),
             "--invoke-address", "127.0.0.1", "--invoke-port", str(watch_port), "--output-format", "json"],
            capture_output=True, text=True, timeout=START_TIMEOUT_S,
        )
        if not check(out.returncode == 0, f"cargo lambda invoke {binary} {event_path} (exit {out.returncode}: {out.stderr[-500:]})"):
            return {}
        return json.loads(out.stdout)

    def invoke_http(binary, event, method, path, expect_status, dev_answer=None):
        answer = invoke(binary, Path("local/events") / event)
        status = answer.get("statusCode")
        body = json.loads(answer["body"]) if answer.get("body") else None
        check(status == expect_status, f"invoke {binary} {event} -> {expect_status} (got {status}: {str(body)[:200]})")
        if dev_answer is None:
            dev_answer = http(dev, method, path)
        if dev_answer is not False:
            check(dev_answer[0] == status, f"invoke {binary} {event}: status {status} like the dev server's {method} {path} ({dev_answer[0]})")
            check(shape(body) == shape(dev_answer[1]), f"invoke {binary} {event}: body shape like the dev server's {method} {path}")
        return body

    invoke_http("health", "health-get.json", "GET", "/health", 200)
    invoke_http("products", "products-get.json", "GET", "/products/1", 200)
    invoke_http("products", "products-list-page.json", "GET", "/products?limit=2", 200)
    invoke_http("auth", "login-malformed.json", "POST", "/login", 400,
                http(dev, "POST", "/login", raw='{"username": "alice"'))
    body = invoke_http("health", "health-wrong-method.json", "POST", "/health", 405, False)
    check(is_error_body(body, "method_not_allowed"), "invoke health health-wrong-method.json: a 405 JSON error body")
    headers = invoke("health", Path("local/events/health-wrong-method.json")).get("headers") or {}
    check(headers.get("allow") == "GET", f"invoke health health-wrong-method.json: Allow: GET (got {headers})")
    for binary, event in [("orders", "orders-post-no-identity.json"), ("products", "products-post-unauthenticated.json"),
                          ("invoices", "invoices-get-unauthenticated.json")]:
        body = invoke_http(binary, event, "-", "-", 401, False)
        check(is_error_body(body, "unauthorized"), f"invoke {binary} {event}: 401 JSON error body (got {body})")

    for event, allowed in [("authorizer-missing-token.json", False), ("authorizer-forged-token.json", False)]:
        answer = invoke("authorizer", Path("local/events") / event)
        check(answer.get("isAuthorized") is allowed, f"invoke authorizer {event} -> isAuthorized {allowed} (got {answer})")
    valid = WORK / "authorizer-valid-token.json"
    valid.write_text(Path("local/events/authorizer-valid-token.json").read_text().replace("${TOKEN}", watch_token))
    answer = invoke("authorizer", valid)
    check(
        answer.get("isAuthorized") is True
        and answer.get("context") == {"user_id": str(user_id), "username": USERNAME, "role": "customer"},
        f"invoke authorizer with a real token -> allowed, with the caller as context (got {answer})",
    )
    status, _, _ = http(dev, "GET", "/orders", token=dev_token)
    check(status == 200, "dev server: the same kind of token passes its authorizer step")

    global SECRETS
    SECRETS = {"password": PASSWORD, "dev token": dev_token, "watch token": watch_token}
    for db in ("dev.db", "watch.db"):
        with sqlite3.connect(WORK / db) as conn:
            (stored,) = conn.execute("SELECT password_hash FROM users WHERE username = ?", (USERNAME,)).fetchone()
        check(stored.startswith("$argon2id$"), f"{db}: the password is stored as an argon2id PHC string")
        SECRETS[f"argon2 hash in {db}"] = stored
        # The hash's salt and digest alone, in case a line prints only a part.
        SECRETS[f"argon2 digest in {db}"] = stored.rsplit("$", 1)[-1]


# A token for user 1 signed with a secret that is not SECRET.
SECRET_FORGED_TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIiwidXNlcm5hbWUiOiJtYWxsb3J5Iiwicm9sZSI6ImFkbWluIiwiaWF0Ijox"
    "Nzk1Njg1NDAwLCJleHAiOjQxMDI0NDQ4MDAsImlzcyI6ImNvbW1lcmNlLWFwaSIsImF1ZCI6ImNvbW1lcmNlLWFwaS1jbGllbnRzIn0."
    "c2lnbmVkLXdpdGgtYW5vdGhlci1zZWNyZXQtbm90LW91cnM"
)
SECRETS = {}
ERROR_BODY_IDS = []  # the request_id of each error body that watch answered


def check_logs():
    watch_log = (WORK / "watch.log").read_text(errors="replace")
    dev_log = (WORK / "dev.log").read_text(errors="replace")
    check(len(SECRETS) >= 5, "collected the secrets to look for")
    for name, text in [("cargo lambda watch output", watch_log), ("dev server log", dev_log)]:
        for what, secret in SECRETS.items():
            check(secret not in text, f"{name}: no {what}")
        check("$argon2" not in text, f"{name}: no argon2 PHC string at all")
        check(PASSWORD[:12] not in text, f"{name}: not even the start of the password")

    # The functions' JSON lines under watch, and the request id on them.
    lines = []
    for raw in watch_log.splitlines():
        start = raw.find('{"timestamp"')
        if start < 0:
            continue
        try:
            lines.append(json.loads(raw[start:]))
        except json.JSONDecodeError:
            check(False, f"a function log line is whole JSON: {raw[:200]}")
    check(len(lines) >= 10, f"watch output has the functions' JSON log lines ({len(lines)})")
    debug_lines = [line for line in lines if line.get("level") == "DEBUG"]
    check(bool(debug_lines), "RUST_LOG=debug reached the functions (DEBUG lines present)")

    def invocation(line):
        for span in [line.get("span", {}), *line.get("spans", [])]:
            if span.get("requestId"):
                return span
        return {}

    def request_id(line):
        return invocation(line).get("requestId")

    for message in ("user registered", "user logged in", "request refused", "invoice created"):
        found = [line for line in lines if line.get("fields", {}).get("message") == message]
        check(bool(found), f"a function logged `{message}`")
        check(all(request_id(line) for line in found), f"every `{message}` line carries the Lambda request id")
    # An error body's request_id (API Gateway's id for the request, which a
    # client reports) leads to the function's log line, which also carries the
    # Lambda invocation's id (a different id, in AWS as under watch).
    check(len(ERROR_BODY_IDS) >= 5, f"watch answered error bodies with a request_id ({len(ERROR_BODY_IDS)})")
    for body_id in ERROR_BODY_IDS:
        found = [line for line in lines if line.get("fields", {}).get("request_id") == body_id]
        check(bool(found) and all(request_id(line) for line in found),
              f"the error body's request_id {body_id} is on a log line with the Lambda request id")
    ids = {request_id(line) for line in lines if request_id(line)}
    # The X-Ray trace id rides on the same span as the request id (watch, like
    # Lambda, hands one to every invocation).
    in_invocation = [line for line in lines if request_id(line)]
    check(
        bool(in_invocation) and all(invocation(line).get("xrayTraceId", "").startswith("Root=1-") for line in in_invocation),
        f"every line of an invocation carries its X-Ray trace id ({len(in_invocation)} lines)",
    )
    check(len(ids) >= 10, f"each invocation has its own request id ({len(ids)} distinct)")
    check(all(re.fullmatch(r"[0-9a-fA-F-]{8,}", i) for i in ids), f"request ids look like Lambda's ({sorted(ids)[:3]})")
    check_metrics(watch_log, ids)


def check_metrics(watch_log, invocation_ids):
    """The EMF lines under watch (6. in the module's description)."""
    docs = []
    for raw in watch_log.splitlines():
        start = raw.find('{"')
        if start < 0 or '"_aws"' not in raw:
            continue
        try:
            docs.append(json.loads(raw[start:]))
        except json.JSONDecodeError:
            check(False, f"a metric line is whole JSON: {raw[:200]}")
    check(len(docs) >= 6, f"watch output has the functions' metric lines ({len(docs)})")
    counts = {}
    for doc in docs:
        declared = doc.get("_aws", {}).get("CloudWatchMetrics", [{}])[0]
        names = [m.get("Name") for m in declared.get("Metrics", [])]
        check(
            declared.get("Namespace") == "CommerceApi"
            and declared.get("Dimensions") == [["FunctionName"]]
            and isinstance(doc.get("_aws", {}).get("Timestamp"), int)
            and len(names) == 1 and doc.get(names[0]) == 1 and doc.get("FunctionName"),
            f"an EMF document declaring its one metric and dimension: {doc}",
        )
        if names:
            counts.setdefault(names[0], []).append(doc)
    started = sorted({d.get("FunctionName") for d in counts.get("ColdStarts", [])})
    check(
        started == sorted(["auth", "authorizer", "docs", "health", "invoices", "orders", "products"]),
        f"a cold start counted by every function, under its Lambda name ({started})",
    )
    for metric, expected in [("OrdersPlaced", 2), ("InvoicesPaid", 1), ("FailedLogins", 1)]:
        found = counts.get(metric, [])
        check(len(found) == expected, f"{metric}: {expected} under watch (got {len(found)})")
        check(
            all(d.get("requestId") in invocation_ids and d.get("xrayTraceId", "").startswith("Root=1-") for d in found),
            f"{metric}: each line carries the request id and X-Ray trace id of its invocation",
        )


if __name__ == "__main__":
    main()
    print(f"cargo lambda watch checks: {len(PASSED)} passed, {len(FAILURES)} failed")
    sys.exit(1 if FAILURES else 0)
