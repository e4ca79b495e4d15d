//! A game lobby's state and its pure rules: create, join, leave, start, finish, close.

use crate::effect::{Effect, EventDraft, Outcome};
use pzo_protocol::error::{ApiError, ErrorCode, ErrorDetails, HostDetails, PlayersDetails};
use pzo_protocol::event::*;
use pzo_protocol::limits::{GAME_NAME_CHARS_MAX, GAME_PLAYERS_MAX, GAME_PLAYERS_MIN};
use pzo_protocol::model::{Game, GamePlayer, GameResult, GameStatus};
use pzo_protocol::{BALANCE_MAX, EventData, GameId, Timestamp, UserId};

/// A member of a lobby.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user_id: UserId,
    pub display_name: String,
    pub joined_at: Timestamp,
}

/// Everything one lobby actor owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LobbyState {
    pub id: GameId,
    pub name: String,
    pub host_id: UserId,
    pub status: GameStatus,
    pub max_players: u32,
    pub min_players: u32,
    /// Current members in join order (the host passes to the earliest).
    pub members: Vec<Member>,
    pub created_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub results: Vec<GameResult>,
}

/// Validated settings of a new game.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GameSettings {
    pub name: String,
    pub max_players: u32,
    pub min_players: u32,
}

impl GameSettings {
    pub fn parse(name: &str, max_players: i64, min_players: Option<i64>) -> Result<Self, ApiError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > GAME_NAME_CHARS_MAX || name.chars().any(char::is_control) {
            return Err(ApiError::validation("name", "must be 1 to 64 printable characters"));
        }
        let bounds = i64::from(GAME_PLAYERS_MIN)..=i64::from(GAME_PLAYERS_MAX);
        let max = u32::try_from(max_players)
            .ok()
            .filter(|m| bounds.contains(&i64::from(*m)))
            .ok_or_else(|| ApiError::validation("max_players", "must be 2 to 64"))?;
        let min = match min_players {
            None => GAME_PLAYERS_MIN.min(max),
            Some(m) => u32::try_from(m)
                .ok()
                .filter(|m| (GAME_PLAYERS_MIN..=max).contains(m))
                .ok_or_else(|| ApiError::validation("min_players", "must be 2 to max_players"))?,
        };
        Ok(Self { name: name.to_owned(), max_players: max, min_players: min })
    }
}

impl LobbyState {
    pub fn member_ids(&self) -> Vec<UserId> {
        self.members.iter().map(|m| m.user_id).collect()
    }

    pub fn is_member(&self, user_id: UserId) -> bool {
        self.members.iter().any(|m| m.user_id == user_id)
    }

    fn count(&self) -> u32 {
        u32::try_from(self.members.len()).unwrap_or(u32::MAX)
    }

    /// The public view.
    pub fn view(&self) -> Game {
        let score = |user: UserId| self.results.iter().find(|r| r.user_id == user).map(|r| r.score);
        Game {
            id: self.id,
            name: self.name.clone(),
            host_id: self.host_id,
            status: self.status,
            max_players: self.max_players,
            min_players: self.min_players,
            player_count: self.count(),
            players: self
                .members
                .iter()
                .map(|m| GamePlayer {
                    user_id: m.user_id,
                    display_name: m.display_name.clone(),
                    joined_at: m.joined_at,
                    score: score(m.user_id),
                })
                .collect(),
            created_at: self.created_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
        }
    }

    fn update_effect(&self) -> Effect {
        Effect::UpdateGame {
            id: self.id,
            status: self.status,
            host_id: self.host_id,
            started_at: self.started_at,
            finished_at: self.finished_at,
        }
    }

    fn players_details(&self) -> ErrorDetails {
        ErrorDetails::Players(PlayersDetails {
            players: self.count(),
            min_players: self.min_players,
            max_players: self.max_players,
        })
    }
}

/// Creates a lobby with its creator as host and first member.
pub fn create(id: GameId, settings: GameSettings, host: Member) -> Outcome<LobbyState> {
    let state = LobbyState {
        id,
        name: settings.name,
        host_id: host.user_id,
        status: GameStatus::Open,
        max_players: settings.max_players,
        min_players: settings.min_players,
        members: vec![host.clone()],
        created_at: host.joined_at,
        started_at: None,
        finished_at: None,
        results: Vec::new(),
    };
    let created = GameCreated {
        game_id: id,
        name: state.name.clone(),
        host_id: host.user_id,
        max_players: state.max_players,
        min_players: state.min_players,
    };
    let joined =
        GameJoined { game_id: id, user_id: host.user_id, display_name: host.display_name.clone(), player_count: 1 };
    let members = vec![host.user_id];
    Outcome::new(state.clone())
        .effect(Effect::InsertGame {
            id,
            name: state.name.clone(),
            host_id: host.user_id,
            max_players: state.max_players,
            min_players: state.min_players,
            created_at: host.joined_at,
        })
        .effect(Effect::InsertGamePlayer { game_id: id, user_id: host.user_id, joined_at: host.joined_at })
        .event(EventDraft::for_game(id, Some(host.user_id), members.clone(), EventData::GameCreated(created)))
        .event(EventDraft::for_game(id, Some(host.user_id), members, EventData::GameJoined(joined)))
}

/// Seats a player; with many concurrent joins the lobby actor serializes them, so exactly one
/// takes the last seat.
pub fn join(state: &LobbyState, member: Member) -> Result<Outcome<LobbyState>, ApiError> {
    if state.is_member(member.user_id) {
        return Err(ApiError::new(ErrorCode::ALREADY_IN_GAME));
    }
    if state.status != GameStatus::Open {
        return Err(ApiError::with_message(ErrorCode::GAME_NOT_OPEN, format!("the game is {}", state.status.as_str())));
    }
    if state.count() >= state.max_players {
        return Err(ApiError::new(ErrorCode::GAME_FULL).details(state.players_details()));
    }
    let mut next = state.clone();
    next.members.push(member.clone());
    let joined = GameJoined {
        game_id: state.id,
        user_id: member.user_id,
        display_name: member.display_name.clone(),
        player_count: next.count(),
    };
    Ok(Outcome::new(next.clone())
        .effect(Effect::InsertGamePlayer { game_id: state.id, user_id: member.user_id, joined_at: member.joined_at })
        .event(EventDraft::for_game(state.id, Some(member.user_id), next.member_ids(), EventData::GameJoined(joined))))
}

/// Removes a member: the host passes to the earliest member left; an empty open lobby closes.
pub fn leave(
    state: &LobbyState,
    user_id: UserId,
    reason: LeaveReason,
    now: Timestamp,
) -> Result<Outcome<LobbyState>, ApiError> {
    if !state.is_member(user_id) || !state.status.is_active() {
        return Err(ApiError::new(ErrorCode::NOT_IN_GAME));
    }
    let audience = state.member_ids();
    let mut next = state.clone();
    next.members.retain(|m| m.user_id != user_id);
    if next.host_id == user_id
        && let Some(first) = next.members.first()
    {
        next.host_id = first.user_id;
    }
    if next.members.is_empty() {
        // A started game left by everyone is closed too: nobody can finish it meaningfully.
        next.status = GameStatus::Closed;
        next.finished_at = Some(now);
    }
    let left = GameLeft {
        game_id: state.id,
        user_id,
        reason,
        host_id: next.host_id,
        status: next.status,
        player_count: next.count(),
    };
    Ok(Outcome::new(next.clone())
        .effect(Effect::GamePlayerLeft { game_id: state.id, user_id, at: now })
        .effect(next.update_effect())
        .event(EventDraft::for_game(state.id, Some(user_id), audience, EventData::GameLeft(left))))
}

/// Starts the game: the host only, with at least `min_players`.
pub fn start(state: &LobbyState, user_id: UserId, now: Timestamp) -> Result<Outcome<LobbyState>, ApiError> {
    if !state.is_member(user_id) {
        return Err(ApiError::new(ErrorCode::NOT_IN_GAME));
    }
    if state.host_id != user_id {
        return Err(
            ApiError::new(ErrorCode::NOT_HOST).details(ErrorDetails::Host(HostDetails { host_id: state.host_id }))
        );
    }
    if state.status != GameStatus::Open {
        return Err(ApiError::with_message(ErrorCode::GAME_NOT_OPEN, format!("the game is {}", state.status.as_str())));
    }
    if state.count() < state.min_players {
        return Err(ApiError::new(ErrorCode::NOT_ENOUGH_PLAYERS).details(state.players_details()));
    }
    let mut next = state.clone();
    next.status = GameStatus::Started;
    next.started_at = Some(now);
    let started = GameStarted { game_id: state.id, player_ids: state.member_ids(), started_at: now };
    Ok(Outcome::new(next.clone()).effect(next.update_effect()).event(EventDraft::for_game(
        state.id,
        Some(user_id),
        state.member_ids(),
        EventData::GameStarted(started),
    )))
}

/// Checks a finish request: every result names a current member once, scores in range.
pub fn check_results(state: &LobbyState, results: &[GameResult]) -> Result<(), ApiError> {
    if state.status != GameStatus::Started && state.status != GameStatus::Open {
        return Err(ApiError::with_message(ErrorCode::GAME_NOT_OPEN, format!("the game is {}", state.status.as_str())));
    }
    for (i, result) in results.iter().enumerate() {
        if !state.is_member(result.user_id) {
            return Err(ApiError::validation("results", "every user_id must be a member of the game"));
        }
        if results[..i].iter().any(|r| r.user_id == result.user_id) {
            return Err(ApiError::validation("results", "each member appears at most once"));
        }
        if !(0..=BALANCE_MAX).contains(&result.score) {
            return Err(ApiError::validation("results", "scores are integers in 0..=2^53-1"));
        }
    }
    Ok(())
}

/// Whether `results` repeats the finish that finished this game: the same members with the same
/// scores, in any order. A service that retries a finish whose answer it lost gets the finished
/// game again instead of `GAME_NOT_OPEN`; other results for a finished game are still refused.
pub fn repeats_finish(state: &LobbyState, results: &[GameResult]) -> bool {
    state.status == GameStatus::Finished
        && results.len() == state.results.len()
        && results.iter().all(|r| state.results.contains(r))
        && state.results.iter().all(|r| results.contains(r))
}

/// Finishes the game: status, each member's score and stats in one transaction. The
/// leaderboard rows are added by the leaderboard actor in the same command.
pub fn finish(state: &LobbyState, results: &[GameResult], now: Timestamp) -> Result<Outcome<LobbyState>, ApiError> {
    check_results(state, results)?;
    let mut next = state.clone();
    next.status = GameStatus::Finished;
    next.finished_at = Some(now);
    next.started_at = next.started_at.or(Some(now));
    next.results = results.to_vec();
    let mut outcome = Outcome::new(next.clone()).effect(next.update_effect());
    for result in results {
        outcome = outcome
            .effect(Effect::GamePlayerScore {
                game_id: state.id,
                user_id: result.user_id,
                score: result.score,
                at: now,
            })
            .effect(Effect::StatsGameCompleted { user_id: result.user_id, score: result.score });
    }
    let finished = GameFinished { game_id: state.id, results: results.to_vec(), finished_at: now };
    Ok(outcome.event(EventDraft::for_game(state.id, None, state.member_ids(), EventData::GameFinished(finished))))
}

/// Closes the game (operators): every member leaves with reason `closed`. Closing a closed game
/// changes nothing and answers it as it is, like removing a removed waitlist entry.
pub fn close(state: &LobbyState, now: Timestamp) -> Result<Outcome<LobbyState>, ApiError> {
    if state.status == GameStatus::Closed {
        return Ok(Outcome::new(state.clone()));
    }
    if !state.status.is_active() {
        return Err(ApiError::with_message(ErrorCode::GAME_NOT_OPEN, format!("the game is {}", state.status.as_str())));
    }
    let audience = state.member_ids();
    let mut next = state.clone();
    next.status = GameStatus::Closed;
    next.finished_at = Some(now);
    next.members.clear();
    let mut outcome = Outcome::new(next.clone()).effect(next.update_effect());
    for member in &state.members {
        let left = GameLeft {
            game_id: state.id,
            user_id: member.user_id,
            reason: LeaveReason::Closed,
            host_id: state.host_id,
            status: GameStatus::Closed,
            player_count: 0,
        };
        outcome = outcome
            .effect(Effect::GamePlayerLeft { game_id: state.id, user_id: member.user_id, at: now })
            .event(EventDraft::for_game(state.id, None, audience.clone(), EventData::GameLeft(left)));
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished_with(results: Vec<GameResult>) -> LobbyState {
        let now: Timestamp = chrono::DateTime::UNIX_EPOCH;
        LobbyState {
            id: GameId::nil(),
            name: "g".into(),
            host_id: UserId::nil(),
            status: GameStatus::Finished,
            max_players: 4,
            min_players: 2,
            members: Vec::new(),
            created_at: now,
            started_at: Some(now),
            finished_at: Some(now),
            results,
        }
    }

    #[test]
    fn only_the_same_results_repeat_a_finish() {
        let (a, b) = (UserId::from_u128(1), UserId::from_u128(2));
        let result = |user_id, score| GameResult { user_id, score };
        let state = finished_with(vec![result(a, 10), result(b, 20)]);
        assert!(repeats_finish(&state, &[result(b, 20), result(a, 10)]), "any order");
        assert!(!repeats_finish(&state, &[result(a, 10), result(b, 21)]), "another score");
        assert!(!repeats_finish(&state, &[result(a, 10)]), "fewer results");
        assert!(!repeats_finish(&state, &[result(a, 10), result(a, 10)]), "a member twice");
        let started = LobbyState { status: GameStatus::Started, ..state.clone() };
        assert!(!repeats_finish(&started, &[result(a, 10), result(b, 20)]), "not finished yet");
    }

    #[test]
    fn closing_a_closed_game_changes_nothing_and_a_finished_one_is_refused() {
        let now: Timestamp = chrono::DateTime::UNIX_EPOCH;
        let closed = LobbyState { status: GameStatus::Closed, ..finished_with(Vec::new()) };
        let outcome = close(&closed, now).expect("a closed game closes again");
        assert!(outcome.effects.is_empty() && outcome.events.is_empty());
        assert_eq!(outcome.reply, closed);
        let error = close(&finished_with(Vec::new()), now).expect_err("a finished game is not closed");
        assert_eq!(error.code, ErrorCode::GAME_NOT_OPEN);
    }
}
