//! The actor shells: tokio tasks that own state, run the pure rules of `pzo-actors` and submit
//! effects to the journal. Calls go down only: session -> player -> lobby / leaderboard /
//! waitlist -> journal. A lower actor never awaits a higher one.

pub mod leaderboard;
pub mod lobby;
pub mod player;
pub mod registry;
pub mod waitlist;

use crate::journal::CommitError;
use pzo_protocol::{ApiError, ErrorCode};

/// Commands an actor's mailbox holds before callers are refused (`SERVICE_UNAVAILABLE`).
pub const MAILBOX_CAPACITY: usize = 256;

/// The messages of one kind queued right behind `first` (up to `max` in all), taken by `pick`,
/// which hands any other message back; that first other message is returned too, so the caller
/// handles it right after the group and the mailbox order holds. Used to decide queued joins
/// together.
pub fn queued_run<M, J>(
    rx: &mut tokio::sync::mpsc::Receiver<M>,
    first: J,
    max: usize,
    pick: impl Fn(M) -> Result<J, M>,
) -> (Vec<J>, Option<M>) {
    let mut run = vec![first];
    while run.len() < max {
        match rx.try_recv().map(&pick) {
            Ok(Ok(item)) => run.push(item),
            Ok(Err(other)) => return (run, Some(other)),
            Err(_) => break,
        }
    }
    (run, None)
}

/// The answer to a failed commit: nothing was applied, the caller may retry.
pub fn commit_error(error: CommitError) -> ApiError {
    match error {
        CommitError::Unavailable(reason) => {
            tracing::warn!(%reason, "commit refused");
            ApiError::with_message(ErrorCode::SERVICE_UNAVAILABLE, "the change was not saved; retry shortly")
        }
        CommitError::Conflict(constraint) => conflict_error(&constraint),
    }
}

/// Maps a constraint that refused a write to the contract's code.
fn conflict_error(constraint: &str) -> ApiError {
    match constraint {
        "users_email_lower_key" => ApiError::new(ErrorCode::EMAIL_TAKEN),
        "waitlist_user_id_key" => ApiError::new(ErrorCode::ALREADY_ON_WAITLIST),
        c if c.contains("balance") => ApiError::new(ErrorCode::INSUFFICIENT_FUNDS),
        c if c.contains("idempotency") => ApiError::new(ErrorCode::IDEMPOTENCY_KEY_REUSED),
        other => {
            tracing::error!(constraint = other, "unexpected constraint violation");
            ApiError::with_message(ErrorCode::SERVICE_UNAVAILABLE, "the change was refused by the database; retry")
        }
    }
}

/// The answer when an actor's mailbox is full or it has stopped.
pub fn mailbox_error() -> ApiError {
    ApiError::with_message(ErrorCode::SERVICE_UNAVAILABLE, "the server is overloaded; retry shortly")
}
