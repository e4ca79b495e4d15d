//! Capacity-aware admission (`waitlist.auto`): while enabled, every interval it admits the next
//! wave of waiting players, but only while the server's own live SLO compliance has headroom,
//! and pauses when it does not. A launch then lets players in as fast as the backend keeps its
//! promises, instead of at a rate an operator guessed beforehand.
//!
//! The decision is a pure function of the `/slo` report ([`decide`]); the task around it asks
//! the waitlist actor for the wave like any admin call would (it sits above the waitlist in the
//! call graph, beside the HTTP handlers), and every change of decision is stored as an
//! `ADMIN_ACTION` event, so the admin console's tail shows when and why admission paused.

use crate::app::App;
use crate::telemetry::{OperationSlo, SloReport};
use pzo_protocol::event::AdminAction;
use pzo_protocol::limits::ADMIT_WAVE_MAX;
use pzo_protocol::model::WaitlistStatus;
use pzo_protocol::reply::{AdmissionAction, AdmissionDecision, AdmitReply, AutoAdmission};
use pzo_protocol::request::AutoAdmitArgs;
use pzo_protocol::{ApiError, Timestamp};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;
use tokio::sync::Notify;

/// A wave may go in only while every operation's p99 is at most this share of its objective:
/// the wave itself adds load, so admitting right up to the objective would overshoot it.
pub const P99_HEADROOM_SHARE: f64 = 0.8;
/// ... and while every operation keeps at least this share of its error budget.
pub const ERROR_BUDGET_LEFT_MIN: f64 = 0.2;
/// Operations with fewer calls than this in the window are not judged: the p99 of a handful
/// of calls is their slowest one, noise rather than a sign of load.
pub const SAMPLES_MIN: u64 = 20;
/// The `action` of the `ADMIN_ACTION` events that record decisions (`waitlist.auto` records
/// the operator's settings).
pub const DECISION_ACTION: &str = "auto_admission";
/// Decision interval bounds, in milliseconds.
pub const INTERVAL_MS_MIN: u64 = 100;
pub const INTERVAL_MS_MAX: u64 = 3_600_000;

/// What the SLO report allows, and why.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Admit { reason: String },
    Pause { reason: String },
}

/// Decides from one `/slo` report whether a wave may go in. Operations with less than
/// [`SAMPLES_MIN`] calls in the window are not judged; the tightest judged one is named either way.
pub fn decide(report: &SloReport) -> Verdict {
    let busy = report.operations.iter().filter(|op| op.count >= SAMPLES_MIN);
    let tightest = busy.clone().max_by(|a, b| p99_share(a).total_cmp(&p99_share(b)));
    if let Some(op) = busy.clone().find(|op| op.budget_left < ERROR_BUDGET_LEFT_MIN) {
        return Verdict::Pause {
            reason: format!("{}: {:.0}% of the error budget left", op.operation, op.budget_left * 100.0),
        };
    }
    match tightest {
        Some(op) if p99_share(op) > P99_HEADROOM_SHARE => Verdict::Pause {
            reason: format!(
                "{}: p99 {:.1} ms is {:.0}% of its {:.0} ms objective",
                op.operation,
                op.p99_ms,
                p99_share(op) * 100.0,
                op.objective.p99_ms
            ),
        },
        Some(op) => Verdict::Admit {
            reason: format!(
                "headroom: tightest is {} at {:.0}% of its p99 objective",
                op.operation,
                p99_share(op) * 100.0
            ),
        },
        None => Verdict::Admit { reason: "headroom: too little traffic in the window to judge".to_owned() },
    }
}

fn p99_share(op: &OperationSlo) -> f64 {
    if op.objective.p99_ms > 0.0 { op.p99_ms / op.objective.p99_ms } else { 0.0 }
}

/// The settings and the record of decisions, shared by the task, `waitlist.auto` and the stats.
pub struct AutoAdmitter {
    state: Mutex<AutoAdmission>,
    /// Wakes the task when the settings change, so a new interval applies at once.
    changed: Notify,
}

impl AutoAdmitter {
    pub fn new(enabled: bool, wave: u64, interval: Duration) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(AutoAdmission {
                enabled,
                wave,
                interval_ms: u64::try_from(interval.as_millis()).unwrap_or(INTERVAL_MS_MAX),
                waves_admitted: 0,
                players_admitted: 0,
                last_decision: None,
            }),
            changed: Notify::new(),
        })
    }

    /// The settings and the latest decision.
    pub fn view(&self) -> AutoAdmission {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Applies `waitlist.auto`: checks every given field first, so a refused call changes nothing.
    pub fn configure(&self, args: AutoAdmitArgs) -> Result<AutoAdmission, ApiError> {
        let wave = args
            .wave
            .map(|w| {
                u64::try_from(w)
                    .ok()
                    .filter(|w| (1..=u64::from(ADMIT_WAVE_MAX)).contains(w))
                    .ok_or_else(|| ApiError::validation("wave", "must be 1 to 100000"))
            })
            .transpose()?;
        let interval_ms = args
            .interval_ms
            .map(|ms| {
                u64::try_from(ms)
                    .ok()
                    .filter(|ms| (INTERVAL_MS_MIN..=INTERVAL_MS_MAX).contains(ms))
                    .ok_or_else(|| ApiError::validation("interval_ms", "must be 100 to 3600000"))
            })
            .transpose()?;
        let view = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(enabled) = args.enabled {
                state.enabled = enabled;
            }
            if let Some(wave) = wave {
                state.wave = wave;
            }
            if let Some(interval_ms) = interval_ms {
                state.interval_ms = interval_ms;
            }
            state.clone()
        };
        self.changed.notify_one();
        Ok(view)
    }

    /// Records a decision; answers whether its action differs from the previous one.
    fn record(&self, decision: AdmissionDecision) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if decision.action == AdmissionAction::Admit {
            state.waves_admitted += 1;
            state.players_admitted += decision.admitted;
        }
        let changed = state.last_decision.as_ref().is_none_or(|last| last.action != decision.action);
        state.last_decision = Some(decision);
        changed
    }
}

/// Admits the next `count` waiting players, first activating the player actors of those among
/// them who have a socket open. Waiting players hold sockets without live actors (an idle socket
/// costs no player state), so without this a wave's first commands (a client's reads and the
/// operator's welcome deposits right after `SEASON0_JOINED`) would all queue behind the wave's
/// activations at once: 1,000 players in waves took the deposits' p99 from 36 to 156 ms.
pub async fn admit_wave(app: &Arc<App>, count: usize) -> Result<AdmitReply, ApiError> {
    // A hint: a wave whose players cannot be listed is admitted cold rather than refused.
    if let Ok(next) = app.waitlist.list(Some(WaitlistStatus::Waiting), 0, count).await {
        crate::actors::player::warm(app, next.iter().map(|entry| entry.user_id)).await;
    }
    app.waitlist.admit(count, None).await
}

/// What the task needs; it holds the application weakly, so it never keeps it alive (the
/// admitter it waits on is its own handle).
pub struct AdmissionTask {
    pub app: Weak<App>,
    pub admitter: Arc<AutoAdmitter>,
    pub clock: fn() -> Timestamp,
}

impl AdmissionTask {
    /// Runs for the life of the server: sleeps an interval (or until the settings change), then
    /// decides if enabled.
    pub fn spawn(self) {
        crate::runtime::spawn(async move {
            loop {
                let interval = Duration::from_millis(self.admitter.view().interval_ms);
                tokio::select! {
                    () = tokio::time::sleep(interval) => {}
                    () = self.admitter.changed.notified() => continue,
                }
                let settings = self.admitter.view();
                if settings.enabled {
                    self.tick(settings.wave).await;
                }
            }
        });
    }

    async fn tick(&self, wave: u64) {
        let Some(app) = self.app.upgrade() else { return };
        let waiting = match app.waitlist.status(None).await {
            Ok(status) => status.waiting_count,
            Err(_) => return,
        };
        let (action, admitted, reason) = if waiting == 0 {
            (AdmissionAction::Idle, 0, "nobody is waiting".to_owned())
        } else {
            match decide(&app.telemetry.report()) {
                Verdict::Pause { reason } => (AdmissionAction::Pause, 0, reason),
                Verdict::Admit { reason } => {
                    let count = usize::try_from(wave).unwrap_or(usize::MAX);
                    match admit_wave(&app, count).await {
                        Ok(reply) => (AdmissionAction::Admit, reply.count, reason),
                        Err(error) => (AdmissionAction::Failed, 0, format!("the wave was not committed: {error}")),
                    }
                }
            }
        };
        metrics::counter!("pzo_auto_admission_decisions_total", "action" => action_name(action)).increment(1);
        let decision = AdmissionDecision { at: (self.clock)(), action, admitted, reason: reason.clone() };
        // Every wave and every change of decision is stored; a steady pause is not repeated.
        if self.admitter.record(decision) || action == AdmissionAction::Admit {
            let target = if action == AdmissionAction::Admit {
                format!("admit {admitted}")
            } else {
                action_name(action).to_owned()
            };
            let audit = AdminAction { action: DECISION_ACTION.to_owned(), target, reason: Some(reason) };
            crate::dispatch::store_admin_action(&app.journal, (self.clock)(), audit).await;
        }
    }
}

fn action_name(action: AdmissionAction) -> &'static str {
    match action {
        AdmissionAction::Admit => "admit",
        AdmissionAction::Pause => "pause",
        AdmissionAction::Idle => "idle",
        AdmissionAction::Failed => "failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::Telemetry;

    fn report_with(ops: &[(&str, u64, f64, f64, f64)]) -> SloReport {
        let telemetry = Telemetry::new();
        let mut report = telemetry.report();
        for (name, count, p99_ms, objective_p99_ms, budget_left) in ops {
            let op = report.operations.iter_mut().find(|op| op.operation == *name).expect("operation in the table");
            op.count = *count;
            op.p99_ms = *p99_ms;
            op.objective.p99_ms = *objective_p99_ms;
            op.budget_left = *budget_left;
        }
        report
    }

    #[test]
    fn an_idle_server_has_headroom() {
        assert!(matches!(decide(&report_with(&[])), Verdict::Admit { .. }));
    }

    #[test]
    fn admits_while_every_p99_is_under_its_share_of_the_objective() {
        let report = report_with(&[("ws currency.withdraw", 500, 30.0, 50.0, 1.0), ("ws ping", 900, 1.0, 5.0, 1.0)]);
        let Verdict::Admit { reason } = decide(&report) else { panic!("expected admit") };
        assert!(reason.contains("ws currency.withdraw"), "names the tightest operation: {reason}");
    }

    #[test]
    fn pauses_when_a_p99_nears_its_objective() {
        let report = report_with(&[("ws currency.withdraw", 500, 45.0, 50.0, 1.0), ("ws ping", 900, 1.0, 5.0, 1.0)]);
        let Verdict::Pause { reason } = decide(&report) else { panic!("expected pause") };
        assert!(reason.contains("ws currency.withdraw") && reason.contains("90%"), "{reason}");
    }

    #[test]
    fn pauses_when_an_error_budget_is_nearly_spent() {
        let report = report_with(&[("ws ping", 900, 1.0, 5.0, 0.1)]);
        let Verdict::Pause { reason } = decide(&report) else { panic!("expected pause") };
        assert!(reason.contains("error budget"), "{reason}");
    }

    #[test]
    fn operations_with_too_few_calls_do_not_pause_admission() {
        let report = report_with(&[("ws currency.withdraw", 0, 400.0, 50.0, 0.0), ("ws ping", 19, 9.0, 5.0, 0.0)]);
        assert!(matches!(decide(&report), Verdict::Admit { .. }));
    }

    #[test]
    fn a_refused_setting_changes_nothing() {
        let admitter = AutoAdmitter::new(false, 100, Duration::from_secs(5));
        let before = admitter.view();
        let refused = admitter.configure(AutoAdmitArgs { enabled: Some(true), wave: Some(0), interval_ms: None });
        assert!(refused.is_err());
        let refused = admitter.configure(AutoAdmitArgs { enabled: Some(true), wave: None, interval_ms: Some(5) });
        assert!(refused.is_err());
        assert_eq!(admitter.view(), before);
        let applied = admitter
            .configure(AutoAdmitArgs { enabled: Some(true), wave: Some(50), interval_ms: None })
            .expect("valid settings");
        assert!(applied.enabled && applied.wave == 50 && applied.interval_ms == 5000);
    }

    #[test]
    fn only_a_change_of_action_counts_as_news() {
        let admitter = AutoAdmitter::new(true, 10, Duration::from_secs(1));
        let decision =
            |action, admitted| AdmissionDecision { at: chrono::Utc::now(), action, admitted, reason: String::new() };
        assert!(admitter.record(decision(AdmissionAction::Pause, 0)));
        assert!(!admitter.record(decision(AdmissionAction::Pause, 0)));
        assert!(admitter.record(decision(AdmissionAction::Admit, 10)));
        assert!(!admitter.record(decision(AdmissionAction::Admit, 10)));
        let view = admitter.view();
        assert_eq!((view.waves_admitted, view.players_admitted), (2, 20));
    }
}
