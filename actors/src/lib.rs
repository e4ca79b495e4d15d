//! The state of PZO's actors and the pure rules they run.
//!
//! Everything here is plain data and plain functions: no IO, no clock, no randomness. The clock
//! and new ids come in through [`world::World`], so a seeded replay reproduces any run bit for
//! bit. The actor shells that hold this state and talk to the journal live in the server's
//! `src/actors/`.

#![forbid(unsafe_code)]

pub mod catalog;
pub mod effect;
pub mod leaderboard;
pub mod lobby;
pub mod ostree;
pub mod player;
pub mod replay;
pub mod waitlist;
pub mod world;

pub use effect::{Effect, EventDraft, Outcome};
pub use world::{IdSource, World};
