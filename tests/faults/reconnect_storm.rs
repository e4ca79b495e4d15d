//! A reconnect storm: 200 player sockets (half JSON, half bincode), each remembering the last
//! `seq` it processed, drop at once; events are committed for them while they are away; all
//! reconnect at the same moment and page through `events.resume`. Each gets exactly the events
//! PostgreSQL stored for it after its last seq (no gap, no duplicate, nothing lost), every socket
//! is back, and each hears a new event live.

use crate::helpers::*;
use crate::sockets::{Ws, connect_to};
use crate::support::*;
use futures_util::future::join_all;
use futures_util::{SinkExt, StreamExt};
use pzo_protocol::limits::RESUME_EVENTS_MAX;
use pzo_protocol::{ClientFrame, ServerFrame};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

const PLAYERS: usize = 200;
/// Deposits for every player while the sockets are away (each commits two events).
const DEPOSITS_AWAY: usize = 3;
/// Deposits for the first player while away: its events fill more than one resume page.
const DEPOSITS_PAGED: usize = RESUME_EVENTS_MAX as usize / 2 + 10;
/// HTTP deposits in flight at once.
const DEPOSITS_CONCURRENT: usize = 32;
/// How long a client waits for an expected frame.
const FRAME_WAIT: Duration = Duration::from_secs(20);

/// A player socket in either codec, speaking JSON values to the test: bincode frames are
/// converted with the protocol's own codecs, so both sockets are checked the same way.
struct Client {
    ws: Ws,
    bincode: bool,
}

impl Client {
    async fn connect(app: &TestApp, player: &Player, bincode: bool) -> Self {
        let protocol = if bincode { "pzo.v1.bincode" } else { "pzo.v1.json" };
        let mut client = Self { ws: connect_to(app, "/ws", protocol).await, bincode };
        let (reply, _) = client.request(1, "auth", json!({"token": player.token})).await;
        assert_eq!(reply["ok"], true, "{reply}");
        client
    }

    async fn send(&mut self, frame: Value) {
        let message = if self.bincode {
            let frame = ClientFrame::decode_json(&frame.to_string()).expect("a valid request");
            Message::Binary(frame.encode_bincode().into())
        } else {
            Message::Text(frame.to_string().into())
        };
        self.ws.send(message).await.expect("send");
    }

    /// The next frame as JSON; None when the socket closed or nothing came in time.
    async fn next(&mut self) -> Option<Value> {
        loop {
            let text = match tokio::time::timeout(FRAME_WAIT, self.ws.next()).await.ok()?? {
                Ok(Message::Text(text)) => text.to_string(),
                Ok(Message::Binary(bytes)) => {
                    ServerFrame::decode_bincode(&bytes).expect("a bincode server frame").encode_json()
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            };
            return Some(serde_json::from_str(&text).expect("a JSON frame"));
        }
    }

    /// Sends a request and reads until its reply; the events read on the way come back too.
    async fn request(&mut self, id: u32, op: &str, args: Value) -> (Value, Vec<Value>) {
        self.send(json!({"id": id, "op": op, "args": args})).await;
        let mut events = Vec::new();
        loop {
            let frame = self.next().await.expect("a reply before the socket closes");
            if frame["re"] == id {
                return (frame, events);
            }
            events.push(frame["event"].clone());
        }
    }

    /// Reads until an event of `kind` arrives; returns the largest seq seen on the way.
    async fn until_event(&mut self, kind: &str) -> u64 {
        let mut last = 0;
        loop {
            let frame = self.next().await.unwrap_or_else(|| panic!("a {kind} event"));
            last = last.max(frame["event"]["seq"].as_u64().unwrap_or(0));
            if frame["event"]["type"] == kind {
                return last;
            }
        }
    }

    /// Pages through `events.resume` from `since`: every seq received, and how many pages.
    async fn resume(&mut self, since: u64) -> (Vec<u64>, usize) {
        let (mut seqs, mut pages, mut since) = (Vec::new(), 0, since);
        loop {
            let (reply, _) = self.request(2 + pages as u32, "events.resume", json!({"since_seq": since})).await;
            assert_eq!(reply["ok"], true, "{reply}");
            pages += 1;
            let events = reply["data"]["events"].as_array().expect("events");
            seqs.extend(events.iter().map(|e| e["seq"].as_u64().expect("seq")));
            if reply["data"]["more"] != true {
                return (seqs, pages);
            }
            since = reply["data"]["next_seq"].as_u64().expect("next_seq");
        }
    }
}

/// Admin deposits of 1 gold: one per entry of `to`, `DEPOSITS_CONCURRENT` in flight.
async fn deposit_each(app: &TestApp, to: &[&Player]) {
    for chunk in to.chunks(DEPOSITS_CONCURRENT) {
        for (status, body) in join_all(chunk.iter().map(|player| app.deposit(player, "gold", 1))).await {
            assert_eq!(status, 200, "{body}");
        }
    }
}

/// Open sockets on the server (players' and admin tails'), seen from a fresh admin socket.
async fn sockets_open(app: &TestApp) -> u64 {
    let reply = admin_request(app, "stats.subscribe", json!({})).await;
    reply["data"]["sockets"].as_u64().expect("a socket count")
}

#[actix_web::test]
async fn reconnect_storm_resumes_every_event() {
    let _alone = one_at_a_time().await;
    // 200 registrations: the password hash's cost is not what this test is about.
    let app = Arc::new(spawn_app_with(|config| config.argon2_memory_kib = 1024).await);
    let players = register_many(&app, "Storm", PLAYERS).await;
    let rss_before = rss_kib();
    let mut clients =
        join_all(players.iter().enumerate().map(|(i, player)| Client::connect(&app, player, i % 2 == 1))).await;
    // Every client processes one deposit of its own: that is the seq it resumes from.
    deposit_each(&app, &players.iter().collect::<Vec<_>>()).await;
    let last_seen = join_all(clients.iter_mut().map(|c| c.until_event("TRANSACTION_COMPLETED"))).await;
    assert_eq!(sockets_open(&app).await, PLAYERS as u64 + 1, "every socket (and this admin's) is open");

    // All drop at once, without a close frame, like a network blip.
    drop(clients);
    let dropped = Instant::now();
    while sockets_open(&app).await != 1 {
        assert!(dropped.elapsed() < Duration::from_secs(10), "the server notices every dropped socket");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut away: Vec<&Player> = players.iter().cycle().take(PLAYERS * DEPOSITS_AWAY).collect();
    away.extend(std::iter::repeat_n(&players[0], DEPOSITS_PAGED));
    deposit_each(&app, &away).await;

    // Everyone at the same moment: connect, authenticate, resume.
    let started = Instant::now();
    let storm = players.iter().zip(&last_seen).enumerate().map(|(i, (player, since))| {
        let app = app.clone();
        async move {
            let mut client = Client::connect(&app, player, i % 2 == 1).await;
            let resumed = client.resume(*since).await;
            (client, resumed)
        }
    });
    let (mut clients, resumed): (Vec<Client>, Vec<(Vec<u64>, usize)>) = join_all(storm).await.into_iter().unzip();
    let storm_time = started.elapsed();

    let db = database(&app.database_url).await;
    let mut events_checked = 0;
    for ((player, since), (seqs, pages)) in players.iter().zip(&last_seen).zip(&resumed) {
        let stored: Vec<u64> = db
            .query(
                "SELECT seq FROM events WHERE user_id = $1::text::uuid AND seq > $2 ORDER BY seq",
                &[&player.id, &i64::try_from(*since).expect("seq")],
            )
            .await
            .expect("stored events")
            .iter()
            .map(|row| u64::try_from(row.get::<_, i64>(0)).expect("seq"))
            .collect();
        assert_eq!(seqs, &stored, "{} resumed exactly its stored events after seq {since} ({pages} pages)", player.id);
        assert!(stored.len() >= DEPOSITS_AWAY * 2, "events were committed while {} was away", player.id);
        events_checked += seqs.len();
    }
    assert!(resumed[0].1 > 1, "the first player paged through more than one resume page");
    assert_eq!(sockets_open(&app).await, PLAYERS as u64 + 1, "every socket is back");
    // And every socket hears what is committed next, live.
    deposit_each(&app, &players.iter().collect::<Vec<_>>()).await;
    let live = join_all(clients.iter_mut().map(|c| c.until_event("CURRENCY_DEPOSITED"))).await;
    for ((player, seq), (seqs, _)) in players.iter().zip(&live).zip(&resumed) {
        assert!(seqs.last().is_some_and(|last| seq > last), "{} heard a new event live", player.id);
    }
    println!(
        "reconnect storm: {PLAYERS} sockets reconnected and resumed in {storm_time:?}; {events_checked} events \
         checked against PostgreSQL ({} pages for the busiest player)",
        resumed[0].1
    );
    assert_rss_bounded("reconnect storm", rss_before);
}
