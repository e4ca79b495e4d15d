//! `reconnect-storm`: N sockets connected, all dropped at once while the admin deposits to each
//! player, then all reconnect together and catch up with `events.resume` from the last `seq`
//! they saw; reports reconnect time and checks that no event was skipped.

use super::begin_load;
use crate::answer::CallError;
use crate::api;
use crate::ctx::Ctx;
use crate::limits::{RESUME_PAGES_MAX, SETUP_IN_FLIGHT_MAX};
use crate::players::{self, Player};
use crate::stats::Outcome;
use crate::view;
use crate::ws::{Push, PushKind, Socket};
use futures_util::StreamExt;
use futures_util::future::join_all;
use futures_util::stream;
use pzo_protocol::Request;
use pzo_protocol::request::{NoArgs, ResumeArgs};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use uuid::Uuid;

/// The harness measurement of one reconnect: connect, authenticate, resume every page.
const OP_RECONNECT: &str = "reconnect";
/// Check name: every event committed while a player was away came back through resume.
const CHECK_NO_GAP: &str = "resume misses no event (no seq gap)";
/// Check name: resumed pages are in `seq` order.
const CHECK_ORDER: &str = "resumed events are in seq order";
/// Check name: the storm's reconnects succeed.
const CHECK_RECONNECT: &str = "sockets reconnect";
/// How long sockets stay up between storms.
const HOLD: Duration = Duration::from_secs(1);

/// One player and what it has seen.
struct Peer {
    player: Player,
    socket: Option<Socket>,
    pushes: Option<mpsc::Receiver<Push>>,
    /// The highest `seq` this player has seen, on any of its sockets.
    seen_seq: u64,
}

pub async fn run(ctx: Arc<Ctx>) {
    let players = players::register(&ctx, ctx.config.players).await;
    let window = begin_load(&ctx);
    let connected = players::connect(&ctx, &players, window, true).await;
    let mut peers: Vec<Peer> = players
        .into_iter()
        .zip(connected)
        .map(|(player, connected)| {
            let (socket, pushes) = connected.map_or((None, None), |(socket, pushes)| (Some(socket), pushes));
            let seen_seq = socket.as_ref().map_or(0, Socket::session_seq);
            Peer { player, socket, pushes, seen_seq }
        })
        .collect();
    let mut round = 0_u32;
    while ctx.control.pause_until(Instant::now() + HOLD).await {
        round += 1;
        ping_all(&peers).await;
        for peer in &mut peers {
            drain(peer, &mut HashSet::new());
        }
        ctx.progress(format!("storm {round}: dropping {} sockets", peers.len()));
        for peer in &mut peers {
            if let Some(socket) = peer.socket.take() {
                peer.seen_seq = peer.seen_seq.max(socket.last_pushed_seq());
                socket.drop_connection();
            }
            peer.pushes = None;
        }
        let owed = deposit_while_away(&ctx, &peers, round).await;
        peers = reconnect_all(&ctx, peers, owed).await;
    }
    ctx.stats.metric("storms", f64::from(round), "rounds");
    for peer in &peers {
        if let Some(socket) = &peer.socket {
            socket.close().await;
        }
    }
}

async fn ping_all(peers: &[Peer]) {
    join_all(
        peers.iter().filter_map(|peer| peer.socket.as_ref()).map(|socket| socket.request(Request::Ping(NoArgs {}))),
    )
    .await;
}

/// Takes the pushes already received: raises `seen_seq` and collects transaction ids.
fn drain(peer: &mut Peer, transactions: &mut HashSet<Uuid>) {
    if let Some(pushes) = &mut peer.pushes {
        while let Ok(push) = pushes.try_recv() {
            if let PushKind::Event(event) = push.kind {
                peer.seen_seq = peer.seen_seq.max(event.seq);
                transactions.extend(event.transaction_id);
            }
        }
    }
}

/// Deposits 1 gold to every player through the admin door; per player, the transactions owed.
async fn deposit_while_away(ctx: &Arc<Ctx>, peers: &[Peer], round: u32) -> Vec<Option<Uuid>> {
    stream::iter(peers.iter().map(|peer| (peer.player.index, peer.player.account.user_id)))
        .map(|(index, user_id)| {
            let ctx = ctx.clone();
            async move {
                let key = format!("lt-{}-away-{index}-{round}", ctx.run_id);
                api::deposit(&ctx.http, user_id, 1, key).await.ok()
            }
        })
        .buffered(SETUP_IN_FLIGHT_MAX)
        .collect()
        .await
}

/// Reconnects every peer at once; checks each one's resume against what it is owed.
async fn reconnect_all(ctx: &Arc<Ctx>, peers: Vec<Peer>, owed: Vec<Option<Uuid>>) -> Vec<Peer> {
    let tasks: Vec<_> = peers
        .into_iter()
        .zip(owed)
        .map(|(peer, owed)| {
            let ctx = ctx.clone();
            tokio::spawn(async move { reconnect(&ctx, peer, owed).await })
        })
        .collect();
    let mut peers = Vec::with_capacity(tasks.len());
    for task in tasks {
        if let Ok(peer) = task.await {
            peers.push(peer);
        }
    }
    peers
}

async fn reconnect(ctx: &Ctx, mut peer: Peer, owed: Option<Uuid>) -> Peer {
    let started = Instant::now();
    let (socket, pushes) = match Socket::connect(&ctx.sockets, &peer.player.account.token, true).await {
        Ok(connected) => connected,
        Err(CallError::Stopped) => return peer,
        Err(error) => {
            ctx.stats.record(OP_RECONNECT, Outcome::Failed, None);
            ctx.fail_call(CHECK_RECONNECT, format_args!("player {}", peer.player.index), &error);
            return peer;
        }
    };
    peer.socket = Some(socket);
    peer.pushes = pushes;
    let since = peer.seen_seq;
    let Some(resumed) = resume(ctx, &mut peer).await else {
        ctx.stats.record(OP_RECONNECT, Outcome::Failed, None);
        return peer;
    };
    ctx.stats.record(OP_RECONNECT, Outcome::Ok, Some(started.elapsed()));
    ctx.stats.pass(CHECK_RECONNECT);
    let mut seen = resumed;
    drain(&mut peer, &mut seen);
    if let Some(owed) = owed {
        ctx.stats.check(CHECK_NO_GAP, seen.contains(&owed), || {
            format!("player {}: deposit {owed} (after seq {since}) never came back", peer.player.index)
        });
    }
    peer
}

/// Reads `events.resume` pages from the peer's `seen_seq`; the transaction ids in them.
async fn resume(ctx: &Ctx, peer: &mut Peer) -> Option<HashSet<Uuid>> {
    let socket = peer.socket.as_ref()?;
    let mut since = peer.seen_seq;
    let mut transactions = HashSet::new();
    for _ in 0..RESUME_PAGES_MAX {
        let data = match socket.request(Request::EventsResume(ResumeArgs { since_seq: since })).await {
            Ok(data) => data,
            Err(error) => {
                ctx.fail_answer(CHECK_RECONNECT, format_args!("player {}: events.resume", peer.player.index), &error);
                return None;
            }
        };
        let Some(page) = view::events_page(&data) else {
            ctx.stats.fail(CHECK_RECONNECT, "events.resume reply is not an events page");
            return None;
        };
        let seqs: Vec<u64> = page.events.iter().map(|event| event.seq).collect();
        ctx.stats.check(CHECK_ORDER, seqs.windows(2).all(|pair| pair[0] < pair[1]), || {
            format!("player {}: page after seq {since} is out of order: {seqs:?}", peer.player.index)
        });
        for event in page.events {
            peer.seen_seq = peer.seen_seq.max(event.seq);
            transactions.extend(event.transaction_id);
        }
        if !page.more {
            return Some(transactions);
        }
        // The contract: resume again from `next_seq`. One that does not move on would loop.
        if page.next_seq <= since {
            ctx.stats
                .fail(CHECK_RECONNECT, format!("events.resume from {since} says more, next_seq {}", page.next_seq));
            return Some(transactions);
        }
        since = page.next_seq;
    }
    ctx.stats.fail(CHECK_RECONNECT, format!("player {}: more than {RESUME_PAGES_MAX} resume pages", peer.player.index));
    Some(transactions)
}
