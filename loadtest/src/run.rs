//! One run from start to report: builds the shared context, fetches the SLO table, runs the
//! scenario under the watchdog and Ctrl-C, then grades, prints and writes the report.

use crate::chart;
use crate::cli::Config;
use crate::control::RunControl;
use crate::ctx::Ctx;
use crate::http::Http;
use crate::progress::Progress;
use crate::report::{EXIT_ABORTED, EXIT_USAGE, Report, RunInfo};
use crate::scenarios;
use crate::server_counts::{self, CountRow, Snapshot};
use crate::slo::{SloError, SloTable};
use crate::sources::Sources;
use crate::stats::Stats;
use crate::ws::SocketParams;
use pzo_protocol::Codec;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// How often the watchdog looks at the clock.
const WATCHDOG_TICK: Duration = Duration::from_millis(250);

/// What the closing report needs, shared with the watchdog.
struct Finisher {
    ctx: Arc<Ctx>,
    slo: SloTable,
    slo_source: &'static str,
    reported: AtomicBool,
}

/// Runs the configured scenario and returns the process exit code.
pub async fn run(config: Config) -> i32 {
    let started = Instant::now();
    let stats = Arc::new(Stats::default());
    let control =
        Arc::new(RunControl::new(config.max_requests, started + config.setup_timeout + config.load_hard_cap()));
    let addr = match config.target.socket_addr() {
        Ok(addr) => addr,
        Err(error) => {
            eprintln!("error: cannot resolve {}: {error}", config.target.base());
            return EXIT_ABORTED;
        }
    };
    let sources = match Sources::plan(config.source_ips, addr.ip(), config.players) {
        Ok(sources) => sources,
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_USAGE;
        }
    };
    let http = match Http::new(config.target.clone(), &config.admin_token, control.clone(), stats.clone(), &sources) {
        Ok(http) => http,
        Err(error) => {
            eprintln!("error: cannot build the HTTP client: {error}");
            return EXIT_ABORTED;
        }
    };
    let sockets = SocketParams {
        url: config.target.socket(),
        addr,
        sources: sources.clone(),
        codec: config.codec,
        control: control.clone(),
        stats: stats.clone(),
    };
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    let bars = Progress::new(config.scenario.name());
    let ctx = Arc::new(Ctx { config, control, stats, http, sockets, run_id, bars });
    if sources.len() > 1 {
        ctx.progress(format!(
            "connecting from {} loopback addresses (127.0.0.1 to 127.0.0.{})",
            sources.len(),
            sources.len()
        ));
    }
    let (slo, slo_source) = match fetch_slo(&ctx).await {
        Ok(table) => table,
        Err(reason) => {
            eprintln!("error: {reason}");
            return EXIT_ABORTED;
        }
    };
    let before = snapshot(&ctx).await.map(|snapshot| (snapshot, Instant::now()));
    let finisher = Arc::new(Finisher { ctx: ctx.clone(), slo, slo_source, reported: AtomicBool::new(false) });
    tokio::spawn(watchdog(finisher.clone(), started));
    tokio::spawn(interrupt(ctx.clone()));
    scenarios::run(ctx.clone()).await;
    ctx.bars.finish_load(&ctx.stats);
    let aborted = if ctx.control.budget_spent() {
        ctx.note(format!(
            "the request budget (--max-requests {}) ran out; the run stopped early and its closing checks were skipped",
            ctx.config.max_requests
        ));
        None
    } else if ctx.control.stop_requested() {
        Some("interrupted".to_owned())
    } else {
        None
    };
    let counts =
        if aborted.is_none() && !ctx.control.budget_spent() { compare_counts(&ctx, before).await } else { Vec::new() };
    finisher.finish(aborted, counts)
}

/// The server's request counts now (`GET /metrics` and `GET /slo`).
async fn snapshot(ctx: &Ctx) -> Result<Snapshot, String> {
    let metrics = ctx.http.get_unrecorded("/metrics").await.map_err(|error| format!("GET /metrics: {error}"))?;
    let slo = ctx.http.get_unrecorded("/slo").await.map_err(|error| format!("GET /slo: {error}"))?;
    Snapshot::parse(&metrics, &slo).map_err(|error| error.to_string())
}

/// Compares the server's counts with what the run sent and records the checks; the rows.
async fn compare_counts(ctx: &Ctx, before: Result<(Snapshot, Instant), String>) -> Vec<CountRow> {
    let after = snapshot(ctx).await;
    let ((before, at), after) = match (before, after) {
        (Ok(before), Ok(after)) => (before, after),
        (Err(error), _) | (_, Err(error)) => {
            ctx.note(format!("the server's counts were not compared with the harness's: {error}"));
            return Vec::new();
        }
    };
    let rows = server_counts::compare(&before, &after, &ctx.stats.op_summaries(), at.elapsed());
    let stats = &ctx.stats;
    for row in &rows {
        stats.check(server_counts::CHECK_METRICS, row.metrics_ok, || {
            server_counts::describe(row, "/metrics", Some(row.metrics_delta))
        });
        if let Some(held) = row.slo_lifetime_ok {
            stats.check(server_counts::CHECK_SLO_LIFETIME, held, || {
                server_counts::describe(row, "/slo lifetime_count", row.slo_lifetime_delta)
            });
        }
        if let Some(held) = row.slo_window_ok {
            stats.check(server_counts::CHECK_SLO_WINDOW, held, || {
                server_counts::describe(row, "/slo window count", row.slo_window)
            });
        }
    }
    rows
}

/// The SLO table: the server's, or the built-in one with a warning. Fails only when the server
/// cannot be reached at all.
async fn fetch_slo(ctx: &Ctx) -> Result<(SloTable, &'static str), String> {
    let body = ctx
        .http
        .get_unrecorded("/slo")
        .await
        .map_err(|error| format!("cannot reach {} ({error}); is the server running?", ctx.config.target.base()))?;
    match SloTable::from_envelope(&body) {
        Ok(table) => {
            ctx.progress(format!("graded against GET /slo ({} operations)", table.server_len()));
            Ok((table, "server"))
        }
        Err(error) => {
            let error: SloError = error;
            ctx.note(format!("{error}; grading against the built-in SLOs (reads 10 ms, writes 50 ms, register/login 250 ms, error budget 0.1%)"));
            Ok((SloTable::defaults(), "defaults"))
        }
    }
}

/// Ends the process with a partial report when setup or the load phase overruns its cap.
async fn watchdog(finisher: Arc<Finisher>, started: Instant) {
    let ctx = &finisher.ctx;
    loop {
        tokio::time::sleep(WATCHDOG_TICK).await;
        let now = Instant::now();
        let reason = match ctx.control.window() {
            None if now >= started + ctx.config.setup_timeout => "setup took longer than --setup-timeout",
            Some(_) if now >= ctx.control.hard_deadline() => "hard cap (ramp + duration + 30 s) reached",
            _ => continue,
        };
        ctx.control.stop();
        let code = finisher.finish(Some(reason.to_owned()), Vec::new());
        std::process::exit(code);
    }
}

/// The first Ctrl-C stops the run gracefully; the second ends it at once.
async fn interrupt(ctx: Arc<Ctx>) {
    if tokio::signal::ctrl_c().await.is_ok() {
        eprintln!("interrupted: stopping (Ctrl-C again to quit at once)");
        ctx.control.stop();
    }
    if tokio::signal::ctrl_c().await.is_ok() {
        std::process::exit(EXIT_ABORTED);
    }
}

impl Finisher {
    /// Grades, prints and writes the report (and the chart) once; the exit code.
    fn finish(&self, aborted: Option<String>, counts: Vec<CountRow>) -> i32 {
        let ctx = &self.ctx;
        let config = &ctx.config;
        let run = RunInfo {
            scenario: config.scenario.name(),
            url: config.target.base().to_owned(),
            codec: match config.codec {
                Codec::Bincode => "bincode",
                Codec::Json => "json",
            },
            players: config.players,
            duration_s: config.duration.as_secs_f64(),
            ramp_s: config.ramp.as_secs_f64(),
            rate_per_player: config.rate,
            slo_source: self.slo_source,
        };
        let mut report = Report::build(run, &ctx.stats, &self.slo, ctx.control.requests_sent(), aborted);
        report.server_counts = counts;
        if self.reported.swap(true, Ordering::SeqCst) {
            return report.exit_code();
        }
        if let Some(path) = &config.chart {
            let histograms = ctx.stats.latency_histograms();
            let series: Vec<chart::Series<'_>> = histograms.iter().map(|(op, h)| (op.as_str(), h)).collect();
            let title = format!(
                "pzo-loadtest {}: {} players, {} codec, latency by percentile",
                config.scenario.name(),
                config.players,
                report.run.codec
            );
            match chart::write_svg(path, &title, &series) {
                Ok(()) => report.chart = Some(path.display().to_string()),
                Err(error) => eprintln!("error: cannot write the chart {}: {error}", path.display()),
            }
        }
        print!("{}", report.render());
        if let Some(path) = &config.report
            && let Err(error) = report.write_json(path)
        {
            eprintln!("error: cannot write {}: {error}", path.display());
        }
        report.exit_code()
    }
}
