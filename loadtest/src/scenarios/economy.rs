//! `economy`: players funded once by an admin deposit withdraw and read balances over their
//! sockets at the target rate; at the end each balance must equal deposits minus acknowledged
//! withdrawals.

use super::begin_load;
use super::ledger::{self, BalanceCheck, Ledger};
use crate::answer::CallError;
use crate::api;
use crate::ctx::Ctx;
use crate::limits::SETUP_IN_FLIGHT_MAX;
use crate::pace::{Pacer, interval_of};
use crate::players::{self, Player};
use crate::view;
use crate::ws::Socket;
use futures_util::StreamExt;
use futures_util::stream;
use pzo_protocol::request::OwnerArgs;
use pzo_protocol::{AMOUNT_MAX, Request};
use std::sync::Arc;
use tokio::time::Instant;

/// Every fourth operation reads the balance instead of withdrawing.
const READ_EVERY_OPS: u64 = 4;
/// Largest single withdrawal, in gold.
const WITHDRAW_GOLD_MAX: i64 = 3;
/// Smallest initial deposit, in gold.
const DEPOSIT_GOLD_MIN: i64 = 1_000;

pub async fn run(ctx: Arc<Ctx>) {
    let players = players::register(&ctx, ctx.config.players).await;
    let deposit = deposit_for(ctx.config.rate, (ctx.config.ramp + ctx.config.duration).as_secs_f64());
    let funded = fund(&ctx, players, deposit).await;
    let window = begin_load(&ctx);
    let count = funded.len();
    let tasks: Vec<_> = funded
        .into_iter()
        .enumerate()
        .map(|(slot, player)| {
            let ctx = ctx.clone();
            let at = window.ramp_slot(slot, count);
            tokio::spawn(async move { trade(&ctx, player, deposit, at, slot, count).await })
        })
        .collect();
    let mut ops = 0_u64;
    for task in tasks {
        ops += task.await.unwrap_or(0);
    }
    let seconds = window.end.saturating_duration_since(window.start).as_secs_f64().max(0.001);
    ctx.stats.metric("economy operations", ops as f64, "ops");
    ctx.stats.metric("economy operations per second", ops as f64 / seconds, "ops/s");
}

/// Gold enough for every withdrawal the run can make, with a margin of two.
pub fn deposit_for(rate: f64, seconds: f64) -> i64 {
    let ops = (rate * seconds).ceil().max(1.0);
    let gold = ops * WITHDRAW_GOLD_MAX as f64 * 2.0;
    (gold as i64).clamp(DEPOSIT_GOLD_MIN, AMOUNT_MAX)
}

/// Deposits `amount` to every player through the admin door; those that failed sit out.
async fn fund(ctx: &Arc<Ctx>, players: Vec<Player>, amount: i64) -> Vec<Player> {
    let funded: Vec<Option<Player>> = stream::iter(players)
        .map(|player| {
            let ctx = ctx.clone();
            async move {
                let key = format!("lt-{}-fund-{}", ctx.run_id, player.index);
                match api::deposit(&ctx.http, player.account.user_id, amount, key).await {
                    Ok(_) => Some(player),
                    Err(error) => {
                        ctx.fail_answer(players::CHECK_SETUP, "deposit", &error);
                        None
                    }
                }
            }
        })
        .buffer_unordered(SETUP_IN_FLIGHT_MAX)
        .collect()
        .await;
    funded.into_iter().flatten().collect()
}

/// One player's session: connect at `at`, trade at the rate until the window ends, settle.
/// Returns the operations sent.
async fn trade(ctx: &Ctx, player: Player, deposit: i64, at: Instant, slot: usize, count: usize) -> u64 {
    tokio::time::sleep_until(at).await;
    let (socket, _) = match Socket::connect(&ctx.sockets, &player.account.token, false).await {
        Ok(connected) => connected,
        Err(error) => {
            ctx.fail_call(players::CHECK_SETUP, "socket connect", &error);
            return 0;
        }
    };
    let mut ledger = Ledger::default();
    ledger.deposited(deposit);
    let phase = interval_of(ctx.config.rate).mul_f64(slot as f64 / count.max(1) as f64);
    let mut pacer = Pacer::new(ctx.config.rate, Instant::now() + phase);
    let mut op = 0_u64;
    while ctx.control.pause_until(pacer.next_slot(Instant::now())).await {
        if op % READ_EVERY_OPS == READ_EVERY_OPS - 1 {
            read_balance(ctx, &socket, &ledger, player.index).await;
        } else {
            let amount = 1 + (op as i64 % WITHDRAW_GOLD_MAX);
            let key = format!("lt-{}-w-{}-{op}", ctx.run_id, player.index);
            withdraw(ctx, &socket, &mut ledger, amount, key, player.index).await;
        }
        op += 1;
        if !socket.is_open() {
            ctx.stats.fail(ledger::CHECK_ANSWERS, format!("player {}: socket closed by the server", player.index));
            return op;
        }
    }
    ledger.resolve(ctx, &socket).await;
    ledger.check_final(ctx, &socket, player.index).await;
    socket.close().await;
    op
}

async fn withdraw(ctx: &Ctx, socket: &Socket, ledger: &mut Ledger, amount: i64, key: String, who: u32) {
    let request = ledger::withdraw_request(amount, &key);
    match socket.request(request.clone()).await {
        Ok(data) => {
            ledger.withdrew(amount);
            check_shown(ctx, ledger, view::balance(&data, ledger::CURRENCY), "currency.withdraw", who);
        }
        Err(CallError::Rejected(error)) => {
            ctx.stats.fail(ledger::CHECK_ANSWERS, format!("player {who}: withdraw refused: {}", error.code));
        }
        Err(CallError::Stopped) => {}
        // No answer, or a fault: the withdrawal may or may not have happened.
        Err(_) => ledger.unknown(amount, request),
    }
}

async fn read_balance(ctx: &Ctx, socket: &Socket, ledger: &Ledger, who: u32) {
    if let Ok(data) = socket.request(Request::CurrencyList(OwnerArgs::default())).await {
        check_shown(ctx, ledger, view::balance(&data, ledger::CURRENCY), "currency.list", who);
    }
}

/// Checks a balance a reply showed against the ledger.
fn check_shown(ctx: &Ctx, ledger: &Ledger, shown: Option<i64>, op: &str, who: u32) {
    match shown.map(|shown| (shown, ledger.compare(shown))) {
        Some((_, BalanceCheck::Matches | BalanceCheck::Plausible)) => ctx.stats.pass(ledger::CHECK_REPLY_BALANCE),
        Some((shown, BalanceCheck::Wrong { expected })) => ctx
            .stats
            .fail(ledger::CHECK_REPLY_BALANCE, format!("player {who}: {op} shows {shown}, expected {expected}")),
        None => ctx.stats.fail(ledger::CHECK_REPLY_BALANCE, format!("{op} reply carries no balance")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deposits_cover_the_run() {
        assert_eq!(deposit_for(2.0, 35.0), DEPOSIT_GOLD_MIN);
        assert_eq!(deposit_for(10.0, 35.0), 350 * 3 * 2);
        assert_eq!(deposit_for(100.0, 60.0), 6_000 * 3 * 2);
        assert_eq!(deposit_for(0.001, 1.0), DEPOSIT_GOLD_MIN);
        assert_eq!(deposit_for(1e9, 1e9), AMOUNT_MAX);
    }
}
