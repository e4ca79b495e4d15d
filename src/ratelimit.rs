//! A token bucket per caller: sustained `rate` per second with a burst of twice that.

use std::time::Instant;

#[derive(Debug, Clone)]
pub struct TokenBucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(rate_per_sec: u32, now: Instant) -> Self {
        let rate = f64::from(rate_per_sec.max(1));
        Self { tokens: rate * 2.0, rate, burst: rate * 2.0, last: now }
    }

    /// Takes one token; on refusal, answers how long until one is available.
    pub fn take(&mut self, now: Instant) -> Result<(), std::time::Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(std::time::Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn refuses_past_the_burst_and_refills() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10, start);
        for _ in 0..20 {
            assert!(bucket.take(start).is_ok());
        }
        assert!(bucket.take(start).is_err());
        assert!(bucket.take(start + Duration::from_millis(100)).is_ok());
    }
}
