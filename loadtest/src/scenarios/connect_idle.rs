//! `connect-idle`: N authenticated sockets held open with periodic pings once the ramp is over;
//! reports ping latency and, for a local server given by `--server-pid`, its memory per socket.

use super::begin_load;
use crate::control::LoadWindow;
use crate::ctx::Ctx;
use crate::pace::{Pacer, interval_of};
use crate::players::{self, Player};
use crate::progress::Phase;
use crate::rss;
use crate::ws::Socket;
use pzo_protocol::Request;
use pzo_protocol::request::NoArgs;
use std::sync::Arc;
use tokio::time::Instant;

/// Check name: the server keeps idle, pinging sockets open.
const CHECK_HELD: &str = "sockets stay open while idle";

pub async fn run(ctx: Arc<Ctx>) {
    let players = players::register(&ctx, ctx.config.players).await;
    let rss_before = server_rss_kib(&ctx);
    let window = begin_load(&ctx);
    let count = players.len();
    let phase = ctx.bars.counted("connect", count as u64);
    let holders: Vec<_> = players
        .into_iter()
        .enumerate()
        .map(|(slot, player)| {
            let (ctx, phase) = (ctx.clone(), phase.clone());
            tokio::spawn(async move { hold(&ctx, &phase, player, window, slot, count).await })
        })
        .collect();
    let mut sockets = Vec::with_capacity(count);
    for holder in holders {
        if let Ok(Some(socket)) = holder.await {
            sockets.push(socket);
        }
    }
    // Measured before any socket closes: the memory of N live sockets.
    let rss_after = server_rss_kib(&ctx);
    for socket in &sockets {
        ctx.stats
            .check(CHECK_HELD, socket.is_open(), || format!("socket of {} was closed by the server", socket.user_id()));
    }
    ctx.stats.metric("sockets connected", sockets.len() as f64, "sockets");
    report_memory(&ctx, rss_before, rss_after, sockets.len());
    for socket in &sockets {
        socket.close().await;
    }
}

/// Connects at `at`, then pings at the configured rate until the window ends.
async fn hold(
    ctx: &Ctx,
    phase: &Phase,
    player: Player,
    window: LoadWindow,
    slot: usize,
    count: usize,
) -> Option<Socket> {
    let (at, ramp_end) = (window.ramp_slot(slot, count), window.ramp_end);
    tokio::time::sleep_until(at).await;
    let (socket, _) = players::connect_one(ctx, phase, &player.account.token, false).await?;
    let ping_from = ramp_end.max(Instant::now());
    // Heartbeats measure sockets being held: they start once the ramp is over (connects are
    // measured as ws.connect), spread over one interval so sockets do not ping in lockstep.
    let phase = interval_of(ctx.config.rate).mul_f64(slot as f64 / count.max(1) as f64);
    let mut pacer = Pacer::new(ctx.config.rate, ping_from + phase);
    while ctx.control.pause_until(pacer.next_slot(Instant::now())).await {
        if socket.request(Request::Ping(NoArgs {})).await.is_err() && !socket.is_open() {
            break;
        }
    }
    Some(socket)
}

fn server_rss_kib(ctx: &Ctx) -> Option<u64> {
    let pid = ctx.config.server_pid?;
    if !ctx.config.target.is_loopback() {
        return None;
    }
    let rss = rss::resident_kib(pid);
    if rss.is_none() {
        ctx.note(format!("cannot read /proc/{pid}/status; no memory figures"));
    }
    rss
}

fn report_memory(ctx: &Ctx, before: Option<u64>, after: Option<u64>, sockets: usize) {
    let (Some(before), Some(after)) = (before, after) else {
        return;
    };
    let stats = &ctx.stats;
    stats.metric("server RSS before", before as f64, "KiB");
    stats.metric("server RSS with sockets open", after as f64, "KiB");
    if sockets > 0 {
        let per_socket = (after as f64 - before as f64) / sockets as f64;
        stats.metric("server RSS per socket", per_socket, "KiB");
    }
}
