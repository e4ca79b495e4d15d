//! The SLO contract the run is graded against: parsed defensively from `GET /slo`, with the
//! SPEC's starting points as the fallback, and the grading of one operation's numbers.

use crate::stats::OpSummary;
use serde::Deserialize;
use std::collections::HashMap;

/// SPEC section 9 starting points, used for operations the server's table does not list.
pub const READ_P99_MS: f64 = 10.0;
pub const WRITE_P99_MS: f64 = 50.0;
pub const CREDENTIALS_P99_MS: f64 = 250.0;
pub const DELIVERY_P99_MS: f64 = 50.0;
pub const ERROR_BUDGET: f64 = 0.001;

/// The server's name for event delivery in its table.
const SERVER_DELIVERY_OP: &str = "event delivery";

/// Measurements the harness makes of itself (connection set-up under a storm, time spent
/// waiting for an admission wave): reported, never graded unless the server lists them.
pub const HARNESS_OPS: &[&str] = &["ws.connect", "reconnect", "admission.wait"];

/// Where an objective came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SloSource {
    Server,
    Default,
}

impl SloSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Server => "server",
            Self::Default => "default",
        }
    }
}

/// One operation's objective.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slo {
    pub p50_ms: Option<f64>,
    pub p99_ms: f64,
    /// Largest share of failed requests allowed.
    pub error_budget: f64,
    /// The throughput at which the objective must hold, when the server says.
    pub throughput_rps: Option<f64>,
    pub source: SloSource,
}

/// What kind of operation a name is, for the built-in objectives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpClass {
    Read,
    Write,
    Credentials,
    Delivery,
    Harness,
}

/// Classifies an operation name: `GET /x`, `POST /x`, or a socket op such as `currency.list`.
pub fn classify(op: &str) -> OpClass {
    let lower = op.to_ascii_lowercase();
    if HARNESS_OPS.contains(&op) {
        return OpClass::Harness;
    }
    if lower.contains("register") || lower.contains("login") {
        return OpClass::Credentials;
    }
    if lower.ends_with(".delivery") {
        return OpClass::Delivery;
    }
    if lower.starts_with("get ") {
        return OpClass::Read;
    }
    if lower.contains(' ') {
        return OpClass::Write;
    }
    let action = lower.rsplit('.').next().unwrap_or_default();
    match action {
        "list" | "get" | "status" | "resume" | "ping" | "auth" | "subscribe" => OpClass::Read,
        _ => OpClass::Write,
    }
}

/// The built-in objective of a class; harness measurements have none.
pub fn default_slo(class: OpClass) -> Option<Slo> {
    let p99_ms = match class {
        OpClass::Read => READ_P99_MS,
        OpClass::Write => WRITE_P99_MS,
        OpClass::Credentials => CREDENTIALS_P99_MS,
        OpClass::Delivery => DELIVERY_P99_MS,
        OpClass::Harness => return None,
    };
    Some(Slo { p50_ms: None, p99_ms, error_budget: ERROR_BUDGET, throughput_rps: None, source: SloSource::Default })
}

/// Why the server's table could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SloError {
    #[error("GET /slo is not JSON of the expected shape: {0}")]
    Shape(#[from] serde_json::Error),
    #[error("GET /slo answered ok: false")]
    NotOk,
    #[error("GET /slo lists no operation with a p99 objective")]
    Empty,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EnvelopeWire {
    ok: bool,
    data: SloDocumentWire,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SloDocumentWire {
    /// Entries are parsed one by one, so one odd entry does not cost the whole table.
    operations: Vec<Box<serde_json::value::RawValue>>,
}

/// One row of `/slo`. The objective is read from a nested `objective` object when there is one
/// (then the row's own `p50_ms` / `p99_ms` are the server's live numbers, not limits), else from
/// flat `*_max` fields.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SloEntryWire {
    #[serde(alias = "op", alias = "name")]
    operation: String,
    objective: Option<ObjectiveWire>,
    p50_ms_max: Option<f64>,
    p99_ms_max: Option<f64>,
    error_budget: Option<f64>,
    throughput_rps: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ObjectiveWire {
    #[serde(alias = "p50_ms_max")]
    p50_ms: Option<f64>,
    #[serde(alias = "p99_ms_max")]
    p99_ms: Option<f64>,
    error_budget: Option<f64>,
    throughput_rps: Option<f64>,
}

impl SloEntryWire {
    /// (p50, p99, error budget, throughput) wherever the row keeps them.
    fn objective(&self) -> (Option<f64>, Option<f64>, Option<f64>, Option<f64>) {
        match &self.objective {
            Some(o) => (o.p50_ms, o.p99_ms, o.error_budget, o.throughput_rps),
            None => (self.p50_ms_max, self.p99_ms_max, self.error_budget, self.throughput_rps),
        }
    }
}

/// The objectives of every operation: the server's, then the built-in ones.
#[derive(Debug, Clone, Default)]
pub struct SloTable {
    server: HashMap<String, Slo>,
}

impl SloTable {
    /// A table with only the built-in objectives.
    pub fn defaults() -> Self {
        Self::default()
    }

    /// Parses the body of `GET /slo` (the whole envelope).
    pub fn from_envelope(body: &str) -> Result<Self, SloError> {
        let envelope: EnvelopeWire = serde_json::from_str(body)?;
        if !envelope.ok {
            return Err(SloError::NotOk);
        }
        let mut server = HashMap::new();
        let entries =
            envelope.data.operations.iter().filter_map(|raw| serde_json::from_str::<SloEntryWire>(raw.get()).ok());
        for entry in entries {
            let (p50_ms, p99_ms, error_budget, throughput_rps) = entry.objective();
            let Some(p99_ms) = p99_ms.filter(|ms| ms.is_finite() && *ms > 0.0) else {
                continue;
            };
            let slo = Slo {
                p50_ms: p50_ms.filter(|ms| ms.is_finite() && *ms > 0.0),
                p99_ms,
                error_budget: error_budget.filter(|b| b.is_finite() && (0.0..=1.0).contains(b)).unwrap_or(ERROR_BUDGET),
                throughput_rps,
                source: SloSource::Server,
            };
            server.insert(normalize(&entry.operation), slo);
        }
        if server.is_empty() {
            return Err(SloError::Empty);
        }
        Ok(Self { server })
    }

    /// How many operations the server's table listed.
    pub fn server_len(&self) -> usize {
        self.server.len()
    }

    /// The objective of `op`: the server's entry if it has one, else the built-in one. Relay
    /// delivery is graded as the server's event delivery (commit or send to client receipt).
    pub fn lookup(&self, op: &str) -> Option<Slo> {
        let server = match classify(op) {
            OpClass::Delivery => self.server.get(&normalize(op)).or_else(|| self.server.get(SERVER_DELIVERY_OP)),
            _ => self.server.get(&normalize(op)),
        };
        server.copied().or_else(|| default_slo(classify(op)))
    }
}

/// Op names compare without case, extra spaces or a `ws ` prefix, so `WS currency.withdraw`
/// and `currency.withdraw` name the same thing.
fn normalize(op: &str) -> String {
    let collapsed = op.split_whitespace().collect::<Vec<_>>().join(" ").to_ascii_lowercase();
    match collapsed.strip_prefix("ws ").or_else(|| collapsed.strip_prefix("ws:")) {
        Some(rest) => rest.trim().to_owned(),
        None => collapsed,
    }
}

/// The grade of one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    /// No objective applies (a harness measurement).
    Ungraded,
    /// No requests of it were made.
    NoData,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
            Self::Ungraded => "-",
            Self::NoData => "NO DATA",
        }
    }
}

/// A verdict and, when it failed, why.
#[derive(Debug, Clone, PartialEq)]
pub struct Grade {
    pub verdict: Verdict,
    pub reasons: Vec<String>,
}

/// Grades one operation's numbers against its objective.
pub fn grade(summary: &OpSummary, slo: Option<&Slo>) -> Grade {
    let Some(slo) = slo else {
        return Grade { verdict: Verdict::Ungraded, reasons: Vec::new() };
    };
    if summary.count == 0 {
        return Grade { verdict: Verdict::NoData, reasons: Vec::new() };
    }
    let mut reasons = Vec::new();
    if let Some(p99) = summary.p99_ms.filter(|p99| *p99 > slo.p99_ms) {
        reasons.push(format!("p99 {p99:.2} ms > {:.2} ms", slo.p99_ms));
    }
    if let (Some(p50), Some(max)) = (summary.p50_ms, slo.p50_ms)
        && p50 > max
    {
        reasons.push(format!("p50 {p50:.2} ms > {max:.2} ms"));
    }
    let rate = summary.failure_rate();
    if rate > slo.error_budget {
        reasons.push(format!("failures {:.3}% > budget {:.3}%", rate * 100.0, slo.error_budget * 100.0));
    }
    let verdict = if reasons.is_empty() { Verdict::Pass } else { Verdict::Fail };
    Grade { verdict, reasons }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(count: u64, failed: u64, p50: f64, p99: f64) -> OpSummary {
        OpSummary {
            op: "x".into(),
            count,
            ok: count - failed,
            rejected: 0,
            failed,
            sent: count,
            answered: count,
            p50_ms: Some(p50),
            p99_ms: Some(p99),
            max_ms: Some(p99),
            throughput_rps: None,
        }
    }

    #[test]
    fn classifies_operations() {
        assert_eq!(classify("GET /currency"), OpClass::Read);
        assert_eq!(classify("POST /currency/deposit"), OpClass::Write);
        assert_eq!(classify("POST /users/register"), OpClass::Credentials);
        assert_eq!(classify("users.login"), OpClass::Credentials);
        assert_eq!(classify("currency.list"), OpClass::Read);
        assert_eq!(classify("leaderboard.get"), OpClass::Read);
        assert_eq!(classify("events.resume"), OpClass::Read);
        assert_eq!(classify("ping"), OpClass::Read);
        assert_eq!(classify("currency.withdraw"), OpClass::Write);
        assert_eq!(classify("games.send"), OpClass::Write);
        assert_eq!(classify("relay.delivery"), OpClass::Delivery);
        assert_eq!(classify("reconnect"), OpClass::Harness);
    }

    #[test]
    fn defaults_follow_the_spec() {
        let table = SloTable::defaults();
        assert_eq!(table.lookup("currency.list").unwrap().p99_ms, READ_P99_MS);
        assert_eq!(table.lookup("currency.withdraw").unwrap().p99_ms, WRITE_P99_MS);
        assert_eq!(table.lookup("POST /users/register").unwrap().p99_ms, CREDENTIALS_P99_MS);
        assert_eq!(table.lookup("relay.delivery").unwrap().p99_ms, DELIVERY_P99_MS);
        assert_eq!(table.lookup("currency.withdraw").unwrap().error_budget, ERROR_BUDGET);
        assert!(table.lookup("ws.connect").is_none());
    }

    #[test]
    fn parses_the_server_table() {
        let body = r#"{"ok":true,"data":{"operations":[
            {"operation":"POST /currency/withdraw","p50_ms_max":5,"p99_ms_max":40,"error_budget":0.002,
             "throughput_rps":500,"live":{"p99_ms":3.1}},
            {"operation":"WS currency.withdraw","p99_ms_max":30},
            {"operation":"ping"},
            {"operation":"GET /health","p99_ms_max":"fast"}
        ]},"meta":{"request_id":"r"}}"#;
        // The entry with a field of the wrong type is skipped; the rest are used.
        let table = SloTable::from_envelope(body).unwrap();
        assert_eq!(table.server_len(), 2);
        assert_eq!(table.lookup("GET /health").unwrap().source, SloSource::Default);
        let withdraw = table.lookup("POST /currency/withdraw").unwrap();
        assert_eq!(withdraw.source, SloSource::Server);
        assert_eq!((withdraw.p50_ms, withdraw.p99_ms, withdraw.error_budget), (Some(5.0), 40.0, 0.002));
        assert_eq!(withdraw.throughput_rps, Some(500.0));
        assert_eq!(table.lookup("currency.withdraw").unwrap().p99_ms, 30.0);
        // Listed without an objective: the built-in one applies.
        assert_eq!(table.lookup("ping").unwrap().source, SloSource::Default);
    }

    #[test]
    fn parses_nested_objectives_and_ignores_live_numbers() {
        let body = r#"{"ok":true,"data":{"window_secs":60,"generated_at":"2025-01-01T00:00:00Z","passing":true,
            "operations":[
              {"operation":"ws currency.withdraw","method":null,"path":null,"ws_op":"currency.withdraw",
               "class":"Write","objective":{"p50_ms":10.0,"p99_ms":50.0,"error_budget":0.001,"throughput_rps":2000.0},
               "count":5,"errors":0,"client_errors":0,"p50_ms":1.5,"p99_ms":3.0,"max_ms":4.0},
              {"operation":"POST /waitlist/status","class":"Admin",
               "objective":{"p50_ms":50.0,"p99_ms":500.0,"error_budget":0.001,"throughput_rps":10.0},
               "p50_ms":0.0,"p99_ms":0.0},
              {"operation":"event delivery","class":"Relay",
               "objective":{"p50_ms":10.0,"p99_ms":50.0,"error_budget":0.001,"throughput_rps":20000.0}}
            ]},"meta":{"request_id":"r","docs":"/docs#slo"}}"#;
        let table = SloTable::from_envelope(body).unwrap();
        let withdraw = table.lookup("currency.withdraw").unwrap();
        assert_eq!((withdraw.p50_ms, withdraw.p99_ms), (Some(10.0), 50.0));
        assert_eq!(withdraw.source, SloSource::Server);
        assert_eq!(table.lookup("POST /waitlist/status").unwrap().p99_ms, 500.0);
        let delivery = table.lookup("relay.delivery").unwrap();
        assert_eq!((delivery.p99_ms, delivery.source), (50.0, SloSource::Server));
    }

    #[test]
    fn refuses_unusable_tables() {
        assert!(matches!(SloTable::from_envelope("not json"), Err(SloError::Shape(_))));
        assert!(matches!(SloTable::from_envelope(r#"{"ok":false,"error":{}}"#), Err(SloError::NotOk)));
        assert!(matches!(SloTable::from_envelope(r#"{"ok":true,"data":{}}"#), Err(SloError::Empty)));
    }

    #[test]
    fn grades_latency_and_errors() {
        let slo = default_slo(OpClass::Write).unwrap();
        assert_eq!(grade(&summary(1000, 0, 5.0, 49.0), Some(&slo)).verdict, Verdict::Pass);
        let slow = grade(&summary(1000, 0, 5.0, 51.0), Some(&slo));
        assert_eq!(slow.verdict, Verdict::Fail);
        assert!(slow.reasons[0].contains("p99"));
        assert_eq!(grade(&summary(1000, 1, 5.0, 10.0), Some(&slo)).verdict, Verdict::Pass);
        assert_eq!(grade(&summary(1000, 2, 5.0, 10.0), Some(&slo)).verdict, Verdict::Fail);
        let with_p50 = Slo { p50_ms: Some(2.0), ..slo };
        assert_eq!(grade(&summary(10, 0, 3.0, 10.0), Some(&with_p50)).verdict, Verdict::Fail);
    }

    #[test]
    fn grades_absent_and_empty() {
        let slo = default_slo(OpClass::Read).unwrap();
        assert_eq!(grade(&summary(5, 0, 1.0, 1.0), None).verdict, Verdict::Ungraded);
        let mut empty = summary(0, 0, 0.0, 0.0);
        empty.p99_ms = None;
        assert_eq!(grade(&empty, Some(&slo)).verdict, Verdict::NoData);
    }
}
