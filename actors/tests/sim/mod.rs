//! The deterministic simulation of the whole domain: a seeded workload over the pure rules, the
//! thin shells the actors wrap them in, the invariants, the replay and the state hash.

pub mod check;
pub mod hash;
pub mod replay;
pub mod rng;
pub mod runner;
pub mod system;
pub mod workload;
