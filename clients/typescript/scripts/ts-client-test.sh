#!/usr/bin/env bash
# The TypeScript client's CI: install (npm ci), build, lint, typecheck, then start the real
# server (target/debug/pzo-server, built beforehand by `cargo build --bin pzo-server`) on a free
# port against a fresh database, wait for /ready, run the tests and the quick start, stop it.
#
# DATABASE_URL: a PostgreSQL URL whose database name is replaced by a fresh one (the server
# creates it); unset, the server starts its embedded cluster in a temporary data folder.
# PZO_SERVER_BIN overrides the server binary.
set -euo pipefail

client_dir="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$client_dir/../.." && pwd)"
server_bin="${PZO_SERVER_BIN:-$root/target/debug/pzo-server}"
# Seconds the server gets to answer /ready (the embedded cluster needs a while on first start).
ready_secs_max=120

cd "$client_dir"
npm ci --no-audit --no-fund
npm run build
npm run lint
npm run typecheck

if [ ! -x "$server_bin" ]; then
    echo "ts-client-test: $server_bin is missing; run \`cargo build --bin pzo-server\` first" >&2
    exit 1
fi

work="$(mktemp -d)"
port="$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')"
url="http://127.0.0.1:$port"
admin_token="ts-client-test-$(node -e 'console.log(require("crypto").randomBytes(12).toString("hex"))')"
database="pzo_ts_client_$(date +%s)_$$"
if [ -n "${DATABASE_URL:-}" ]; then
    database_url="${DATABASE_URL%/*}/$database"
else
    database_url=""
fi

server_pid=""
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$server_pid" 2>/dev/null || true
    fi
    # Best effort: the run's database is of no use afterwards.
    if [ -n "$database_url" ] && command -v psql >/dev/null; then
        psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS $database" >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

echo "ts-client-test: starting $server_bin on $url"
PZO_BIND="127.0.0.1:$port" \
    PZO_ADMIN_TOKEN="$admin_token" \
    PZO_DATA_DIR="$work/data" \
    PZO_LOG="${PZO_LOG:-warn}" \
    DATABASE_URL="$database_url" \
    "$server_bin" >"$work/server.log" 2>&1 &
server_pid=$!

ready=""
for _ in $(seq 1 $((ready_secs_max * 4))); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "ts-client-test: the server exited before it was ready:" >&2
        cat "$work/server.log" >&2
        exit 1
    fi
    if node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$url/ready"; then
        ready=yes
        break
    fi
    sleep 0.25
done
if [ -z "$ready" ]; then
    echo "ts-client-test: the server was not ready within ${ready_secs_max}s:" >&2
    cat "$work/server.log" >&2
    exit 1
fi

status=0
PZO_URL="$url" PZO_ADMIN_TOKEN="$admin_token" npm test || status=$?
if [ "$status" -eq 0 ]; then
    PZO_URL="$url" PZO_ADMIN_TOKEN="$admin_token" npm run example || status=$?
fi
if [ "$status" -ne 0 ]; then
    echo "ts-client-test: failed; the server's log:" >&2
    tail -n 100 "$work/server.log" >&2
fi
exit "$status"
