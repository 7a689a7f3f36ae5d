"""moto_server (same options) with each request handled whole before the next.

moto's server runs requests on parallel threads without a lock, and its
TransactWriteItems copies a table and restores the copy on a failed condition,
so concurrent requests can undo each other's committed writes. DynamoDB applies
every request atomically and serialises the writes to an item; one lock around
each request gives moto the same guarantee. Connections still run on threads
(keep-alive works); only the handling of requests is serialised. The lock is
per request, whatever the action, so every action moto implements passes
through unchanged (BatchGetItem included, with DynamoDB's 100-key limit).

It also gives TransactWriteItems DynamoDB's idempotency, which moto lacks: a
request repeating a ClientRequestToken seen in the last 10 minutes, with the
same parameters, is answered with the first response and not run again; with
other parameters it is an IdempotentParameterMismatchException. That is what
makes the SDK's retry of a committed transaction whose response was lost a
success on DynamoDB, and the test of it (dynamodb_lost_response.rs) needs it.
"""

import io
import json
import sys
import threading
import time

from moto import server

_lock = threading.Lock()
_run_simple = server.run_simple

TRANSACT = "DynamoDB_20120810.TransactWriteItems"
TOKEN_TTL_S = 600.0
# ClientRequestToken -> (parameters without the token, status, headers, body, when)
_answered = {}


def _transact_token(environ):
    """The request's body (re-readable) and, for a TransactWriteItems with a
    token, its token and other parameters."""
    if environ.get("HTTP_X_AMZ_TARGET") != TRANSACT:
        return None, None
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    try:
        params = json.loads(body)
    except ValueError:
        return None, None
    token = params.pop("ClientRequestToken", None)
    return token, params


def _idempotent(app, environ, start_response):
    token, params = _transact_token(environ)
    if token is None:
        return list(app(environ, start_response))
    now = time.monotonic()
    for old in [t for t, seen in _answered.items() if now - seen[4] > TOKEN_TTL_S]:
        del _answered[old]
    seen = _answered.get(token)
    if seen is not None:
        if seen[0] != params:
            body = json.dumps({
                "__type": "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
                "message": "ClientRequestToken reused with different parameters",
            }).encode()
            start_response("400 Bad Request", [
                ("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(body)))])
            return [body]
        start_response(seen[1], seen[2])
        return [seen[3]]
    answer = {}

    def capture(status, headers, exc_info=None):
        answer["status"], answer["headers"] = status, headers
        return start_response(status, headers, exc_info)

    chunks = list(app(environ, capture))
    if answer.get("status", "").startswith("200"):
        _answered[token] = (params, answer["status"], answer["headers"], b"".join(chunks), now)
    return chunks


def _serialised(app):
    def handle(environ, start_response):
        with _lock:
            # The response body is produced under the lock as well.
            return _idempotent(app, environ, start_response)

    return handle


def _run_simple_serialised(host, port, app, **kwargs):
    return _run_simple(host, port, _serialised(app), **kwargs)


server.run_simple = _run_simple_serialised

if __name__ == "__main__":
    server.main(sys.argv[1:])
