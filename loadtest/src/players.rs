//! Sets up the simulated players: registration with bounded concurrency and progress,
//! waitlist entries, admission, and sockets connected over the ramp.

use crate::api::{self, Account};
use crate::control::LoadWindow;
use crate::ctx::Ctx;
use crate::limits::{ADMIT_WAVE_PLAYERS_MAX, REGISTER_IN_FLIGHT_MAX, SETUP_IN_FLIGHT_MAX};
use crate::ws::{Connected, Socket};
use futures_util::StreamExt;
use futures_util::stream;
use pzo_protocol::{EntryId, UserId};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Check name for setup steps that must succeed for the scenario to mean anything.
pub const CHECK_SETUP: &str = "setup completes";
/// How often setup progress is printed.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(2);

/// One simulated player.
#[derive(Debug, Clone)]
pub struct Player {
    /// The player's number in this run, from 0.
    pub index: u32,
    pub account: Account,
    pub entry_id: Option<EntryId>,
}

/// Prints `done/total` every couple of seconds until dropped.
struct Progress {
    task: tokio::task::JoinHandle<()>,
}

impl Progress {
    fn start(ctx: &Arc<Ctx>, what: &'static str, total: usize, done: Arc<AtomicU64>, failed: Arc<AtomicU64>) -> Self {
        let ctx = ctx.clone();
        let task = tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            loop {
                tokio::time::sleep(PROGRESS_INTERVAL).await;
                let done = done.load(Ordering::Relaxed);
                let rate = done as f64 / started.elapsed().as_secs_f64().max(0.001);
                let failed = failed.load(Ordering::Relaxed);
                ctx.progress(format!("{what}: {done}/{total} ({rate:.0}/s, {failed} failed)"));
            }
        });
        Self { task }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Registers `count` players, `REGISTER_IN_FLIGHT_MAX` at a time; those that failed are left out.
pub async fn register(ctx: &Arc<Ctx>, count: u32) -> Vec<Player> {
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let _progress = Progress::start(ctx, "registered", count as usize, done.clone(), failed.clone());
    let players: Vec<Option<Player>> = stream::iter(0..count)
        .map(|index| {
            let (ctx, done, failed) = (ctx.clone(), done.clone(), failed.clone());
            async move {
                match api::register(&ctx.http).await {
                    Ok(account) => {
                        done.fetch_add(1, Ordering::Relaxed);
                        Some(Player { index, account, entry_id: None })
                    }
                    Err(error) => {
                        failed.fetch_add(1, Ordering::Relaxed);
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
    ctx.progress(format!("registered {}/{count}", players.len()));
    players
}

/// Puts every player on the waitlist; those that failed keep no entry.
pub async fn join_waitlist(ctx: &Arc<Ctx>, players: &mut [Player]) {
    let entries: Vec<(usize, Option<EntryId>)> = stream::iter(players.iter().enumerate())
        .map(|(slot, player)| {
            let ctx = ctx.clone();
            let token = player.account.token.clone();
            async move {
                match api::join_waitlist(&ctx.http, &token).await {
                    Ok(entry) => (slot, Some(entry)),
                    Err(error) => {
                        ctx.fail_answer(CHECK_SETUP, "waitlist join", &error);
                        (slot, None)
                    }
                }
            }
        })
        .buffer_unordered(SETUP_IN_FLIGHT_MAX)
        .collect()
        .await;
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
    if !stragglers.is_empty() {
        ctx.progress(format!("admitting {} players one by one", stragglers.len()));
    }
    let results: Vec<Option<UserId>> = stream::iter(stragglers)
        .map(|(user, entry)| {
            let ctx = ctx.clone();
            async move {
                match api::admit_entry(&ctx.http, entry).await {
                    Ok(()) => Some(user),
                    Err(error) => {
                        ctx.fail_answer(CHECK_SETUP, format_args!("admit entry {entry}"), &error);
                        None
                    }
                }
            }
        })
        .buffer_unordered(SETUP_IN_FLIGHT_MAX)
        .collect()
        .await;
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
    let tasks: Vec<_> = players
        .iter()
        .enumerate()
        .map(|(slot, player)| {
            let ctx = ctx.clone();
            let token = player.account.token.clone();
            let at = window.ramp_slot(slot, count);
            tokio::spawn(async move {
                tokio::time::sleep_until(at).await;
                match Socket::connect(&ctx.sockets, &token, forward_pushes).await {
                    Ok(connected) => Some(connected),
                    Err(error) => {
                        ctx.fail_call(CHECK_SETUP, "socket connect", &error);
                        None
                    }
                }
            })
        })
        .collect();
    let mut sockets = Vec::with_capacity(count);
    for task in tasks {
        sockets.push(task.await.unwrap_or(None));
    }
    let up = sockets.iter().filter(|socket| socket.is_some()).count();
    ctx.progress(format!("connected {up}/{count} sockets"));
    sockets
}
