//! `lobby-relay`: admitted players in lobbies of 8 (one creates, seven join) each send
//! timestamped `games.send` messages at `--rate` per member; reports deliveries per second,
//! send-to-receipt latency and lost messages.

use super::begin_load;
use super::lobby::{self, Lobby, Member};
use super::relay::{self, RelayCounters};
use crate::ctx::Ctx;
use crate::limits::{LOBBY_SEATS, RELAY_DRAIN};
use crate::players;
use futures_util::future::join_all;
use std::sync::Arc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub async fn run(ctx: Arc<Ctx>) {
    let players = players::register_admitted(&ctx, ctx.config.players).await;
    let window = begin_load(&ctx);
    let counters = Arc::new(RelayCounters::default());
    let connected = players::connect(&ctx, &players, window, true).await;
    let mut members = Vec::new();
    let mut receivers: Vec<JoinHandle<()>> = Vec::new();
    for (player, connected) in players.iter().zip(connected) {
        let Some((socket, pushes)) = connected else {
            continue;
        };
        if let Some(pushes) = pushes {
            let (ctx, counters) = (ctx.clone(), counters.clone());
            receivers.push(tokio::spawn(async move { relay::receive(&ctx, pushes, &counters, |_| {}).await }));
        }
        members.push(Arc::new(Member { index: player.index, user_id: socket.user_id(), socket }));
    }
    let lobbies = form_lobbies(&ctx, members).await;
    ctx.progress(format!("{} lobbies started; relaying", lobbies.len()));
    let send_started = Instant::now();
    let senders = lobbies.iter().flat_map(|lobby| {
        lobby.members.iter().map(|member| {
            let (ctx, counters, lobby, member) = (ctx.clone(), counters.clone(), lobby.clone(), member.clone());
            tokio::spawn(async move { relay::send(&ctx, &member, &lobby, ctx.config.rate, None, &counters).await })
        })
    });
    join_all(senders.collect::<Vec<_>>()).await;
    let send_window = send_started.elapsed();
    ctx.control.pause_until_unless_stopped(Instant::now() + RELAY_DRAIN).await;
    for receiver in &receivers {
        receiver.abort();
    }
    relay::grade(&ctx, &counters, send_window);
    join_all(lobbies.iter().map(|lobby| lobby::finish(&ctx, lobby))).await;
    for lobby in &lobbies {
        for member in &lobby.members {
            member.socket.close().await;
        }
    }
}

/// Splits the members into lobbies of `LOBBY_SEATS` (the last may be smaller; a lone member
/// sits out) and forms them all at once.
async fn form_lobbies(ctx: &Arc<Ctx>, members: Vec<Arc<Member>>) -> Vec<Lobby> {
    let groups = seat(members, LOBBY_SEATS);
    let forming = groups.into_iter().enumerate().map(|(number, group)| {
        let ctx = ctx.clone();
        let name = format!("lt-{}-{number}", ctx.run_id);
        async move { lobby::form(&ctx, group, name).await }
    });
    join_all(forming).await.into_iter().flatten().collect()
}

/// Groups of `seats`; a last group of one is dropped.
pub fn seat<T>(members: Vec<T>, seats: usize) -> Vec<Vec<T>> {
    let mut groups = Vec::new();
    let mut members = members.into_iter().peekable();
    while members.peek().is_some() {
        let group: Vec<T> = members.by_ref().take(seats.max(1)).collect();
        if group.len() >= 2 {
            groups.push(group);
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seats_players_in_eights() {
        let sizes = |n: usize| seat((0..n).collect(), 8).iter().map(Vec::len).collect::<Vec<_>>();
        assert_eq!(sizes(16), [8, 8]);
        assert_eq!(sizes(19), [8, 8, 3]);
        assert_eq!(sizes(17), [8, 8]);
        assert_eq!(sizes(1), Vec::<usize>::new());
        assert_eq!(sizes(2), [2]);
    }
}
