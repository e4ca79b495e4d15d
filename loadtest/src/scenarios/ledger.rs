//! One player's gold as the harness knows it: deposits, acknowledged withdrawals, and the
//! withdrawals whose answer never came (resolved later by retrying with their idempotency key).

use crate::answer::CallError;
use crate::ctx::Ctx;
use crate::limits::RESOLVE_ATTEMPTS_MAX;
use crate::view;
use crate::ws::Socket;
use pzo_protocol::Request;
use pzo_protocol::request::{OwnerArgs, WithdrawArgs};

pub const CURRENCY: &str = "gold";
/// Check name: a withdrawal's reply shows the balance the ledger expects.
pub const CHECK_REPLY_BALANCE: &str = "replies show the expected balance";
/// Check name: the final balance equals deposits minus acknowledged withdrawals.
pub const CHECK_FINAL_BALANCE: &str = "final balance = deposits - acknowledged withdrawals";
/// Check name: operations that must succeed did.
pub const CHECK_ANSWERS: &str = "operations answer as expected";

/// A withdrawal (or purchase) sent without a known outcome, and the request that repeats it
/// under the same idempotency key.
#[derive(Debug, Clone)]
struct Unresolved {
    amount: i64,
    retry: Request,
}

/// What the harness expects one player's gold balance to be.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    /// Deposits plus nothing else: acknowledged withdrawals are subtracted as they come.
    expected: i64,
    unresolved: Vec<Unresolved>,
    pub acknowledged_withdrawals: u64,
}

/// How a balance the server showed compares with the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BalanceCheck {
    Matches,
    /// Within what the unresolved withdrawals allow.
    Plausible,
    Wrong {
        expected: i64,
    },
}

impl Ledger {
    pub fn deposited(&mut self, amount: i64) {
        self.expected += amount;
    }

    /// A withdrawal (or a purchase) the server acknowledged.
    pub fn withdrew(&mut self, amount: i64) {
        self.expected -= amount;
        self.acknowledged_withdrawals += 1;
    }

    /// A request that moves `amount` gold out and got no answer; `retry` repeats it with the
    /// same idempotency key.
    pub fn unknown(&mut self, amount: i64, retry: Request) {
        self.unresolved.push(Unresolved { amount, retry });
    }

    /// Compares a balance the server showed with the ledger.
    pub fn compare(&self, shown: i64) -> BalanceCheck {
        let pending: i64 = self.unresolved.iter().map(|u| u.amount).sum();
        if shown == self.expected {
            BalanceCheck::Matches
        } else if !self.unresolved.is_empty() && (self.expected - pending..=self.expected).contains(&shown) {
            BalanceCheck::Plausible
        } else {
            BalanceCheck::Wrong { expected: self.expected }
        }
    }

    /// Retries each unresolved request with its key: the server answers the first outcome, or
    /// applies it now, so either way an `ok` means it happened exactly once.
    pub async fn resolve(&mut self, ctx: &Ctx, socket: &Socket) {
        let unresolved = std::mem::take(&mut self.unresolved);
        for withdrawal in unresolved {
            let mut outcome = None;
            for _ in 0..RESOLVE_ATTEMPTS_MAX {
                match socket.request(withdrawal.retry.clone()).await {
                    Ok(_) => outcome = Some(true),
                    Err(CallError::Rejected(error)) => {
                        let op = withdrawal.retry.name();
                        ctx.stats.fail(CHECK_ANSWERS, format!("{op} retried with its key: {}", error.code));
                        outcome = Some(false);
                    }
                    Err(CallError::Stopped) => break,
                    Err(_) => continue,
                }
                break;
            }
            match outcome {
                Some(true) => self.withdrew(withdrawal.amount),
                Some(false) => {}
                None => self.unresolved.push(withdrawal),
            }
        }
    }

    /// Reads the balance with `currency.list` and checks it against the ledger.
    pub async fn check_final(&self, ctx: &Ctx, socket: &Socket, who: u32) {
        let data = match socket.request(Request::CurrencyList(OwnerArgs::default())).await {
            Ok(data) => data,
            Err(CallError::Stopped) => return,
            Err(error) => {
                ctx.fail_answer(CHECK_FINAL_BALANCE, format_args!("player {who}: currency.list"), &error);
                return;
            }
        };
        match view::balance(&data, CURRENCY).map(|shown| (shown, self.compare(shown))) {
            Some((_, BalanceCheck::Matches)) => ctx.stats.pass(CHECK_FINAL_BALANCE),
            Some((_, BalanceCheck::Plausible)) => {
                ctx.note(format!(
                    "player {who}: {} withdrawals never answered; balance within range",
                    self.unresolved.len()
                ));
            }
            Some((shown, BalanceCheck::Wrong { expected })) => {
                ctx.stats.fail(CHECK_FINAL_BALANCE, format!("player {who}: balance {shown}, expected {expected}"));
            }
            None => ctx.stats.fail(CHECK_FINAL_BALANCE, format!("player {who}: currency.list reply has no balances")),
        }
    }
}

/// `currency.withdraw` of `amount` gold under `key`.
pub fn withdraw_request(amount: i64, key: &str) -> Request {
    Request::CurrencyWithdraw(WithdrawArgs {
        currency_id: CURRENCY.to_owned(),
        amount: amount.into(),
        user_id: None,
        idempotency_key: Some(key.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_acknowledged_withdrawals() {
        let mut ledger = Ledger::default();
        ledger.deposited(100);
        ledger.withdrew(3);
        ledger.withdrew(2);
        assert_eq!(ledger.compare(95), BalanceCheck::Matches);
        assert_eq!(ledger.compare(94), BalanceCheck::Wrong { expected: 95 });
    }

    #[test]
    fn unresolved_withdrawals_widen_the_range() {
        let mut ledger = Ledger::default();
        ledger.deposited(100);
        ledger.unknown(3, withdraw_request(3, "k1"));
        assert_eq!(ledger.compare(100), BalanceCheck::Matches);
        assert_eq!(ledger.compare(97), BalanceCheck::Plausible);
        assert_eq!(ledger.compare(96), BalanceCheck::Wrong { expected: 100 });
        assert_eq!(ledger.compare(101), BalanceCheck::Wrong { expected: 100 });
    }
}
