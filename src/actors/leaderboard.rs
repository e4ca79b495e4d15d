//! The leaderboard actor: one per board. It owns the ranked index, adds its score rows to a
//! finishing game's commit, answers pages from memory, resets with archive, and coalesces
//! `LEADERBOARD_UPDATED` to at most one event per board per flush interval.

use super::{MAILBOX_CAPACITY, commit_error, mailbox_error};
use crate::journal::Journal;
use pzo_actors::effect::{Effect, EventDraft};
use pzo_actors::leaderboard::{self as rules, BestScore, BoardState, RankedScore};
use pzo_protocol::event::LeaderboardUpdated;
use pzo_protocol::model::LeaderboardEntry;
use pzo_protocol::{ApiError, Event, EventData, Timestamp, UserId};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How often coalesced `LEADERBOARD_UPDATED` events go out.
pub const LEADERBOARD_FLUSH_INTERVAL: Duration = Duration::from_millis(250);
/// Most changed rows one `LEADERBOARD_UPDATED` carries.
pub const LEADERBOARD_UPDATE_ENTRIES_MAX: usize = 100;

/// What a page query gets back from the actor.
#[derive(Debug, Clone)]
pub struct BoardPage {
    pub id: String,
    pub name: String,
    pub season: u32,
    pub total: u64,
    pub start: usize,
    pub rows: Vec<RankedScore>,
    pub me: Option<RankedScore>,
}

pub enum BoardMsg {
    RecordGame {
        effects: Vec<Effect>,
        events: Vec<EventDraft>,
        scores: Vec<(UserId, i64)>,
        reply: oneshot::Sender<Result<Vec<Arc<Event>>, ApiError>>,
    },
    Page {
        start: usize,
        count: usize,
        around: Option<UserId>,
        me: Option<UserId>,
        reply: oneshot::Sender<BoardPage>,
    },
    Reset {
        reply: oneshot::Sender<Result<(u32, u32), ApiError>>,
    },
}

#[derive(Clone)]
pub struct BoardHandle {
    tx: mpsc::Sender<BoardMsg>,
}

impl BoardHandle {
    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> BoardMsg) -> Result<T, ApiError> {
        let (reply, answer) = oneshot::channel();
        self.tx.try_send(make(reply)).map_err(|_| mailbox_error())?;
        answer.await.map_err(|_| mailbox_error())
    }

    /// Commits a finished game's effects together with the board's score rows.
    pub async fn record_game(
        &self,
        effects: Vec<Effect>,
        events: Vec<EventDraft>,
        scores: Vec<(UserId, i64)>,
    ) -> Result<Vec<Arc<Event>>, ApiError> {
        self.ask(|reply| BoardMsg::RecordGame { effects, events, scores, reply }).await?
    }

    pub async fn page(
        &self,
        start: usize,
        count: usize,
        around: Option<UserId>,
        me: Option<UserId>,
    ) -> Result<BoardPage, ApiError> {
        self.ask(|reply| BoardMsg::Page { start, count, around, me, reply }).await
    }

    /// Archives the season; answers (archived season, new season).
    pub async fn reset(&self) -> Result<(u32, u32), ApiError> {
        self.ask(|reply| BoardMsg::Reset { reply }).await?
    }

    pub fn depth(&self) -> usize {
        MAILBOX_CAPACITY - self.tx.capacity()
    }
}

/// Starts a board actor over its rebuilt state.
pub fn spawn(
    state: BoardState,
    journal: Journal,
    pool: deadpool_postgres::Pool,
    clock: fn() -> Timestamp,
) -> BoardHandle {
    let (tx, rx) = mpsc::channel(MAILBOX_CAPACITY);
    crate::runtime::spawn(Board { state, journal, pool, clock, pending: BTreeSet::new() }.run(rx));
    BoardHandle { tx }
}

struct Board {
    state: BoardState,
    journal: Journal,
    /// Reads display names and visibility for the coalesced updates.
    pool: deadpool_postgres::Pool,
    clock: fn() -> Timestamp,
    pending: BTreeSet<UserId>,
}

impl Board {
    async fn run(mut self, mut rx: mpsc::Receiver<BoardMsg>) {
        let mut flush = tokio::time::interval(LEADERBOARD_FLUSH_INTERVAL);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(msg) => self.handle(msg).await,
                    None => break,
                },
                _ = flush.tick(), if !self.pending.is_empty() => self.flush().await,
            }
        }
    }

    async fn handle(&mut self, msg: BoardMsg) {
        match msg {
            BoardMsg::RecordGame { mut effects, events, scores, reply } => {
                let now = (self.clock)();
                let outcome = rules::submit(&self.state, &scores, now);
                effects.extend(outcome.effects);
                let result = self.journal.commit(effects, events, now, None).await.map_err(commit_error);
                if result.is_ok() {
                    for (user, best) in outcome.reply {
                        self.state.record(user, BestScore { score: best.score, achieved_at: best.achieved_at });
                        self.pending.insert(user);
                    }
                }
                let _ = reply.send(result);
            }
            BoardMsg::Page { start, count, around, me, reply } => {
                let (start, rows) = match around {
                    Some(user) => self.state.around(user, count),
                    None => (start, self.state.page(start, count)),
                };
                let me = me.and_then(|u| self.state.rank_of(u));
                let _ = reply.send(BoardPage {
                    id: self.state.id.clone(),
                    name: self.state.name.clone(),
                    season: self.state.season,
                    total: self.state.len(),
                    start,
                    rows,
                    me,
                });
            }
            BoardMsg::Reset { reply } => {
                let now = (self.clock)();
                let outcome = rules::reset(&self.state, now);
                let archived = self.state.season;
                let result =
                    self.journal.commit(outcome.effects, outcome.events, now, None).await.map_err(commit_error);
                if result.is_ok() {
                    self.state = BoardState::new(self.state.id.clone(), self.state.name.clone(), outcome.reply);
                    self.pending.clear();
                }
                let _ = reply.send(result.map(|_| (archived, outcome.reply)));
            }
        }
    }

    /// Emits one coalesced update carrying the changed rows with their current ranks.
    async fn flush(&mut self) {
        let changed: Vec<UserId> = std::mem::take(&mut self.pending).into_iter().collect();
        let names = crate::store::directory(&self.pool, &changed).await.unwrap_or_default();
        let mut entries: Vec<LeaderboardEntry> = changed
            .iter()
            .filter_map(|u| self.state.rank_of(*u))
            .map(|r| match names.get(&r.user_id) {
                // Hidden players keep their rank and score, listed anonymously as on the pages.
                Some((_, false)) => {
                    LeaderboardEntry { rank: r.rank, user_id: None, display_name: "anonymous".into(), score: r.score }
                }
                found => LeaderboardEntry {
                    rank: r.rank,
                    user_id: Some(r.user_id),
                    display_name: found.map(|(name, _)| name.clone()).unwrap_or_default(),
                    score: r.score,
                },
            })
            .collect();
        entries.sort_by_key(|e| e.rank);
        entries.truncate(LEADERBOARD_UPDATE_ENTRIES_MAX);
        let data = LeaderboardUpdated { leaderboard_id: self.state.id.clone(), season: self.state.season, entries };
        let event = EventDraft::for_leaderboard(&self.state.id, EventData::LeaderboardUpdated(data));
        if let Err(error) = self.journal.commit(Vec::new(), vec![event], (self.clock)(), None).await {
            tracing::warn!(%error, "leaderboard update not published; retrying at the next flush");
            self.pending.extend(changed);
        }
    }
}
