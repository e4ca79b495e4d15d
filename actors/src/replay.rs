//! Rebuilding state from a committed event log, in `seq` order. The events are the record of
//! every change, so folding them must give exactly what the actors hold: the simulation checks
//! this after every run, and the replay check compares it with a real server's actors after a
//! mixed workload (players fold with [`PlayerState::apply`](crate::player::PlayerState::apply)
//! and the waitlist with [`WaitlistState::apply`](crate::waitlist::WaitlistState::apply)).

use crate::leaderboard::{self, BestScore, BoardState};
use pzo_protocol::model::GameStatus;
use pzo_protocol::{EventData, GameId, Timestamp, UserId};
use std::collections::HashMap;

/// What the game events say of a lobby: host, status and members in join order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LobbyView {
    pub host: UserId,
    pub status: GameStatus,
    pub members: Vec<UserId>,
}

/// A game event about a game the log never created: the log is not a whole history.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} of game {game_id} before its GAME_CREATED")]
pub struct OrphanGameEvent {
    pub kind: &'static str,
    pub game_id: GameId,
}

/// Every lobby's host, status and members, folded from the game events.
pub fn lobbies<'a>(
    events: impl IntoIterator<Item = &'a EventData>,
) -> Result<HashMap<GameId, LobbyView>, OrphanGameEvent> {
    let mut lobbies: HashMap<GameId, LobbyView> = HashMap::new();
    for event in events {
        match event {
            EventData::GameCreated(e) => {
                lobbies.insert(e.game_id, LobbyView { host: e.host_id, status: GameStatus::Open, members: Vec::new() });
            }
            EventData::GameJoined(e) => lobby(&mut lobbies, "GAME_JOINED", e.game_id)?.members.push(e.user_id),
            EventData::GameLeft(e) => {
                let lobby = lobby(&mut lobbies, "GAME_LEFT", e.game_id)?;
                lobby.members.retain(|u| *u != e.user_id);
                (lobby.host, lobby.status) = (e.host_id, e.status);
            }
            EventData::GameStarted(e) => lobby(&mut lobbies, "GAME_STARTED", e.game_id)?.status = GameStatus::Started,
            EventData::GameFinished(e) => {
                lobby(&mut lobbies, "GAME_FINISHED", e.game_id)?.status = GameStatus::Finished;
            }
            _ => {}
        }
    }
    Ok(lobbies)
}

fn lobby<'m>(
    lobbies: &'m mut HashMap<GameId, LobbyView>,
    kind: &'static str,
    game_id: GameId,
) -> Result<&'m mut LobbyView, OrphanGameEvent> {
    lobbies.get_mut(&game_id).ok_or(OrphanGameEvent { kind, game_id })
}

/// The board that finished games score on, folded from `GAME_FINISHED` (each result is a
/// submission at the event's time) and `LEADERBOARD_RESET` (a new, empty season from `fresh`).
pub fn board<'a>(
    events: impl IntoIterator<Item = (&'a EventData, Timestamp)>,
    fresh: impl Fn(u32) -> BoardState,
) -> BoardState {
    let mut board = fresh(1);
    for (event, at) in events {
        match event {
            EventData::GameFinished(e) => {
                let scores: Vec<(UserId, i64)> = e.results.iter().map(|r| (r.user_id, r.score)).collect();
                for (user, best) in leaderboard::submit(&board, &scores, at).reply {
                    board.record(user, BestScore { score: best.score, achieved_at: best.achieved_at });
                }
            }
            EventData::LeaderboardReset(e) if e.leaderboard_id == board.id => board = fresh(e.season),
            _ => {}
        }
    }
    board
}
