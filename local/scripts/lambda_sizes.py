"""Zips each built Lambda `bootstrap` as Lambda takes it and prints both sizes.

Usage: python lambda_sizes.py [--lambda-dir target/lambda] [--max-zip-mb 3] BINARY...

The zip (target/lambda/<binary>/bootstrap.zip) holds the one executable file
`bootstrap`, deflated, as `sam build`/`cargo lambda build -o zip` make it.
A binary whose zip is above --max-zip-mb fails the run.
"""

import argparse
import sys
import zipfile
from pathlib import Path

MB = 1024 * 1024


def zip_bootstrap(bootstrap):
    target = bootstrap.with_name("bootstrap.zip")
    info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o100755 << 16  # a regular, executable file
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(target, "w", compresslevel=9) as archive:
        archive.writestr(info, bootstrap.read_bytes())
    return target


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lambda-dir", default="target/lambda")
    parser.add_argument("--max-zip-mb", type=float, default=None)
    parser.add_argument("binaries", nargs="+")
    args = parser.parse_args()
    too_big = []
    print(f"{'binary':<12} {'bootstrap':>12} {'zip':>12}")
    for binary in args.binaries:
        bootstrap = Path(args.lambda_dir, binary, "bootstrap")
        if not bootstrap.is_file():
            sys.exit(f"{bootstrap} is missing: the build did not produce it")
        zipped = zip_bootstrap(bootstrap)
        size, zsize = bootstrap.stat().st_size, zipped.stat().st_size
        print(f"{binary:<12} {size / MB:>9.2f} MB {zsize / MB:>9.2f} MB")
        if args.max_zip_mb is not None and zsize > args.max_zip_mb * MB:
            too_big.append(f"{binary} ({zsize / MB:.2f} MB)")
    if too_big:
        sys.exit(f"zipped artifacts above {args.max_zip_mb} MB: {', '.join(too_big)}")


if __name__ == "__main__":
    main()
