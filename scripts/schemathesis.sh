#!/usr/bin/env bash
# Contract fuzzing: schemathesis (from PyPI) against the running server's /openapi.json, once
# with the admin token and once with a player token; fails on any 5xx or a response that breaks
# its schema. Starts target/debug/pzo-server itself (built by `cargo build --workspace --bins`)
# through scripts/lib/server.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${TMPDIR:-/tmp}/pzo-schemathesis-venv"
if [ ! -x "$venv/bin/schemathesis" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q schemathesis
fi

source scripts/lib/server.sh
# A high HTTP rate limit: the fuzzer's bursts must reach the handlers, not the limiter.
PZO_HTTP_RATE_PER_SEC=100000 pzo_server_start schemathesis
token="$PZO_SERVER_ADMIN_TOKEN"
base="$PZO_SERVER_URL"
player=$(curl -fs -X POST "$base/users/register" -H 'content-type: application/json' \
    -d "{\"email\":\"st-$RANDOM$RANDOM@example.com\",\"password\":\"schemathesis-pw\",\"display_name\":\"Fuzz\"}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["token"])')
for who in "$token" "$player"; do
    "$venv/bin/schemathesis" run "$base/openapi.json" -H "Authorization: Bearer $who" \
        --checks not_a_server_error,response_schema_conformance -n 15 --phases examples,fuzzing \
        --request-timeout 10 --seed 1
done
