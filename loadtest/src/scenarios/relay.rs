//! Relay traffic inside lobbies: members send stamped `games.send` messages at a rate, every
//! member's pushes are read for them, and the totals tell delivered, lost and duplicated.

use super::lobby::{Lobby, Member};
use crate::ctx::Ctx;
use crate::pace::Pacer;
use crate::stamp::{Stamp, now_us};
use crate::stats::Outcome;
use crate::view;
use crate::wire::EventView;
use crate::ws::{Push, PushKind};
use pzo_protocol::Request;
use pzo_protocol::request::{RelayPayload, SendArgs};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use uuid::Uuid;

/// The harness measurement of one relay, from send to receipt by another member.
pub const OP_DELIVERY: &str = "relay.delivery";
/// Check name: every relay acknowledged to its sender reached every other member.
pub const CHECK_LOST: &str = "relays reach every other member";
/// Check name: no member received the same message twice.
pub const CHECK_DUPLICATES: &str = "relays arrive once, in order";

/// Totals over every lobby of the run.
#[derive(Debug, Default)]
pub struct RelayCounters {
    pub sent: AtomicU64,
    /// Deliveries owed: other members of the lobby, per acknowledged send.
    pub expected: AtomicU64,
    /// Deliveries the server said it made.
    pub server_delivered: AtomicU64,
    pub received: AtomicU64,
    pub duplicates: AtomicU64,
    /// Relays whose payload was not one of ours.
    pub foreign: AtomicU64,
}

/// Sends stamped relays from `member` into `lobby` at `rate` per second. Without a `limit` it
/// sends until the load window ends. With one (a game of fixed length), a game under way when
/// the window ends plays to its end, as it would on a live server; only an explicit stop cuts
/// it short. Cutting every such game at the window's end made all of them (~1,250 at 10,000
/// players) finish within the same second, a burst no population of players produces.
pub async fn send(ctx: &Ctx, member: &Member, lobby: &Lobby, rate: f64, limit: Option<u64>, counters: &RelayCounters) {
    let others = u64::try_from(lobby.members.len().saturating_sub(1)).unwrap_or(0);
    let mut pacer = Pacer::new(rate, Instant::now());
    // Members start at different phases of the interval so a lobby does not send in bursts.
    let phase = pacer.interval().mul_f64(f64::from(member.index % 97) / 97.0);
    tokio::time::sleep(phase.min(Duration::from_secs(1))).await;
    let mut number = 0_u64;
    while limit.is_none_or(|limit| number < limit) {
        let slot = pacer.next_slot(Instant::now());
        let go_on = match limit {
            Some(_) => ctx.control.pause_until_unless_stopped(slot).await,
            None => ctx.control.pause_until(slot).await,
        };
        if !go_on {
            break;
        }
        let stamp = Stamp { sender: member.index, number, sent_us: now_us() };
        number += 1;
        let args = SendArgs { game_id: lobby.game_id, payload: RelayPayload::Text(stamp.encode()) };
        counters.sent.fetch_add(1, Ordering::Relaxed);
        if let Ok(data) = member.socket.request(Request::GamesSend(args)).await {
            counters.expected.fetch_add(others, Ordering::Relaxed);
            if let Some(delivered) = view::delivered(&data) {
                counters.server_delivered.fetch_add(u64::from(delivered), Ordering::Relaxed);
            }
        }
    }
}

/// Reads one member's pushes until the socket closes or the task is aborted: relays are timed
/// and counted; events go to `on_event`.
pub async fn receive(
    ctx: &Ctx,
    mut pushes: mpsc::Receiver<Push>,
    counters: &RelayCounters,
    mut on_event: impl FnMut(EventView),
) {
    // Numbers restart with every game, so order is tracked per (game, sender).
    let mut last_from: HashMap<(Uuid, u32), u64> = HashMap::new();
    while let Some(push) = pushes.recv().await {
        let relay = match push.kind {
            PushKind::Relay(relay) => relay,
            PushKind::Event(event) => {
                on_event(event);
                continue;
            }
        };
        let Some(stamp) = relay.text.as_deref().and_then(Stamp::parse) else {
            counters.foreign.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        counters.received.fetch_add(1, Ordering::Relaxed);
        let latency = Duration::from_micros(push.at_us.saturating_sub(stamp.sent_us));
        ctx.stats.record(OP_DELIVERY, Outcome::Ok, Some(latency));
        let previous = last_from.insert((relay.game_id, stamp.sender), stamp.number);
        if previous.is_some_and(|previous| stamp.number <= previous) {
            counters.duplicates.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Turns the totals into metrics and checks; `send_window` is how long senders ran.
pub fn grade(ctx: &Ctx, counters: &RelayCounters, send_window: Duration) {
    let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
    let (sent, expected, received) = (load(&counters.sent), load(&counters.expected), load(&counters.received));
    let (duplicates, foreign) = (load(&counters.duplicates), load(&counters.foreign));
    let stats = &ctx.stats;
    let seconds = send_window.as_secs_f64().max(0.001);
    stats.metric("relay messages sent", sent as f64, "msgs");
    stats.metric("relay deliveries expected", expected as f64, "msgs");
    stats.metric("relay deliveries server-reported", load(&counters.server_delivered) as f64, "msgs");
    stats.metric("relay deliveries received", received as f64, "msgs");
    stats.metric("relay deliveries per second", received as f64 / seconds, "msgs/s");
    stats.metric("relay deliveries lost", expected.saturating_sub(received) as f64, "msgs");
    if foreign > 0 {
        ctx.note(format!("{foreign} relays carried a payload this run did not send"));
    }
    stats.check(CHECK_LOST, received >= expected, || {
        format!("{} of {expected} deliveries never arrived", expected - received)
    });
    stats.check(CHECK_DUPLICATES, duplicates == 0, || format!("{duplicates} relays arrived twice or out of order"));
}
