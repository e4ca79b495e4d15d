//! A lobby member whose client stops reading its socket (the TCP connection stays open, nothing
//! is read) while another member relays large messages: the server disconnects it (its bounded
//! queue filled, even though a write to it is blocked), the other members keep receiving every
//! relay in order, they hear the member leave after the grace period, and memory stays bounded.

use crate::helpers::*;
use crate::sockets::*;
use crate::support::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// The largest relay payload: each relay is a ~4 KiB JSON frame (an array of 1,024 numbers).
const PAYLOAD_BYTES: usize = pzo_protocol::limits::RELAY_PAYLOAD_BYTES_MAX;
/// Relays in flight ahead of the slowest reading member: well under its socket queue, so a
/// reading member is never the one disconnected.
const WINDOW: u64 = 256;
/// Relays sent at most while waiting for the server to drop the stalled member.
const RELAYS_MAX: u64 = 10_000;
/// Relays sent after the stalled member was dropped, which the others must still all receive.
const RELAYS_AFTER: u64 = 500;
/// How often the sender asks the server whether the stalled member is still connected.
const CHECK_EVERY: u64 = 500;
/// Receive buffer of the stalled client: a fixed size turns off the kernel's autotuning (up to
/// tens of MiB on loopback), so the server's queue fills after a few MiB rather than after 40.
const STALLED_RECV_BUFFER: u32 = 4096;
/// Members that keep reading.
const READERS: usize = 2;

/// A player socket over a TCP connection with a small fixed receive buffer; returns it with its
/// local port (to find the server's side of the connection in /proc/net/tcp).
async fn small_buffer_socket(app: &TestApp, token: &str) -> (Ws, u16) {
    let address = app.base.trim_start_matches("http://").parse().expect("server address");
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(STALLED_RECV_BUFFER).expect("SO_RCVBUF");
    let stream = socket.connect(address).await.expect("connect");
    let port = stream.local_addr().expect("local address").port();
    let mut upgrade = app.ws_url.as_str().into_client_request().expect("request");
    upgrade.headers_mut().insert("sec-websocket-protocol", "pzo.v1.json".parse().expect("header"));
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
    let (mut ws, _) = tokio_tungstenite::client_async(upgrade, stream).await.expect("handshake");
    let (reply, _) = request(&mut ws, 1, "auth", json!({"token": token})).await;
    assert_eq!(reply["ok"], true, "{reply}");
    (ws, port)
}

/// The TCP state (`st` of /proc/net/tcp, 1 = ESTABLISHED) of the server's side of the
/// connection between `server_port` and `client_port`; None once the server released it.
fn server_side_tcp_state(server_port: u16, client_port: u16) -> Option<u8> {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    let port = |address: &str| address.rsplit(':').next().and_then(|p| u16::from_str_radix(p, 16).ok());
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (local, remote, state) = (fields.get(1)?, fields.get(2)?, fields.get(3)?);
        (port(local) == Some(server_port) && port(remote) == Some(client_port))
            .then(|| u8::from_str_radix(state, 16).ok())
            .flatten()
    })
}

/// What a reading member saw: relays in order, and whether the stalled member left.
#[derive(Default)]
struct Seen {
    relays: AtomicU64,
    out_of_order: AtomicU64,
    stalled_left: std::sync::atomic::AtomicBool,
}

/// Reads a member's socket: every relay must carry the next number (its first four bytes).
fn read_member(mut ws: Ws, stalled_id: String) -> (Arc<Seen>, tokio::task::JoinHandle<()>) {
    let seen = Arc::new(Seen::default());
    let task = tokio::spawn({
        let seen = seen.clone();
        async move {
            while let Some(frame) = next_frame(&mut ws, Duration::from_secs(60)).await {
                if let Some(payload) = frame["relay"]["payload"].as_array() {
                    let bytes: Vec<u8> = payload.iter().take(4).filter_map(|b| b.as_u64()).map(|b| b as u8).collect();
                    let number = u64::from(u32::from_be_bytes(bytes.try_into().expect("four bytes")));
                    if number != seen.relays.load(Ordering::SeqCst) {
                        seen.out_of_order.fetch_add(1, Ordering::SeqCst);
                    }
                    seen.relays.fetch_add(1, Ordering::SeqCst);
                } else if frame["event"]["type"] == "GAME_LEFT" && frame["event"]["data"]["user_id"] == stalled_id {
                    seen.stalled_left.store(true, Ordering::SeqCst);
                }
            }
        }
    });
    (seen, task)
}

#[actix_web::test]
async fn a_client_that_stops_reading_is_disconnected_and_others_keep_up() {
    let _alone = one_at_a_time().await;
    let app = spawn_app().await;
    let sender = app.admitted("Sender").await;
    let stalled = app.admitted("Stalled").await;
    let mut readers = Vec::new();
    for i in 0..READERS {
        readers.push(app.admitted(&format!("Reader{i}")).await);
    }
    let (status, body) =
        app.post("/games", Some(&sender.token), json!({"name": "slow reader", "max_players": 8})).await;
    assert_eq!(status, 201, "{body}");
    let game_id = body["data"]["game"]["id"].as_str().expect("game id").to_owned();
    for member in readers.iter().chain([&stalled]) {
        let (status, body) = app.post("/games/join", Some(&member.token), json!({"game_id": game_id})).await;
        assert_eq!(status, 200, "{body}");
    }
    // The stalled member authenticates, then its client never reads again.
    let (stalled_ws, stalled_port) = small_buffer_socket(&app, &stalled.token).await;
    let server_port: u16 = app.base.rsplit(':').next().and_then(|p| p.parse().ok()).expect("server port");
    let mut members = Vec::new();
    for reader in &readers {
        members.push(read_member(player_socket(&app, &reader.token).await, stalled.id.clone()));
    }
    let (mut sender_tx, mut sender_rx) = player_socket(&app, &sender.token).await.split();
    // The sender reads its replies all along, so it is never the slow one; it counts refusals.
    let refused = Arc::new(AtomicU64::new(0));
    let replies = tokio::spawn({
        let refused = refused.clone();
        async move {
            while let Some(Ok(message)) = sender_rx.next().await {
                if let Message::Text(text) = message {
                    let frame: Value = serde_json::from_str(&text).expect("JSON frame");
                    if frame["ok"] == false {
                        refused.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
        }
    });
    let rss_before = rss_kib();
    let slowest = |members: &[(Arc<Seen>, tokio::task::JoinHandle<()>)]| {
        members.iter().map(|(seen, _)| seen.relays.load(Ordering::SeqCst)).min().unwrap_or(0)
    };
    let started = Instant::now();
    let mut dropped_after = None;
    let mut sent = 0_u64;
    while sent < dropped_after.map_or(RELAYS_MAX, |at| at + RELAYS_AFTER) {
        while sent >= slowest(&members) + WINDOW {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let mut payload = vec![0xFF_u8; PAYLOAD_BYTES];
        payload[..4].copy_from_slice(&u32::try_from(sent).expect("fits").to_be_bytes());
        let frame = json!({"id": sent + 10, "op": "games.send", "args": {"game_id": game_id, "payload": payload}});
        sender_tx.send(Message::Text(frame.to_string().into())).await.expect("send a relay");
        sent += 1;
        if dropped_after.is_none() && sent.is_multiple_of(CHECK_EVERY) && open_sockets(&app, &stalled).await == 0 {
            dropped_after = Some(sent);
        }
    }
    let relay_time = started.elapsed();
    let dropped_after = dropped_after.expect("the server disconnects a member that stops reading");
    // Every relay reaches every reading member, in order.
    let deadline = Instant::now() + Duration::from_secs(20);
    while slowest(&members) < sent && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for (i, (seen, _)) in members.iter().enumerate() {
        assert_eq!(seen.relays.load(Ordering::SeqCst), sent, "reader {i} received every relay");
        assert_eq!(seen.out_of_order.load(Ordering::SeqCst), 0, "reader {i} received the relays in order");
    }
    assert_eq!(refused.load(Ordering::SeqCst), 0, "no relay was refused");
    // The server also releases the TCP connection itself: actix-http would keep it while its
    // write buffer cannot drain, so the accept path sets TCP_USER_TIMEOUT and the kernel gives up
    // on the stalled peer (its socket buffers and file handle come back).
    let released_after = {
        let waiting_since = Instant::now();
        let deadline = waiting_since + pzo_server::server::STALLED_PEER_TIMEOUT * 3;
        loop {
            if server_side_tcp_state(server_port, stalled_port) != Some(1) {
                break Some(waiting_since.elapsed());
            }
            if Instant::now() > deadline {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    // After the grace period (2 s in tests) the others hear the member leave.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !members.iter().all(|(seen, _)| seen.stalled_left.load(Ordering::SeqCst)) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "slow reader: dropped after {dropped_after} relays of ~4 KiB, {sent} relayed in {relay_time:?} to {READERS} \
         readers in order; the server released the stalled TCP connection after {released_after:?}"
    );
    assert!(released_after.is_some(), "the server released the stalled peer's TCP connection");
    for (i, (seen, _)) in members.iter().enumerate() {
        assert!(seen.stalled_left.load(Ordering::SeqCst), "reader {i} heard the stalled member leave (GAME_LEFT)");
    }
    assert_rss_bounded("slow reader", rss_before);
    drop(stalled_ws);
    replies.abort();
    for (_, task) in members {
        task.abort();
    }
}
