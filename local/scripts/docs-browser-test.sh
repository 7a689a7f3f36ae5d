#!/usr/bin/env bash
# Opens GET /docs of the dev server in headless Chromium (Debian's `chromium`,
# installed here with apt-get when missing) and asserts from the rendered DOM
# that Swagger UI lists every operation of GET /openapi.json, and that the page
# loaded nothing from another origin. Keeps the DOM and a screenshot under
# .build/ (ignored by git): .build/docs-dom.html, .build/docs.png.
# Usage: local/scripts/docs-browser-test.sh [--release]   (default: debug build)
set -euo pipefail
cd "$(dirname "$0")/../.."

profile=debug
[ "${1:-}" = "--release" ] && profile=release

if ! command -v chromium >/dev/null 2>&1; then
    echo "chromium is missing: installing Debian's chromium package with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
fi
chromium --version

# shellcheck source=services/dev_server.sh
source local/scripts/services/dev_server.sh
start_dev_server "$profile" docs
curl -fsS "$base/openapi.json" >"$work/openapi.json"

# Root has no user namespace sandbox here; the page is our own.
browser=(chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage
    --no-first-run --user-data-dir="$work/profile" --virtual-time-budget=20000)
echo "chromium renders $base/docs"
timeout 120 "${browser[@]}" --dump-dom "$base/docs" >.build/docs-dom.html 2>"$work/chromium.log" || {
    cat "$work/chromium.log" >&2
    exit 1
}
timeout 120 "${browser[@]}" --window-size=1280,3000 --screenshot="$PWD/.build/docs.png" "$base/docs" \
    >/dev/null 2>>"$work/chromium.log"

python3 - "$work/openapi.json" .build/docs-dom.html "$work/server.log" <<'PY'
import json, re, sys
spec = json.load(open(sys.argv[1]))
dom = open(sys.argv[2], encoding="utf-8").read()
served = open(sys.argv[3], encoding="utf-8").read()
missing, listed = [], 0
for path, item in spec["paths"].items():
    for method, op in item.items():
        # Swagger UI gives each operation the id operations-<tag>-<operationId>,
        # with the method and the path (data-path) in its summary.
        block_id = f'operations-{op["tags"][0]}-{op["operationId"]}'
        block = re.search(rf'<div class="opblock opblock-{method}[^"]*" id="{re.escape(block_id)}">(.*?)</button>', dom, re.S)
        if not block or f'data-path="{path}"' not in block.group(1):
            missing.append(f"{method.upper()} {path}")
        else:
            listed += 1
for m in missing:
    print(f"FAIL: /docs does not list {m}")
# Every request the page made went to the dev server (nothing from elsewhere
# could have loaded anyway: the CSP allows 'self' only).
requests = re.findall(r'"method":"GET","path":"([^"]+)"', served)
for needed in ["/docs", "/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css", "/docs/docs.js", "/openapi.json"]:
    if needed not in requests:
        missing.append(needed)
        print(f"FAIL: the page did not load {needed} from the dev server")
print(f"docs page: {listed} of {listed + len(missing)} operations listed in the rendered DOM; screenshot .build/docs.png")
sys.exit(1 if missing else 0)
PY
