//! The run's brakes: the request budget, the stop flag (Ctrl-C, budget spent, load window over)
//! and the hard deadline past which the watchdog ends the process.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// The measured phase: connections spread over `[start, ramp_end)`, traffic until `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadWindow {
    pub start: Instant,
    pub ramp_end: Instant,
    pub end: Instant,
}

impl LoadWindow {
    pub fn new(start: Instant, ramp: Duration, duration: Duration) -> Self {
        Self { start, ramp_end: start + ramp, end: start + ramp + duration }
    }

    /// When the `index`-th of `count` players starts, spread evenly over the ramp.
    pub fn ramp_slot(&self, index: usize, count: usize) -> Instant {
        self.start + ramp_offset(self.ramp_end - self.start, index, count)
    }
}

/// The offset of the `index`-th of `count` starts spread evenly over `ramp`.
pub fn ramp_offset(ramp: Duration, index: usize, count: usize) -> Duration {
    if count == 0 {
        return Duration::ZERO;
    }
    let index = u32::try_from(index.min(count)).unwrap_or(u32::MAX);
    let count = u32::try_from(count).unwrap_or(u32::MAX);
    ramp.mul_f64(f64::from(index) / f64::from(count))
}

/// Shared by every task of the run.
#[derive(Debug)]
pub struct RunControl {
    stopping: AtomicBool,
    stop_notify: Notify,
    requests_sent: AtomicU64,
    requests_max: u64,
    window: Mutex<Option<LoadWindow>>,
    hard_deadline: Mutex<Instant>,
}

impl RunControl {
    pub fn new(requests_max: u64, hard_deadline: Instant) -> Self {
        Self {
            stopping: AtomicBool::new(false),
            stop_notify: Notify::new(),
            requests_sent: AtomicU64::new(0),
            requests_max,
            window: Mutex::new(None),
            hard_deadline: Mutex::new(hard_deadline),
        }
    }

    /// Takes one request from the budget; false once it is spent (which also stops the run).
    pub fn take_request(&self) -> bool {
        let sent = self.requests_sent.fetch_add(1, Ordering::Relaxed);
        if sent >= self.requests_max {
            self.stop();
            return false;
        }
        // After the load window the closing checks (final balances, drains) still call the
        // server; only an explicit stop (Ctrl-C, budget spent) refuses new requests.
        !self.stopping.load(Ordering::Relaxed)
    }

    /// Requests sent (or attempted) so far.
    pub fn requests_sent(&self) -> u64 {
        self.requests_sent.load(Ordering::Relaxed).min(self.requests_max)
    }

    pub fn budget_spent(&self) -> bool {
        self.requests_sent.load(Ordering::Relaxed) >= self.requests_max
    }

    /// Asks every task to finish: no new traffic, only the closing checks.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Relaxed);
        self.stop_notify.notify_waiters();
    }

    /// Whether the run was asked to stop (Ctrl-C, budget spent), as opposed to its window ending.
    pub fn stop_requested(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    /// Whether new traffic should stop: asked to, or the load window is over.
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed) || self.window().is_some_and(|window| Instant::now() >= window.end)
    }

    /// Starts the measured phase now and tightens the hard deadline to `ramp + duration + grace`.
    pub fn begin_load(&self, ramp: Duration, duration: Duration, grace: Duration) -> LoadWindow {
        let window = LoadWindow::new(Instant::now(), ramp, duration);
        *self.window.lock().unwrap_or_else(PoisonError::into_inner) = Some(window);
        let mut deadline = self.hard_deadline.lock().unwrap_or_else(PoisonError::into_inner);
        *deadline = (*deadline).min(window.end + grace);
        window
    }

    pub fn window(&self) -> Option<LoadWindow> {
        *self.window.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn hard_deadline(&self) -> Instant {
        *self.hard_deadline.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sleeps until `at`; false (early) when the run stops or the load window ends first.
    pub async fn pause_until(&self, at: Instant) -> bool {
        let notified = self.stop_notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.stopping() {
            return false;
        }
        let end = self.window().map_or(at, |window| window.end);
        let until = at.min(end);
        tokio::select! {
            () = tokio::time::sleep_until(until) => at <= end && !self.stopping(),
            () = notified => false,
        }
    }

    /// Sleeps until `at` whatever happens to the load window, unless the run is asked to stop.
    pub async fn pause_until_unless_stopped(&self, at: Instant) -> bool {
        let notified = self.stop_notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.stopping.load(Ordering::Relaxed) {
            return false;
        }
        tokio::select! {
            () = tokio::time::sleep_until(at) => !self.stopping.load(Ordering::Relaxed),
            () = notified => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramp_spreads_evenly() {
        let ramp = Duration::from_secs(10);
        assert_eq!(ramp_offset(ramp, 0, 4), Duration::ZERO);
        assert_eq!(ramp_offset(ramp, 2, 4), Duration::from_secs(5));
        assert_eq!(ramp_offset(ramp, 9, 4), ramp);
        assert_eq!(ramp_offset(Duration::ZERO, 3, 4), Duration::ZERO);
        assert_eq!(ramp_offset(ramp, 0, 0), Duration::ZERO);
    }

    #[test]
    fn budget_stops_the_run() {
        let control = RunControl::new(2, Instant::now() + Duration::from_secs(60));
        assert!(control.take_request());
        assert!(control.take_request());
        assert!(!control.stopping());
        assert!(!control.take_request());
        assert!(control.stopping());
        assert!(control.budget_spent());
        assert_eq!(control.requests_sent(), 2);
    }

    #[test]
    fn stop_blocks_new_requests() {
        let control = RunControl::new(100, Instant::now() + Duration::from_secs(60));
        control.stop();
        assert!(!control.take_request());
    }

    #[tokio::test(start_paused = true)]
    async fn load_window_tightens_the_deadline_and_ends_pauses() {
        let control = RunControl::new(100, Instant::now() + Duration::from_secs(600));
        let window = control.begin_load(Duration::from_secs(5), Duration::from_secs(30), Duration::from_secs(30));
        assert_eq!(control.hard_deadline(), window.start + Duration::from_secs(65));
        assert!(control.pause_until(window.start + Duration::from_secs(10)).await);
        assert!(!control.pause_until(window.start + Duration::from_secs(100)).await);
        assert!(control.stopping());
        // Closing checks may still wait and send after the window.
        assert!(control.pause_until_unless_stopped(Instant::now() + Duration::from_secs(1)).await);
    }

    #[tokio::test(start_paused = true)]
    async fn stop_wakes_sleepers() {
        let control = std::sync::Arc::new(RunControl::new(100, Instant::now() + Duration::from_secs(600)));
        let sleeper = {
            let control = control.clone();
            tokio::spawn(async move { control.pause_until(Instant::now() + Duration::from_secs(50)).await })
        };
        tokio::task::yield_now().await;
        control.stop();
        assert!(!sleeper.await.unwrap());
    }
}
