//! Run statistics shared by every task: per-operation latency histograms (microseconds) and
//! outcome counts, correctness checks, and scenario metrics.

use crate::limits::CHECK_DETAILS_MAX;
use hdrhistogram::Histogram;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Longest latency a histogram holds exactly; longer samples are clamped to it.
const LATENCY_US_MAX: u64 = 3_600_000_000;
/// Significant figures of every latency histogram.
const LATENCY_SIGFIGS: u8 = 3;

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered with success.
    Ok,
    /// Answered with a domain error (4xx): the server worked, the request was refused.
    Rejected,
    /// A server fault (5xx, `SERVICE_UNAVAILABLE`), a timeout or a broken connection: what the
    /// SLO error budget counts.
    Failed,
}

/// One operation's counters and latency histogram.
#[derive(Debug, Clone)]
pub struct OpStats {
    latency_us: Histogram<u64>,
    ok: u64,
    rejected: u64,
    failed: u64,
    /// Requests handed to the wire (counted when sent, whatever became of them).
    sent: u64,
    /// Requests the server answered (with success, a refusal or a fault).
    answered: u64,
    first: Option<Instant>,
    last: Option<Instant>,
}

impl OpStats {
    fn new() -> Self {
        let latency_us =
            Histogram::new_with_bounds(1, LATENCY_US_MAX, LATENCY_SIGFIGS).expect("static histogram bounds are valid");
        Self { latency_us, ok: 0, rejected: 0, failed: 0, sent: 0, answered: 0, first: None, last: None }
    }

    fn record(&mut self, outcome: Outcome, latency: Option<Duration>, at: Instant) {
        match outcome {
            Outcome::Ok => self.ok += 1,
            Outcome::Rejected => self.rejected += 1,
            Outcome::Failed => self.failed += 1,
        }
        if let Some(latency) = latency {
            self.answered += 1;
            let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX).max(1);
            self.latency_us.saturating_record(us);
        }
        self.first = Some(self.first.map_or(at, |first| first.min(at)));
        self.last = Some(self.last.map_or(at, |last| last.max(at)));
    }

    fn summary(&self, op: &str) -> OpSummary {
        let count = self.ok + self.rejected + self.failed;
        let ms = |us: u64| us as f64 / 1_000.0;
        let sampled = !self.latency_us.is_empty();
        let window = match (self.first, self.last) {
            (Some(first), Some(last)) => last.duration_since(first).as_secs_f64(),
            _ => 0.0,
        };
        OpSummary {
            op: op.to_owned(),
            count,
            ok: self.ok,
            rejected: self.rejected,
            failed: self.failed,
            sent: self.sent,
            answered: self.answered,
            p50_ms: sampled.then(|| ms(self.latency_us.value_at_quantile(0.50))),
            p99_ms: sampled.then(|| ms(self.latency_us.value_at_quantile(0.99))),
            max_ms: sampled.then(|| ms(self.latency_us.max())),
            throughput_rps: (count >= 2 && window > 0.0).then(|| count as f64 / window),
        }
    }
}

/// What the report shows of one operation.
#[derive(Debug, Clone, PartialEq)]
pub struct OpSummary {
    pub op: String,
    pub count: u64,
    pub ok: u64,
    pub rejected: u64,
    pub failed: u64,
    /// Requests put on the wire (see [`Stats::sent`]).
    pub sent: u64,
    /// Requests that came back with an answer (the ones with a latency).
    pub answered: u64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    /// Requests per second between the first and the last of them.
    pub throughput_rps: Option<f64>,
}

impl OpSummary {
    /// Share of requests that failed (the SLO error budget's numerator).
    pub fn failure_rate(&self) -> f64 {
        if self.count == 0 { 0.0 } else { self.failed as f64 / self.count as f64 }
    }
}

/// One correctness check: how often it held, how often not, and the first few failures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckSummary {
    pub name: String,
    pub passed: u64,
    pub failed: u64,
    pub details: Vec<String>,
}

/// A scenario's own measurement (lost messages, memory per socket, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: String,
    pub value: f64,
    pub unit: &'static str,
}

/// Everything recorded during a run; shared by every task behind an `Arc`.
#[derive(Debug, Default)]
pub struct Stats {
    ops: Mutex<HashMap<&'static str, OpStats>>,
    checks: Mutex<BTreeMap<&'static str, CheckSummary>>,
    metrics: Mutex<Vec<Metric>>,
    tallies: Mutex<BTreeMap<&'static str, u64>>,
    notes: Mutex<Vec<String>>,
}

/// A poisoned lock only means another task panicked mid-update of plain counters; the numbers
/// are still worth reporting.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Stats {
    /// Records one request of `op`; `latency` is absent when no answer came.
    pub fn record(&self, op: &'static str, outcome: Outcome, latency: Option<Duration>) {
        let now = Instant::now();
        lock(&self.ops).entry(op).or_insert_with(OpStats::new).record(outcome, latency, now);
    }

    /// Counts one request of `op` put on the wire, at the moment it is sent: a request whose
    /// caller gave up before its end (a connect timeout) still reached the server, whose own
    /// counts the run compares with this.
    pub fn sent(&self, op: &'static str) {
        lock(&self.ops).entry(op).or_insert_with(OpStats::new).sent += 1;
    }

    /// Requests recorded so far and how many of them failed, over every operation (for the
    /// progress bar).
    pub fn totals(&self) -> (u64, u64) {
        lock(&self.ops)
            .values()
            .fold((0, 0), |(count, failed), op| (count + op.ok + op.rejected + op.failed, failed + op.failed))
    }

    /// Every operation's latency histogram (microseconds), sorted by op name, for the chart.
    pub fn latency_histograms(&self) -> Vec<(String, Histogram<u64>)> {
        let ops = lock(&self.ops);
        let mut all: Vec<(String, Histogram<u64>)> =
            ops.iter().map(|(op, stats)| ((*op).to_owned(), stats.latency_us.clone())).collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// Records a check that held.
    pub fn pass(&self, check: &'static str) {
        self.pass_n(check, 1);
    }

    /// Records `n` checks that held.
    pub fn pass_n(&self, check: &'static str, n: u64) {
        let mut checks = lock(&self.checks);
        let entry =
            checks.entry(check).or_insert_with(|| CheckSummary { name: check.to_owned(), ..Default::default() });
        entry.passed += n;
    }

    /// Records a check that failed, keeping the first few details.
    pub fn fail(&self, check: &'static str, detail: impl Into<String>) {
        let mut checks = lock(&self.checks);
        let entry =
            checks.entry(check).or_insert_with(|| CheckSummary { name: check.to_owned(), ..Default::default() });
        entry.failed += 1;
        if entry.details.len() < CHECK_DETAILS_MAX {
            entry.details.push(detail.into());
        }
    }

    /// Records a pass or a failure.
    pub fn check(&self, check: &'static str, held: bool, detail: impl FnOnce() -> String) {
        if held { self.pass(check) } else { self.fail(check, detail()) }
    }

    pub fn metric(&self, name: impl Into<String>, value: f64, unit: &'static str) {
        lock(&self.metrics).push(Metric { name: name.into(), value, unit });
    }

    /// Counts one occurrence of `name`, reported as a metric (for events that can happen
    /// thousands of times, where a note each would flood the report).
    pub fn tally(&self, name: &'static str) {
        *lock(&self.tallies).entry(name).or_insert(0) += 1;
    }

    /// A line for the report that is neither a number nor a check (a warning, a fallback taken).
    pub fn note(&self, text: impl Into<String>) {
        lock(&self.notes).push(text.into());
    }

    pub fn op_summaries(&self) -> Vec<OpSummary> {
        let ops = lock(&self.ops);
        let mut rows: Vec<OpSummary> = ops.iter().map(|(op, stats)| stats.summary(op)).collect();
        rows.sort_by(|a, b| a.op.cmp(&b.op));
        rows
    }

    pub fn check_summaries(&self) -> Vec<CheckSummary> {
        lock(&self.checks).values().cloned().collect()
    }

    pub fn metrics(&self) -> Vec<Metric> {
        let tallies: Vec<Metric> = lock(&self.tallies)
            .iter()
            .map(|(name, count)| Metric { name: (*name).to_owned(), value: *count as f64, unit: "times" })
            .collect();
        let mut metrics = lock(&self.metrics).clone();
        metrics.extend(tallies);
        metrics
    }

    pub fn notes(&self) -> Vec<String> {
        lock(&self.notes).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summarises_counts_and_percentiles() {
        let stats = Stats::default();
        for ms in 1..=100 {
            stats.record("currency.withdraw", Outcome::Ok, Some(Duration::from_millis(ms)));
        }
        stats.record("currency.withdraw", Outcome::Rejected, Some(Duration::from_millis(1)));
        stats.record("currency.withdraw", Outcome::Failed, None);
        let rows = stats.op_summaries();
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!((row.count, row.ok, row.rejected, row.failed), (102, 100, 1, 1));
        // The failure without an answer is not counted as answered; nothing was marked sent.
        assert_eq!((row.answered, row.sent), (101, 0));
        let p50 = row.p50_ms.unwrap();
        let p99 = row.p99_ms.unwrap();
        assert!((49.0..=51.0).contains(&p50), "p50 {p50}");
        assert!((98.0..=100.1).contains(&p99), "p99 {p99}");
        assert!((99.9..=100.1).contains(&row.max_ms.unwrap()));
        assert!((row.failure_rate() - 1.0 / 102.0).abs() < 1e-9);
    }

    #[test]
    fn keeps_microsecond_precision() {
        let stats = Stats::default();
        stats.record("ping", Outcome::Ok, Some(Duration::from_micros(250)));
        let row = &stats.op_summaries()[0];
        assert!((row.p99_ms.unwrap() - 0.25).abs() < 0.001);
        // One sample has no window, so no throughput.
        assert_eq!(row.throughput_rps, None);
    }

    #[test]
    fn failures_without_latency_have_no_percentiles() {
        let stats = Stats::default();
        stats.record("auth", Outcome::Failed, None);
        let row = &stats.op_summaries()[0];
        assert_eq!(row.p99_ms, None);
        assert_eq!(row.failure_rate(), 1.0);
    }

    #[test]
    fn counts_sends_apart_from_outcomes() {
        let stats = Stats::default();
        stats.sent("ping");
        stats.sent("ping");
        stats.record("ping", Outcome::Ok, Some(Duration::from_millis(1)));
        let row = &stats.op_summaries()[0];
        assert_eq!((row.sent, row.answered, row.count), (2, 1, 1));
        assert_eq!(stats.totals(), (1, 0));
        assert_eq!(stats.latency_histograms()[0].1.len(), 1);
    }

    #[test]
    fn tallies_become_metrics() {
        let stats = Stats::default();
        stats.tally("resent");
        stats.tally("resent");
        stats.metric("sockets", 3.0, "sockets");
        let metrics = stats.metrics();
        assert_eq!(metrics.len(), 2);
        assert_eq!((metrics[1].name.as_str(), metrics[1].value), ("resent", 2.0));
    }

    #[test]
    fn rows_are_sorted_by_op() {
        let stats = Stats::default();
        stats.record("ping", Outcome::Ok, None);
        stats.record("auth", Outcome::Ok, None);
        let ops: Vec<String> = stats.op_summaries().into_iter().map(|row| row.op).collect();
        assert_eq!(ops, ["auth", "ping"]);
    }

    #[test]
    fn checks_keep_a_bounded_number_of_details() {
        let stats = Stats::default();
        stats.pass("balance");
        for i in 0..(CHECK_DETAILS_MAX + 5) {
            stats.fail("balance", format!("player {i}"));
        }
        let checks = stats.check_summaries();
        assert_eq!(checks[0].passed, 1);
        assert_eq!(checks[0].failed as usize, CHECK_DETAILS_MAX + 5);
        assert_eq!(checks[0].details.len(), CHECK_DETAILS_MAX);
    }

    #[test]
    fn passing_checks_are_not_failures() {
        let stats = Stats::default();
        stats.check("seq", true, || unreachable!());
        stats.pass_n("seq", 3);
        assert_eq!(stats.check_summaries()[0].failed, 0);
        assert_eq!(stats.check_summaries()[0].passed, 4);
    }
}
