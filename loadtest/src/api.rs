//! The HTTP operations the harness uses, typed: register, waitlist join, admission, deposit,
//! game results, and the SLO table.

use crate::answer::CallError;
use crate::http::{Caller, Http};
use pzo_protocol::model::{GameResult, WaitlistStatus};
use pzo_protocol::request::{DepositArgs, FinishGameArgs, RegisterArgs, SetEntryStatusArgs, WaitlistJoinArgs};
use pzo_protocol::{EntryId, GameId, UserId};
use serde::Deserialize;
use serde::de::IgnoredAny;
use uuid::Uuid;

pub const OP_REGISTER: &str = "POST /users/register";
pub const OP_WAITLIST_JOIN: &str = "POST /waitlist";
pub const OP_WAITLIST_ADMIT: &str = "POST /waitlist/status";
pub const OP_DEPOSIT: &str = "POST /currency/deposit";
pub const OP_GAME_FINISH: &str = "POST /games/finish";

/// The password of every harness account.
pub const PASSWORD: &str = "loadtest-password";

#[derive(Deserialize)]
struct IdOnly {
    id: Uuid,
}

#[derive(Deserialize)]
struct RegisterData {
    user: IdOnly,
    token: String,
}

/// A registered account.
#[derive(Debug, Clone)]
pub struct Account {
    pub user_id: UserId,
    pub token: String,
}

/// Registers `lt-<uuid>@loadtest.pzo`.
pub async fn register(http: &Http) -> Result<Account, CallError> {
    let id = Uuid::new_v4();
    let simple = id.simple().to_string();
    let args = RegisterArgs {
        email: format!("lt-{id}@loadtest.pzo"),
        password: PASSWORD.to_owned(),
        display_name: format!("lt-{}", &simple[..12]),
    };
    let data: RegisterData = http.call(OP_REGISTER, Caller::Anonymous, Some(&args)).await?;
    Ok(Account { user_id: data.user.id, token: data.token })
}

#[derive(Deserialize)]
struct EntryData {
    entry: IdOnly,
}

/// Puts the player on the waitlist; the entry id.
pub async fn join_waitlist(http: &Http, token: &str) -> Result<EntryId, CallError> {
    let args = WaitlistJoinArgs::default();
    let data: EntryData = http.call(OP_WAITLIST_JOIN, Caller::Player(token), Some(&args)).await?;
    Ok(data.entry.id)
}

#[derive(serde::Serialize)]
struct AdmitBody {
    admit: u32,
}

#[derive(Deserialize)]
struct AdmittedEntry {
    user_id: UserId,
}

#[derive(Deserialize)]
struct AdmitData {
    #[serde(default)]
    admitted: Vec<AdmittedEntry>,
}

/// Admits the next `count` waiting players (admin); the users admitted.
pub async fn admit_wave(http: &Http, count: u32) -> Result<Vec<UserId>, CallError> {
    let data: AdmitData = http.call(OP_WAITLIST_ADMIT, Caller::Admin, Some(&AdmitBody { admit: count })).await?;
    Ok(data.admitted.into_iter().map(|entry| entry.user_id).collect())
}

/// Admits one entry by id (admin): for players whose turn a wave did not reach.
pub async fn admit_entry(http: &Http, entry_id: EntryId) -> Result<(), CallError> {
    let args = SetEntryStatusArgs { entry_id, status: WaitlistStatus::Admitted };
    let _: IgnoredAny = http.call(OP_WAITLIST_ADMIT, Caller::Admin, Some(&args)).await?;
    Ok(())
}

#[derive(Deserialize)]
#[serde(untagged)] // JSON only: the transaction as an object or as its id
enum TransactionRef {
    Object { id: Uuid },
    Id(Uuid),
}

#[derive(Deserialize)]
struct DepositData {
    transaction: TransactionRef,
}

/// Deposits `amount` gold to `user_id` (admin); the transaction id.
pub async fn deposit(http: &Http, user_id: UserId, amount: i64, idempotency_key: String) -> Result<Uuid, CallError> {
    let args = DepositArgs {
        user_id,
        currency_id: "gold".to_owned(),
        amount: amount.into(),
        idempotency_key: Some(idempotency_key),
    };
    let data: DepositData = http.call(OP_DEPOSIT, Caller::Admin, Some(&args)).await?;
    Ok(match data.transaction {
        TransactionRef::Object { id } | TransactionRef::Id(id) => id,
    })
}

/// Finishes a game with these scores (admin).
pub async fn finish_game(http: &Http, game_id: GameId, results: Vec<GameResult>) -> Result<(), CallError> {
    let args = FinishGameArgs { game_id, results };
    let _: IgnoredAny = http.call(OP_GAME_FINISH, Caller::Admin, Some(&args)).await?;
    Ok(())
}
