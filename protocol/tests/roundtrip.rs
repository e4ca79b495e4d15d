//! Every client op and a sample of every server frame kind round-trip through both codecs.

use pzo_protocol::event::{GameJoined, LeaveReason};
use pzo_protocol::model::GameStatus;
use pzo_protocol::reply::{Pong, SessionReply};
use pzo_protocol::request::RelayPayload;
use pzo_protocol::{ApiError, ClientFrame, ErrorCode, Event, EventData, Request, ServerFrame};
use std::sync::Arc;

const U: &str = "\"5f0d6a4e-8a8e-4b67-9a55-2f5d3c1e0b11\"";

fn sample_args(op: &str) -> String {
    let args = match op {
        "auth" => r#"{"token":"t"}"#.to_owned(),
        "events.resume" => r#"{"since_seq":7}"#.to_owned(),
        "users.register" => r#"{"email":"a@b.co","password":"pw123456","display_name":"Ann"}"#.to_owned(),
        "users.login" => r#"{"email":"a@b.co","password":"pw123456"}"#.to_owned(),
        "users.list" | "waitlist.list" | "games.list" => r#"{"limit":5,"cursor":null}"#.to_owned(),
        "users.get" | "waitlist.get" | "waitlist.remove" | "games.get" => format!(r#"{{"id":{U}}}"#),
        "users.update_preferences" => r#"{"preferences":{"music_volume":3}}"#.to_owned(),
        "waitlist.join" => r#"{"referral_code":"abc"}"#.to_owned(),
        "waitlist.admit" => r#"{"count":10}"#.to_owned(),
        "waitlist.set_status" => format!(r#"{{"entry_id":{U},"status":"admitted"}}"#),
        "waitlist.auto" => r#"{"enabled":true,"wave":100,"interval_ms":5000}"#.to_owned(),
        "games.create" => r#"{"name":"g","max_players":4,"min_players":2}"#.to_owned(),
        "games.join" | "games.leave" | "games.start" | "games.close" => format!(r#"{{"game_id":{U}}}"#),
        "games.send" => format!(r#"{{"game_id":{U},"payload":"hi"}}"#),
        "games.finish" => format!(r#"{{"game_id":{U},"results":[{{"user_id":{U},"score":5}}]}}"#),
        "inventory.list" | "currency.list" => format!(r#"{{"user_id":{U}}}"#),
        "inventory.get" => r#"{"item_id":"potion"}"#.to_owned(),
        "inventory.add" => format!(r#"{{"user_id":{U},"item_id":"potion","quantity":2,"idempotency_key":"k"}}"#),
        "inventory.remove" => r#"{"item_id":"potion","quantity":1}"#.to_owned(),
        "currency.get" => r#"{"currency_id":"gold","limit":3}"#.to_owned(),
        "currency.deposit" => format!(r#"{{"user_id":{U},"currency_id":"gold","amount":9}}"#),
        "currency.withdraw" => r#"{"currency_id":"gold","amount":9,"idempotency_key":"w"}"#.to_owned(),
        "leaderboard.get" => r#"{"id":"season0","around":"me"}"#.to_owned(),
        "leaderboard.subscribe" | "achievements.get" | "cosmetics.get" => r#"{"id":"x"}"#.to_owned(),
        "leaderboard.reset" => r#"{"leaderboard_id":"season0"}"#.to_owned(),
        "achievements.unlock" => r#"{"achievement_id":"first_game"}"#.to_owned(),
        "cosmetics.unlock" => r#"{"cosmetic_id":"golden_helm"}"#.to_owned(),
        "players.kick" => format!(r#"{{"user_id":{U},"reason":"spam"}}"#),
        "players.inspect" => format!(r#"{{"user_id":{U}}}"#),
        "events.tail" => r#"{"types":["GAME_JOINED"]}"#.to_owned(),
        _ => "{}".to_owned(),
    };
    format!(r#"{{"id":42,"op":"{op}","args":{args}}}"#)
}

#[test]
fn every_op_round_trips_in_both_codecs() {
    for op in Request::ALL_NAMES {
        let text = sample_args(op);
        let frame = ClientFrame::decode_json(&text).unwrap_or_else(|e| panic!("{op}: {e}"));
        assert_eq!(frame.request.name(), *op);
        assert_eq!(ClientFrame::decode_json(&frame.encode_json()).as_ref(), Ok(&frame), "{op} via JSON");
        assert_eq!(ClientFrame::decode_bincode(&frame.encode_bincode()).as_ref(), Ok(&frame), "{op} via bincode");
    }
}

#[test]
fn server_frames_round_trip_in_bincode_and_have_the_contract_json_shape() {
    let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("instant");
    let user = uuid::Uuid::from_u128(7);
    let event = Event {
        seq: 3,
        at,
        data: EventData::GameJoined(GameJoined {
            game_id: user,
            user_id: user,
            display_name: "A".into(),
            player_count: 2,
        }),
    };
    let frames = vec![
        ServerFrame::Reply {
            re: 1,
            result: Ok(pzo_protocol::Reply::Session(SessionReply {
                user_id: user,
                role: "player".into(),
                last_seq: 9,
            })),
        },
        ServerFrame::Reply { re: 2, result: Ok(pzo_protocol::Reply::Pong(Pong { server_time_ms: 5 })) },
        ServerFrame::Reply { re: 3, result: Err(ApiError::new(ErrorCode::GAME_FULL).body()) },
        ServerFrame::Error { error: ApiError::validation("x", "y").body() },
        ServerFrame::Event(Arc::new(event)),
        ServerFrame::Relay(Arc::new(pzo_protocol::codec::Relay {
            game_id: user,
            from: user,
            payload: RelayPayload::Binary(vec![1, 2, 3].into()),
        })),
    ];
    for frame in frames {
        assert_eq!(ServerFrame::decode_bincode(&frame.encode_bincode()).as_ref(), Some(&frame));
        let json: serde_json::Value = serde_json::from_str(&frame.encode_json()).expect("valid JSON");
        match &frame {
            ServerFrame::Reply { result: Ok(_), .. } => assert_eq!(json["ok"], true),
            ServerFrame::Reply { result: Err(_), .. } => assert_eq!(json["error"]["code"], "GAME_FULL"),
            ServerFrame::Error { .. } => assert_eq!(json["error"]["details"]["field"], "x"),
            ServerFrame::Event(_) => {
                assert_eq!(json["event"]["type"], "GAME_JOINED");
                assert_eq!(json["event"]["data"]["player_count"], 2);
            }
            ServerFrame::Relay(_) => assert_eq!(json["relay"]["payload"], serde_json::json!([1, 2, 3])),
        }
    }
    let _ = (LeaveReason::Left, GameStatus::Open);
}

#[test]
fn a_forged_length_prefix_is_refused_without_a_huge_allocation() {
    // Op index of users.register, then a string length (u64 marker 0xFD) claiming 2^60 bytes.
    let mut bytes = vec![42u8, 3, 0xFD];
    bytes.extend_from_slice(&(1u64 << 60).to_le_bytes());
    assert!(ClientFrame::decode_bincode(&bytes).is_err());
}
