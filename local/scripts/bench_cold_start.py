"""Cold-start benchmark: starts each built `bootstrap` the way Lambda does,
against a local emulator of the Lambda Runtime API, and times process exec ->
first response served, next to a hello-world lambda_http function built with
the same release profile.

Usage: python bench_cold_start.py [--runs N] [--goal-ratio R] [--template T] [--build-dir DIR]
                                  [--driver D] [--reach-store]

The functions are the artifacts `sam build` made (.aws-sam/build/<logical
id>/bootstrap, found through lambda_artifacts.py; build them with
local/scripts/lambda-build.sh), the ones a deployment uploads.

Each run: the emulator queues one API Gateway event (local/events/), the
bootstrap is exec'd with the Runtime API's environment, and the clock stops
when its POST .../invocation/{id}/response has arrived whole. The process is
then killed, and the next run is a new process (a new cold start). Runs are
interleaved across functions so that noise from other work on the machine is
shared out. Every first request is one the function answers without its store
(--driver dynamodb, the default, or postgres: as deployed, clients built at
init that call the store only when a request needs it, here at closed loopback
ports; or sqlite, the local-only store, opened and migrated at init), so the
figure is the init cost plus a trivial first invoke: config, telemetry, token
keys, the store's client, the Lambda runtime. The table prints the
median and the minimum per function and the ratio of medians to hello-world;
--goal-ratio prints whether every function's ratio is within it. It never
fails the run: timings on a shared machine vary, and tests do not assert them.

--reach-store (with --driver postgres-tls) times instead a first request that
does reach the store: PostgreSQL over verified TLS (sslmode=verify-full, the
template's default), at BENCH_DATABASE_URL, with AUTO_MIGRATE on as deployed.
So the figure adds to init the TCP connect, the TLS handshake with certificate
verification, authentication, the migration check and the query. The database
must exist; the first (warm-up) run migrates and seeds it, as a deployment's
first request would.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from lambda_artifacts import artifacts

EVENTS = Path("local/events")

# function binary -> (event file, what the first response must be)
CASES = {
    "hello-world": ("health-get.json", 200),
    "health": ("health-wrong-method.json", 405),
    "auth": ("login-malformed.json", 400),
    "products": ("products-post-unauthenticated.json", 401),
    "orders": ("orders-post-no-identity.json", 401),
    "invoices": ("invoices-get-unauthenticated.json", 401),
    "authorizer": ("authorizer-forged-token.json", "denied"),
    "docs": ("docs-openapi-get.json", 200),
}

# With --reach-store: first requests that need the store (the authorizer and
# auth are left out: one uses no store, the other's store work is dwarfed by
# its argon2id hash).
REACH_STORE_CASES = {
    "hello-world": ("health-get.json", 200),
    "health": ("health-get.json", 200),
    "products": ("products-get.json", 200),
    "orders": ("orders-get-authorized.json", 200),
    "invoices": ("invoices-get-missing.json", 404),
}

RUN_TIMEOUT_S = 10.0

# The store's settings. dynamodb (the template's default) and postgres, as
# deployed: each builds its client at init and calls the store only on a
# request's first use of it, so nothing is listening here on purpose (AWS
# endpoints and the PostgreSQL address are closed loopback ports; the
# credentials are dummies, as Lambda would put real ones in the environment).
# sqlite (the local-only driver): the file is opened and migrated at init, which
# the benchmark shows as the cost of store work at cold start.
STORES = {
    "dynamodb": {
        "DB_DRIVER": "dynamodb", "DYNAMODB_TABLE": "bench",
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_SESSION_TOKEN": "bench",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_EC2_METADATA_DISABLED": "true",
    },
    "postgres": {"DB_DRIVER": "postgres", "DATABASE_URL": "postgres://bench@127.0.0.1:1/bench"},
    "sqlite": {"DB_DRIVER": "sqlite", "SQLITE_PATH": ".build/bench-cold-start.db"},
    # --reach-store: a real server over verified TLS (see the module comment).
    "postgres-tls": {
        "DB_DRIVER": "postgres", "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", ""),
        "AUTO_MIGRATE": "true",
    },
}


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a killed function's half-sent request: expected, not news


class Invocation:
    """One queued event and what the function answered."""

    def __init__(self, request_id, payload):
        self.request_id = request_id
        self.payload = payload
        self.handed_out = False
        self.answered = threading.Event()
        self.answered_at = None
        self.body = None
        self.error = None


class RuntimeApi(BaseHTTPRequestHandler):
    """The Runtime API of one run: its server holds the one Invocation."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def reply(self, status, body=b"", headers=None):
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if not self.path.endswith("/runtime/invocation/next"):
            return self.reply(404)
        inv = self.server.invocation
        if inv.handed_out:
            # One event per process: a second `next` waits until the run ends.
            self.server.stop.wait(RUN_TIMEOUT_S)
            return self.reply(503)
        inv.handed_out = True
        deadline = int(time.time() * 1000) + 10_000
        self.reply(
            200,
            inv.payload,
            {
                "Content-Type": "application/json",
                "Lambda-Runtime-Aws-Request-Id": inv.request_id,
                "Lambda-Runtime-Deadline-Ms": str(deadline),
                "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:bench",
                "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0",
            },
        )

    def do_POST(self):
        body = self.read_body()
        now = time.perf_counter()
        inv = self.server.invocation
        if self.path.endswith(f"/invocation/{inv.request_id}/response"):
            inv.answered_at, inv.body = now, body
            inv.answered.set()
            return self.reply(202, b'{"status":"OK"}')
        if self.path.endswith("/error"):
            inv.error = f"{self.path}: {body[:300]!r}"
            inv.answered.set()
            return self.reply(202, b'{"status":"OK"}')
        return self.reply(404)


def check_answer(binary, body, expected):
    answer = json.loads(body)
    if expected == "denied":
        return answer.get("isAuthorized") is False, f"isAuthorized={answer.get('isAuthorized')}"
    status = answer.get("statusCode")
    return status == expected, f"status {status}"


def one_run(binary, path, payload, expected, run, driver):
    """One cold start, with a Runtime API of its own (a fresh port), so that
    nothing a previous process sent can reach this one's event."""
    inv = Invocation(f"bench-{binary}-{run}", payload)
    server = QuietServer(("127.0.0.1", 0), RuntimeApi)
    server.invocation = inv
    server.stop = threading.Event()
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        "AWS_LAMBDA_FUNCTION_NAME": binary,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{binary}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "JWT_SECRET": "bench-secret-0123456789abcdef0123456789abcdef",
        **STORES[driver],
        "RUST_LOG": "info",
    }
    started = time.perf_counter()
    proc = subprocess.Popen([str(path)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        if not inv.answered.wait(RUN_TIMEOUT_S):
            raise SystemExit(f"{binary}: no response within {RUN_TIMEOUT_S} s (exit code {proc.poll()})")
        if inv.error:
            raise SystemExit(f"{binary}: the function reported an error: {inv.error}")
        ok, what = check_answer(binary, inv.body, expected)
        if not ok:
            raise SystemExit(f"{binary}: expected {expected}, got {what}: {inv.body[:300]!r}")
        return (inv.answered_at - started) * 1000.0
    finally:
        proc.send_signal(signal.SIGKILL)
        _, stderr = proc.communicate(timeout=5)
        server.stop.set()
        server.shutdown()
        server.server_close()
        if inv.error and stderr:
            print(stderr.decode(errors="replace")[-2000:], file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--goal-ratio", type=float, default=None)
    parser.add_argument("--template", default="template.yaml")
    parser.add_argument("--build-dir", default=".aws-sam/build")
    parser.add_argument("--driver", choices=sorted(STORES), default="dynamodb")
    parser.add_argument("--reach-store", action="store_true",
                        help="first requests that reach the store (--driver postgres-tls)")
    args = parser.parse_args()
    cases = REACH_STORE_CASES if args.reach_store else CASES
    if args.reach_store and args.driver != "postgres-tls":
        raise SystemExit("--reach-store needs --driver postgres-tls")
    if args.driver == "postgres-tls" and "sslmode=verify-full" not in STORES["postgres-tls"]["DATABASE_URL"]:
        raise SystemExit("--driver postgres-tls needs BENCH_DATABASE_URL with sslmode=verify-full")

    built = artifacts(args.template, args.build_dir)
    if set(built) != set(CASES):
        raise SystemExit(f"the template's functions {sorted(built)} are not the benchmark's {sorted(CASES)}")
    binaries = {binary: built[binary] for binary in cases}
    payloads = {b: (EVENTS / event).read_bytes() for b, (event, _) in cases.items()}

    times = {b: [] for b in cases}
    for binary, path in binaries.items():  # one warm-up each: page cache, not measured
        one_run(binary, path, payloads[binary], cases[binary][1], "warmup", args.driver)
    for run in range(args.runs):
        for binary, path in binaries.items():
            times[binary].append(one_run(binary, path, payloads[binary], cases[binary][1], run, args.driver))

    base = statistics.median(times["hello-world"])
    what = "first request reaching the store" if args.reach_store else "first response served"
    print(f"cold start, process exec -> {what} ({args.runs} runs each, DB_DRIVER={args.driver}, Runtime API emulator on 127.0.0.1)")
    print(f"{'function':<12} {'first request':<44} {'median ms':>9} {'min ms':>7} {'x hello':>8}")
    worst = 0.0
    for binary in cases:
        event, expected = cases[binary]
        median = statistics.median(times[binary])
        ratio = median / base
        if binary != "hello-world":
            worst = max(worst, ratio)
        print(f"{binary:<12} {event + ' -> ' + str(expected):<44} {median:>9.2f} {min(times[binary]):>7.2f} {ratio:>7.2f}x")
    print(f"worst ratio to hello-world: {worst:.2f}x")
    if args.goal_ratio is not None:
        verdict = "met" if worst <= args.goal_ratio else "MISSED"
        print(f"goal: every function within {args.goal_ratio}x hello-world: {verdict}")


if __name__ == "__main__":
    main()
