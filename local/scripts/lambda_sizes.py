"""Zips each Lambda artifact `sam build` made as `sam package`/`sam deploy`
zip it, prints the sizes, and checks that no artifact links SQLite.

Usage: python lambda_sizes.py [--template template.yaml] [--build-dir .aws-sam/build]
                              [--max-zip-bytes N]

Run with .build/venv's Python: the zip is made by aws-sam-cli's own function
(samcli.lib.package.utils.make_zip, deflate at zlib's default level, mode
0755), so the figure is the size of the archive Lambda receives. Each zip is
written beside its bootstrap's folder as .aws-sam/zips/<binary>.zip.

Fails when a function's zip is above --max-zip-bytes, or when a function's
bootstrap holds SQLite: SQLite is the dev server's store and must never be
deployed. The binaries are stripped, so the check looks for strings SQLite's C
library always carries ("SQLite format 3", the database file's magic header,
and the "sqlite3_" prefix of its API names in its error messages and tables).
The hello-world baseline is measured too, not checked against the budget.
"""

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from samcli.lib.package.utils import make_zip

from lambda_artifacts import artifacts

SQLITE_MARKERS = (b"SQLite format 3", b"sqlite3_")


def zip_as_sam(bootstrap, target):
    """Zips the folder holding `bootstrap` as `sam package` does."""
    with tempfile.TemporaryDirectory() as tmp:
        made = make_zip(str(Path(tmp, "artifact")), str(bootstrap.parent))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(made, target)
    return target


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--template", default="template.yaml")
    parser.add_argument("--build-dir", default=".aws-sam/build")
    parser.add_argument("--max-zip-bytes", type=int, default=None)
    parser.add_argument("--goal-zip-bytes", type=int, default=3_000_000,
                        help="printed per function as met or missed; not a failure")
    args = parser.parse_args()
    over_goal = []
    failures = []
    print(f"{'binary':<12} {'artifact':<42} {'bootstrap bytes':>15} {'zip bytes':>10}")
    for binary, bootstrap in artifacts(args.template, args.build_dir).items():
        zipped = zip_as_sam(bootstrap, Path(".aws-sam/zips", f"{binary}.zip"))
        size, zsize = bootstrap.stat().st_size, zipped.stat().st_size
        print(f"{binary:<12} {str(bootstrap):<42} {size:>15,} {zsize:>10,}")
        if binary == "hello-world":
            continue
        if zsize > args.goal_zip_bytes:
            over_goal.append(f"{binary} ({zsize - args.goal_zip_bytes:,} bytes over)")
        if args.max_zip_bytes is not None and zsize > args.max_zip_bytes:
            failures.append(f"{binary}: zip of {zsize:,} bytes is above {args.max_zip_bytes:,}")
        data = bootstrap.read_bytes()
        found = [m.decode() for m in SQLITE_MARKERS if m in data]
        if found:
            failures.append(f"{binary}: links SQLite (its bootstrap contains {found})")
    print(f"size goal, every zip <= {args.goal_zip_bytes:,} bytes: "
          + ("met" if not over_goal else "MISSED by " + ", ".join(over_goal)))
    if failures:
        sys.exit("artifact check failed:\n  " + "\n  ".join(failures))
    print("no artifact links SQLite" + (f"; every zip <= {args.max_zip_bytes:,} bytes" if args.max_zip_bytes else ""))


if __name__ == "__main__":
    main()
