"""Runs the ClickHouse backend's statements on a current ClickHouse engine.

Reads {"statements": [{"name", "sql", "data", "expect"}]} on stdin (written by
shared/contract/tests/clickhouse_sql_modern.rs from the backend's own sql.rs), runs each
in order in a fresh in-process chdb database, and compares the answer with
"expect" (JSON lines) where one is given. Exits non-zero, naming every failing
statement, if any fails; prints one line per statement.
"""

import json
import sys

try:
    from chdb import session
except ImportError as e:  # The caller installs chdb; its absence is a failure, not a skip.
    print(f"chdb is not importable by {sys.executable}: {e}", file=sys.stderr)
    sys.exit(2)


def rows(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def main():
    statements = json.load(sys.stdin)["statements"]
    s = session.Session()
    s.query("CREATE DATABASE IF NOT EXISTS sql_check")
    s.query("USE sql_check")
    s.query("SET output_format_json_quote_64bit_integers = 0")
    failures = 0
    version = str(s.query("SELECT version()", "CSV")).strip().strip('"')
    print(f"ClickHouse {version} (chdb): {len(statements)} statements")
    for st in statements:
        sql = st["sql"] if st.get("data") is None else st["sql"] + "\n" + st["data"]
        try:
            answer = str(s.query(sql, "JSONEachRow"))
            if st.get("expect") is not None and rows(answer) != rows(st["expect"]):
                raise AssertionError(f"expected {st['expect']!r}, got {answer.strip()!r}")
            print(f"ok    {st['name']}")
        except Exception as e:  # report every failure, then fail
            failures += 1
            print(f"FAIL  {st['name']}: {e}\n      {st['sql']}")
    if failures:
        print(f"{failures} of {len(statements)} statements failed on ClickHouse {version}")
        sys.exit(1)


main()
