//! Fault-injection tests (issue 10): the real server on a random port, driven over HTTP and
//! WebSocket as clients would, while PostgreSQL is stopped or has its connections killed, while
//! a client stops reading its socket, and while every client reconnects at once. A binary of its
//! own, so a compile error here never blocks `tests/api` (and the other way round).
//!
//! `DATABASE_URL=postgres://... cargo test --test faults -- --nocapture` prints what each fault
//! observed (answers 503, recovery time, acknowledged writes checked, RSS before and after).

// The harness is shared with `tests/api`; this binary uses only part of it.
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
#[allow(dead_code)]
#[path = "../api/sockets.rs"]
mod sockets;
// The load test's reader of /proc/<pid>/status: the server runs in this process.
#[path = "../../loadtest/src/rss.rs"]
mod rss;

mod commit_in_doubt;
mod connection_killed;
mod database_restart;
mod reconnect_storm;
mod slow_reader;
mod support;
