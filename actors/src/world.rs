//! The injected world of the rules: the current instant and a source of fresh ids.

use pzo_protocol::Timestamp;
use uuid::Uuid;

/// Where new ids come from: random in the server, seeded in simulations.
pub trait IdSource {
    fn next_id(&mut self) -> Uuid;
}

/// Ids from a seeded counter-based generator: the same seed gives the same ids.
#[derive(Debug, Clone)]
pub struct SeededIds {
    state: u64,
}

impl SeededIds {
    pub fn new(seed: u64) -> Self {
        Self { state: seed ^ 0x9E37_79B9_7F4A_7C15 }
    }
    fn next_u64(&mut self) -> u64 {
        // splitmix64: tiny, fast and good enough for ids in tests.
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl IdSource for SeededIds {
    fn next_id(&mut self) -> Uuid {
        let high = u128::from(self.next_u64()) << 64;
        uuid::Builder::from_random_bytes((high | u128::from(self.next_u64())).to_be_bytes()).into_uuid()
    }
}

/// What a rule may know about the world besides its state and command.
pub struct World<'a> {
    pub now: Timestamp,
    pub ids: &'a mut (dyn IdSource + Send),
}
