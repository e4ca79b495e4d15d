//! Decodes server frames of both subprotocols into the harness's own views: bincode through
//! the protocol crate's types, JSON through small structs that read only what the harness needs.

use crate::answer::ErrorView;
use pzo_protocol::codec::Relay;
use pzo_protocol::event::EventData;
use pzo_protocol::request::RelayPayload;
use pzo_protocol::{ErrorBody, Event, Reply, ServerFrame};
use serde::Deserialize;
use serde_json::value::RawValue;
use uuid::Uuid;

/// The data of a successful reply, as it came: typed (bincode) or raw JSON text.
#[derive(Debug, Clone)]
pub enum ReplyData {
    Typed(Box<Reply>),
    Json(Box<RawValue>),
}

/// The part of an event the harness checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventView {
    pub seq: u64,
    pub kind: String,
    /// The ledger row of `CURRENCY_DEPOSITED` and `CURRENCY_WITHDRAWN`.
    pub transaction_id: Option<Uuid>,
}

/// A relayed game message; the payload as text when it is UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayView {
    pub game_id: Uuid,
    pub from: Uuid,
    pub text: Option<String>,
}

/// One decoded server frame.
#[derive(Debug, Clone)]
pub enum Incoming {
    Reply {
        re: u32,
        result: Result<ReplyData, ErrorView>,
    },
    /// An error about a frame the server could not read an id from.
    Error(ErrorView),
    Event(EventView),
    Relay(RelayView),
}

/// Decodes a binary (`pzo.v1.bincode`) frame.
pub fn decode_binary(bytes: &[u8]) -> Option<Incoming> {
    Some(match ServerFrame::decode_bincode(bytes)? {
        ServerFrame::Reply { re, result } => Incoming::Reply {
            re,
            result: result.map(|reply| ReplyData::Typed(Box::new(reply))).map_err(|error| error_view(&error)),
        },
        ServerFrame::Error { error } => Incoming::Error(error_view(&error)),
        ServerFrame::Event(event) => Incoming::Event(event_view(&event)),
        ServerFrame::Relay(relay) => Incoming::Relay(relay_view(&relay)),
    })
}

fn error_view(error: &ErrorBody) -> ErrorView {
    ErrorView { code: error.code.as_str().to_owned(), status: error.status }
}

/// The harness's view of a typed event.
pub fn event_view(event: &Event) -> EventView {
    let transaction_id = match &event.data {
        EventData::CurrencyDeposited(moved) | EventData::CurrencyWithdrawn(moved) => Some(moved.transaction_id),
        _ => None,
    };
    EventView { seq: event.seq, kind: event.kind().to_owned(), transaction_id }
}

fn relay_view(relay: &Relay) -> RelayView {
    let text = match &relay.payload {
        RelayPayload::Text(text) => Some(text.clone()),
        RelayPayload::Binary(bytes) => String::from_utf8(bytes.to_vec()).ok(),
    };
    RelayView { game_id: relay.game_id, from: relay.from, text }
}

/// `{"re", "ok", "data" | "error"}`, `{"event": ...}` or `{"relay": ...}`.
#[derive(Deserialize)]
struct JsonFrame {
    #[serde(default)]
    re: Option<u32>,
    #[serde(default)]
    ok: Option<bool>,
    #[serde(default)]
    data: Option<Box<RawValue>>,
    #[serde(default)]
    error: Option<JsonError>,
    #[serde(default)]
    event: Option<Box<RawValue>>,
    #[serde(default)]
    relay: Option<JsonRelay>,
}

/// The error object of HTTP answers and socket replies.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct JsonError {
    pub code: String,
    pub status: u16,
}

impl JsonError {
    pub fn view(self) -> ErrorView {
        ErrorView { code: self.code, status: self.status }
    }
}

/// Reads one JSON event (`{"seq", "type", "at", "data"}`): the few fields the harness needs,
/// or, failing that, through the protocol crate's own `Event` decoding.
pub fn json_event(raw: &RawValue) -> Option<EventView> {
    match serde_json::from_str::<JsonEvent>(raw.get()) {
        Ok(event) => Some(event.view()),
        Err(_) => serde_json::from_str::<Event>(raw.get()).ok().map(|event| event_view(&event)),
    }
}

/// An event as the contract's JSON carries it.
#[derive(Debug, Deserialize)]
struct JsonEvent {
    seq: u64,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    data: JsonEventData,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct JsonEventData {
    transaction_id: Option<Uuid>,
}

impl JsonEvent {
    fn view(self) -> EventView {
        let transaction_id = match self.kind.as_str() {
            "CURRENCY_DEPOSITED" | "CURRENCY_WITHDRAWN" => self.data.transaction_id,
            _ => None,
        };
        EventView { seq: self.seq, kind: self.kind, transaction_id }
    }
}

#[derive(Deserialize)]
struct JsonRelay {
    game_id: Uuid,
    from: Uuid,
    payload: JsonPayload,
}

#[derive(Deserialize)]
#[serde(untagged)] // JSON only: the payload is a string or an array of bytes
enum JsonPayload {
    Text(String),
    Bytes(Vec<u8>),
}

/// Decodes a text (`pzo.v1.json`) frame.
pub fn decode_text(text: &str) -> Option<Incoming> {
    let frame: JsonFrame = serde_json::from_str(text).ok()?;
    if let Some(event) = frame.event {
        return json_event(&event).map(Incoming::Event);
    }
    if let Some(relay) = frame.relay {
        let text = match relay.payload {
            JsonPayload::Text(text) => Some(text),
            JsonPayload::Bytes(bytes) => String::from_utf8(bytes).ok(),
        };
        return Some(Incoming::Relay(RelayView { game_id: relay.game_id, from: relay.from, text }));
    }
    let error = || frame.error.unwrap_or_default().view();
    match (frame.re, frame.ok) {
        (Some(re), Some(true)) => {
            let data = frame.data.unwrap_or_else(|| RawValue::from_string("{}".to_owned()).expect("{} is JSON"));
            Some(Incoming::Reply { re, result: Ok(ReplyData::Json(data)) })
        }
        (Some(re), Some(false)) => Some(Incoming::Reply { re, result: Err(error()) }),
        (None, Some(false)) => Some(Incoming::Error(error())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pzo_protocol::event::CurrencyMoved;
    use pzo_protocol::reply::Pong;
    use pzo_protocol::{ApiError, ErrorCode};
    use std::sync::Arc;

    fn frames() -> Vec<ServerFrame> {
        let tx = Uuid::from_u128(7);
        let event = Event {
            seq: 42,
            at: Default::default(),
            data: EventData::CurrencyDeposited(CurrencyMoved {
                user_id: Uuid::from_u128(1),
                currency_id: "gold".into(),
                amount: 5,
                balance_after: 5,
                transaction_id: tx,
            }),
        };
        let relay = Relay {
            game_id: Uuid::from_u128(2),
            from: Uuid::from_u128(3),
            payload: RelayPayload::Text("hello".into()),
        };
        vec![
            ServerFrame::Reply { re: 9, result: Ok(Reply::Pong(Pong { server_time_ms: 1 })) },
            ServerFrame::Reply { re: 10, result: Err(ApiError::new(ErrorCode::INSUFFICIENT_FUNDS).body()) },
            ServerFrame::Error { error: ApiError::new(ErrorCode::BAD_REQUEST).body() },
            ServerFrame::Event(Arc::new(event)),
            ServerFrame::Relay(Arc::new(relay)),
        ]
    }

    fn check(decoded: Vec<Incoming>) {
        assert!(matches!(&decoded[0], Incoming::Reply { re: 9, result: Ok(_) }));
        match &decoded[1] {
            Incoming::Reply { re: 10, result: Err(error) } => {
                assert_eq!((error.code.as_str(), error.status), ("INSUFFICIENT_FUNDS", 409));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&decoded[2], Incoming::Error(error) if error.code == "BAD_REQUEST"));
        match &decoded[3] {
            Incoming::Event(event) => {
                assert_eq!(event.seq, 42);
                assert_eq!(event.kind, "CURRENCY_DEPOSITED");
                assert_eq!(event.transaction_id, Some(Uuid::from_u128(7)));
            }
            other => panic!("{other:?}"),
        }
        match &decoded[4] {
            Incoming::Relay(relay) => {
                assert_eq!(relay.from, Uuid::from_u128(3));
                assert_eq!(relay.text.as_deref(), Some("hello"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn decodes_every_bincode_frame_kind() {
        check(frames().iter().map(|frame| decode_binary(&frame.encode_bincode()).unwrap()).collect());
    }

    #[test]
    fn decodes_every_json_frame_kind() {
        check(frames().iter().map(|frame| decode_text(&frame.encode_json()).unwrap()).collect());
    }

    #[test]
    fn json_relay_bytes_payload_reads_as_text() {
        let id = Uuid::from_u128(5);
        let text = format!(r#"{{"relay":{{"game_id":"{id}","from":"{id}","payload":[104,105]}}}}"#);
        match decode_text(&text) {
            Some(Incoming::Relay(relay)) => assert_eq!(relay.text.as_deref(), Some("hi")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refuses_garbage() {
        assert!(decode_text("{").is_none());
        assert!(decode_text(r#"{"hello":1}"#).is_none());
        assert!(decode_binary(&[0xff, 0xff, 0xff]).is_none());
    }
}
