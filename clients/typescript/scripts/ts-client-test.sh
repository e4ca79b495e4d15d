#!/usr/bin/env bash
# The TypeScript client's CI: install (npm ci), build, lint, typecheck, then start the real
# server (target/debug/pzo-server, built beforehand by `cargo build --bin pzo-server`) on a free
# port against a fresh database with scripts/lib/server.sh, run the tests and the quick start,
# stop it.
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

# shellcheck source=../../../scripts/lib/server.sh
source "$root/scripts/lib/server.sh"
PZO_SERVER_BIN="$server_bin" PZO_READY_SECS="$ready_secs_max" pzo_server_start ts-client-test
url="$PZO_SERVER_URL"
admin_token="$PZO_SERVER_ADMIN_TOKEN"

status=0
PZO_URL="$url" PZO_ADMIN_TOKEN="$admin_token" npm test || status=$?
if [ "$status" -eq 0 ]; then
    PZO_URL="$url" PZO_ADMIN_TOKEN="$admin_token" npm run example || status=$?
fi
if [ "$status" -ne 0 ]; then
    echo "ts-client-test: failed; the server's log:" >&2
    tail -n 100 "$PZO_SERVER_LOG" >&2
fi
exit "$status"
