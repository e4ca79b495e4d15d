//! Whether the server's own numbers match what the harness sent: `GET /metrics` and `GET /slo`
//! are read before and after the run, and for every operation the harness sent, the server's
//! count must have grown by at least what the harness saw answered and at most what it sent
//! (the run assumes it is the server's only client).
//!
//! Sources, from `src/telemetry.rs`: `/metrics` has the cumulative histogram
//! `pzo_request_duration_seconds` per `operation` (its `_count` line); `/slo` has per operation
//! a `lifetime_count` since start and a `count` over a rolling window of `window_secs`, kept as
//! a ring of ten-second buckets, so the window covers the run only when the run fits in it.

use crate::stats::OpSummary;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Duration;

/// The `/metrics` line counted: the request histogram's `_count`.
pub const METRIC_COUNT: &str = "pzo_request_duration_seconds_count";
/// The label naming the operation.
const OPERATION_LABEL: &str = "operation";
/// The granularity of the server's rolling window (`WINDOW_BUCKET_SECS` in `src/telemetry.rs`):
/// the oldest bucket may already be dropping the run's first seconds.
pub const SLO_BUCKET: Duration = Duration::from_secs(10);
/// Check names.
pub const CHECK_METRICS: &str = "server /metrics counts = harness (answered <= counted <= sent)";
pub const CHECK_SLO_LIFETIME: &str = "server /slo lifetime counts = harness (answered <= counted <= sent)";
pub const CHECK_SLO_WINDOW: &str = "server /slo window counts = harness (answered <= counted <= sent)";

/// Why a snapshot could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CountsError {
    #[error("GET /slo is not the SLO report: {0}")]
    Slo(#[from] serde_json::Error),
    #[error("GET /slo answered ok: false")]
    SloNotOk,
}

/// The server's counts at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// `/metrics`: operation -> requests since the process started.
    pub metrics: HashMap<String, u64>,
    /// `/slo`: operation -> `lifetime_count`.
    pub slo_lifetime: HashMap<String, u64>,
    /// `/slo`: operation -> `count` over the window.
    pub slo_window: HashMap<String, u64>,
    pub window: Duration,
}

impl Snapshot {
    /// Reads the bodies of `GET /metrics` and `GET /slo`. A server that has served nothing yet
    /// has no count lines: every operation reads as 0.
    pub fn parse(metrics: &str, slo: &str) -> Result<Self, CountsError> {
        let metrics = parse_metric_counts(metrics, METRIC_COUNT);
        let envelope: SloEnvelope = serde_json::from_str(slo)?;
        if !envelope.ok {
            return Err(CountsError::SloNotOk);
        }
        let rows = envelope.data.operations;
        Ok(Self {
            metrics,
            slo_lifetime: rows.iter().map(|row| (row.operation.clone(), row.lifetime_count)).collect(),
            slo_window: rows.iter().map(|row| (row.operation.clone(), row.count)).collect(),
            window: Duration::from_secs(envelope.data.window_secs),
        })
    }
}

#[derive(Deserialize)]
struct SloEnvelope {
    ok: bool,
    data: SloData,
}

#[derive(Deserialize)]
struct SloData {
    window_secs: u64,
    operations: Vec<SloRow>,
}

#[derive(Deserialize)]
struct SloRow {
    operation: String,
    count: u64,
    lifetime_count: u64,
}

/// The values of `metric{operation="..."} value` lines by operation, summed over other labels.
/// Prometheus text: `name{label="value",...} number [timestamp]`, label values escaped with
/// `\\`, `\"` and `\n`.
pub fn parse_metric_counts(text: &str, metric: &str) -> HashMap<String, u64> {
    let mut counts = HashMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(metric) else {
            continue;
        };
        let Some(rest) = rest.strip_prefix('{') else {
            continue;
        };
        let Some((labels, value)) = split_labels(rest) else {
            continue;
        };
        let Some(operation) = labels.into_iter().find(|(name, _)| name == OPERATION_LABEL).map(|(_, value)| value)
        else {
            continue;
        };
        let Some(value) = value.split_whitespace().next().and_then(|v| v.parse::<f64>().ok()) else {
            continue;
        };
        if value.is_finite() && value >= 0.0 {
            // Counts are whole numbers below 2^53, exact in an f64.
            *counts.entry(operation).or_insert(0) += value as u64;
        }
    }
    counts
}

/// Splits `a="x",b="y"} 12` into its labels and the text after the closing brace.
fn split_labels(text: &str) -> Option<(Vec<(String, String)>, &str)> {
    let mut labels = Vec::new();
    let mut chars = text.char_indices().peekable();
    loop {
        while chars.next_if(|(_, c)| *c == ',' || c.is_whitespace()).is_some() {}
        match chars.peek() {
            Some((at, '}')) => return Some((labels, &text[at + 1..])),
            None => return None,
            _ => {}
        }
        let mut name = String::new();
        for (_, c) in chars.by_ref() {
            if c == '=' {
                break;
            }
            name.push(c);
        }
        chars.next_if(|(_, c)| *c == '"')?;
        let mut value = String::new();
        loop {
            match chars.next()?.1 {
                '"' => break,
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                c => value.push(c),
            }
        }
        labels.push((name.trim().to_owned(), value));
    }
}

/// The server's telemetry name of a harness op: HTTP ops are named alike (`POST /waitlist`),
/// socket ops carry a `ws ` prefix (`currency.withdraw` is `ws currency.withdraw`).
pub fn server_name(op: &str) -> String {
    if op.contains(' ') { op.to_owned() } else { format!("ws {op}") }
}

/// One operation's comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CountRow {
    pub op: String,
    pub server_op: String,
    /// Requests the harness put on the wire.
    pub sent: u64,
    /// Requests the harness saw answered.
    pub answered: u64,
    /// The growth of `/metrics`' count over the run.
    pub metrics_delta: u64,
    /// The growth of `/slo`'s `lifetime_count` over the run; `None` when `/slo` does not list it.
    pub slo_lifetime_delta: Option<u64>,
    /// `/slo`'s window count after the run, when the window covered the whole run.
    pub slo_window: Option<u64>,
    /// The window count before the run (traffic that may still be in the window afterwards).
    pub slo_window_before: Option<u64>,
    pub metrics_ok: bool,
    pub slo_lifetime_ok: Option<bool>,
    pub slo_window_ok: Option<bool>,
}

impl CountRow {
    pub fn holds(&self) -> bool {
        self.metrics_ok && self.slo_lifetime_ok != Some(false) && self.slo_window_ok != Some(false)
    }
}

/// Compares the counts of every op the harness sent; `elapsed` is the time between the two
/// snapshots. Harness measurements (connects, deliveries) send nothing of their own and are
/// left out.
pub fn compare(before: &Snapshot, after: &Snapshot, ops: &[OpSummary], elapsed: Duration) -> Vec<CountRow> {
    let window_covers_run = after.window > Duration::ZERO && elapsed + SLO_BUCKET <= after.window;
    ops.iter()
        .filter(|op| op.sent > 0)
        .map(|op| {
            let server_op = server_name(&op.op);
            let within = |counted: u64| op.answered <= counted && counted <= op.sent;
            let count = |map: &HashMap<String, u64>| map.get(&server_op).copied();
            let metrics_delta = count(&after.metrics).unwrap_or(0).saturating_sub(count(&before.metrics).unwrap_or(0));
            let slo_lifetime_delta =
                count(&after.slo_lifetime).map(|after| after.saturating_sub(count(&before.slo_lifetime).unwrap_or(0)));
            let (slo_window, slo_window_before) =
                if window_covers_run { (count(&after.slo_window), count(&before.slo_window)) } else { (None, None) };
            // Calls made before the run may still sit in the window: they widen the upper bound.
            let slo_window_ok =
                slo_window.map(|counted| op.answered <= counted && counted <= op.sent + slo_window_before.unwrap_or(0));
            CountRow {
                op: op.op.clone(),
                sent: op.sent,
                answered: op.answered,
                metrics_delta,
                metrics_ok: within(metrics_delta),
                slo_lifetime_ok: Some(slo_lifetime_delta.is_some_and(within)),
                slo_lifetime_delta,
                slo_window,
                slo_window_before,
                slo_window_ok,
                server_op,
            }
        })
        .collect()
}

/// The line of a row for a failed check.
pub fn describe(row: &CountRow, source: &str, counted: Option<u64>) -> String {
    let counted = counted.map_or_else(|| "no row".to_owned(), |n| n.to_string());
    format!(
        "{}: {source} counted {counted}, the harness sent {} and saw {} answered",
        row.server_op, row.sent, row.answered
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const METRICS_BEFORE: &str = r#"# HELP pzo_request_duration_seconds Latency of each operation, by operation.
# TYPE pzo_request_duration_seconds histogram
pzo_request_duration_seconds_bucket{operation="ws ping",le="0.00025"} 3
pzo_request_duration_seconds_sum{operation="ws ping"} 0.001
pzo_request_duration_seconds_count{operation="ws ping"} 5
pzo_request_duration_seconds_count{operation="POST /users/register"} 1
pzo_request_duration_seconds_count{operation="GET /slo"} 1
pzo_requests_total{operation="ws ping",outcome="ok"} 5
"#;

    const METRICS_AFTER: &str = r#"pzo_request_duration_seconds_count{operation="ws ping"} 105
pzo_request_duration_seconds_count{operation="POST /users/register"} 11
pzo_request_duration_seconds_count{operation="ws currency.withdraw"} 40
pzo_request_duration_seconds_count{operation="GET /slo"} 3
"#;

    fn slo(window_secs: u64, rows: &[(&str, u64, u64)]) -> String {
        let operations: Vec<String> = rows
            .iter()
            .map(|(op, count, lifetime)| {
                format!(r#"{{"operation":"{op}","count":{count},"lifetime_count":{lifetime},"p99_ms":1.0}}"#)
            })
            .collect();
        format!(
            r#"{{"ok":true,"data":{{"window_secs":{window_secs},"passing":true,"operations":[{}]}},"meta":{{}}}}"#,
            operations.join(",")
        )
    }

    fn op(name: &str, sent: u64, answered: u64) -> OpSummary {
        OpSummary {
            op: name.to_owned(),
            count: sent,
            ok: answered,
            rejected: 0,
            failed: sent - answered,
            sent,
            answered,
            p50_ms: None,
            p99_ms: None,
            max_ms: None,
            throughput_rps: None,
        }
    }

    fn snapshots() -> (Snapshot, Snapshot) {
        let before = Snapshot::parse(
            METRICS_BEFORE,
            &slo(60, &[("ws ping", 5, 5), ("POST /users/register", 1, 1), ("ws currency.withdraw", 0, 0)]),
        )
        .unwrap();
        let after = Snapshot::parse(
            METRICS_AFTER,
            &slo(60, &[("ws ping", 105, 105), ("POST /users/register", 11, 11), ("ws currency.withdraw", 40, 40)]),
        )
        .unwrap();
        (before, after)
    }

    #[test]
    fn parses_prometheus_counts() {
        let counts = parse_metric_counts(METRICS_BEFORE, METRIC_COUNT);
        assert_eq!(counts.get("ws ping"), Some(&5));
        assert_eq!(counts.get("POST /users/register"), Some(&1));
        // Other metrics with the same labels are not mixed in.
        assert_eq!(counts.len(), 3);
        let escaped =
            "m_count{operation=\"a \\\"b\\\" \\\\ c\",x=\"1\"} 7 1700000000\nm_count{x=\"2\",operation=\"d\"} 2.0\n";
        let counts = parse_metric_counts(escaped, "m_count");
        assert_eq!(counts.get("a \"b\" \\ c"), Some(&7));
        assert_eq!(counts.get("d"), Some(&2));
        assert!(parse_metric_counts("m_count{operation=\"unterminated} 3\n", "m_count").is_empty());
    }

    #[test]
    fn names_socket_ops_like_the_server() {
        assert_eq!(server_name("ping"), "ws ping");
        assert_eq!(server_name("POST /currency/deposit"), "POST /currency/deposit");
    }

    #[test]
    fn matching_counts_hold() {
        let (before, after) = snapshots();
        let ops = [op("ping", 100, 100), op("POST /users/register", 10, 9), op("currency.withdraw", 41, 40)];
        let rows = compare(&before, &after, &ops, Duration::from_secs(20));
        assert_eq!(rows.len(), 3);
        assert!(rows.iter().all(CountRow::holds), "{rows:#?}");
        let ping = &rows[0];
        assert_eq!((ping.metrics_delta, ping.slo_lifetime_delta, ping.slo_window), (100, Some(100), Some(105)));
    }

    #[test]
    fn a_server_that_counts_too_few_or_too_many_fails() {
        let (before, after) = snapshots();
        // The server saw 100 pings, the harness had 101 answered: one answer it never counted.
        let too_few = compare(&before, &after, &[op("ping", 101, 101)], Duration::from_secs(20));
        assert!(!too_few[0].metrics_ok && too_few[0].slo_lifetime_ok == Some(false));
        assert!(!too_few[0].holds());
        // The server counted 10 registrations, the harness sent 8: it counted calls nobody made.
        let too_many = compare(&before, &after, &[op("POST /users/register", 8, 8)], Duration::from_secs(20));
        assert!(!too_many[0].metrics_ok);
        assert!(describe(&too_many[0], "/metrics", Some(10)).contains("counted 10, the harness sent 8"));
    }

    #[test]
    fn an_op_the_server_does_not_list_fails() {
        let (before, after) = snapshots();
        let rows = compare(&before, &after, &[op("games.send", 3, 3)], Duration::from_secs(20));
        assert_eq!((rows[0].metrics_delta, rows[0].slo_lifetime_delta), (0, None));
        assert!(!rows[0].holds());
    }

    #[test]
    fn the_window_is_used_only_when_it_covers_the_run() {
        let (before, after) = snapshots();
        let ops = [op("ping", 100, 100)];
        assert_eq!(compare(&before, &after, &ops, Duration::from_secs(50))[0].slo_window_ok, Some(true));
        let long = compare(&before, &after, &ops, Duration::from_secs(51));
        assert_eq!((long[0].slo_window, long[0].slo_window_ok), (None, None));
        assert!(long[0].holds());
    }

    #[test]
    fn harness_measurements_are_left_out() {
        let (before, after) = snapshots();
        let mut connect = op("ws.connect", 0, 0);
        connect.count = 10;
        assert!(compare(&before, &after, &[connect], Duration::from_secs(1)).is_empty());
    }

    #[test]
    fn refuses_foreign_bodies() {
        assert!(Snapshot::parse("", &slo(60, &[])).unwrap().metrics.is_empty());
        assert!(matches!(Snapshot::parse(METRICS_AFTER, "{}"), Err(CountsError::Slo(_))));
        assert!(matches!(
            Snapshot::parse(METRICS_AFTER, r#"{"ok":false,"data":{"window_secs":60,"operations":[]}}"#),
            Err(CountsError::SloNotOk)
        ));
    }
}
