//! Runs one seeded simulation: draws each step, executes it on the simulated backend, checks
//! the invariants, and at the end delivers every notice, replays the log and hashes the state.
//! Any failure panics with the seed and the step, and the command that replays it.

use super::check::{self, Check, Model};
use super::replay;
use super::system::{Caller, System, Touched, idempotency_key, request_hash};
use super::workload::{Step, Workload};
use pzo_protocol::request::*;
use pzo_protocol::{ErrorCode, Request, Timestamp, UserId};
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Config {
    pub seed: u64,
    pub commands: u64,
    /// Registrations stop here, so the state stays hot and the checks stay cheap.
    pub players_max: usize,
    /// Every invariant every this many steps; in between, the invariants of what a step touched.
    pub full_check_every: u64,
    /// Also replay every event into every player at the end (quadratic: small runs only).
    pub broadcast_replay: bool,
    /// Also check catalog `max_stack` limits (the rules do not enforce them).
    pub strict_stacks: bool,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Report {
    pub hash: u64,
    pub commands: u64,
    pub events: usize,
    pub players: usize,
    pub games: usize,
    pub elapsed: Duration,
    /// Answers per op: `games.join ok`, `games.join GAME_FULL`, ...
    pub outcomes: BTreeMap<String, u64>,
    /// The largest balance and quantity held at the end (the ceiling is 2^53-1).
    pub held_max: i64,
}

fn start_instant() -> Timestamp {
    chrono::DateTime::from_timestamp(1_767_225_600, 0).expect("2026-01-01T00:00:00Z")
}

/// Runs one seed; panics on the first broken invariant.
pub fn run(config: &Config) -> Report {
    let started = Instant::now();
    let mut sys = System::new(config.seed, start_instant());
    let mut workload = Workload::new(config.seed, config.players_max);
    let mut model = Model::default();
    model.strict_stacks = config.strict_stacks;
    let mut outcomes = BTreeMap::new();
    for step_no in 0..config.commands {
        let step = workload.next(&sys);
        let tick = if workload.rng.chance(150) { 0 } else { workload.rng.range(1, 1500) };
        sys.advance_clock(tick);
        let result = catch_unwind(AssertUnwindSafe(|| {
            execute(&mut sys, &step, &mut outcomes)?;
            model.observe(&sys)?;
            let touched = std::mem::take(&mut sys.touched);
            check::touched(&sys, &model, &touched)?;
            if step_no % config.full_check_every == 0 { check::all(&sys, &model) } else { Ok(()) }
        }));
        if let Some(failure) = failure_of(result) {
            fail(config, step_no, &format!("{step:?}"), &failure);
        }
    }
    let result = catch_unwind(AssertUnwindSafe(|| finish(&mut sys, &mut model, config)));
    if let Some(failure) = failure_of(result) {
        fail(config, config.commands, "the final delivery and replay", &failure);
    }
    Report {
        hash: sys.state_hash(),
        commands: config.commands,
        events: sys.log.len(),
        players: sys.registrations.len(),
        games: sys.lobby_ids.len(),
        elapsed: started.elapsed(),
        outcomes,
        held_max: sys
            .players
            .values()
            .flat_map(|p| p.state.balances.values().chain(p.state.inventory.values()))
            .copied()
            .max()
            .unwrap_or(0),
    }
}

fn failure_of(result: std::thread::Result<Check>) -> Option<String> {
    match result {
        Ok(Ok(())) => None,
        Ok(Err(message)) => Some(message),
        Err(payload) => Some(
            payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "a panic without a message".to_owned()),
        ),
    }
}

fn fail(config: &Config, step: u64, what: &str, failure: &str) -> ! {
    panic!(
        "simulation invariant broken: seed {seed} ({seed:#018x}), step {step} of {commands}\n  step: {what}\n  \
         failure: {failure}\n  replay: PZO_SIM_SEED={seed} PZO_SIM_COMMANDS={n} PZO_SIM_PLAYERS={players}{strict} \
         PZO_SIM_FULL_CHECK_EVERY=1 cargo test -p pzo-actors --release --test simulation -- --ignored --nocapture",
        seed = config.seed,
        commands = config.commands,
        n = step + 1,
        players = config.players_max,
        strict = if config.strict_stacks { " PZO_SIM_STRICT_STACKS=1" } else { "" },
    )
}

/// Delivers every queued notice, then checks everything and replays the log.
fn finish(sys: &mut System, model: &mut Model, config: &Config) -> Check {
    sys.deliver_all();
    model.observe(sys)?;
    sys.touched = Touched::default();
    check::all_final(sys, model)?;
    replay::players_routed(sys)?;
    if config.broadcast_replay {
        replay::players_broadcast(sys)?;
    }
    replay::waitlist(sys)?;
    replay::board(sys)?;
    replay::lobbies(sys)
}

fn count(outcomes: &mut BTreeMap<String, u64>, op: &str, result: &Result<pzo_protocol::Reply, pzo_protocol::ApiError>) {
    let answer = match result {
        Ok(_) => "ok",
        Err(e) => e.code.as_str(),
    };
    *outcomes.entry(format!("{op} {answer}")).or_default() += 1;
}

fn execute(sys: &mut System, step: &Step, outcomes: &mut BTreeMap<String, u64>) -> Check {
    match step {
        Step::Register => {
            sys.register();
        }
        Step::Send { caller, request, late } => {
            sys.late_notices = *late;
            let result = sys.execute(*caller, request);
            sys.late_notices = None;
            count(outcomes, request.name(), &result);
        }
        Step::Retry { caller, request, altered } => retry(sys, *caller, request, *altered, outcomes)?,
        Step::Deliver { user, count } => sys.deliver(*user, *count),
        Step::Redeliver { user, back } => redeliver(sys, *user, *back)?,
    }
    Ok(())
}

/// The player whose idempotency cache a keyed request uses.
fn target_of(caller: Caller, request: &Request) -> Option<UserId> {
    match request {
        Request::InventoryAdd(a) => Some(a.user_id),
        Request::CurrencyDeposit(a) => Some(a.user_id),
        Request::InventoryRemove(RemoveItemArgs { user_id, .. })
        | Request::CurrencyWithdraw(WithdrawArgs { user_id, .. }) => user_id.or(caller.user_id()),
        _ => caller.user_id(),
    }
}

/// A retry under a stored key must answer the stored reply (or refuse a changed payload) and
/// change nothing: no event, no state.
fn retry(
    sys: &mut System,
    caller: Caller,
    request: &Request,
    altered: bool,
    outcomes: &mut BTreeMap<String, u64>,
) -> Check {
    let key = idempotency_key(request).unwrap_or_default().to_owned();
    let target = target_of(caller, request).filter(|u| sys.players.contains_key(u));
    let stored = target.and_then(|u| sys.players[&u].answers.get(&key).cloned());
    let Some((user, stored)) = target.zip(stored) else {
        // The first attempt failed (errors are not stored): this is a new attempt.
        let result = sys.execute(caller, request);
        count(outcomes, "retry (first attempt failed)", &result);
        return Ok(());
    };
    // The actor applies queued notices before it looks at the key; do that first.
    sys.deliver(user, usize::MAX);
    let (before, events_before) = (sys.players[&user].state.clone(), sys.log.len());
    let result = sys.execute(caller, request);
    count(outcomes, if altered { "retry (changed payload)" } else { "retry" }, &result);
    // The same payload gets the stored answer; any other payload is refused. (An "altered"
    // retry may carry the stored payload: when the first attempt failed, a changed one won.)
    if stored.request_hash == request_hash(request) && stored.operation == request.name() {
        if !matches!(&result, Ok(reply) if *reply == stored.reply) {
            return Err(format!("retry under key {key} answered {result:?}, the first answer was {:?}", stored.reply));
        }
    } else if let Ok(reply) = &result {
        return Err(format!("a changed payload under key {key} was accepted: {reply:?}"));
    } else if let Err(e) = &result {
        let refused = [ErrorCode::IDEMPOTENCY_KEY_REUSED, ErrorCode::AMOUNT_OUT_OF_RANGE];
        if !refused.contains(&e.code) {
            return Err(format!(
                "a changed payload under key {key} answered {}, not IDEMPOTENCY_KEY_REUSED",
                e.code.as_str()
            ));
        }
    }
    if sys.log.len() != events_before || sys.players[&user].state != before {
        return Err(format!(
            "a retry under key {key} changed state or committed {} events",
            sys.log.len() - events_before
        ));
    }
    Ok(())
}

/// A notice delivered again after newer ones must be dropped by the watermark.
fn redeliver(sys: &mut System, user: UserId, back: usize) -> Check {
    let Some(shell) = sys.players.get(&user) else { return Ok(()) };
    let Some(event) = shell.recent.iter().rev().nth(back).cloned() else { return Ok(()) };
    let before = shell.state.clone();
    if sys.notice(user, &event) || sys.players[&user].state != before {
        return Err(format!("duplicate notice seq {} ({}) was applied again", event.seq, event.data.name()));
    }
    Ok(())
}
