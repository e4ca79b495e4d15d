//! The run's report: per-operation rows graded against the SLO table, correctness checks and
//! scenario metrics; printed as a table and written as JSON.

use crate::server_counts::CountRow;
use crate::slo::{SloTable, Verdict, grade};
use crate::stats::Stats;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

/// Process exit codes.
pub const EXIT_PASS: i32 = 0;
pub const EXIT_SLO_BREACH: i32 = 1;
pub const EXIT_CORRECTNESS: i32 = 3;
pub const EXIT_ABORTED: i32 = 4;
/// A command line that parsed but cannot be run here (clap's own code for usage errors).
pub const EXIT_USAGE: i32 = 2;

/// What the run was.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    pub scenario: &'static str,
    pub url: String,
    pub codec: &'static str,
    pub players: u32,
    pub duration_s: f64,
    pub ramp_s: f64,
    pub rate_per_player: f64,
    /// `server` when `GET /slo` was used, `defaults` when the built-in objectives were.
    pub slo_source: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct OpRow {
    pub op: String,
    pub count: u64,
    pub ok: u64,
    pub rejected: u64,
    pub failed: u64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    pub throughput_rps: Option<f64>,
    pub slo_p50_ms: Option<f64>,
    pub slo_p99_ms: Option<f64>,
    pub slo_error_budget: Option<f64>,
    pub slo_throughput_rps: Option<f64>,
    pub slo_source: Option<&'static str>,
    pub verdict: &'static str,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckRow {
    pub name: String,
    pub passed: u64,
    pub failed: u64,
    pub details: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MetricRow {
    pub name: String,
    pub value: f64,
    pub unit: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub run: RunInfo,
    pub requests_sent: u64,
    pub operations: Vec<OpRow>,
    pub checks: Vec<CheckRow>,
    pub metrics: Vec<MetricRow>,
    pub notes: Vec<String>,
    /// The server's own request counts against the harness's, per operation sent.
    pub server_counts: Vec<CountRow>,
    /// Where the latency chart was written.
    pub chart: Option<String>,
    /// Why the run was cut short, when it was.
    pub aborted: Option<String>,
    pub slo_breach: bool,
    pub correctness_failure: bool,
    pub passed: bool,
}

impl Report {
    /// Grades what `stats` holds against `slo`.
    pub fn build(run: RunInfo, stats: &Stats, slo: &SloTable, requests_sent: u64, aborted: Option<String>) -> Self {
        let operations: Vec<OpRow> = stats
            .op_summaries()
            .into_iter()
            .map(|summary| {
                let objective = slo.lookup(&summary.op);
                let graded = grade(&summary, objective.as_ref());
                OpRow {
                    count: summary.count,
                    ok: summary.ok,
                    rejected: summary.rejected,
                    failed: summary.failed,
                    p50_ms: summary.p50_ms,
                    p99_ms: summary.p99_ms,
                    max_ms: summary.max_ms,
                    throughput_rps: summary.throughput_rps,
                    slo_p50_ms: objective.and_then(|o| o.p50_ms),
                    slo_p99_ms: objective.map(|o| o.p99_ms),
                    slo_error_budget: objective.map(|o| o.error_budget),
                    slo_throughput_rps: objective.and_then(|o| o.throughput_rps),
                    slo_source: objective.map(|o| o.source.as_str()),
                    verdict: graded.verdict.as_str(),
                    reasons: graded.reasons,
                    op: summary.op,
                }
            })
            .collect();
        let checks: Vec<CheckRow> = stats
            .check_summaries()
            .into_iter()
            .map(|c| CheckRow { name: c.name, passed: c.passed, failed: c.failed, details: c.details })
            .collect();
        let metrics =
            stats.metrics().into_iter().map(|m| MetricRow { name: m.name, value: m.value, unit: m.unit }).collect();
        let slo_breach = operations.iter().any(|row| row.verdict == Verdict::Fail.as_str());
        let correctness_failure = checks.iter().any(|check| check.failed > 0);
        let passed = !slo_breach && !correctness_failure && aborted.is_none();
        Self {
            run,
            requests_sent,
            operations,
            checks,
            metrics,
            notes: stats.notes(),
            server_counts: Vec::new(),
            chart: None,
            aborted,
            slo_breach,
            correctness_failure,
            passed,
        }
    }

    pub fn exit_code(&self) -> i32 {
        if self.aborted.is_some() {
            EXIT_ABORTED
        } else if self.correctness_failure {
            EXIT_CORRECTNESS
        } else if self.slo_breach {
            EXIT_SLO_BREACH
        } else {
            EXIT_PASS
        }
    }

    /// The human report.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let run = &self.run;
        let _ = writeln!(
            out,
            "pzo-loadtest {} against {} ({} codec, {} players, {}s + {}s ramp, {} per player/s, SLOs from {})",
            run.scenario,
            run.url,
            run.codec,
            run.players,
            run.duration_s,
            run.ramp_s,
            run.rate_per_player,
            run.slo_source
        );
        let _ = writeln!(
            out,
            "{:<26} {:>8} {:>6} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9}  verdict",
            "op", "count", "rej", "fail", "p50 ms", "p99 ms", "max ms", "req/s", "SLO p99",
        );
        for row in &self.operations {
            let _ = writeln!(
                out,
                "{:<26} {:>8} {:>6} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9}  {}{}",
                row.op,
                row.count,
                row.rejected,
                row.failed,
                num(row.p50_ms, 2),
                num(row.p99_ms, 2),
                num(row.max_ms, 2),
                num(row.throughput_rps, 1),
                num(row.slo_p99_ms, 1),
                row.verdict,
                if row.reasons.is_empty() { String::new() } else { format!(" ({})", row.reasons.join("; ")) },
            );
        }
        if !self.metrics.is_empty() {
            let _ = writeln!(out, "\nmetrics:");
            for metric in &self.metrics {
                let _ = writeln!(out, "  {:<52} {:>14.2} {}", metric.name, metric.value, metric.unit);
            }
        }
        if !self.server_counts.is_empty() {
            let _ = writeln!(
                out,
                "\nserver counts over the run (answered <= server <= sent):\n  {:<30} {:>9} {:>9} {:>9} {:>9} {:>9}",
                "server op", "sent", "answered", "/metrics", "/slo life", "/slo win"
            );
            for row in &self.server_counts {
                let count = |n: Option<u64>| n.map_or_else(|| "-".to_owned(), |n| n.to_string());
                let _ = writeln!(
                    out,
                    "  {:<30} {:>9} {:>9} {:>9} {:>9} {:>9}  {}",
                    row.server_op,
                    row.sent,
                    row.answered,
                    row.metrics_delta,
                    count(row.slo_lifetime_delta),
                    count(row.slo_window),
                    if row.holds() { "match" } else { "MISMATCH" }
                );
            }
        }
        if !self.checks.is_empty() {
            let _ = writeln!(out, "\nchecks:");
            for check in &self.checks {
                let verdict = if check.failed == 0 { "PASS" } else { "FAIL" };
                let _ =
                    writeln!(out, "  {:<52} {:>8} ok {:>6} failed  {verdict}", check.name, check.passed, check.failed);
                for detail in &check.details {
                    let _ = writeln!(out, "      - {detail}");
                }
            }
        }
        for note in &self.notes {
            let _ = writeln!(out, "note: {note}");
        }
        if let Some(chart) = &self.chart {
            let _ = writeln!(out, "latency chart: {chart}");
        }
        if let Some(reason) = &self.aborted {
            let _ = writeln!(out, "ABORTED: {reason}");
        }
        let verdict = match self.exit_code() {
            EXIT_PASS => "PASS",
            EXIT_SLO_BREACH => "FAIL (SLO breach)",
            EXIT_CORRECTNESS => "FAIL (correctness)",
            _ => "FAIL (aborted)",
        };
        let _ = writeln!(out, "\n{} requests sent. Result: {verdict}", self.requests_sent);
        out
    }

    pub fn write_json(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(path, text + "\n")
    }
}

fn num(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.decimals$}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Outcome;
    use std::time::Duration;

    fn info() -> RunInfo {
        RunInfo {
            scenario: "economy",
            url: "http://127.0.0.1:8080/".into(),
            codec: "bincode",
            players: 10,
            duration_s: 30.0,
            ramp_s: 5.0,
            rate_per_player: 2.0,
            slo_source: "defaults",
        }
    }

    fn stats_with(latency_ms: u64) -> Stats {
        let stats = Stats::default();
        for _ in 0..100 {
            stats.record("currency.withdraw", Outcome::Ok, Some(Duration::from_millis(latency_ms)));
            stats.record("ws.connect", Outcome::Ok, Some(Duration::from_millis(500)));
        }
        stats
    }

    #[test]
    fn passing_run() {
        let report = Report::build(info(), &stats_with(5), &SloTable::defaults(), 200, None);
        assert!(report.passed);
        assert_eq!(report.exit_code(), EXIT_PASS);
        let text = report.render();
        assert!(text.contains("currency.withdraw"));
        assert!(text.contains("PASS"));
        // Harness measurements are shown but not graded.
        let connect = report.operations.iter().find(|row| row.op == "ws.connect").unwrap();
        assert_eq!(connect.verdict, "-");
    }

    #[test]
    fn slow_run_breaches() {
        let report = Report::build(info(), &stats_with(80), &SloTable::defaults(), 200, None);
        assert!(report.slo_breach);
        assert_eq!(report.exit_code(), EXIT_SLO_BREACH);
        assert!(report.render().contains("FAIL (SLO breach)"));
    }

    #[test]
    fn correctness_beats_breach_and_abort_beats_both() {
        let stats = stats_with(80);
        stats.fail("balance", "player 3: 10 != 12");
        let report = Report::build(info(), &stats, &SloTable::defaults(), 200, None);
        assert_eq!(report.exit_code(), EXIT_CORRECTNESS);
        assert!(report.render().contains("player 3"));
        let aborted = Report::build(info(), &stats, &SloTable::defaults(), 200, Some("hard cap".into()));
        assert_eq!(aborted.exit_code(), EXIT_ABORTED);
    }

    #[test]
    fn json_has_the_table() {
        let report = Report::build(info(), &stats_with(5), &SloTable::defaults(), 200, None);
        let json = serde_json::to_string(&report).unwrap();
        assert!(json.contains(r#""op":"currency.withdraw""#));
        assert!(json.contains(r#""slo_p99_ms":50.0"#));
        assert!(json.contains(r#""verdict":"PASS""#));
    }
}
