"""moto_server (same options) with each request handled whole before the next.

moto's server runs requests on parallel threads without a lock, and its
TransactWriteItems copies a table and restores the copy on a failed condition,
so concurrent requests can undo each other's committed writes. DynamoDB applies
every request atomically and serialises the writes to an item; one lock around
each request gives moto the same guarantee. Connections still run on threads
(keep-alive works); only the handling of requests is serialised. The lock is
per request, whatever the action, so every action moto implements passes
through unchanged (BatchGetItem included, with DynamoDB's 100-key limit).
"""

import sys
import threading

from moto import server

_lock = threading.Lock()
_run_simple = server.run_simple


def _serialised(app):
    def handle(environ, start_response):
        with _lock:
            # The response body is produced under the lock as well.
            return list(app(environ, start_response))

    return handle


def _run_simple_serialised(host, port, app, **kwargs):
    return _run_simple(host, port, _serialised(app), **kwargs)


server.run_simple = _run_simple_serialised

if __name__ == "__main__":
    server.main(sys.argv[1:])
