//! The PZO wire contract: every request, reply, event and error type, and the JSON and bincode codecs.
//!
//! This crate depends on no actix, tokio or postgres: it is shared by the server, the load-test
//! harness and the generated TypeScript client, so it must stay plain data.

#![forbid(unsafe_code)]

#[macro_use]
mod macros;

pub mod amount;
pub mod codec;
pub mod error;
pub mod event;
pub mod limits;
pub mod model;
pub mod reply;
pub mod request;
pub mod validate;

pub use amount::{AMOUNT_MAX, AmountInput, BALANCE_MAX};
pub use codec::{ClientFrame, Codec, FrameError, ServerFrame};
pub use error::{ApiError, ErrorBody, ErrorCode, ErrorDetails};
pub use event::{Event, EventData};
pub use reply::Reply;
pub use request::Request;

/// Player, game and waitlist-entry ids are UUIDs (SPEC section 4).
pub type UserId = uuid::Uuid;
/// A game lobby id.
pub type GameId = uuid::Uuid;
/// A waitlist entry id.
pub type EntryId = uuid::Uuid;
/// Wall-clock instants on the wire are RFC 3339 UTC.
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// A view of a tagged enum that serializes only its payload: the contract's JSON `data` shape.
#[derive(Debug, Clone, Copy)]
pub struct JsonData<'a, T>(pub &'a T);

/// Receives the variants of a `named_union!` enum, for the TypeScript generator (`tools/gen-ts`).
#[cfg(feature = "ts")]
pub trait TsVariantVisitor {
    /// One variant: its wire name (op, event type or reply kind) and its payload type.
    fn variant<T: ts_rs::TS + 'static>(&mut self, wire: &'static str);
}

/// The ts-rs the wire types derive `TS` with, so the generator uses the same version.
#[cfg(feature = "ts")]
pub use ts_rs;
