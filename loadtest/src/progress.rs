//! Live progress on stderr: an indicatif bar per phase (registration, connects, the load window)
//! with its rate and errors while stderr is a terminal; where it is not (CI logs, a file),
//! indicatif hides itself and each phase prints plain lines instead: one when it ends, and one
//! every [`PLAIN_LINE_INTERVAL`] while it runs.

use crate::stats::Stats;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::task::AbortHandle;
use tokio::time::Instant;

/// How often bars redraw and the load window's rate is sampled.
const TICK: Duration = Duration::from_millis(250);
/// How often the load window prints a plain line when no bar is shown.
const PLAIN_LINE_INTERVAL: Duration = Duration::from_secs(10);
/// Bars counting done/total: what, bar, count, rate, elapsed, errors.
const COUNTED_TEMPLATE: &str = "{prefix:>22} [{bar:30}] {pos}/{len} {per_sec:>9} {elapsed:>4}  {msg}";
/// The load window's bar: seconds through `ramp + duration`, then the live rate and errors.
const TIMED_TEMPLATE: &str = "{prefix:>22} [{bar:30}] {pos}/{len}s  {msg}";

/// The run's bars, and the one door for progress lines so they do not tear a bar.
#[derive(Debug)]
pub struct Progress {
    multi: MultiProgress,
    scenario: &'static str,
    /// The load window's bar while it runs, for [`Progress::set_detail`].
    load: Mutex<Option<Arc<Phase>>>,
}

impl Progress {
    pub fn new(scenario: &'static str) -> Self {
        Self { multi: MultiProgress::new(), scenario, load: Mutex::new(None) }
    }

    /// Prints a line above the bars, or plainly when they are hidden.
    pub fn println(&self, text: impl AsRef<str>) {
        let line = format!("[{}] {}", self.scenario, text.as_ref());
        if self.multi.is_hidden() || self.multi.println(&line).is_err() {
            eprintln!("{line}");
        }
    }

    /// A phase of `total` steps (players registered, sockets connected).
    pub fn counted(&self, what: &'static str, total: u64) -> Arc<Phase> {
        let bar = self.multi.add(ProgressBar::new(total));
        bar.set_style(style(COUNTED_TEMPLATE));
        let phase = Arc::new(Phase::start(self.scenario, what, bar));
        if phase.bar.is_hidden() {
            // No bar to watch: a long phase (100,000 registrations) still says how far it got.
            let ticker = tokio::spawn(tick_plain(phase.clone()));
            *lock(&phase.ticker) = Some(ticker.abort_handle());
        }
        phase
    }

    /// The load window of `length`: its bar shows the seconds gone and, sampled from `stats`,
    /// the request rate and the failures; it lasts until [`Progress::finish_load`].
    pub fn start_load(&self, length: Duration, stats: Arc<Stats>) {
        let bar = self.multi.add(ProgressBar::new(length.as_secs().max(1)));
        bar.set_style(style(TIMED_TEMPLATE));
        let phase = Arc::new(Phase::start(self.scenario, "load", bar));
        let ticker = tokio::spawn(tick_load(phase.clone(), stats));
        *lock(&phase.ticker) = Some(ticker.abort_handle());
        if let Some(previous) = lock(&self.load).replace(phase) {
            previous.finish("replaced");
        }
    }

    /// A scenario's own counters for the load window's line (admitted players, games).
    pub fn set_detail(&self, detail: impl Into<String>) {
        if let Some(load) = lock(&self.load).as_ref() {
            *lock(&load.detail) = detail.into();
        }
    }

    /// Ends the load window's bar with its totals.
    pub fn finish_load(&self, stats: &Stats) {
        if let Some(load) = lock(&self.load).take() {
            let (count, failed) = stats.totals();
            let seconds = load.started.elapsed().as_secs_f64().max(0.001);
            load.finish(format!("{count} requests ({:.0}/s), {failed} failed", count as f64 / seconds));
        }
    }
}

fn style(template: &str) -> ProgressStyle {
    // The templates are constants; a bad one falls back to the default bar rather than panic.
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()).progress_chars("=> ")
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One phase's bar and its error count.
#[derive(Debug)]
pub struct Phase {
    bar: ProgressBar,
    scenario: &'static str,
    what: &'static str,
    started: Instant,
    errors: AtomicU64,
    detail: Mutex<String>,
    ticker: Mutex<Option<AbortHandle>>,
    finished: AtomicBool,
}

impl Phase {
    fn start(scenario: &'static str, what: &'static str, bar: ProgressBar) -> Self {
        bar.set_prefix(what);
        bar.enable_steady_tick(TICK);
        Self {
            bar,
            scenario,
            what,
            started: Instant::now(),
            errors: AtomicU64::new(0),
            detail: Mutex::default(),
            ticker: Mutex::default(),
            finished: AtomicBool::new(false),
        }
    }

    /// One step done; the last step ends the phase.
    pub fn done(&self) {
        self.bar.inc(1);
        self.finish_when_complete();
    }

    /// One step failed: it counts as a step, and as an error.
    pub fn failed(&self) {
        let errors = self.errors.fetch_add(1, Ordering::Relaxed) + 1;
        self.bar.set_message(format!("{errors} errors"));
        self.bar.inc(1);
        self.finish_when_complete();
    }

    fn finish_when_complete(&self) {
        if self.bar.length().is_some_and(|total| self.bar.position() >= total) {
            self.finish("");
        }
    }

    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// Ends the phase (once): the bar stays with `summary`, or, hidden, one plain line says it.
    pub fn finish(&self, summary: impl AsRef<str>) {
        if self.finished.swap(true, Ordering::Relaxed) {
            return;
        }
        if let Some(ticker) = lock(&self.ticker).take() {
            ticker.abort();
        }
        let line = self.line(summary.as_ref());
        if self.bar.is_hidden() {
            if self.bar.length() == Some(0) {
                // A phase with nothing to do (no stragglers to admit) says nothing.
                return;
            }
            eprintln!("[{}] {line}", self.scenario);
        } else {
            self.bar.finish_with_message(summary.as_ref().to_owned());
        }
    }

    /// `what: done/total in 3.1s (64/s), 0 errors; summary`.
    fn line(&self, summary: &str) -> String {
        let seconds = self.started.elapsed().as_secs_f64();
        let done = self.bar.position();
        let mut line = match self.bar.length() {
            Some(total) if self.what != "load" => format!(
                "{}: {done}/{total} in {seconds:.1}s ({:.0}/s), {} errors",
                self.what,
                done as f64 / seconds.max(0.001),
                self.errors()
            ),
            _ => format!("{}: {seconds:.1}s", self.what),
        };
        if !summary.is_empty() {
            line.push_str("; ");
            line.push_str(summary);
        }
        line
    }
}

impl Drop for Phase {
    fn drop(&mut self) {
        if let Some(ticker) = lock(&self.ticker).take() {
            ticker.abort();
        }
    }
}

/// Prints a counted phase's line every [`PLAIN_LINE_INTERVAL`] until it finishes.
async fn tick_plain(phase: Arc<Phase>) {
    loop {
        tokio::time::sleep(PLAIN_LINE_INTERVAL).await;
        eprintln!("[{}] {}", phase.scenario, phase.line("running"));
    }
}

/// Moves the load bar with the clock and shows the rate over the last tick.
async fn tick_load(phase: Arc<Phase>, stats: Arc<Stats>) {
    let mut last = (Instant::now(), 0_u64);
    let mut plain_at = Instant::now() + PLAIN_LINE_INTERVAL;
    loop {
        tokio::time::sleep(TICK).await;
        let now = Instant::now();
        let (count, failed) = stats.totals();
        let rate = count.saturating_sub(last.1) as f64 / now.duration_since(last.0).as_secs_f64().max(0.001);
        last = (now, count);
        let detail = lock(&phase.detail).clone();
        let message = live_message(&detail, rate, count, failed);
        phase.bar.set_position(phase.started.elapsed().as_secs().min(phase.bar.length().unwrap_or(u64::MAX)));
        if phase.bar.is_hidden() {
            if now >= plain_at {
                plain_at = now + PLAIN_LINE_INTERVAL;
                eprintln!("[{}] load: {:.0}s, {message}", phase.scenario, phase.started.elapsed().as_secs_f64());
            }
        } else {
            phase.bar.set_message(message);
        }
    }
}

/// `detail | 1234 req/s, 56789 requests, 0 failed`.
fn live_message(detail: &str, rate: f64, count: u64, failed: u64) -> String {
    let numbers = format!("{rate:.0} req/s, {count} requests, {failed} failed");
    if detail.is_empty() { numbers } else { format!("{detail} | {numbers}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_message_shows_rate_and_errors() {
        assert_eq!(live_message("", 12.4, 100, 2), "12 req/s, 100 requests, 2 failed");
        assert_eq!(live_message("admitted 5", 1.0, 1, 0), "admitted 5 | 1 req/s, 1 requests, 0 failed");
    }

    #[test]
    fn hidden_phases_count_steps_and_errors() {
        // Under `cargo test` stderr is not a terminal for indicatif's purposes or is captured;
        // either way the counts are kept.
        let phase = Phase::start("test", "register", ProgressBar::hidden());
        phase.bar.set_length(3);
        phase.done();
        phase.failed();
        assert_eq!((phase.bar.position(), phase.errors()), (2, 1));
        assert!(phase.line("").starts_with("register: 2/3 in "));
        assert!(phase.line("").ends_with("1 errors"));
        assert!(phase.line("all in").ends_with("; all in"));
        assert!(!phase.finished.load(Ordering::Relaxed));
        // The last step ends the phase once; a later finish changes nothing.
        phase.done();
        assert!(phase.finished.load(Ordering::Relaxed));
        phase.finish("again");
    }
}
