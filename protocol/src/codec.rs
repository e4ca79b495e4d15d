//! Socket frames and their two codecs: `pzo.v1.json` (text) and `pzo.v1.bincode` (binary,
//! bincode 2 standard configuration). Both carry the same Rust types.

use crate::error::ErrorBody;
use crate::event::Event;
use crate::reply::Reply;
use crate::request::{NoArgs, RelayPayload, Request};
use crate::{GameId, UserId};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The negotiated subprotocol of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Codec {
    Json,
    Bincode,
}

impl Codec {
    pub const JSON_PROTOCOL: &'static str = "pzo.v1.json";
    pub const BINCODE_PROTOCOL: &'static str = "pzo.v1.bincode";

    pub fn protocol(self) -> &'static str {
        match self {
            Self::Json => Self::JSON_PROTOCOL,
            Self::Bincode => Self::BINCODE_PROTOCOL,
        }
    }
    pub fn from_protocol(name: &str) -> Option<Self> {
        match name.trim() {
            Self::JSON_PROTOCOL => Some(Self::Json),
            Self::BINCODE_PROTOCOL => Some(Self::Bincode),
            _ => None,
        }
    }
}

fn bincode_config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// Server frames are bounded by what the server sends (a resume page of `RESUME_EVENTS_MAX`
/// events is ~80 KB), not by the client frame limit; still bounded, so a forged prefix is refused.
fn bincode_server_decode_config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<{ crate::limits::SERVER_FRAME_DECODE_BYTES_MAX }>()
}

/// Decoding is bounded by the frame limit, so a forged length prefix cannot make the decoder
/// reserve more memory than a frame may hold.
fn bincode_decode_config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<{ crate::limits::WS_FRAME_BYTES_MAX }>()
}

/// Why a client frame could not be decoded. Small and allocation-free except for the serde
/// message of a bad payload, which the client needs to fix its request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("the frame is not valid JSON of the shape {{\"id\", \"op\", \"args\"}}")]
    Malformed,
    #[error("the frame is not a valid bincode ClientFrame")]
    MalformedBinary,
    #[error("unknown op")]
    UnknownOp { id: u32 },
    #[error("bad args: {message}")]
    BadArgs { id: u32, message: Box<str> },
    /// `users.update_preferences` whose preferences (not the rest) failed to parse.
    #[error("preferences: {message}")]
    BadPreferences { id: u32, message: Box<str> },
}

impl FrameError {
    /// The request id, when the frame got far enough to have one.
    pub fn request_id(&self) -> Option<u32> {
        match self {
            Self::Malformed | Self::MalformedBinary => None,
            Self::UnknownOp { id } | Self::BadArgs { id, .. } | Self::BadPreferences { id, .. } => Some(*id),
        }
    }
}

/// One request from a client: `{"id": <u32>, "op": "<service>.<action>", "args": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientFrame {
    pub id: u32,
    pub request: Request,
}

#[derive(Deserialize)]
struct JsonClientFrame<'a> {
    id: u32,
    #[serde(borrow)]
    op: &'a str,
    #[serde(borrow, default)]
    args: Option<&'a serde_json::value::RawValue>,
}

#[derive(Serialize)]
struct JsonClientFrameOut<'a> {
    id: u32,
    op: &'static str,
    args: crate::JsonData<'a, Request>,
}

impl ClientFrame {
    /// Decodes a text frame.
    pub fn decode_json(text: &str) -> Result<Self, FrameError> {
        let frame: JsonClientFrame<'_> = serde_json::from_str(text).map_err(|_| FrameError::Malformed)?;
        let raw = frame.args.map_or("{}", |raw| if raw.get() == "null" { "{}" } else { raw.get() });
        match Request::decode_json(frame.op, raw) {
            None => Err(FrameError::UnknownOp { id: frame.id }),
            Some(Err(error))
                if frame.op == "users.update_preferences"
                    && crate::request::preferences_are_the_fault(raw.as_bytes()) =>
            {
                Err(FrameError::BadPreferences { id: frame.id, message: error.to_string().into() })
            }
            Some(Err(error)) => Err(FrameError::BadArgs { id: frame.id, message: error.to_string().into() }),
            Some(Ok(request)) => Ok(Self { id: frame.id, request }),
        }
    }
    /// Decodes a binary frame.
    pub fn decode_bincode(bytes: &[u8]) -> Result<Self, FrameError> {
        match bincode::serde::decode_from_slice::<Self, _>(bytes, bincode_decode_config()) {
            Ok((frame, read)) if read == bytes.len() => Ok(frame),
            _ => Err(FrameError::MalformedBinary),
        }
    }
    /// Encodes as the contract's JSON text.
    pub fn encode_json(&self) -> String {
        let out = JsonClientFrameOut { id: self.id, op: self.request.name(), args: self.request.json_data() };
        serde_json::to_string(&out).unwrap_or_default()
    }
    /// Encodes as bincode.
    pub fn encode_bincode(&self) -> Vec<u8> {
        bincode::serde::encode_to_vec(self, bincode_config()).unwrap_or_default()
    }
    pub fn ping(id: u32) -> Self {
        Self { id, request: Request::Ping(NoArgs {}) }
    }
}

/// A relayed game message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Relay {
    pub game_id: GameId,
    pub from: UserId,
    #[cfg_attr(feature = "ts", ts(type = "string | Array<number>"))] // JSON: text or bytes, as sent
    pub payload: RelayPayload,
}

/// One frame from the server: a reply to a request, an event push or a relay push.
// Replies are built once and moved into an Arc'd shared frame, so their size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ServerFrame {
    Reply {
        re: u32,
        result: Result<Reply, ErrorBody>,
    },
    /// A reply to a frame that had no readable id.
    Error {
        error: ErrorBody,
    },
    Event(Arc<Event>),
    Relay(Arc<Relay>),
}

#[derive(Serialize)]
struct JsonOk<'a> {
    re: u32,
    ok: bool,
    data: crate::JsonData<'a, Reply>,
}

#[derive(Serialize)]
struct JsonErr<'a> {
    #[serde(skip_serializing_if = "Option::is_none")] // JSON-only struct: bincode never sees it
    re: Option<u32>,
    ok: bool,
    error: crate::error::ErrorBodyJson<'a>,
}

#[derive(Serialize)]
struct JsonEvent<'a> {
    event: crate::event::EventJson<'a>,
}

#[derive(Serialize)]
struct JsonRelay<'a> {
    relay: &'a Relay,
}

impl ServerFrame {
    /// Encodes as the contract's JSON text.
    pub fn encode_json(&self) -> String {
        let text = match self {
            Self::Reply { re, result: Ok(reply) } => {
                serde_json::to_string(&JsonOk { re: *re, ok: true, data: reply.json_data() })
            }
            Self::Reply { re, result: Err(error) } => {
                serde_json::to_string(&JsonErr { re: Some(*re), ok: false, error: error.json() })
            }
            Self::Error { error } => serde_json::to_string(&JsonErr { re: None, ok: false, error: error.json() }),
            Self::Event(event) => serde_json::to_string(&JsonEvent { event: event.json() }),
            Self::Relay(relay) => serde_json::to_string(&JsonRelay { relay }),
        };
        // Serializing these plain structs to a String cannot fail: no maps with non-string keys.
        text.unwrap_or_default()
    }
    /// Encodes as bincode.
    pub fn encode_bincode(&self) -> Vec<u8> {
        bincode::serde::encode_to_vec(self, bincode_config()).unwrap_or_default()
    }
    /// Decodes a bincode frame (clients and the harness).
    pub fn decode_bincode(bytes: &[u8]) -> Option<Self> {
        bincode::serde::decode_from_slice::<Self, _>(bytes, bincode_server_decode_config()).ok().map(|(frame, _)| frame)
    }
}
