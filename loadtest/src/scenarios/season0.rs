//! `season0`: the launch rehearsal. Players arrive over the ramp, register, join the waitlist,
//! are admitted in waves by the admin, play lobbies (create, join, start, relay, finish by the
//! admin), then spend: withdraw, `achievements.unlock first_game`, `cosmetics.unlock
//! golden_helm`, `leaderboard.get season0`; and queue for the next game until the window ends.

use super::begin_load;
use super::ledger::{self, Ledger};
use super::lobby::{self, Member};
use super::relay::{self, RelayCounters};
use crate::answer::CallError;
use crate::api;
use crate::ctx::Ctx;
use crate::limits::{ADMIT_WAVE_PLAYERS_MAX, LOBBY_SEATS, REGISTER_IN_FLIGHT_MAX, RELAY_DRAIN};
use crate::stats::Outcome;
use crate::view;
use crate::wire::ReplyData;
use crate::ws::Socket;
use pzo_protocol::request::{LeaderboardGetArgs, NoArgs, UnlockAchievementArgs, UnlockCosmeticArgs};
use pzo_protocol::{EntryId, Request};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The harness measurement of the time from waitlist join to admission.
const OP_ADMISSION_WAIT: &str = "admission.wait";
/// Check name: admission is pushed as `SEASON0_JOINED` to the player's socket.
const CHECK_ADMISSION: &str = "admission pushes SEASON0_JOINED";
/// Check name: unlocks after a finished game succeed (or were already owned).
const CHECK_UNLOCKS: &str = "first_game and golden_helm unlock after a game";
/// Check name: a player with a finished game has a leaderboard row.
const CHECK_LEADERBOARD: &str = "leaderboard shows players after their game";
/// How often the admin admits the players who joined since the last wave.
const WAVE_INTERVAL: Duration = Duration::from_secs(2);
/// How long a player waits for its wave before asking for its own admission.
const ADMISSION_WAIT: Duration = Duration::from_secs(10);
/// How long the matchmaker waits for a lobby to fill before starting it with fewer.
const MATCH_WAIT: Duration = Duration::from_secs(3);
/// Games in a row a player may see fail before it leaves the queue.
const GAME_FAILURES_MAX: u32 = 3;
/// Pause before queueing again after a failed game.
const GAME_RETRY_DELAY: Duration = Duration::from_secs(1);
/// Relay messages each member sends per game.
const RELAYS_PER_GAME: u64 = 5;
/// Gold deposited to each player on admission.
const DEPOSIT_GOLD: i64 = 100_000;
/// Price of `golden_helm` in the catalog (SPEC section 5).
const GOLDEN_HELM_GOLD: i64 = 500;
/// Gold withdrawn after each game.
const WITHDRAW_GOLD: i64 = 10;
/// How often the load bar's counts of players and games are refreshed.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);
/// The window's end stops every player at once; their final balance checks are spread over
/// this much time (by player index) so that they read like clients, not like one synchronized
/// burst of hundreds of `currency.list` that would grade the burst instead of the server.
const FINAL_CHECK_SPREAD: Duration = Duration::from_secs(1);
/// Slots the final checks are spread over.
const FINAL_CHECK_SLOTS: u32 = 50;
/// How long to wait before asking the leaderboard again for a row that may still be on its way.
const LEADERBOARD_RETRY_DELAY: Duration = Duration::from_millis(250);

/// A player waiting for a game; told whether it played one to the end.
struct Ticket {
    member: Arc<Member>,
    done: oneshot::Sender<bool>,
}

/// Counters shared by the players, the admin waves and the progress line.
#[derive(Default)]
struct Tally {
    /// Joined the waitlist and not yet covered by a wave.
    waiting: AtomicU32,
    registered: AtomicU64,
    admitted: AtomicU64,
    games: AtomicU64,
}

/// What every task of the scenario shares.
struct Shared {
    ctx: Arc<Ctx>,
    tally: Tally,
    relays: RelayCounters,
    register_gate: Semaphore,
}

pub async fn run(ctx: Arc<Ctx>) {
    let window = begin_load(&ctx);
    let shared = Arc::new(Shared {
        ctx: ctx.clone(),
        tally: Tally::default(),
        relays: RelayCounters::default(),
        register_gate: Semaphore::new(REGISTER_IN_FLIGHT_MAX),
    });
    let players = ctx.config.players as usize;
    let (queue, tickets) = mpsc::channel::<Ticket>(players.max(1));
    let matchmaker = tokio::spawn(matchmake(shared.clone(), tickets));
    let waves = tokio::spawn(admit_waves(shared.clone()));
    let progress = tokio::spawn(report_progress(shared.clone()));
    let tasks: Vec<_> = (0..players)
        .map(|slot| {
            let (shared, queue) = (shared.clone(), queue.clone());
            let at = window.ramp_slot(slot, players);
            let index = u32::try_from(slot).unwrap_or(u32::MAX);
            tokio::spawn(async move { play(&shared, index, at, queue).await })
        })
        .collect();
    drop(queue);
    let mut sessions = Vec::new();
    for task in tasks {
        if let Ok(Some(session)) = task.await {
            sessions.push(session);
        }
    }
    let _ = matchmaker.await;
    waves.abort();
    progress.abort();
    ctx.control.pause_until_unless_stopped(Instant::now() + RELAY_DRAIN).await;
    for (member, receiver) in &sessions {
        receiver.abort();
        member.socket.close().await;
    }
    relay::grade(&ctx, &shared.relays, window.end.saturating_duration_since(window.start));
    ctx.stats.metric("games finished", shared.tally.games.load(Ordering::Relaxed) as f64, "games");
}

/// One player's launch night; returns its socket and push reader for the closing drain.
async fn play(
    shared: &Arc<Shared>,
    index: u32,
    at: Instant,
    queue: mpsc::Sender<Ticket>,
) -> Option<(Arc<Member>, JoinHandle<()>)> {
    let ctx = &shared.ctx;
    tokio::time::sleep_until(at).await;
    let account = {
        let _permit = shared.register_gate.acquire().await.ok()?;
        api::register(&ctx.http).await.ok()?
    };
    shared.tally.registered.fetch_add(1, Ordering::Relaxed);
    let (socket, pushes) = Socket::connect(&ctx.sockets, &account.token, true).await.ok()?;
    let admitted = Arc::new(Notify::new());
    let receiver = {
        let (shared, admitted) = (shared.clone(), admitted.clone());
        let pushes = pushes?;
        tokio::spawn(async move {
            relay::receive(&shared.ctx, pushes, &shared.relays, |event| {
                if event.kind == "SEASON0_JOINED" {
                    admitted.notify_one();
                }
            })
            .await;
        })
    };
    let member = Arc::new(Member { index, user_id: account.user_id, socket });
    let session = (member.clone(), receiver);
    let entry = match api::join_waitlist(&ctx.http, &account.token).await {
        Ok(entry) => entry,
        Err(_) => return Some(session),
    };
    shared.tally.waiting.fetch_add(1, Ordering::Relaxed);
    if !await_admission(ctx, &member.socket, &admitted, entry).await {
        return Some(session);
    }
    shared.tally.admitted.fetch_add(1, Ordering::Relaxed);
    let mut ledger = Ledger::default();
    let key = format!("lt-{}-s0-fund-{index}", ctx.run_id);
    if api::deposit(&ctx.http, account.user_id, DEPOSIT_GOLD, key).await.is_ok() {
        ledger.deposited(DEPOSIT_GOLD);
    }
    let (mut games, mut failed_in_a_row) = (0_u32, 0_u32);
    while !ctx.control.stopping() {
        let (done, finished) = oneshot::channel();
        if queue.send(Ticket { member: member.clone(), done }).await.is_err() {
            break;
        }
        match finished.await {
            Ok(true) => {
                after_game(ctx, &member, &mut ledger, games == 0).await;
                games += 1;
                failed_in_a_row = 0;
            }
            // The game failed (a server fault, say): queue again after a pause, a few times.
            Ok(false) => {
                failed_in_a_row += 1;
                let resume_at = Instant::now() + GAME_RETRY_DELAY;
                if failed_in_a_row >= GAME_FAILURES_MAX || !ctx.control.pause_until(resume_at).await {
                    break;
                }
            }
            // The matchmaker dropped the ticket: the window is over.
            Err(_) => break,
        }
    }
    tokio::time::sleep(FINAL_CHECK_SPREAD * (index % FINAL_CHECK_SLOTS) / FINAL_CHECK_SLOTS).await;
    ledger.resolve(ctx, &member.socket).await;
    ledger.check_final(ctx, &member.socket, index).await;
    Some(session)
}

/// Waits for this player's wave; past `ADMISSION_WAIT` (entries of earlier runs may be ahead of
/// it) the admin admits its entry directly. False when it never got in.
async fn await_admission(ctx: &Ctx, socket: &Socket, admitted: &Notify, entry: EntryId) -> bool {
    let started = Instant::now();
    if tokio::time::timeout(ADMISSION_WAIT, admitted.notified()).await.is_ok() {
        ctx.stats.record(OP_ADMISSION_WAIT, Outcome::Ok, Some(started.elapsed()));
        ctx.stats.pass(CHECK_ADMISSION);
        return true;
    }
    if ctx.control.stopping() {
        return false;
    }
    let status = socket.request(Request::WaitlistStatus(NoArgs {})).await;
    if status.as_ref().ok().and_then(view::admitted) == Some(true) {
        ctx.stats.fail(CHECK_ADMISSION, "admitted, but no SEASON0_JOINED reached the socket");
        ctx.stats.record(OP_ADMISSION_WAIT, Outcome::Ok, Some(started.elapsed()));
        return true;
    }
    if api::admit_entry(&ctx.http, entry).await.is_err() {
        ctx.stats.record(OP_ADMISSION_WAIT, Outcome::Failed, None);
        return false;
    }
    let pushed = tokio::time::timeout(ADMISSION_WAIT, admitted.notified()).await.is_ok();
    ctx.stats.check(CHECK_ADMISSION, pushed, || "admitted by entry, but no SEASON0_JOINED reached the socket".into());
    ctx.stats.record(OP_ADMISSION_WAIT, Outcome::Ok, Some(started.elapsed()));
    true
}

/// Every `WAVE_INTERVAL`, the admin admits as many as joined since the last wave.
async fn admit_waves(shared: Arc<Shared>) {
    let ctx = &shared.ctx;
    while ctx.control.pause_until(Instant::now() + WAVE_INTERVAL).await {
        let joined = shared.tally.waiting.swap(0, Ordering::Relaxed);
        let mut left = joined;
        while left > 0 {
            let wave = left.min(ADMIT_WAVE_PLAYERS_MAX);
            left -= wave;
            if let Err(error) = api::admit_wave(&ctx.http, wave).await {
                ctx.note(format!("admission wave of {wave} failed: {error}"));
            }
        }
    }
}

/// Seats queued players in lobbies of `LOBBY_SEATS`, starting a smaller one when nobody new
/// came for `MATCH_WAIT`; drops every ticket once the window is over.
async fn matchmake(shared: Arc<Shared>, mut tickets: mpsc::Receiver<Ticket>) {
    let mut seated: Vec<Ticket> = Vec::with_capacity(LOBBY_SEATS);
    let mut games = Vec::new();
    let mut number = 0_u32;
    loop {
        let next = tokio::time::timeout(MATCH_WAIT, tickets.recv()).await;
        let (closed, quiet) = (matches!(next, Ok(None)), next.is_err());
        if let Ok(Some(ticket)) = next {
            seated.push(ticket);
        }
        if shared.ctx.control.stopping() {
            // Dropping a ticket tells its player that no game is coming.
            seated.clear();
        } else if seated.len() >= LOBBY_SEATS || (quiet && seated.len() >= 2) {
            number += 1;
            let group = std::mem::take(&mut seated);
            games.push(tokio::spawn(play_game(shared.clone(), group, number)));
        }
        if closed {
            break;
        }
    }
    for game in games {
        let _ = game.await;
    }
}

/// One game: form the lobby, relay a few messages each, finish it, tell the players.
async fn play_game(shared: Arc<Shared>, tickets: Vec<Ticket>, number: u32) {
    let ctx = &shared.ctx;
    let members = tickets.iter().map(|ticket| ticket.member.clone()).collect();
    let name = format!("lt-{}-s0-{number}", ctx.run_id);
    let mut played = HashSet::new();
    if let Some(lobby) = lobby::form(ctx, members, name).await {
        let sends = lobby
            .members
            .iter()
            .map(|member| relay::send(ctx, member, &lobby, ctx.config.rate, Some(RELAYS_PER_GAME), &shared.relays));
        futures_util::future::join_all(sends).await;
        if lobby::finish(ctx, &lobby).await {
            shared.tally.games.fetch_add(1, Ordering::Relaxed);
            played.extend(lobby.members.iter().map(|member| member.user_id));
        }
    }
    for ticket in tickets {
        let _ = ticket.done.send(played.contains(&ticket.member.user_id));
    }
}

/// Spending after a game; the unlocks only after the first.
async fn after_game(ctx: &Ctx, member: &Member, ledger: &mut Ledger, first: bool) {
    let socket = &member.socket;
    if first {
        let unlock = Request::AchievementsUnlock(UnlockAchievementArgs {
            achievement_id: "first_game".into(),
            idempotency_key: None,
        });
        expect_unlock(ctx, socket.request(unlock).await, "achievements.unlock first_game");
    }
    let key = format!("lt-{}-s0-w-{}-{}", ctx.run_id, member.index, ledger.acknowledged_withdrawals);
    spend(ctx, socket, ledger, WITHDRAW_GOLD, ledger::withdraw_request(WITHDRAW_GOLD, &key), false).await;
    if first {
        let key = format!("lt-{}-s0-helm-{}", ctx.run_id, member.index);
        let unlock = Request::CosmeticsUnlock(UnlockCosmeticArgs {
            cosmetic_id: "golden_helm".into(),
            idempotency_key: Some(key),
        });
        spend(ctx, socket, ledger, GOLDEN_HELM_GOLD, unlock, true).await;
    }
    check_leaderboard(ctx, socket, member.index).await;
}

/// Sends a request that moves `amount` gold out, keeping the ledger.
async fn spend(ctx: &Ctx, socket: &Socket, ledger: &mut Ledger, amount: i64, request: Request, unlock: bool) {
    let op = request.name();
    match socket.request(request.clone()).await {
        Ok(_) => {
            ledger.withdrew(amount);
            if unlock {
                ctx.stats.pass(CHECK_UNLOCKS);
            }
        }
        Err(error) if unlock && error.is("ALREADY_UNLOCKED") => ctx.stats.pass(CHECK_UNLOCKS),
        Err(CallError::Rejected(error)) => ctx.stats.fail(ledger::CHECK_ANSWERS, format!("{op}: {}", error.code)),
        Err(CallError::Stopped) => {}
        Err(_) => ledger.unknown(amount, request),
    }
}

fn expect_unlock(ctx: &Ctx, result: Result<ReplyData, CallError>, what: &str) {
    match result {
        Ok(_) => ctx.stats.pass(CHECK_UNLOCKS),
        Err(error) if error.is("ALREADY_UNLOCKED") => ctx.stats.pass(CHECK_UNLOCKS),
        Err(CallError::Rejected(error)) => ctx.stats.fail(CHECK_UNLOCKS, format!("{what}: {}", error.code)),
        Err(_) => {}
    }
}

/// Asks `leaderboard.get season0 around=me`; a missing own row is asked once more, since the
/// board may apply the game's scores just after the finish is acknowledged.
async fn check_leaderboard(ctx: &Ctx, socket: &Socket, who: u32) {
    let request = Request::LeaderboardGet(LeaderboardGetArgs {
        id: "season0".into(),
        limit: Some(10),
        cursor: None,
        around: Some("me".into()),
        season: None,
    });
    for attempt in 0..2 {
        let Ok(data) = socket.request(request.clone()).await else {
            return;
        };
        if view::leaderboard_has_me(&data) == Some(true) {
            ctx.stats.pass(CHECK_LEADERBOARD);
            return;
        }
        if attempt == 0 {
            tokio::time::sleep(LEADERBOARD_RETRY_DELAY).await;
        }
    }
    ctx.stats.fail(CHECK_LEADERBOARD, format!("player {who}: no own row after a finished game"));
}

/// Keeps the load bar's detail current: players through each step, games finished.
async fn report_progress(shared: Arc<Shared>) {
    loop {
        tokio::time::sleep(PROGRESS_INTERVAL).await;
        let tally = &shared.tally;
        shared.ctx.bars.set_detail(format!(
            "registered {}, admitted {}, games {}",
            tally.registered.load(Ordering::Relaxed),
            tally.admitted.load(Ordering::Relaxed),
            tally.games.load(Ordering::Relaxed),
        ));
    }
}
