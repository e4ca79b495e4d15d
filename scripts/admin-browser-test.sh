#!/usr/bin/env bash
# End-to-end test of the admin console (/admin) in Debian's headless Chromium.
#
# 1. Installs Debian's `chromium` when /usr/bin/chromium is missing (needs root: apt-get).
# 2. `npm ci` in tests/browser (playwright-core only; no browser download, ever).
# 3. Starts target/debug/pzo-server (built by `cargo build --workspace --bins`; built here when
#    missing) on a free port with a fresh admin token against a fresh database, waits for /ready
#    (scripts/lib/server.sh).
# 4. Runs the node test (tests/browser/admin-console.test.mjs), stops the server, exits with the
#    test's status. Screenshots land in tests/browser/output/ (gitignored).
#
# DATABASE_URL: a PostgreSQL URL whose database name is replaced by a fresh pzo_browser_<random>
# (the server creates it; dropped afterwards); unset, the server starts its embedded cluster in a
# temporary PZO_DATA_DIR.
# Options: --docs-screenshot  also copy the final screenshot to docs/admin-console.png.
# Environment: PZO_SERVER_BIN (server binary), PZO_CHROMIUM (browser binary, default
# /usr/bin/chromium), PZO_LOG (server log filter, default warn).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
test_dir="$root/tests/browser"
server_bin="${PZO_SERVER_BIN:-$root/target/debug/pzo-server}"
chromium_bin="${PZO_CHROMIUM:-/usr/bin/chromium}"
ready_secs_max=120
docs_screenshot=""

for arg in "$@"; do
    case "$arg" in
        --docs-screenshot) docs_screenshot="$root/docs/admin-console.png" ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "admin-browser-test: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

say() { echo "admin-browser-test: $*"; }
die() { echo "admin-browser-test: $*" >&2; exit 1; }

# ---- the browser: Debian's chromium, installed here when missing ----
if [ ! -x "$chromium_bin" ]; then
    if [ "$chromium_bin" != "/usr/bin/chromium" ]; then
        die "PZO_CHROMIUM=$chromium_bin is not an executable"
    fi
    if [ "$(id -u)" -ne 0 ]; then
        die "/usr/bin/chromium is missing and installing it needs root: run \`sudo apt-get update && sudo apt-get install -y chromium\` (Debian's package), then rerun"
    fi
    command -v apt-get >/dev/null || die "/usr/bin/chromium is missing and there is no apt-get to install Debian's chromium"
    say "installing Debian's chromium (apt-get)"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
    [ -x "$chromium_bin" ] || die "apt-get install chromium did not provide $chromium_bin"
fi
say "$("$chromium_bin" --version 2>/dev/null | head -n 1)"

# ---- node and playwright-core (never a bundled browser) ----
command -v node >/dev/null || die "node is missing (Node.js 20 or later is needed)"
command -v npm >/dev/null || die "npm is missing"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
    || die "Node.js 20 or later is needed (found $(node --version))"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
(cd "$test_dir" && npm ci --no-audit --no-fund --loglevel=error)

# ---- the server ----
if [ ! -x "$server_bin" ]; then
    say "$server_bin is missing; building it"
    (cd "$root" && cargo build --bin pzo-server)
fi

# shellcheck source=lib/server.sh
source "$root/scripts/lib/server.sh"
PZO_SERVER_BIN="$server_bin" PZO_READY_SECS="$ready_secs_max" pzo_server_start admin-browser-test
url="$PZO_SERVER_URL"
admin_token="$PZO_SERVER_ADMIN_TOKEN"
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- the test ----
status=0
(
    cd "$test_dir"
    PZO_URL="$url" \
        PZO_ADMIN_TOKEN="$admin_token" \
        PZO_CHROMIUM="$chromium_bin" \
        PZO_BROWSER_OUTPUT="$test_dir/output" \
        PZO_DOCS_SCREENSHOT="$docs_screenshot" \
        node --test --test-reporter=spec admin-console.test.mjs
) || status=$?
if [ "$status" -ne 0 ]; then
    echo "admin-browser-test: failed (screenshots in $test_dir/output); the server's log:" >&2
    tail -n 100 "$PZO_SERVER_LOG" >&2
else
    say "passed; screenshot: $test_dir/output/admin-console.png${docs_screenshot:+, copied to $docs_screenshot}"
fi
exit "$status"
