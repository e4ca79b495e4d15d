//! Paces one player's traffic at a target rate without bursts: a player that falls behind
//! skips the missed slots instead of firing them all at once.

use std::time::Duration;
use tokio::time::Instant;

/// Shortest gap between two sends of one player.
const INTERVAL_MIN: Duration = Duration::from_micros(100);

/// A fixed-rate schedule.
#[derive(Debug, Clone)]
pub struct Pacer {
    interval: Duration,
    next: Instant,
}

impl Pacer {
    /// A schedule of `rate` per second whose first slot is `first`.
    pub fn new(rate: f64, first: Instant) -> Self {
        Self { interval: interval_of(rate), next: first }
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The next slot to wait for, given the time now; advances the schedule.
    pub fn next_slot(&mut self, now: Instant) -> Instant {
        // More than one interval late: the slots in between are dropped, not fired in a burst.
        if now > self.next + self.interval {
            self.next = now;
        }
        let slot = self.next;
        self.next += self.interval;
        slot
    }
}

/// The gap between sends at `rate` per second.
pub fn interval_of(rate: f64) -> Duration {
    if !(rate.is_finite() && rate > 0.0) {
        return Duration::from_secs(3600);
    }
    Duration::from_secs_f64(1.0 / rate).max(INTERVAL_MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(interval_of(2.0), Duration::from_millis(500));
        assert_eq!(interval_of(0.2), Duration::from_secs(5));
        assert_eq!(interval_of(1e9), INTERVAL_MIN);
        assert_eq!(interval_of(0.0), Duration::from_secs(3600));
    }

    #[test]
    fn keeps_a_steady_schedule() {
        let start = Instant::now();
        let mut pacer = Pacer::new(10.0, start);
        assert_eq!(pacer.next_slot(start), start);
        assert_eq!(pacer.next_slot(start), start + Duration::from_millis(100));
        // Slightly late: the schedule holds.
        assert_eq!(pacer.next_slot(start + Duration::from_millis(250)), start + Duration::from_millis(200));
    }

    #[test]
    fn skips_instead_of_bursting() {
        let start = Instant::now();
        let mut pacer = Pacer::new(10.0, start);
        pacer.next_slot(start);
        let late = start + Duration::from_secs(5);
        assert_eq!(pacer.next_slot(late), late);
        assert_eq!(pacer.next_slot(late), late + Duration::from_millis(100));
    }
}
