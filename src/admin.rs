//! The admin console's live stats: a snapshot of sockets, actors, mailboxes, the journal and
//! per-endpoint SLO compliance, pushed every second to subscribed admin sockets.

use crate::app::App;
use crate::bus::{SharedFrame, SocketHandle};
use pzo_protocol::reply::{ActorCount, StatsSnapshot};
use pzo_protocol::{Reply, ServerFrame};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How often stats go out.
pub const STATS_INTERVAL: Duration = Duration::from_secs(1);

/// The numbers of this instant.
pub fn snapshot(app: &App) -> StatsSnapshot {
    let published = app.bus.events_published.load(Ordering::Relaxed);
    let uptime = app.started.elapsed().as_secs_f64().max(1.0);
    let mailbox_depth = app.journal.queue_depth()
        + app.waitlist.depth()
        + app.boards.values().map(|b| b.depth()).sum::<usize>()
        + app.players.handles().iter().map(|p| p.depth()).sum::<usize>()
        + app.lobbies.handles().iter().map(|l| l.depth()).sum::<usize>();
    let stats = &app.journal.stats;
    StatsSnapshot {
        at: app.now(),
        sockets: app.bus.socket_count(),
        players_online: app.bus.players_online() as u64,
        actors: vec![
            ActorCount { kind: "player".into(), live: app.players.len() as u64 },
            ActorCount { kind: "lobby".into(), live: app.lobbies.len() as u64 },
            ActorCount { kind: "leaderboard".into(), live: app.boards.len() as u64 },
            ActorCount { kind: "waitlist".into(), live: 1 },
        ],
        mailbox_depth: mailbox_depth as u64,
        journal_batch_size_mean: stats.mean_batch(),
        journal_commit_ms_p99: stats.commit_ms_p99(),
        events_per_sec: app.bus.events_rate(),
        endpoints: app.telemetry.endpoint_stats(),
        auto_admission: app.auto_admitter.view(),
    }
    .with_uptime(published, uptime)
}

trait WithUptime {
    fn with_uptime(self, published: u64, uptime: f64) -> Self;
}

impl WithUptime for StatsSnapshot {
    /// Before the bus has a rate window, fall back to the mean rate since start.
    fn with_uptime(mut self, published: u64, uptime: f64) -> Self {
        if self.events_per_sec == 0.0 && published > 0 {
            self.events_per_sec = published as f64 / uptime;
        }
        self
    }
}

/// Pushes a snapshot every second as a reply to the subscribing request, until the socket goes.
pub fn spawn_stats(app: Arc<App>, socket: SocketHandle, request_id: u32) {
    crate::runtime::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + STATS_INTERVAL, STATS_INTERVAL);
        loop {
            tick.tick().await;
            let started = Instant::now();
            let frame =
                SharedFrame::new(ServerFrame::Reply { re: request_id, result: Ok(Reply::Stats(snapshot(&app))) });
            if socket.tx.is_closed() || !socket.push(&frame) {
                break;
            }
            tracing::trace!(elapsed_us = started.elapsed().as_micros() as u64, "stats pushed");
        }
    });
}
