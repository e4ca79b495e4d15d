//! Relay payloads that carry their own send time, so a receiver in this process can measure
//! send-to-receipt latency against one monotonic clock: `lt1:<sender>:<number>:<sent_us>`.

use std::sync::OnceLock;
use std::time::Instant;

const STAMP_PREFIX: &str = "lt1";

/// Microseconds since the first call in this process (a monotonic clock all tasks share).
pub fn now_us() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    u64::try_from(epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// What a relay payload says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// The harness index of the sending player.
    pub sender: u32,
    /// The sender's message number, from 0.
    pub number: u64,
    pub sent_us: u64,
}

impl Stamp {
    pub fn encode(&self) -> String {
        format!("{STAMP_PREFIX}:{}:{}:{}", self.sender, self.number, self.sent_us)
    }

    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split(':');
        if parts.next()? != STAMP_PREFIX {
            return None;
        }
        let stamp = Self {
            sender: parts.next()?.parse().ok()?,
            number: parts.next()?.parse().ok()?,
            sent_us: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(stamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let stamp = Stamp { sender: 17, number: 4, sent_us: 123_456 };
        assert_eq!(Stamp::parse(&stamp.encode()), Some(stamp));
    }

    #[test]
    fn refuses_foreign_payloads() {
        for text in ["", "hello", "lt1:1:2", "lt1:1:2:3:4", "lt2:1:2:3", "lt1:x:2:3"] {
            assert_eq!(Stamp::parse(text), None, "{text}");
        }
    }

    #[test]
    fn clock_is_monotonic() {
        let a = now_us();
        let b = now_us();
        assert!(b >= a);
    }
}
