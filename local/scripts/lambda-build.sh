#!/usr/bin/env bash
# Builds the Lambda functions exactly as a deployment does, with `sam build`
# (template.yaml: one CodeUri per function crate, `cargo lambda build --release
# --bin <Binary>` in it), then the hello-world baseline of the cold-start
# benchmark with `cargo lambda build`. Prints the wall times, then each
# artifact's size and its zip as `sam package` makes it, and fails when a zip
# is above LAMBDA_MAX_ZIP_BYTES (3,000,000 by default, the goal) or an artifact
# links SQLite (local/scripts/lambda_sizes.py). The largest zip (auth) is about
# 15 KB under it: the next cut, if one is needed, is aws-config's default
# credential chain (about 250 KB of code Lambda never runs).
#
# Artifacts: .aws-sam/build/<FunctionLogicalId>/bootstrap (what `sam deploy`
# would upload; the size check and local/scripts/bench-cold-start.sh use these,
# no second release build), target/lambda/hello-world/bootstrap.
#
# The template deploys arm64; this machine builds for its own architecture
# (x86_64 here, the only Rust target installed) from a copy of the template
# with only `Architectures` changed, .build/template.<arch>.yaml. The shipped
# template is never edited. On an aarch64 machine the copy says arm64, as the
# template does.
# Usage: local/scripts/lambda-build.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

step() { printf '\n==> %s\n' "$*"; }

# shellcheck source=services/python.sh
source local/scripts/services/python.sh
step "cargo-lambda (and zig) and aws-sam-cli from PyPI into .build/venv"
ensure_pip_packages cargo-lambda==1.9.2 aws-sam-cli==1.170.0
export PATH="$VENV/bin:$PATH"
export SAM_CLI_TELEMETRY=0
mkdir -p .build

case "$(uname -m)" in
    x86_64) arch=x86_64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "no Lambda architecture for $(uname -m)" >&2; exit 1 ;;
esac
built_template=".build/template.$arch.yaml"
step "the template for this machine's architecture: $built_template (Architectures: [$arch])"
# Exactly one line sets the architecture (Globals); anything else fails here
# rather than building something the template does not describe.
if [ "$(grep -c '^    Architectures: \[arm64\]$' template.yaml)" != 1 ] \
    || [ "$(grep -c 'Architectures' template.yaml)" != 1 ]; then
    echo "template.yaml: expected one 'Architectures: [arm64]' line (Globals)" >&2
    exit 1
fi
sed 's/^    Architectures: \[arm64\]$/    Architectures: ['"$arch"']/' template.yaml > "$built_template"

step "sam build (each function: cargo lambda build --release --bin <Binary> in its crate)"
started=$(date +%s)
# --base-dir: CodeUri paths are relative to the project root, not to the copy.
# --beta-features: SAM still labels its cargo-lambda builder a beta and would
# otherwise ask on the terminal.
sam build --template-file "$built_template" --base-dir . --build-dir .aws-sam/build --beta-features
echo "sam build wall time: $(( $(date +%s) - started )) s"

# The baseline of the cold-start benchmark, not part of the template.
step "cargo lambda build --release of the hello-world baseline"
started=$(date +%s)
cargo lambda build --release -p hello-world
echo "release build wall time, hello-world: $(( $(date +%s) - started )) s"

max_zip_bytes="${LAMBDA_MAX_ZIP_BYTES:-3000000}"
step "artifact sizes, zipped as sam package zips them (each <= ${max_zip_bytes} bytes), and no SQLite"
"$VENV/bin/python" local/scripts/lambda_sizes.py --template "$built_template" --max-zip-bytes "$max_zip_bytes"
