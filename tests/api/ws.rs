//! The socket protocol in both codecs: auth, requests, pushed events, resume and bad frames.

use crate::helpers::*;
use futures_util::{SinkExt, StreamExt};
use pzo_protocol::request::{IdArgs, NoArgs, Request};
use pzo_protocol::{ClientFrame, Reply, ServerFrame};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(app: &TestApp, protocol: &str) -> Ws {
    let mut request = app.ws_url.as_str().into_client_request().expect("request");
    request.headers_mut().insert("sec-websocket-protocol", protocol.parse().expect("header"));
    tokio_tungstenite::connect_async(request).await.expect("socket opens").0
}

async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let message =
            tokio::time::timeout(std::time::Duration::from_secs(10), ws.next()).await.expect("a frame in time");
        if let Some(Ok(Message::Text(text))) = message {
            return serde_json::from_str(&text).expect("JSON frame");
        }
    }
}

/// Reads frames until the reply to `id`, returning it and any events seen before it.
async fn reply_to(ws: &mut Ws, id: u32) -> (Value, Vec<Value>) {
    let mut events = Vec::new();
    loop {
        let frame = next_json(ws).await;
        if frame["re"] == id {
            return (frame, events);
        }
        events.push(frame);
    }
}

async fn send(ws: &mut Ws, frame: Value) {
    ws.send(Message::Text(frame.to_string().into())).await.expect("send");
}

#[actix_web::test]
async fn json_socket_auth_requests_and_pushed_events() {
    let app = spawn_app().await;
    let player = app.register("Sock").await;
    let mut first = connect(&app, "pzo.v1.json").await;
    send(&mut first, json!({"id": 1, "op": "users.get", "args": {"id": player.id}})).await;
    let (frame, _) = reply_to(&mut first, 1).await;
    assert_eq!(frame["error"]["code"], "UNAUTHENTICATED");
    send(&mut first, json!({"id": 2, "op": "auth", "args": {"token": player.token}})).await;
    let (frame, _) = reply_to(&mut first, 2).await;
    assert_eq!(frame["ok"], true, "{frame}");
    let last_seq = frame["data"]["last_seq"].as_u64().expect("last seq");
    let mut second = connect(&app, "pzo.v1.json").await;
    send(&mut second, json!({"id": 1, "op": "auth", "args": {"token": player.token}})).await;
    reply_to(&mut second, 1).await;
    send(&mut first, json!({"id": 3, "op": "users.update_preferences", "args": {"preferences": {"music_volume": 12}}}))
        .await;
    let (frame, _) = reply_to(&mut first, 3).await;
    assert_eq!(frame["data"]["user"]["preferences"]["music_volume"], 12, "{frame}");
    let pushed = next_json(&mut second).await;
    assert_eq!(pushed["event"]["type"], "USER_PREFERENCES_UPDATED", "{pushed}");
    assert_eq!(pushed["event"]["data"]["preferences"]["music_volume"], 12);
    send(&mut second, json!({"id": 2, "op": "events.resume", "args": {"since_seq": last_seq}})).await;
    let (frame, _) = reply_to(&mut second, 2).await;
    let types: Vec<_> = frame["data"]["events"].as_array().expect("events").iter().map(|e| e["type"].clone()).collect();
    assert!(types.contains(&json!("USER_PREFERENCES_UPDATED")), "{frame}");
    second.send(Message::Text("{nope".into())).await.expect("send");
    let frame = next_json(&mut second).await;
    assert_eq!(frame["error"]["code"], "BAD_REQUEST");
    send(&mut second, json!({"id": 9, "op": "no.such", "args": {}})).await;
    let (frame, _) = reply_to(&mut second, 9).await;
    assert_eq!(frame["error"]["code"], "BAD_REQUEST");
    // Bad preferences are VALIDATION_FAILED on a socket as over HTTP, whatever is bad in them;
    // args of the wrong shape stay BAD_REQUEST.
    let cases = [
        (json!({"preferences": {"sound_enabled": "yes"}}), "VALIDATION_FAILED"),
        (json!({"preferences": {"theme": "dark"}}), "VALIDATION_FAILED"),
        (json!({"preferences": {"music_volume": 101}}), "VALIDATION_FAILED"),
        (json!({"prefs": {}}), "BAD_REQUEST"),
    ];
    for (id, (args, expected)) in (10..).zip(cases) {
        send(&mut second, json!({"id": id, "op": "users.update_preferences", "args": args})).await;
        let (frame, _) = reply_to(&mut second, id).await;
        assert_eq!(frame["error"]["code"], expected, "{args}: {frame}");
    }
}

#[actix_web::test]
async fn bincode_socket_carries_the_same_types() {
    let app = spawn_app().await;
    let player = app.register("Bin").await;
    let mut ws = connect(&app, "pzo.v1.bincode").await;
    let frames = [
        ClientFrame { id: 1, request: Request::Auth(pzo_protocol::request::AuthArgs { token: player.token.clone() }) },
        ClientFrame { id: 2, request: Request::UsersGet(IdArgs { id: player.id.parse().expect("uuid") }) },
        ClientFrame { id: 3, request: Request::CosmeticsList(NoArgs {}) },
    ];
    for frame in frames {
        ws.send(Message::Binary(frame.encode_bincode().into())).await.expect("send");
        let reply = loop {
            match ws.next().await {
                Some(Ok(Message::Binary(bytes))) => {
                    break ServerFrame::decode_bincode(&bytes).expect("a bincode frame");
                }
                Some(Ok(_)) => continue,
                other => panic!("socket ended: {other:?}"),
            }
        };
        match (frame.id, reply) {
            (1, ServerFrame::Reply { re: 1, result: Ok(Reply::Session(s)) }) => {
                assert_eq!(s.user_id.to_string(), player.id)
            }
            (2, ServerFrame::Reply { re: 2, result: Ok(Reply::User(u)) }) => assert_eq!(u.user.display_name, "Bin"),
            (3, ServerFrame::Reply { re: 3, result: Ok(Reply::Cosmetics(c)) }) => assert_eq!(c.cosmetics.len(), 3),
            (id, other) => panic!("unexpected reply to {id}: {other:?}"),
        }
    }
}

#[actix_web::test]
async fn relay_reaches_other_members_not_the_sender() {
    let app = spawn_app().await;
    let host = app.admitted("Host").await;
    let guest = app.admitted("Guest").await;
    let (_, body) = app.post("/games", Some(&host.token), json!({"name": "relay", "max_players": 4})).await;
    let game_id = body["data"]["game"]["id"].as_str().expect("game").to_owned();
    let mut host_ws = connect(&app, "pzo.v1.json").await;
    send(&mut host_ws, json!({"id": 1, "op": "auth", "args": {"token": host.token}})).await;
    reply_to(&mut host_ws, 1).await;
    let mut guest_ws = connect(&app, "pzo.v1.json").await;
    send(&mut guest_ws, json!({"id": 1, "op": "auth", "args": {"token": guest.token}})).await;
    reply_to(&mut guest_ws, 1).await;
    send(&mut guest_ws, json!({"id": 2, "op": "games.join", "args": {"game_id": game_id}})).await;
    reply_to(&mut guest_ws, 2).await;
    let joined = next_json(&mut host_ws).await;
    assert_eq!(joined["event"]["type"], "GAME_JOINED", "{joined}");
    send(&mut host_ws, json!({"id": 2, "op": "games.send", "args": {"game_id": game_id, "payload": "hello"}})).await;
    let (reply, _) = reply_to(&mut host_ws, 2).await;
    assert_eq!(reply["data"]["delivered"], 1, "{reply}");
    let relay = next_json(&mut guest_ws).await;
    assert_eq!(relay["relay"]["payload"], "hello");
    assert_eq!(relay["relay"]["from"], host.id.as_str());
}

/// The close code the server sent, reading past other frames; None if the socket ended without one.
async fn close_code(ws: &mut Ws, wait: std::time::Duration) -> Option<u16> {
    loop {
        match tokio::time::timeout(wait, ws.next()).await.expect("the socket closes in time") {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return None,
        }
    }
}

#[actix_web::test]
async fn a_socket_that_never_authenticates_is_closed_and_an_authenticated_one_is_not() {
    let app = spawn_app().await;
    let player = app.register("Late").await;
    let mut anonymous = connect(&app, "pzo.v1.json").await;
    let mut authenticated = connect(&app, "pzo.v1.json").await;
    send(&mut authenticated, json!({"id": 1, "op": "auth", "args": {"token": player.token}})).await;
    let (frame, _) = reply_to(&mut authenticated, 1).await;
    assert_eq!(frame["ok"], true, "{frame}");
    // The deadline is 10 s; the wait is generous, since only the code is what is tested.
    assert_eq!(close_code(&mut anonymous, std::time::Duration::from_secs(40)).await, Some(1008));
    // Past the same deadline, the authenticated socket still answers.
    send(&mut authenticated, json!({"id": 2, "op": "ping", "args": {}})).await;
    let (frame, _) = reply_to(&mut authenticated, 2).await;
    assert_eq!(frame["ok"], true, "{frame}");
}
