#!/usr/bin/env bash
# Builds every Lambda function of template.yaml in release mode with `cargo
# lambda build`, in ONE cargo invocation (the release profile's LTO makes each
# link slow; one invocation shares the dependency builds), then the hello-world
# baseline of the cold-start benchmark in its own. Prints the wall time, then the size
# of each bootstrap and of its zip, and fails when a zip is above the budget:
# LAMBDA_MAX_ZIP_MB, 4.5 MB by default. (The goal is 3 MB and is missed: the
# DynamoDB backend, the AWS SDK and its TLS stack, rustls on aws-lc-rs, TLS to
# every store, the secrets clients, metrics and idempotency put each HTTP
# function at 3.99-4.02 MiB zipped, measured by `bash .ci/run` on 2026-11-28.
# The budget only catches regressions until the size work of issue 14 lands.)
# The functions are built with their default features, as `sam build` builds
# them: the deployable stores, without SQLite.
# Artifacts: target/lambda/<binary>/bootstrap and bootstrap.zip.
# Builds for the machine's architecture (x86_64 here); the template deploys
# arm64: add --arm64 (needs the aarch64-unknown-linux-gnu Rust target; zig,
# which cargo lambda uses as the cross linker, comes with it from PyPI).
# Usage: local/scripts/lambda-build.sh [extra cargo lambda build flags]
set -euo pipefail
cd "$(dirname "$0")/../.."

step() { printf '\n==> %s\n' "$*"; }

# shellcheck source=services/python.sh
source local/scripts/services/python.sh
step "cargo-lambda (and zig) from PyPI into .build/venv"
ensure_pip_packages cargo-lambda==1.9.2
export PATH="$VENV/bin:$PATH"

# The functions are the template's: Metadata.BuildProperties.Binary of each.
mapfile -t functions < <(sed -n 's/^ *Binary: *\([A-Za-z0-9_-]*\) *$/\1/p' template.yaml)
if [ "${#functions[@]}" -eq 0 ]; then
    echo "no function found in template.yaml" >&2
    exit 1
fi
# docs alone turns on shared's `openapi` feature (utoipa): built with the
# others, cargo's feature unification would compile it into every function.
packages=()
for f in "${functions[@]}"; do [ "$f" = docs ] || packages+=(-p "$f"); done

step "cargo lambda build --release of ${packages[*]} (one invocation)"
started=$(date +%s)
cargo lambda build --release "${packages[@]}" "$@"
echo "release build wall time, functions: $(( $(date +%s) - started )) s"

step "cargo lambda build --release -p docs (its own invocation)"
started=$(date +%s)
cargo lambda build --release -p docs "$@"
echo "release build wall time, docs: $(( $(date +%s) - started )) s"

# On its own, so that cargo's feature unification with the functions' heavier
# dependencies does not inflate the baseline.
step "cargo lambda build --release of the hello-world baseline (its own invocation)"
started=$(date +%s)
cargo lambda build --release -p hello-world "$@"
echo "release build wall time, hello-world: $(( $(date +%s) - started )) s"

max_zip_mb="${LAMBDA_MAX_ZIP_MB:-4.5}"
step "artifact sizes (zip as Lambda takes it; budget: each zip <= ${max_zip_mb} MB)"
"$VENV/bin/python" local/scripts/lambda_sizes.py --max-zip-mb "$max_zip_mb" "${functions[@]}" hello-world
