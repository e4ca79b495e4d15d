//! The lobby actor: owns one game's membership and status and serializes joins, leaves, start,
//! finish and close, so concurrent joins for the last seat have exactly one winner. It relays
//! game messages to the other members without touching the database.

use super::{MAILBOX_CAPACITY, commit_error, mailbox_error};
use crate::app::App;
use crate::bus::SharedFrame;
use crate::store;
use pzo_actors::Outcome;
use pzo_actors::lobby::{self as rules, LobbyState, Member};
use pzo_protocol::codec::Relay;
use pzo_protocol::event::LeaveReason;
use pzo_protocol::limits::GAME_PLAYERS_MAX;
use pzo_protocol::model::{Game, GameResult};
use pzo_protocol::request::RelayPayload;
use pzo_protocol::{ApiError, Event, GameId, ServerFrame, UserId};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How long an idle lobby actor stays in memory (it reloads from PostgreSQL when needed).
pub const LOBBY_IDLE_PASSIVATE: Duration = Duration::from_secs(300);

type Membership = Result<(Game, Vec<Arc<Event>>), ApiError>;

pub enum LobbyMsg {
    Join { member: Member, reply: oneshot::Sender<Membership> },
    Leave { user_id: UserId, reason: LeaveReason, reply: oneshot::Sender<Membership> },
    Start { user_id: UserId, reply: oneshot::Sender<Result<Game, ApiError>> },
    Finish { results: Vec<GameResult>, reply: oneshot::Sender<Result<Game, ApiError>> },
    Close { reply: oneshot::Sender<Result<Game, ApiError>> },
    Relay { from: UserId, payload: RelayPayload, reply: oneshot::Sender<Result<u32, ApiError>> },
}

#[derive(Clone)]
pub struct LobbyHandle {
    tx: mpsc::Sender<LobbyMsg>,
}

impl LobbyHandle {
    /// Queues a message; a full mailbox answers `SERVICE_UNAVAILABLE` at once.
    pub fn send(&self, msg: LobbyMsg) -> Result<(), ApiError> {
        self.tx.try_send(msg).map_err(|_| mailbox_error())
    }
    pub fn depth(&self) -> usize {
        MAILBOX_CAPACITY - self.tx.capacity()
    }
}

/// The lobby's actor, activated from PostgreSQL when it is not live.
pub async fn lobby_handle(app: &Arc<App>, game_id: GameId) -> Result<LobbyHandle, ApiError> {
    if let Some(handle) = app.lobbies.get(&game_id) {
        return Ok(handle);
    }
    let game = store::game(&app.pool, game_id)
        .await
        .map_err(|_| mailbox_error())?
        .ok_or_else(|| ApiError::not_found("game"))?;
    let state = LobbyState {
        id: game.id,
        name: game.name,
        host_id: game.host_id,
        status: game.status,
        max_players: game.max_players,
        min_players: game.min_players,
        members: game
            .players
            .iter()
            .filter(|p| game.status.is_active() || p.score.is_some())
            .map(|p| Member { user_id: p.user_id, display_name: p.display_name.clone(), joined_at: p.joined_at })
            .collect(),
        created_at: game.created_at,
        started_at: game.started_at,
        finished_at: game.finished_at,
        results: game
            .players
            .iter()
            .filter_map(|p| p.score.map(|score| GameResult { user_id: p.user_id, score }))
            .collect(),
    };
    Ok(adopt(app, state))
}

/// Registers a lobby actor for a state (a new game, or one loaded from PostgreSQL).
pub fn adopt(app: &Arc<App>, state: LobbyState) -> LobbyHandle {
    let id = state.id;
    app.lobbies.get_or_spawn(&id, |generation| {
        let (tx, rx) = mpsc::channel(MAILBOX_CAPACITY);
        crate::runtime::spawn(Lobby { app: app.clone(), state, generation }.run(rx));
        LobbyHandle { tx }
    })
}

struct Lobby {
    app: Arc<App>,
    state: LobbyState,
    generation: u64,
}

impl Lobby {
    /// Publishes the members for the relay fast path (or withdraws them once the game is over).
    fn publish_roster(&self) {
        if self.state.status.is_active() {
            self.app.rosters.insert(self.state.id, self.state.member_ids().into());
        } else {
            self.app.rosters.remove(&self.state.id);
        }
    }

    async fn run(mut self, mut rx: mpsc::Receiver<LobbyMsg>) {
        self.publish_roster();
        loop {
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(LobbyMsg::Join { member, reply }) => {
                        let (joins, next) =
                            super::queued_run(&mut rx, (member, reply), GAME_PLAYERS_MAX as usize, |msg| match msg {
                                LobbyMsg::Join { member, reply } => Ok((member, reply)),
                                other => Err(other),
                            });
                        self.join_group(joins).await;
                        self.publish_roster();
                        if let Some(msg) = next {
                            self.handle(msg).await;
                            self.publish_roster();
                        }
                    }
                    Some(msg) => {
                        self.handle(msg).await;
                        self.publish_roster();
                    }
                    None => break,
                },
                () = tokio::time::sleep(LOBBY_IDLE_PASSIVATE) => break,
            }
        }
        self.app.lobbies.remove(&self.state.id, self.generation);
        self.app.rosters.remove(&self.state.id);
        rx.close();
        while let Some(msg) = rx.recv().await {
            reject(msg);
        }
    }

    async fn commit(
        &mut self,
        outcome: Outcome<LobbyState>,
        origin: Option<UserId>,
    ) -> Result<Vec<Arc<Event>>, ApiError> {
        let events = self
            .app
            .journal
            .commit(outcome.effects, outcome.events, self.app.now(), origin)
            .await
            .map_err(commit_error)?;
        self.state = outcome.reply;
        Ok(events)
    }

    async fn handle(&mut self, msg: LobbyMsg) {
        let now = self.app.now();
        match msg {
            LobbyMsg::Join { member, reply } => self.join_group(vec![(member, reply)]).await,
            LobbyMsg::Leave { user_id, reason, reply } => {
                let result = match rules::leave(&self.state, user_id, reason, now) {
                    Ok(outcome) => self.commit(outcome, Some(user_id)).await.map(|e| (self.state.view(), e)),
                    Err(e) => Err(e),
                };
                let _ = reply.send(result);
            }
            LobbyMsg::Start { user_id, reply } => {
                let result = match rules::start(&self.state, user_id, now) {
                    Ok(outcome) => self.commit(outcome, None).await.map(|_| self.state.view()),
                    Err(e) => Err(e),
                };
                let _ = reply.send(result);
            }
            LobbyMsg::Finish { results, reply } => {
                let _ = reply.send(self.finish(results).await);
            }
            LobbyMsg::Close { reply } => {
                let result = match rules::close(&self.state, now) {
                    Ok(outcome) => self.commit(outcome, None).await.map(|_| self.state.view()),
                    Err(e) => Err(e),
                };
                let _ = reply.send(result);
            }
            LobbyMsg::Relay { from, payload, reply } => {
                let _ = reply.send(self.relay(from, payload));
            }
        }
    }

    /// Joins that arrived together commit together: each is decided against the state the ones
    /// before it leave, and all land in one journal command (one transaction), so a lobby
    /// filling up waits for one commit instead of one per seat. Refusals are answered after that
    /// commit; if it fails, every join of the group answers its error (they were decided together).
    async fn join_group(&mut self, joins: Vec<(Member, oneshot::Sender<Membership>)>) {
        let mut next = self.state.clone();
        let (mut effects, mut events) = (Vec::new(), Vec::new());
        let mut decided = Vec::with_capacity(joins.len());
        for (member, reply) in joins {
            let user = member.user_id;
            match rules::join(&next, member) {
                Ok(outcome) => {
                    let count = outcome.events.len();
                    effects.extend(outcome.effects);
                    events.extend(outcome.events);
                    next = outcome.reply;
                    decided.push((reply, Ok((user, count))));
                }
                Err(error) => decided.push((reply, Err(error))),
            }
        }
        // Each joining player's actor applies its own events from the reply.
        let origins: Vec<UserId> = decided.iter().filter_map(|(_, d)| d.as_ref().ok().map(|(user, _)| *user)).collect();
        let committed = if origins.is_empty() {
            Ok(Vec::new())
        } else {
            self.app.journal.commit_from(effects, events, self.app.now(), origins).await.map_err(commit_error)
        };
        match committed {
            Ok(committed) => {
                self.state = next;
                let view = self.state.view();
                let mut committed = committed.into_iter();
                for (reply, decision) in decided {
                    let result = decision.map(|(_, count)| (view.clone(), committed.by_ref().take(count).collect()));
                    let _ = reply.send(result);
                }
            }
            Err(error) => {
                for (reply, _) in decided {
                    let _ = reply.send(Err(error.clone()));
                }
            }
        }
    }

    /// Finishes the game: its rows, each member's stats and the leaderboard rows in one commit.
    async fn finish(&mut self, results: Vec<GameResult>) -> Result<Game, ApiError> {
        if rules::repeats_finish(&self.state, &results) {
            return Ok(self.state.view());
        }
        let outcome = rules::finish(&self.state, &results, self.app.now())?;
        let scores: Vec<(UserId, i64)> = results.iter().map(|r| (r.user_id, r.score)).collect();
        let board = self.app.boards.get(crate::app::SEASON_BOARD).cloned().ok_or_else(mailbox_error)?;
        board.record_game(outcome.effects, outcome.events, scores).await?;
        self.state = outcome.reply;
        Ok(self.state.view())
    }

    fn relay(&self, from: UserId, payload: RelayPayload) -> Result<u32, ApiError> {
        if !self.state.is_member(from) || !self.state.status.is_active() {
            return Err(ApiError::new(pzo_protocol::ErrorCode::NOT_IN_GAME));
        }
        let others: Vec<UserId> = self.state.members.iter().map(|m| m.user_id).filter(|u| *u != from).collect();
        // One shared frame, encoded once per codec, for every recipient.
        let frame = SharedFrame::new(ServerFrame::Relay(Arc::new(Relay { game_id: self.state.id, from, payload })));
        Ok(self.app.bus.push_to_players(&others, &frame))
    }
}

/// Relays from the published roster when the lobby is live: no mailbox hop, no database.
/// `None` when the lobby is not live here (the caller then activates it and asks it).
pub fn relay_direct(app: &App, from: UserId, game_id: GameId, payload: RelayPayload) -> Option<Result<u32, ApiError>> {
    let roster = app.rosters.get(&game_id)?.clone();
    if !roster.contains(&from) {
        return Some(Err(ApiError::new(pzo_protocol::ErrorCode::NOT_IN_GAME)));
    }
    let others: Vec<UserId> = roster.iter().copied().filter(|u| *u != from).collect();
    let frame = SharedFrame::new(ServerFrame::Relay(Arc::new(Relay { game_id, from, payload })));
    Some(Ok(app.bus.push_to_players(&others, &frame)))
}

fn reject(msg: LobbyMsg) {
    let error = mailbox_error();
    match msg {
        LobbyMsg::Join { reply, .. } | LobbyMsg::Leave { reply, .. } => drop(reply.send(Err(error))),
        LobbyMsg::Start { reply, .. } | LobbyMsg::Finish { reply, .. } | LobbyMsg::Close { reply } => {
            drop(reply.send(Err(error)))
        }
        LobbyMsg::Relay { reply, .. } => drop(reply.send(Err(error))),
    }
}
