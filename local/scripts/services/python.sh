# shellcheck shell=bash
# A Python virtual environment inside the project's ignored build folder
# (.build/venv) for the test tools that come from PyPI. Idempotent: a package
# already installed is not fetched again. Sourced by local/scripts/test.sh.

VENV="$PWD/.build/venv"

# ensure_pip_packages NAME[SPEC]... : installs what is missing into the venv.
ensure_pip_packages() {
    if [ ! -x "$VENV/bin/python" ]; then
        echo "creating the Python virtual environment $VENV"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q --upgrade pip >/dev/null
    fi
    local missing=()
    local spec name
    for spec in "$@"; do
        name=${spec%%[\[=<>]*}
        "$VENV/bin/pip" show -q "$name" >/dev/null 2>&1 || missing+=("$spec")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing from PyPI into $VENV: ${missing[*]}"
        "$VENV/bin/pip" install -q "${missing[@]}"
    fi
}
