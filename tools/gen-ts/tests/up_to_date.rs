//! The checked-in TypeScript protocol module is what the Rust types generate today, so
//! `cargo test` fails on a stale client (the same check as `cargo run -p pzo-gen-ts -- --check`).

use pzo_gen_ts::{DEFAULT_OUT_DIR, FILE_NAME, render};
use std::path::Path;

#[test]
fn the_checked_in_typescript_module_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(DEFAULT_OUT_DIR).join(FILE_NAME);
    let generated = render().unwrap_or_else(|reasons| panic!("the Rust tables disagree:\n{reasons}"));
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{} is stale: run `cargo run -p pzo-gen-ts` and commit the result",
        path.display()
    );
}

#[test]
fn every_socket_op_event_and_endpoint_is_in_the_module() {
    let text = render().unwrap_or_else(|reasons| panic!("{reasons}"));
    for op in pzo_protocol::Request::ALL_NAMES {
        assert!(text.contains(&format!("  | {{ op: \"{op}\", args: ")), "op {op} is missing from Op");
    }
    for event in pzo_protocol::EventData::ALL_NAMES {
        assert!(text.contains(&format!("  | {{ seq: number, type: \"{event}\", at: string, data: ")), "{event}");
    }
    for operation in pzo_server::operations::OPERATIONS.iter().filter(|op| op.is_http()) {
        assert!(text.contains(&format!("\"{}\"", operation.name)), "{} is missing", operation.name);
    }
    for code in pzo_protocol::ErrorCode::ALL {
        assert!(text.contains(&format!("  {}: {{ status: {}", code.as_str(), code.status())));
    }
    for any in [": any", "<any", "any>", "any[]", "| any", "any |"] {
        assert!(!text.contains(any), "the generated module must not use `any` ({any})");
    }
    assert!(!text.contains("bigint"), "integers are capped at 2^53-1 and generated as number");
}
