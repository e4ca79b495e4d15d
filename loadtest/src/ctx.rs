//! What every scenario task shares: the configuration, the brakes, the statistics, and the two
//! doors to the server.

use crate::answer::CallError;
use crate::cli::Config;
use crate::control::RunControl;
use crate::http::Http;
use crate::progress::Progress;
use crate::stats::Stats;
use crate::ws::SocketParams;
use std::sync::Arc;

#[derive(Debug)]
pub struct Ctx {
    pub config: Config,
    pub control: Arc<RunControl>,
    pub stats: Arc<Stats>,
    pub http: Http,
    pub sockets: SocketParams,
    /// Distinguishes this run's idempotency keys and lobby names from other runs'.
    pub run_id: String,
    /// The live progress bars.
    pub bars: Progress,
}

impl Ctx {
    /// Prints a warning now and keeps it for the report.
    pub fn note(&self, text: impl Into<String>) {
        let text = text.into();
        self.bars.println(format!("note: {text}"));
        self.stats.note(text);
    }

    /// Records a failed call against `check`, unless the run is stopping: a call refused
    /// because of Ctrl-C or a spent budget says nothing about the server. For calls whose
    /// faults nothing else grades (socket connects).
    pub fn fail_call(&self, check: &'static str, what: impl std::fmt::Display, error: &CallError) {
        if !matches!(error, CallError::Stopped) {
            self.stats.fail(check, format!("{what}: {error}"));
        }
    }

    /// Records a wrong answer (a refusal the scenario did not expect, or a reply of the wrong
    /// shape) against `check`. Server faults and timeouts are left to the operation's error
    /// budget, which already counts them, so one 503 is not also a correctness failure.
    pub fn fail_answer(&self, check: &'static str, what: impl std::fmt::Display, error: &CallError) {
        if matches!(error, CallError::Rejected(_) | CallError::Shape(_)) {
            self.stats.fail(check, format!("{what}: {error}"));
        }
    }

    /// Prints a progress line (to stderr, above the bars, so the report on stdout stays clean).
    pub fn progress(&self, text: impl AsRef<str>) {
        self.bars.println(text);
    }
}
