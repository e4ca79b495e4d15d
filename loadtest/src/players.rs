//! Sets up the simulated players: registration with bounded concurrency and progress,
//! waitlist entries, admission, and sockets connected over the ramp.

use crate::api::{self, Account};
use crate::control::LoadWindow;
use crate::ctx::Ctx;
use crate::limits::{ADMIT_WAVE_PLAYERS_MAX, REGISTER_IN_FLIGHT_MAX, SETUP_IN_FLIGHT_MAX};
use crate::progress::Phase;
use crate::ws::{Connected, Socket};
use futures_util::StreamExt;
use futures_util::stream;
use pzo_protocol::{EntryId, UserId};
use std::collections::HashSet;
use std::sync::Arc;

/// Check name for setup steps that must succeed for the scenario to mean anything.
pub const CHECK_SETUP: &str = "setup completes";

/// One simulated player.
#[derive(Debug, Clone)]
pub struct Player {
    /// The player's number in this run, from 0.
    pub index: u32,
    pub account: Account,
    pub entry_id: Option<EntryId>,
}

/// Registers `count` players, `REGISTER_IN_FLIGHT_MAX` at a time; those that failed are left out.
pub async fn register(ctx: &Arc<Ctx>, count: u32) -> Vec<Player> {
    let phase = ctx.bars.counted("register", u64::from(count));
    let players: Vec<Option<Player>> = stream::iter(0..count)
        .map(|index| {
            let (ctx, phase) = (ctx.clone(), phase.clone());
            async move {
                match api::register(&ctx.http).await {
                    Ok(account) => {
                        phase.done();
                        Some(Player { index, account, entry_id: None })
                    }
                    Err(error) => {
                        phase.failed();
                        ctx.fail_answer(CHECK_SETUP, "register", &error);
                        None
                    }
                }
            }
        })
        .buffer_unordered(REGISTER_IN_FLIGHT_MAX)
        .collect()
        .await;
    let mut players: Vec<Player> = players.into_iter().flatten().collect();
    players.sort_by_key(|player| player.index);
    phase.finish(format!("{} registered", players.len()));
    players
}

/// Puts every player on the waitlist; those that failed keep no entry.
pub async fn join_waitlist(ctx: &Arc<Ctx>, players: &mut [Player]) {
    let phase = ctx.bars.counted("waitlist join", players.len() as u64);
    let entries: Vec<(usize, Option<EntryId>)> = stream::iter(players.iter().enumerate())
        .map(|(slot, player)| {
            let (ctx, phase) = (ctx.clone(), phase.clone());
            let token = player.account.token.clone();
            async move {
                match api::join_waitlist(&ctx.http, &token).await {
                    Ok(entry) => {
                        phase.done();
                        (slot, Some(entry))
                    }
                    Err(error) => {
                        phase.failed();
                        ctx.fail_answer(CHECK_SETUP, "waitlist join", &error);
                        (slot, None)
                    }
                }
            }
        })
        .buffer_unordered(SETUP_IN_FLIGHT_MAX)
        .collect()
        .await;
    phase.finish("");
    for (slot, entry) in entries {
        players[slot].entry_id = entry;
    }
}

/// Admits every player with an entry: in waves of the next waiting, then one by one for any
/// whose turn the waves did not reach (entries of earlier runs may wait ahead of them).
/// Returns the players admitted.
pub async fn admit(ctx: &Arc<Ctx>, players: &[Player]) -> HashSet<UserId> {
    let ours: HashSet<UserId> = players.iter().filter(|p| p.entry_id.is_some()).map(|p| p.account.user_id).collect();
    let mut admitted = HashSet::new();
    // Waves admit at most as many entries as we have, so stale entries cost a bounded amount.
    let mut wave_slots_left = u32::try_from(ours.len()).unwrap_or(u32::MAX);
    while wave_slots_left > 0 && admitted.len() < ours.len() {
        let wave = wave_slots_left.min(ADMIT_WAVE_PLAYERS_MAX);
        wave_slots_left -= wave;
        match api::admit_wave(&ctx.http, wave).await {
            Ok(users) if users.is_empty() => break,
            Ok(users) => admitted.extend(users.into_iter().filter(|user| ours.contains(user))),
            Err(error) => {
                ctx.note(format!("admission wave failed ({error}); admitting one by one"));
                break;
            }
        }
    }
    let stragglers: Vec<(UserId, EntryId)> = players
        .iter()
        .filter_map(|p| p.entry_id.map(|entry| (p.account.user_id, entry)))
        .filter(|(user, _)| !admitted.contains(user))
        .collect();
    // Entries of earlier runs can wait ahead of ours; those players are admitted one by one.
    let phase = ctx.bars.counted("admit one by one", stragglers.len() as u64);
    let results: Vec<Option<UserId>> = stream::iter(stragglers)
        .map(|(user, entry)| {
            let (ctx, phase) = (ctx.clone(), phase.clone());
            async move {
                match api::admit_entry(&ctx.http, entry).await {
                    Ok(()) => {
                        phase.done();
                        Some(user)
                    }
                    Err(error) => {
                        phase.failed();
                        ctx.fail_answer(CHECK_SETUP, format_args!("admit entry {entry}"), &error);
                        None
                    }
                }
            }
        })
        .buffer_unordered(SETUP_IN_FLIGHT_MAX)
        .collect()
        .await;
    phase.finish("");
    admitted.extend(results.into_iter().flatten());
    ctx.progress(format!("admitted {}/{}", admitted.len(), ours.len()));
    admitted
}

/// Registers, enqueues and admits `count` players: the setup of the lobby scenarios.
pub async fn register_admitted(ctx: &Arc<Ctx>, count: u32) -> Vec<Player> {
    let mut players = register(ctx, count).await;
    join_waitlist(ctx, &mut players).await;
    let admitted = admit(ctx, &players).await;
    players.retain(|player| admitted.contains(&player.account.user_id));
    players
}

/// Connects one socket per player, each at its slot of the ramp; `None` where it failed.
pub async fn connect(
    ctx: &Arc<Ctx>,
    players: &[Player],
    window: LoadWindow,
    forward_pushes: bool,
) -> Vec<Option<Connected>> {
    let count = players.len();
    let phase = ctx.bars.counted("connect", count as u64);
    let tasks: Vec<_> = players
        .iter()
        .enumerate()
        .map(|(slot, player)| {
            let (ctx, phase) = (ctx.clone(), phase.clone());
            let token = player.account.token.clone();
            let at = window.ramp_slot(slot, count);
            tokio::spawn(async move {
                tokio::time::sleep_until(at).await;
                connect_one(&ctx, &phase, &token, forward_pushes).await
            })
        })
        .collect();
    let mut sockets = Vec::with_capacity(count);
    for task in tasks {
        sockets.push(task.await.unwrap_or(None));
    }
    let up = sockets.iter().filter(|socket| socket.is_some()).count();
    phase.finish(format!("{up} sockets up"));
    sockets
}

/// Connects one player's socket, counting it on `phase`; `None` (recorded) when it failed.
pub async fn connect_one(ctx: &Ctx, phase: &Phase, token: &str, forward_pushes: bool) -> Option<Connected> {
    match Socket::connect(&ctx.sockets, token, forward_pushes).await {
        Ok(connected) => {
            phase.done();
            Some(connected)
        }
        Err(error) => {
            phase.failed();
            ctx.fail_call(CHECK_SETUP, "socket connect", &error);
            None
        }
    }
}
