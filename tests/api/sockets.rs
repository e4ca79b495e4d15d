//! Shared socket helpers for the integration tests (JSON codec).

use crate::helpers::TestApp;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn connect_to(app: &TestApp, path: &str, protocol: &str) -> Ws {
    connect_url(&app.ws_url.replace("/ws", path), protocol).await
}

/// A socket to any server's `ws://` URL (a server process, not only the in-process one).
pub async fn connect_url(url: &str, protocol: &str) -> Ws {
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert("sec-websocket-protocol", protocol.parse().expect("header"));
    tokio_tungstenite::connect_async(request).await.expect("socket opens").0
}

/// The next JSON frame, or None when the socket closed (or nothing came within `wait`).
pub async fn next_frame(ws: &mut Ws, wait: Duration) -> Option<Value> {
    loop {
        match tokio::time::timeout(wait, ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => return Some(serde_json::from_str(&text).expect("JSON frame")),
            Ok(Some(Ok(Message::Close(_)))) | Ok(Some(Err(_))) | Ok(None) | Err(_) => return None,
            Ok(Some(Ok(_))) => continue,
        }
    }
}

pub async fn send(ws: &mut Ws, frame: Value) {
    ws.send(Message::Text(frame.to_string().into())).await.expect("send");
}

/// Sends a request and reads until its reply; events seen on the way are returned too.
pub async fn request(ws: &mut Ws, id: u32, op: &str, args: Value) -> (Value, Vec<Value>) {
    send(ws, serde_json::json!({"id": id, "op": op, "args": args})).await;
    let mut seen = Vec::new();
    loop {
        let frame = next_frame(ws, Duration::from_secs(10)).await.expect("a reply before the socket closes");
        if frame["re"] == id {
            return (frame, seen);
        }
        seen.push(frame);
    }
}

/// Reads frames until an event of `kind` arrives; None if none came within `wait` in all.
pub async fn event_of(ws: &mut Ws, kind: &str, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let frame = next_frame(ws, left).await?;
        if frame["event"]["type"] == kind {
            return Some(frame["event"].clone());
        }
    }
}

/// The first event of `kind` among frames already read.
pub fn event_in(frames: &[Value], kind: &str) -> Option<Value> {
    frames.iter().find(|f| f["event"]["type"] == kind).map(|f| f["event"].clone())
}

/// Whether the server closed the socket within `wait` (frames before the close are skipped).
pub async fn closed_within(ws: &mut Ws, wait: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => return true,
            Ok(Some(Ok(_))) => continue,
            Err(_) => return false,
        }
    }
}

/// An authenticated player socket.
pub async fn player_socket(app: &TestApp, token: &str) -> Ws {
    let mut ws = connect_to(app, "/ws", "pzo.v1.json").await;
    let (reply, _) = request(&mut ws, 1, "auth", serde_json::json!({"token": token})).await;
    assert_eq!(reply["ok"], true, "{reply}");
    ws
}
