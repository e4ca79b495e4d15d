#!/usr/bin/env bash
# Contract fuzzing: schemathesis (from PyPI) against the running server's /openapi.json, once
# with the admin token and once with a player token; fails on any 5xx or a response that breaks
# its schema. Starts target/debug/pzo-server itself (built by `cargo build --workspace --bins`).
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${TMPDIR:-/tmp}/pzo-schemathesis-venv"
if [ ! -x "$venv/bin/schemathesis" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q schemathesis
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
token="st-admin-$RANDOM$RANDOM"
data_dir=$(mktemp -d)
if [ -n "${DATABASE_URL:-}" ]; then
    db_url="${DATABASE_URL%/*}/pzo_schemathesis_$RANDOM$RANDOM"
else
    db_url=""
fi
DATABASE_URL="$db_url" PZO_BIND="127.0.0.1:$port" PZO_ADMIN_TOKEN="$token" PZO_DATA_DIR="$data_dir" \
    PZO_LOG=warn PZO_HTTP_RATE_PER_SEC=100000 target/debug/pzo-server > "$data_dir/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
    curl -fs "$base/ready" > /dev/null 2>&1 && break
    sleep 0.2
done
player=$(curl -fs -X POST "$base/users/register" -H 'content-type: application/json' \
    -d "{\"email\":\"st-$RANDOM$RANDOM@example.com\",\"password\":\"schemathesis-pw\",\"display_name\":\"Fuzz\"}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["token"])')
for who in "$token" "$player"; do
    "$venv/bin/schemathesis" run "$base/openapi.json" -H "Authorization: Bearer $who" \
        --checks not_a_server_error,response_schema_conformance -n 15 --phases examples,fuzzing \
        --request-timeout 10 --seed 1
done
