//! Latency and outcome of every operation: a rolling one-minute window per operation for `/slo`
//! and the admin console, lifetime counters, and the Prometheus metrics behind `/metrics`.

use crate::operations::{EVENT_DELIVERY, EVENT_DELIVERY_SLO, OPERATIONS, OpClass, Operation, Slo};
use hdrhistogram::Histogram;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use pzo_protocol::reply::EndpointStat;
use pzo_protocol::{ErrorCode, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// The rolling window is this many buckets of [`WINDOW_BUCKET_SECS`] each.
pub const WINDOW_BUCKETS: usize = 6;
pub const WINDOW_BUCKET_SECS: u64 = 10;
/// How far back `/slo` looks.
pub const WINDOW_SECS: u64 = 60;
const _: () = assert!(WINDOW_BUCKETS as u64 * WINDOW_BUCKET_SECS == WINDOW_SECS);

/// Latencies are kept in microseconds from 1 µs to 60 s; longer calls saturate at 60 s.
const LATENCY_US_MIN: u64 = 1;
const LATENCY_US_MAX: u64 = 60_000_000;
/// Two significant figures (1% resolution) is finer than any objective needs, and keeps one
/// histogram near 20 KiB instead of 140 KiB with three: there are six per active operation.
const LATENCY_SIGFIGS: u8 = 2;

/// How often the Prometheus recorder drains its histogram samples (see [`install_prometheus`]).
const PROMETHEUS_UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Metric names, shared with the modules that emit them and with `grafana/pzo-dashboard.json`.
pub const METRIC_REQUEST_DURATION: &str = "pzo_request_duration_seconds";
pub const METRIC_REQUESTS: &str = "pzo_requests_total";
pub const METRIC_EVENT_DELIVERY: &str = "pzo_event_delivery_seconds";
pub const METRIC_JOURNAL_COMMIT: &str = "pzo_journal_commit_seconds";
pub const METRIC_JOURNAL_WAIT: &str = "pzo_journal_wait_seconds";
pub const METRIC_JOURNAL_QUEUE: &str = "pzo_journal_queue_seconds";
pub const METRIC_JOURNAL_BATCH: &str = "pzo_journal_batch_commands";
pub const METRIC_WS_SOCKETS: &str = "pzo_ws_sockets";
pub const METRIC_ACTORS_LIVE: &str = "pzo_actors_live";
pub const METRIC_MAILBOX_DEPTH: &str = "pzo_mailbox_depth";

/// Histogram buckets of every `*_seconds` metric: 250 µs to 10 s, dense around the objectives
/// (2, 10, 50 and 250 ms) so the quantiles Grafana derives land near them.
const SECONDS_BUCKETS: &[f64] =
    &[0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Buckets of the journal's commands per group commit.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0];

/// How a call ended. Only server errors count against the error budget: a client error is the
/// contract working as documented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallOutcome {
    Ok,
    /// A 4xx answer.
    ClientError,
    /// A 5xx answer, including `SERVICE_UNAVAILABLE`.
    ServerError,
}

impl CallOutcome {
    /// The `outcome` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::ClientError => "client_error",
            Self::ServerError => "server_error",
        }
    }

    /// The outcome of an HTTP status.
    pub fn from_status(status: u16) -> Self {
        match status {
            500.. => Self::ServerError,
            400..=499 => Self::ClientError,
            _ => Self::Ok,
        }
    }

    /// The outcome of an error answer.
    pub fn from_code(code: ErrorCode) -> Self {
        Self::from_status(code.status())
    }
}

/// Counts and latencies of one operation over the rolling window.
#[derive(Debug, Clone, Default)]
struct WindowSummary {
    count: u64,
    server_errors: u64,
    client_errors: u64,
    latency_us: Option<Histogram<u64>>,
}

/// One [`WINDOW_BUCKET_SECS`] slice of the window.
struct Bucket {
    /// Which slice of time (seconds since start / bucket length) the bucket holds now.
    epoch: u64,
    count: u64,
    server_errors: u64,
    client_errors: u64,
    /// Allocated on first use: most operations never see traffic in a given run.
    latency_us: Option<Histogram<u64>>,
}

impl Bucket {
    fn empty() -> Self {
        Self { epoch: 0, count: 0, server_errors: 0, client_errors: 0, latency_us: None }
    }

    /// Empties the bucket for a new slice of time, keeping its histogram's allocation.
    fn restart(&mut self, epoch: u64) {
        self.epoch = epoch;
        self.count = 0;
        self.server_errors = 0;
        self.client_errors = 0;
        if let Some(histogram) = self.latency_us.as_mut() {
            histogram.reset();
        }
    }
}

fn new_latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(LATENCY_US_MIN, LATENCY_US_MAX, LATENCY_SIGFIGS)
        .expect("the latency histogram bounds are valid constants")
}

/// The rolling window of one operation: a ring of buckets indexed by epoch.
struct Window {
    buckets: [Bucket; WINDOW_BUCKETS],
}

impl Window {
    fn new() -> Self {
        Self { buckets: std::array::from_fn(|_| Bucket::empty()) }
    }

    fn record(&mut self, now_secs: u64, latency_us: u64, outcome: CallOutcome) {
        let epoch = now_secs / WINDOW_BUCKET_SECS;
        let bucket = &mut self.buckets[ring_index(epoch)];
        if bucket.epoch != epoch {
            bucket.restart(epoch);
        }
        bucket.count += 1;
        match outcome {
            CallOutcome::Ok => {}
            CallOutcome::ClientError => bucket.client_errors += 1,
            CallOutcome::ServerError => bucket.server_errors += 1,
        }
        bucket.latency_us.get_or_insert_with(new_latency_histogram).saturating_record(latency_us);
    }

    /// Everything recorded in the buckets still inside the window at `now_secs`.
    fn summary(&self, now_secs: u64) -> WindowSummary {
        let now_epoch = now_secs / WINDOW_BUCKET_SECS;
        let oldest_epoch = now_epoch.saturating_sub(WINDOW_BUCKETS as u64 - 1);
        let mut summary = WindowSummary::default();
        let live = self.buckets.iter().filter(|b| b.count > 0 && (oldest_epoch..=now_epoch).contains(&b.epoch));
        for bucket in live {
            summary.count += bucket.count;
            summary.server_errors += bucket.server_errors;
            summary.client_errors += bucket.client_errors;
            if let Some(histogram) = &bucket.latency_us {
                match summary.latency_us.as_mut() {
                    // Every histogram has the same bounds, so adding one to another cannot fail.
                    Some(merged) => merged.add(histogram).unwrap_or_default(),
                    None => summary.latency_us = Some(histogram.clone()),
                }
            }
        }
        summary
    }
}

fn ring_index(epoch: u64) -> usize {
    // The remainder is below WINDOW_BUCKETS, so it fits a usize.
    usize::try_from(epoch % WINDOW_BUCKETS as u64).unwrap_or_default()
}

/// One operation's window and lifetime counters, and its Prometheus handles.
struct Slot {
    window: Mutex<Window>,
    lifetime_count: AtomicU64,
    lifetime_server_errors: AtomicU64,
    lifetime_client_errors: AtomicU64,
    prometheus: PrometheusSlot,
}

/// An operation's Prometheus series, registered once: a `histogram!`/`counter!` call with a label
/// builds its key (a heap-allocated label list), hashes it and looks it up in the registry on
/// every call, which the busiest paths (every request, every delivered event) would pay each time.
struct PrometheusSlot {
    duration: metrics::Histogram,
    /// Calls by outcome, in [`CallOutcome`] order (no-ops for event delivery, which has none).
    calls: [metrics::Counter; 3],
}

impl PrometheusSlot {
    fn of(kind: SlotKind) -> Self {
        match kind {
            SlotKind::Operation(op) => Self {
                duration: metrics::histogram!(METRIC_REQUEST_DURATION, "operation" => op.name),
                calls: [CallOutcome::Ok, CallOutcome::ClientError, CallOutcome::ServerError].map(
                    |outcome| metrics::counter!(METRIC_REQUESTS, "operation" => op.name, "outcome" => outcome.as_str()),
                ),
            },
            SlotKind::EventDelivery => Self {
                duration: metrics::histogram!(METRIC_EVENT_DELIVERY),
                calls: [metrics::Counter::noop(), metrics::Counter::noop(), metrics::Counter::noop()],
            },
        }
    }

    fn record(&self, elapsed: Duration, outcome: CallOutcome) {
        self.duration.record(elapsed.as_secs_f64());
        let at = match outcome {
            CallOutcome::Ok => 0,
            CallOutcome::ClientError => 1,
            CallOutcome::ServerError => 2,
        };
        self.calls[at].increment(1);
    }
}

impl Slot {
    fn new(kind: SlotKind) -> Self {
        Self {
            window: Mutex::new(Window::new()),
            lifetime_count: AtomicU64::new(0),
            lifetime_server_errors: AtomicU64::new(0),
            lifetime_client_errors: AtomicU64::new(0),
            prometheus: PrometheusSlot::of(kind),
        }
    }

    fn window(&self) -> MutexGuard<'_, Window> {
        // A panic while holding the lock leaves at worst one sample half-counted: keep serving.
        self.window.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Which operation a telemetry slot describes.
#[derive(Clone, Copy)]
enum SlotKind {
    Operation(&'static Operation),
    EventDelivery,
}

/// Per-operation telemetry, shared by every handler through an `Arc`. Recording locks only the
/// operation's own mutex, for the few nanoseconds of one histogram update.
pub struct Telemetry {
    started: Instant,
    /// One slot per entry of [`OPERATIONS`], in table order, then event delivery.
    slots: Box<[Slot]>,
    index: HashMap<&'static str, usize>,
}

impl Default for Telemetry {
    fn default() -> Self {
        Self::new()
    }
}

impl Telemetry {
    pub fn new() -> Self {
        // The slots' Prometheus handles bind to the recorder installed when they are made.
        install_prometheus();
        let kinds = OPERATIONS.iter().map(SlotKind::Operation).chain([SlotKind::EventDelivery]);
        let slots = kinds.map(Slot::new).collect();
        let mut index: HashMap<&'static str, usize> =
            OPERATIONS.iter().enumerate().map(|(position, op)| (op.name, position)).collect();
        index.insert(EVENT_DELIVERY, OPERATIONS.len());
        Self { started: Instant::now(), slots, index }
    }

    /// Records one call of `operation` (an [`Operation::name`]). Names outside the table (a 404
    /// route, say) still reach Prometheus but have no objective to be graded against.
    pub fn record(&self, operation: &'static str, elapsed: Duration, outcome: CallOutcome) {
        match self.index.get(operation) {
            Some(&position) => self.record_at(position, elapsed, outcome, self.now_secs()),
            None => {
                metrics::histogram!(METRIC_REQUEST_DURATION, "operation" => operation).record(elapsed.as_secs_f64());
                metrics::counter!(METRIC_REQUESTS, "operation" => operation, "outcome" => outcome.as_str())
                    .increment(1);
            }
        }
    }

    /// Records the delivery of one event: from its commit to its write on a socket.
    pub fn record_event_delivery(&self, elapsed: Duration) {
        self.record_at(OPERATIONS.len(), elapsed, CallOutcome::Ok, self.now_secs());
    }

    /// The SLO table with live compliance over the last [`WINDOW_SECS`].
    pub fn report(&self) -> SloReport {
        self.report_at(self.now_secs(), chrono::Utc::now())
    }

    /// The operations that saw traffic in the window, for the admin console.
    pub fn snapshot_endpoints(&self) -> Vec<EndpointRow> {
        self.report()
            .operations
            .into_iter()
            .filter(|op| op.count > 0)
            .map(|op| (op.operation, op.count, op.p99_ms, op.error_rate, op.objective.p99_ms, op.passing))
            .collect()
    }

    /// [`Telemetry::snapshot_endpoints`] as the admin console's typed rows.
    pub fn endpoint_stats(&self) -> Vec<EndpointStat> {
        self.snapshot_endpoints()
            .into_iter()
            .map(|(operation, count, p99_ms, error_rate, slo_p99_ms, passing)| EndpointStat {
                operation,
                count,
                p99_ms,
                error_rate,
                slo_p99_ms,
                passing,
            })
            .collect()
    }

    fn now_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// Records into slot `position` as if the clock read `now_secs` since start.
    fn record_at(&self, position: usize, elapsed: Duration, outcome: CallOutcome, now_secs: u64) {
        let Some(slot) = self.slots.get(position) else {
            return;
        };
        slot.prometheus.record(elapsed, outcome);
        let latency_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX).max(LATENCY_US_MIN);
        slot.window().record(now_secs, latency_us, outcome);
        slot.lifetime_count.fetch_add(1, Ordering::Relaxed);
        match outcome {
            CallOutcome::Ok => {}
            CallOutcome::ClientError => {
                slot.lifetime_client_errors.fetch_add(1, Ordering::Relaxed);
            }
            CallOutcome::ServerError => {
                slot.lifetime_server_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The report as if the clock read `now_secs` since start, stamped `generated_at`.
    fn report_at(&self, now_secs: u64, generated_at: Timestamp) -> SloReport {
        let kinds = OPERATIONS.iter().map(SlotKind::Operation).chain([SlotKind::EventDelivery]);
        let operations: Vec<OperationSlo> =
            kinds.zip(self.slots.iter()).map(|(kind, slot)| operation_slo(kind, slot, now_secs)).collect();
        let passing = operations.iter().all(|op| op.passing);
        SloReport { window_secs: WINDOW_SECS, generated_at, passing, operations }
    }
}

/// One row of the admin console's endpoint table:
/// (operation, count, p99 ms, error rate, objective p99 ms, passing).
pub type EndpointRow = (String, u64, f64, f64, f64, bool);

fn operation_slo(kind: SlotKind, slot: &Slot, now_secs: u64) -> OperationSlo {
    let (operation, method, path, ws_op, class, objective) = match kind {
        SlotKind::Operation(op) => (op.name, op.method, op.path, op.ws_op, op.class, op.slo()),
        SlotKind::EventDelivery => (EVENT_DELIVERY, None, None, None, OpClass::Relay, EVENT_DELIVERY_SLO),
    };
    let window = slot.window().summary(now_secs);
    let quantile_ms = |q: f64| window.latency_us.as_ref().map_or(0.0, |h| micros_to_ms(h.value_at_quantile(q)));
    let (p50_ms, p99_ms) = (quantile_ms(0.5), quantile_ms(0.99));
    let max_ms = window.latency_us.as_ref().map_or(0.0, |h| micros_to_ms(h.max()));
    let error_rate = ratio(window.server_errors, window.count);
    let budget_left = if window.count == 0 { 1.0 } else { (1.0 - error_rate / objective.error_budget).clamp(0.0, 1.0) };
    let passing = window.count == 0
        || (p50_ms <= objective.p50_ms && p99_ms <= objective.p99_ms && error_rate <= objective.error_budget);
    OperationSlo {
        operation: operation.to_owned(),
        method: method.map(str::to_owned),
        path: path.map(str::to_owned),
        ws_op: ws_op.map(str::to_owned),
        class,
        objective,
        count: window.count,
        errors: window.server_errors,
        client_errors: window.client_errors,
        p50_ms,
        p99_ms,
        max_ms,
        error_rate,
        budget_left,
        passing,
        lifetime_count: slot.lifetime_count.load(Ordering::Relaxed),
        lifetime_errors: slot.lifetime_server_errors.load(Ordering::Relaxed),
        lifetime_client_errors: slot.lifetime_client_errors.load(Ordering::Relaxed),
    }
}

#[allow(clippy::cast_precision_loss)] // latencies below 2^53 µs are exact in an f64
fn micros_to_ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

#[allow(clippy::cast_precision_loss)] // counts below 2^53 are exact in an f64
fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}

/// `GET /slo`: every operation's objective and its live compliance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SloReport {
    /// The span of the rolling window the live numbers cover.
    pub window_secs: u64,
    pub generated_at: Timestamp,
    /// Whether every operation passes.
    pub passing: bool,
    pub operations: Vec<OperationSlo>,
}

/// One operation's objective and how it does against it over the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationSlo {
    /// `"POST /currency/withdraw"`, `"ws currency.withdraw"` or `"event delivery"`.
    pub operation: String,
    pub method: Option<String>,
    pub path: Option<String>,
    pub ws_op: Option<String>,
    pub class: OpClass,
    pub objective: Slo,
    /// Calls in the window.
    pub count: u64,
    /// Server errors (5xx) in the window: these spend the error budget.
    pub errors: u64,
    /// Client errors (4xx) in the window: the contract answering as documented.
    pub client_errors: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// `errors / count`, 0 without traffic.
    pub error_rate: f64,
    /// The share of the error budget not yet spent, from 1.0 (none spent, or no traffic) to 0.0.
    pub budget_left: f64,
    /// p50, p99 and the error rate all within the objective (true without traffic).
    pub passing: bool,
    pub lifetime_count: u64,
    pub lifetime_errors: u64,
    pub lifetime_client_errors: u64,
}

/// Installs the process-wide Prometheus recorder once and returns its handle (for `/metrics`).
///
/// Tests start several servers in one process, so later calls return the first handle. A
/// recorder installed by someone else makes this handle render nothing, with a warning.
pub fn install_prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| match prometheus_builder().install_recorder() {
            Ok(handle) => {
                describe_metrics();
                spawn_upkeep(handle.clone());
                handle
            }
            Err(error) => {
                tracing::warn!(%error, "a metrics recorder is already installed; /metrics will be empty");
                prometheus_builder().build_recorder().handle()
            }
        })
        .clone()
}

fn prometheus_builder() -> PrometheusBuilder {
    // Both bucket lists are non-empty constants: the only error these calls can return.
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), SECONDS_BUCKETS)
        .and_then(|builder| {
            builder.set_buckets_for_metric(Matcher::Full(METRIC_JOURNAL_BATCH.to_owned()), BATCH_BUCKETS)
        })
        .expect("the histogram buckets are non-empty constants")
}

/// `install_recorder` leaves draining histogram samples to its caller; without it they pile up
/// between scrapes. A plain thread keeps this module free of any async runtime.
fn spawn_upkeep(handle: PrometheusHandle) {
    let spawned = std::thread::Builder::new().name("pzo-metrics-upkeep".to_owned()).spawn(move || {
        loop {
            std::thread::sleep(PROMETHEUS_UPKEEP_INTERVAL);
            handle.run_upkeep();
        }
    });
    if let Err(error) = spawned {
        tracing::warn!(%error, "could not start the metrics upkeep thread; samples drain on each scrape only");
    }
}

fn describe_metrics() {
    use metrics::Unit;
    metrics::describe_histogram!(METRIC_REQUEST_DURATION, Unit::Seconds, "Latency of each operation, by operation.");
    metrics::describe_counter!(METRIC_REQUESTS, "Calls of each operation, by operation and outcome.");
    metrics::describe_histogram!(METRIC_EVENT_DELIVERY, Unit::Seconds, "From an event's commit to its socket write.");
    metrics::describe_histogram!(METRIC_JOURNAL_COMMIT, Unit::Seconds, "Duration of one journal group commit.");
    metrics::describe_histogram!(
        METRIC_JOURNAL_WAIT,
        Unit::Seconds,
        "How long a command waited for its commit: the batch in flight, then its own."
    );
    metrics::describe_histogram!(
        METRIC_JOURNAL_QUEUE,
        Unit::Seconds,
        "How long a command waited in the journal's queue before its batch began (the part of the wait that is backlog, not its own commit)."
    );
    metrics::describe_histogram!(METRIC_JOURNAL_BATCH, Unit::Count, "Commands sharing one journal transaction.");
    metrics::describe_gauge!(METRIC_WS_SOCKETS, Unit::Count, "Open WebSocket connections.");
    metrics::describe_gauge!(METRIC_ACTORS_LIVE, Unit::Count, "Live actors, by kind.");
    metrics::describe_gauge!(METRIC_MAILBOX_DEPTH, Unit::Count, "Messages waiting in actor mailboxes, by kind.");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::{SLO_READ, find_by_name};

    const READ_OP: &str = "GET /currency";
    const WRITE_OP: &str = "ws currency.withdraw";

    fn position(name: &str) -> usize {
        OPERATIONS.iter().position(|op| op.name == name).unwrap_or_else(|| panic!("{name} is not in the table"))
    }

    fn at() -> Timestamp {
        chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()
    }

    fn row(report: &SloReport, name: &str) -> OperationSlo {
        report.operations.iter().find(|op| op.operation == name).cloned().unwrap_or_else(|| panic!("no row {name}"))
    }

    fn close(actual: f64, expected: f64) -> bool {
        (actual - expected).abs() <= expected * 0.01 + 0.001
    }

    #[test]
    fn an_operation_without_traffic_passes_with_its_whole_budget() {
        let telemetry = Telemetry::new();
        let report = telemetry.report_at(0, at());
        assert_eq!(report.operations.len(), OPERATIONS.len() + 1);
        let currency = row(&report, READ_OP);
        assert_eq!((currency.count, currency.errors, currency.p99_ms), (0, 0, 0.0));
        assert_eq!((currency.error_rate, currency.budget_left), (0.0, 1.0));
        assert!(currency.passing && report.passing);
        assert_eq!(currency.objective, SLO_READ);
        assert_eq!(currency.path.as_deref(), Some("/currency"));
    }

    #[test]
    fn quantiles_come_from_the_recorded_latencies() {
        let telemetry = Telemetry::new();
        for ms in 1..=100 {
            telemetry.record_at(position(READ_OP), Duration::from_millis(ms), CallOutcome::Ok, 3);
        }
        let currency = row(&telemetry.report_at(5, at()), READ_OP);
        assert_eq!(currency.count, 100);
        assert!(close(currency.p50_ms, 50.0), "p50 {}", currency.p50_ms);
        assert!(close(currency.p99_ms, 99.0), "p99 {}", currency.p99_ms);
        assert!(close(currency.max_ms, 100.0), "max {}", currency.max_ms);
        // 50 ms at p50 is far past a read's 2 ms objective.
        assert!(!currency.passing);
        assert_eq!(currency.errors, 0);
    }

    #[test]
    fn fast_calls_pass() {
        let telemetry = Telemetry::new();
        for us in [300, 500, 800, 1200] {
            telemetry.record_at(position(READ_OP), Duration::from_micros(us), CallOutcome::Ok, 0);
        }
        let currency = row(&telemetry.report_at(0, at()), READ_OP);
        assert!(currency.passing, "{currency:?}");
    }

    #[test]
    fn only_server_errors_spend_the_budget() {
        let telemetry = Telemetry::new();
        let write = position(WRITE_OP);
        for i in 0..2000 {
            let outcome = match i {
                0 => CallOutcome::ServerError,
                1..=99 => CallOutcome::ClientError,
                _ => CallOutcome::Ok,
            };
            telemetry.record_at(write, Duration::from_millis(1), outcome, 10);
        }
        let half_spent = row(&telemetry.report_at(10, at()), WRITE_OP);
        assert_eq!((half_spent.count, half_spent.errors, half_spent.client_errors), (2000, 1, 99));
        assert!(close(half_spent.error_rate, 0.0005));
        assert!(close(half_spent.budget_left, 0.5), "budget left {}", half_spent.budget_left);
        assert!(half_spent.passing);

        for _ in 0..3 {
            telemetry.record_at(write, Duration::from_millis(1), CallOutcome::ServerError, 11);
        }
        let overspent = row(&telemetry.report_at(11, at()), WRITE_OP);
        assert_eq!(overspent.errors, 4);
        assert_eq!(overspent.budget_left, 0.0);
        assert!(!overspent.passing);
        assert_eq!(overspent.lifetime_errors, 4);
        assert_eq!(overspent.lifetime_client_errors, 99);
    }

    #[test]
    fn the_window_forgets_old_buckets_but_lifetime_counters_do_not() {
        let telemetry = Telemetry::new();
        let read = position(READ_OP);
        telemetry.record_at(read, Duration::from_millis(1), CallOutcome::Ok, 5);
        telemetry.record_at(read, Duration::from_millis(1), CallOutcome::Ok, 55);
        assert_eq!(row(&telemetry.report_at(59, at()), READ_OP).count, 2);
        // At 61 s the window covers the buckets of 10..70 s: the call at 5 s has left it.
        assert_eq!(row(&telemetry.report_at(61, at()), READ_OP).count, 1);
        assert_eq!(row(&telemetry.report_at(130, at()), READ_OP).count, 0);
        // The call at 65 s reuses the ring slot of the call at 5 s and must not inherit it.
        telemetry.record_at(read, Duration::from_millis(7), CallOutcome::Ok, 65);
        let later = row(&telemetry.report_at(66, at()), READ_OP);
        assert_eq!(later.count, 2);
        assert_eq!(later.lifetime_count, 3);
    }

    #[test]
    fn event_delivery_has_its_own_row_and_objective() {
        let telemetry = Telemetry::new();
        telemetry.record_at(OPERATIONS.len(), Duration::from_millis(20), CallOutcome::Ok, 1);
        let delivery = row(&telemetry.report_at(1, at()), EVENT_DELIVERY);
        assert_eq!(delivery.objective, EVENT_DELIVERY_SLO);
        assert_eq!(delivery.count, 1);
        assert!(delivery.method.is_none() && delivery.ws_op.is_none());
    }

    #[test]
    fn recording_by_name_reaches_the_window_and_the_console() {
        let telemetry = Telemetry::new();
        telemetry.record(WRITE_OP, Duration::from_millis(2), CallOutcome::Ok);
        telemetry.record("GET /not-a-route", Duration::from_millis(2), CallOutcome::ClientError);
        telemetry.record_event_delivery(Duration::from_millis(3));
        let rows = telemetry.snapshot_endpoints();
        let names: Vec<&str> = rows.iter().map(|row| row.0.as_str()).collect();
        assert_eq!(names, [WRITE_OP, EVENT_DELIVERY]);
        let objective = find_by_name(WRITE_OP).map(|op| op.slo().p99_ms);
        assert_eq!(Some(rows[0].4), objective);
        assert_eq!(telemetry.endpoint_stats().len(), 2);
    }

    #[test]
    fn the_report_serializes_with_the_objective_per_operation() {
        let report = Telemetry::new().report_at(0, at());
        let text = serde_json::to_string(&report).unwrap_or_default();
        let back: SloReport = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(back, report);
        assert!(text.contains(r#""operation":"POST /currency/withdraw""#));
        assert!(text.contains(r#""class":"Write""#));
    }

    #[test]
    fn outcomes_follow_the_status() {
        assert_eq!(CallOutcome::from_code(ErrorCode::SERVICE_UNAVAILABLE), CallOutcome::ServerError);
        assert_eq!(CallOutcome::from_code(ErrorCode::INSUFFICIENT_FUNDS), CallOutcome::ClientError);
        assert_eq!(CallOutcome::from_status(201), CallOutcome::Ok);
    }

    #[test]
    fn prometheus_installs_once_and_renders_the_request_metrics() {
        let first = install_prometheus();
        let second = install_prometheus();
        Telemetry::new().record(READ_OP, Duration::from_millis(1), CallOutcome::Ok);
        first.run_upkeep();
        let text = second.render();
        assert!(text.contains(METRIC_REQUESTS), "{text}");
        assert!(text.contains("pzo_request_duration_seconds_bucket"), "{text}");
    }

    /// The registered handles count each outcome in its own series (no other test records this
    /// operation, so the counts are exact).
    #[test]
    fn prometheus_counts_each_outcome_of_an_operation() {
        const OP: &str = "GET /docs/errors";
        let handle = install_prometheus();
        let telemetry = Telemetry::new();
        for _ in 0..3 {
            telemetry.record(OP, Duration::from_millis(1), CallOutcome::ClientError);
        }
        telemetry.record(OP, Duration::from_millis(1), CallOutcome::ServerError);
        handle.run_upkeep();
        let text = handle.render();
        let value = |outcome: &str| {
            let series = format!(r#"{METRIC_REQUESTS}{{operation="{OP}",outcome="{outcome}"}} "#);
            text.lines().find_map(|line| line.strip_prefix(series.as_str())).map(str::to_owned)
        };
        assert_eq!(value("client_error").as_deref(), Some("3"), "{text}");
        assert_eq!(value("server_error").as_deref(), Some("1"), "{text}");
        assert_eq!(value("ok").as_deref(), Some("0"), "{text}");
    }
}
