//! Game lobbies as the scenarios use them: a host creates, the others join, the host starts,
//! and the admin finishes the game with scores.

use crate::answer::CallError;
use crate::api;
use crate::ctx::Ctx;
use crate::limits::{LOBBY_SEATS, RESOLVE_ATTEMPTS_MAX};
use crate::view;
use crate::ws::Socket;
use futures_util::future::join_all;
use pzo_protocol::model::GameResult;
use pzo_protocol::request::{CreateGameArgs, GameActionArgs};
use pzo_protocol::{GameId, Request, UserId};
use std::sync::Arc;

/// Check name: a lobby forms (create, every join, start).
pub const CHECK_LOBBY: &str = "lobbies form (create, join, start)";
/// Check name: the admin can finish a game.
pub const CHECK_FINISH: &str = "games finish";
/// Finishes sent again after a fault or no answer (a metric of the report).
const TALLY_FINISH_RESENT: &str = "games.finish sent again after a fault";
/// Pause before sending an unanswered finish again.
const FINISH_RETRY_DELAY: std::time::Duration = std::time::Duration::from_millis(500);

/// A player in a lobby, with the socket the lobby talks through.
#[derive(Debug)]
pub struct Member {
    pub index: u32,
    pub user_id: UserId,
    pub socket: Socket,
}

/// A started game and its members; the first member is the host.
#[derive(Debug, Clone)]
pub struct Lobby {
    pub game_id: GameId,
    pub members: Vec<Arc<Member>>,
}

/// Forms and starts a lobby of `members` (the first hosts); `None` when fewer than two made it in.
pub async fn form(ctx: &Ctx, members: Vec<Arc<Member>>, name: String) -> Option<Lobby> {
    let (host, others) = members.split_first()?;
    let create = Request::GamesCreate(CreateGameArgs {
        name,
        max_players: i64::try_from(LOBBY_SEATS).unwrap_or(8),
        min_players: Some(2),
        idempotency_key: None,
    });
    let game_id = match host.socket.request(create).await.map(|data| view::game_id(&data)) {
        Ok(Some(game_id)) => game_id,
        Ok(None) => {
            ctx.stats.fail(CHECK_LOBBY, "games.create reply carries no game id");
            return None;
        }
        Err(error) => {
            ctx.fail_answer(CHECK_LOBBY, "games.create", &error);
            return None;
        }
    };
    let joins = others
        .iter()
        .map(|member| member.socket.request(Request::GamesJoin(GameActionArgs { game_id, idempotency_key: None })));
    let mut joined = vec![host.clone()];
    for (member, result) in others.iter().zip(join_all(joins).await) {
        match result {
            Ok(_) => joined.push(member.clone()),
            Err(error) => ctx.fail_answer(CHECK_LOBBY, "games.join", &error),
        }
    }
    if joined.len() < 2 {
        return None;
    }
    if let Err(error) =
        host.socket.request(Request::GamesStart(GameActionArgs { game_id, idempotency_key: None })).await
    {
        ctx.fail_answer(CHECK_LOBBY, "games.start", &error);
        return None;
    }
    ctx.stats.pass(CHECK_LOBBY);
    Some(Lobby { game_id, members: joined })
}

/// Finishes the game through the admin door, scoring members 100, 200, ... A finish that got no
/// answer or a server fault is sent again (a few times): a game left unfinished keeps its members
/// in it, and their next lobby would be refused `ALREADY_IN_GAME`.
pub async fn finish(ctx: &Ctx, lobby: &Lobby) -> bool {
    let results: Vec<GameResult> = lobby
        .members
        .iter()
        .zip(1..)
        .map(|(member, rank)| GameResult { user_id: member.user_id, score: 100 * rank })
        .collect();
    let what = || format!("games.finish {}", lobby.game_id);
    for attempt in 1..=RESOLVE_ATTEMPTS_MAX {
        match api::finish_game(&ctx.http, lobby.game_id, results.clone()).await {
            Ok(()) => {
                ctx.stats.pass(CHECK_FINISH);
                return true;
            }
            // An earlier attempt went through after all: the game is no longer open.
            Err(error) if attempt > 1 && error.is("GAME_NOT_OPEN") => {
                ctx.stats.pass(CHECK_FINISH);
                return true;
            }
            // Counted, not noted: under overload there can be thousands.
            Err(CallError::Server(_) | CallError::Timeout | CallError::Transport(_))
                if attempt < RESOLVE_ATTEMPTS_MAX =>
            {
                ctx.stats.tally(TALLY_FINISH_RESENT);
                tokio::time::sleep(FINISH_RETRY_DELAY).await;
            }
            Err(error) => {
                ctx.fail_answer(CHECK_FINISH, what(), &error);
                return false;
            }
        }
    }
    false
}
