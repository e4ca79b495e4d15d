# Sourced by the scripts that need a running server (scripts/schemathesis.sh,
# scripts/loadtest-smoke.sh, clients/typescript/scripts/ts-client-test.sh): starts the built
# server on a free loopback port against a fresh database, waits for /ready, and stops it again.
#
#   source scripts/lib/server.sh
#   PZO_HTTP_RATE_PER_SEC=100000 pzo_server_start NAME   # extra PZO_* settings go in front
#   ... $PZO_SERVER_URL $PZO_SERVER_ADMIN_TOKEN $PZO_SERVER_PID $PZO_SERVER_LOG ...
#   pzo_server_stop                                       # also the EXIT trap pzo_server_start sets
#
# NAME tags the database (pzo_NAME_<random>) and the messages. DATABASE_URL: a PostgreSQL URL
# whose database name is replaced by the fresh one (the server creates it; dropped at stop); unset,
# the server starts its embedded cluster in a temporary folder. PZO_SERVER_BIN overrides the
# binary (default target/debug/pzo-server, built by `cargo build --workspace --bins`);
# PZO_READY_SECS how long /ready may take (default 120: the embedded cluster's first start is slow).

_pzo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# GET $1; success when it answers 2xx.
_pzo_get_ok() {
    if command -v curl >/dev/null; then
        curl -fs -o /dev/null --max-time 2 "$1"
    else
        python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$1" 2>/dev/null
    fi
}

pzo_server_start() {
    local name="${1:?pzo_server_start needs a name}"
    local bin="${PZO_SERVER_BIN:-$_pzo_root/target/debug/pzo-server}"
    local ready_secs="${PZO_READY_SECS:-120}"
    if [ ! -x "$bin" ]; then
        echo "$name: $bin is missing; run \`cargo build --bin pzo-server\` first" >&2
        return 1
    fi
    PZO_SERVER_WORK="$(mktemp -d)"
    PZO_SERVER_LOG="$PZO_SERVER_WORK/server.log"
    local port
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    PZO_SERVER_URL="http://127.0.0.1:$port"
    PZO_SERVER_ADMIN_TOKEN="$name-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
    _pzo_database="pzo_${name//[^a-zA-Z0-9]/_}_$(date +%s)_$$_$RANDOM"
    _pzo_database_url=""
    if [ -n "${DATABASE_URL:-}" ]; then
        # Keep any ?query (sslmode...), replace the database name.
        local base="${DATABASE_URL%%\?*}" query=""
        [ "$base" != "$DATABASE_URL" ] && query="?${DATABASE_URL#*\?}"
        _pzo_database_url="${base%/*}/$_pzo_database$query"
    fi
    trap pzo_server_stop EXIT
    local where="embedded PostgreSQL in $PZO_SERVER_WORK/data"
    [ -n "$_pzo_database_url" ] && where="database $_pzo_database"
    echo "$name: starting $bin on $PZO_SERVER_URL ($where)"
    PZO_BIND="127.0.0.1:$port" \
        PZO_ADMIN_TOKEN="$PZO_SERVER_ADMIN_TOKEN" \
        PZO_DATA_DIR="$PZO_SERVER_WORK/data" \
        PZO_LOG="${PZO_LOG:-warn}" \
        DATABASE_URL="$_pzo_database_url" \
        "$bin" >"$PZO_SERVER_LOG" 2>&1 &
    PZO_SERVER_PID=$!
    local _
    for _ in $(seq 1 $((ready_secs * 4))); do
        if ! kill -0 "$PZO_SERVER_PID" 2>/dev/null; then
            echo "$name: the server exited before it was ready:" >&2
            cat "$PZO_SERVER_LOG" >&2
            return 1
        fi
        if _pzo_get_ok "$PZO_SERVER_URL/ready"; then
            export PZO_SERVER_URL PZO_SERVER_ADMIN_TOKEN PZO_SERVER_PID PZO_SERVER_LOG
            return 0
        fi
        sleep 0.25
    done
    echo "$name: the server was not ready within ${ready_secs}s:" >&2
    cat "$PZO_SERVER_LOG" >&2
    return 1
}

# Stops the server (TERM, then KILL after 10 s), drops its database, removes its folder.
pzo_server_stop() {
    if [ -n "${PZO_SERVER_PID:-}" ] && kill -0 "$PZO_SERVER_PID" 2>/dev/null; then
        kill -TERM "$PZO_SERVER_PID" 2>/dev/null || true
        local _
        for _ in $(seq 1 100); do
            kill -0 "$PZO_SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$PZO_SERVER_PID" 2>/dev/null || true
    fi
    PZO_SERVER_PID=""
    # Best effort: the run's database is of no use afterwards.
    if [ -n "${_pzo_database_url:-}" ] && command -v psql >/dev/null; then
        psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS $_pzo_database" >/dev/null 2>&1 || true
    fi
    _pzo_database_url=""
    if [ -n "${PZO_SERVER_WORK:-}" ]; then
        rm -rf "$PZO_SERVER_WORK"
        PZO_SERVER_WORK=""
    fi
}
