#!/usr/bin/env bash
# Bounded coverage-guided fuzzing of the wire decoders for CI: each cargo-fuzz target runs for
# PZO_FUZZ_SECS (default 20) seconds and its executions are printed. Needs a nightly toolchain
# (libFuzzer instrumentation is nightly-only) and installs cargo-fuzz when missing. Without a
# nightly toolchain it says so and stops: the stable fallback, protocol/tests/decode_fuzz.rs,
# already ran in `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

SECS="${PZO_FUZZ_SECS:-20}"
# The instrumented build takes minutes; a target dir outside the clone lets the next CI run on
# this machine reuse it.
export CARGO_TARGET_DIR="${PZO_FUZZ_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pzo-fuzz-target}"
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    echo "fuzz-ci: no nightly toolchain on this machine; coverage-guided fuzzing skipped (the stable decode_fuzz test ran)"
    exit 0
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

# Without a sanitizer the build is several times faster; the decoders are safe Rust (unsafe is
# forbidden in the workspace), so what the run looks for is panics, hangs and runaway memory,
# which libFuzzer catches by itself (-rss_limit_mb, -timeout).
for target in decode_json_frame decode_bincode_frame http_bodies; do
    dict=()
    if [ "$target" != decode_bincode_frame ]; then dict=(-dict=json.dict); fi
    log="$(mktemp)"
    if ! cargo +nightly fuzz run --sanitizer none "$target" -- \
        -max_total_time="$SECS" -rss_limit_mb=1024 -timeout=10 "${dict[@]}" >"$log" 2>&1; then
        tail -40 "$log"
        echo "fuzz-ci: $target FAILED (crash input under fuzz/artifacts/$target/)"
        exit 1
    fi
    runs="$(grep -Eo '^#[0-9]+' "$log" | tail -1 | tr -d '#')"
    echo "fuzz-ci: $target: ${runs:-?} executions in ${SECS} s, no crash"
    rm -f "$log"
done
