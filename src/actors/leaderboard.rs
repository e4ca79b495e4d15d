//! The leaderboard actor: one per board. It owns the ranked index, adds its score rows to a
//! finishing game's commit, resets with archive, and coalesces `LEADERBOARD_UPDATED` to at most
//! one event per board per flush interval. Pages are read from its committed state through the
//! handle ([`BoardHandle::page`]), not through the mailbox: see [`BoardView`].

use super::{MAILBOX_CAPACITY, commit_error, mailbox_error};
use crate::directory::Directory;
use crate::journal::Journal;
use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use pzo_actors::effect::{Effect, EventDraft};
use pzo_actors::leaderboard::{self as rules, BestScore, BoardState, RankedScore};
use pzo_protocol::event::LeaderboardUpdated;
use pzo_protocol::model::LeaderboardEntry;
use pzo_protocol::{ApiError, Event, EventData, Timestamp, UserId};
use std::collections::{BTreeSet, HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
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
    Reset {
        reply: oneshot::Sender<Result<(u32, u32), ApiError>>,
    },
}

/// The board's committed state, shared for reading. The actor is its only writer and changes it
/// only when a commit landed (before answering the commit's caller, so a player whose finish was
/// acknowledged finds their row). Reads take the lock for a few O(log n) lookups; before, every
/// page was a message to the one actor that all finishes also go through, and at 10,000
/// players (~900 pages/s) its mailbox sometimes filled and pages were answered 503.
#[derive(Debug)]
pub struct BoardView(RwLock<BoardState>);

impl BoardView {
    fn read(&self) -> RwLockReadGuard<'_, BoardState> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, BoardState> {
        self.0.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Clone)]
pub struct BoardHandle {
    tx: mpsc::Sender<BoardMsg>,
    view: Arc<BoardView>,
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

    /// A page of the committed ranking: from `start`, or centred on `around`; `me` adds the
    /// caller's own row.
    pub fn page(&self, start: usize, count: usize, around: Option<UserId>, me: Option<UserId>) -> BoardPage {
        let state = self.view.read();
        let (start, rows) = match around {
            Some(user) => state.around(user, count),
            None => (start, state.page(start, count)),
        };
        BoardPage {
            id: state.id.clone(),
            name: state.name.clone(),
            season: state.season,
            total: state.len(),
            start,
            rows,
            me: me.and_then(|u| state.rank_of(u)),
        }
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
    directory: Arc<Directory>,
    clock: fn() -> Timestamp,
) -> BoardHandle {
    let (tx, rx) = mpsc::channel(MAILBOX_CAPACITY);
    let view = Arc::new(BoardView(RwLock::new(state)));
    let board = Board { view: view.clone(), journal, pool, directory, clock, pending: BTreeSet::new() };
    crate::runtime::spawn(board.run(rx));
    BoardHandle { tx, view }
}

struct Board {
    /// The committed state; this actor is its only writer.
    view: Arc<BoardView>,
    journal: Journal,
    /// Display names and visibility for the coalesced updates.
    pool: deadpool_postgres::Pool,
    directory: Arc<Directory>,
    clock: fn() -> Timestamp,
    pending: BTreeSet<UserId>,
}

/// A write of the board (a game's scores, a reset, a coalesced update) whose commit is awaited
/// beside the mailbox, so later writes queue (and group) meanwhile instead of waiting unread.
type InFlight = Pin<Box<dyn Future<Output = Committed> + Send>>;

/// Most game commits the board has in the journal at once. A burst of finishes (lobbies started
/// together end together) then rides consecutive journal batches instead of waiting for each
/// other's acknowledgement: with one at a time, each took a whole journal round and
/// `POST /games/finish` p99 was ~140 ms in the CI smoke run. Sound because a game's score rows
/// are computed from the committed state alone and their upsert only ever raises a best score
/// (`player_scores.score < EXCLUDED.score`), so a row that an earlier in-flight commit made
/// redundant writes nothing, whether that commit lands or fails; [`Board::apply`] folds the
/// same rule in memory, in commit order.
const GAME_COMMITS_IN_FLIGHT_MAX: usize = 4;

/// Writes wait in order behind the ones in flight. A reset is a barrier: it starts when nothing
/// is in flight and nothing starts until it committed, so no game scores on a season that a
/// reset archived meanwhile.
enum Write {
    Game(GameWrite),
    Reset { reply: oneshot::Sender<Result<(u32, u32), ApiError>> },
}

/// A finished game's own effects and events, and its scores for the board.
struct GameWrite {
    effects: Vec<Effect>,
    events: Vec<EventDraft>,
    scores: Vec<(UserId, i64)>,
    reply: GameReply,
}

/// Most finished games one commit carries. When each member's rows were single-row statements,
/// a command of dozens of games (hundreds of statements) made every command batched with it
/// wait (64 per commit took `currency.withdraw` p99 from ~45 to ~190 ms at 1,000 players), so
/// it was 4. Now a game adds one statement (its status) and its rows join the batch's multi-row
/// statements; at 10,000 players, 4 per commit had 1,262 finishes answered 503 (the queue full)
/// and 16 had 442: still not enough there (docs/loadtest/season0-10000-after*.txt).
const GAMES_PER_COMMIT_MAX: usize = 16;

type GameReply = oneshot::Sender<Result<Vec<Arc<Event>>, ApiError>>;

/// A finished commit and what applying it needs.
enum Committed {
    /// Games committed together: each reply with how many of the events are its own.
    Games {
        result: Result<Vec<Arc<Event>>, ApiError>,
        records: Vec<(UserId, BestScore)>,
        replies: Vec<(GameReply, usize)>,
    },
    Reset {
        result: Result<(), ApiError>,
        archived: u32,
        season: u32,
        reply: oneshot::Sender<Result<(u32, u32), ApiError>>,
    },
    Update {
        result: Result<(), ApiError>,
        changed: Vec<UserId>,
    },
}

/// What woke the actor.
enum Wake {
    Message(Option<BoardMsg>),
    Committed(Committed),
    Flush,
}

/// The board's commits in flight, answered in the order they were started (the journal's order).
#[derive(Default)]
struct Commits {
    in_flight: FuturesOrdered<InFlight>,
    /// A reset is among them: nothing else starts until it committed.
    resetting: bool,
}

impl Commits {
    fn is_empty(&self) -> bool {
        self.in_flight.is_empty()
    }

    /// Resolves with the oldest commit in flight, or never when there is none.
    async fn next_done(&mut self) -> Committed {
        match self.in_flight.next().await {
            Some(done) => done,
            None => std::future::pending().await,
        }
    }
}

impl Board {
    async fn run(mut self, mut rx: mpsc::Receiver<BoardMsg>) {
        let mut flush = tokio::time::interval(LEADERBOARD_FLUSH_INTERVAL);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut commits = Commits::default();
        let mut queued: VecDeque<Write> = VecDeque::new();
        let mut open = true;
        while open || !commits.is_empty() || !queued.is_empty() {
            let idle = commits.is_empty() && queued.is_empty();
            let wake = tokio::select! {
                msg = rx.recv(), if open => Wake::Message(msg),
                done = commits.next_done(), if !commits.is_empty() => Wake::Committed(done),
                _ = flush.tick(), if idle && !self.pending.is_empty() => Wake::Flush,
            };
            match wake {
                Wake::Message(None) => open = false,
                Wake::Message(Some(BoardMsg::RecordGame { effects, events, scores, reply })) => {
                    enqueue(&mut queued, Write::Game(GameWrite { effects, events, scores, reply }));
                }
                Wake::Message(Some(BoardMsg::Reset { reply })) => enqueue(&mut queued, Write::Reset { reply }),
                Wake::Committed(done) => {
                    if matches!(done, Committed::Reset { .. }) {
                        commits.resetting = false;
                    }
                    self.apply(done);
                }
                Wake::Flush => commits.in_flight.push_back(self.flush()),
            }
            self.start_ready(&mut queued, &mut commits);
        }
    }

    /// Starts queued writes while there is room in flight, a reset only once nothing else is.
    fn start_ready(&self, queued: &mut VecDeque<Write>, commits: &mut Commits) {
        while !commits.resetting && commits.in_flight.len() < GAME_COMMITS_IN_FLIGHT_MAX {
            let reset_waits = matches!(queued.front(), Some(Write::Reset { .. })) && !commits.is_empty();
            if reset_waits {
                return;
            }
            match self.start_next(queued) {
                Some((commit, is_reset)) => {
                    commits.in_flight.push_back(commit);
                    commits.resetting = is_reset;
                }
                None => return,
            }
        }
    }

    /// Starts the next queued write (and says whether it is a reset). Finished games queued
    /// back to back go in one commit (one transaction) as long as no player is in two of them,
    /// so a backlog of finishes drains at the journal's batch rate instead of one commit per game.
    fn start_next(&self, queued: &mut VecDeque<Write>) -> Option<(InFlight, bool)> {
        match queued.pop_front()? {
            Write::Reset { reply } => Some((self.start_reset(reply), true)),
            Write::Game(first) => {
                let mut players: HashSet<UserId> = first.scores.iter().map(|(user, _)| *user).collect();
                let mut games = vec![first];
                while games.len() < GAMES_PER_COMMIT_MAX {
                    let disjoint = match queued.front() {
                        Some(Write::Game(next)) => next.scores.iter().all(|(user, _)| !players.contains(user)),
                        _ => false,
                    };
                    match queued.pop_front() {
                        Some(Write::Game(next)) if disjoint => {
                            players.extend(next.scores.iter().map(|(user, _)| *user));
                            games.push(next);
                        }
                        Some(other) => {
                            queued.push_front(other);
                            break;
                        }
                        None => break,
                    }
                }
                Some((self.start_games(games), false))
            }
        }
    }

    /// Computes the games' board rows from the committed state and hands everything to the
    /// journal. Commits still in flight are not looked at: a row they make redundant is a no-op
    /// upsert (see [`GAME_COMMITS_IN_FLIGHT_MAX`]).
    fn start_games(&self, games: Vec<GameWrite>) -> InFlight {
        let (journal, now) = (self.journal.clone(), (self.clock)());
        let scores: Vec<(UserId, i64)> = games.iter().flat_map(|game| game.scores.iter().copied()).collect();
        let outcome = rules::submit(&self.view.read(), &scores, now);
        let (mut effects, mut events, mut replies) = (Vec::new(), Vec::new(), Vec::with_capacity(games.len()));
        for game in games {
            replies.push((game.reply, game.events.len()));
            effects.extend(game.effects);
            events.extend(game.events);
        }
        effects.extend(outcome.effects);
        let records = outcome.reply;
        Box::pin(async move {
            let result = journal.commit(effects, events, now, None).await.map_err(commit_error);
            Committed::Games { result, records, replies }
        })
    }

    fn start_reset(&self, reply: oneshot::Sender<Result<(u32, u32), ApiError>>) -> InFlight {
        let (journal, now) = (self.journal.clone(), (self.clock)());
        let state = self.view.read();
        let outcome = rules::reset(&state, now);
        let (archived, season) = (state.season, outcome.reply);
        drop(state);
        Box::pin(async move {
            let result =
                journal.commit(outcome.effects, outcome.events, now, None).await.map(drop).map_err(commit_error);
            Committed::Reset { result, archived, season, reply }
        })
    }

    /// Folds a committed write into the state and answers its caller.
    fn apply(&mut self, done: Committed) {
        match done {
            Committed::Games { result: Ok(events), records, replies } => {
                // The stored row's rule: only a higher score replaces a best (a tie keeps the
                // earlier one), whatever order the in-flight commits computed theirs in.
                let mut state = self.view.write();
                for (user, best) in records {
                    if state.improves(user, best.score) {
                        state.record(user, BestScore { score: best.score, achieved_at: best.achieved_at });
                        self.pending.insert(user);
                    }
                }
                drop(state);
                let mut events = events.into_iter();
                for (reply, count) in replies {
                    let _ = reply.send(Ok(events.by_ref().take(count).collect()));
                }
            }
            Committed::Games { result: Err(error), replies, .. } => {
                for (reply, _) in replies {
                    let _ = reply.send(Err(error.clone()));
                }
            }
            Committed::Reset { result, archived, season, reply } => {
                if result.is_ok() {
                    let mut state = self.view.write();
                    *state = BoardState::new(state.id.clone(), state.name.clone(), season);
                    self.pending.clear();
                }
                let _ = reply.send(result.map(|()| (archived, season)));
            }
            Committed::Update { result: Err(error), changed } => {
                tracing::warn!(%error, "leaderboard update not published; retrying at the next flush");
                self.pending.extend(changed);
            }
            Committed::Update { result: Ok(()), .. } => {}
        }
    }

    /// Emits one coalesced update carrying the changed rows with their ranks at this moment.
    fn flush(&mut self) -> InFlight {
        let changed: Vec<UserId> = std::mem::take(&mut self.pending).into_iter().collect();
        let state = self.view.read();
        let mut ranked: Vec<RankedScore> = changed.iter().filter_map(|u| state.rank_of(*u)).collect();
        ranked.sort_by_key(|r| r.rank);
        ranked.truncate(LEADERBOARD_UPDATE_ENTRIES_MAX);
        let (board, season) = (state.id.clone(), state.season);
        drop(state);
        let (journal, pool, directory, now) =
            (self.journal.clone(), self.pool.clone(), self.directory.clone(), (self.clock)());
        Box::pin(async move {
            let users: Vec<UserId> = ranked.iter().map(|r| r.user_id).collect();
            let names = directory.lookup(&pool, &users).await.unwrap_or_default();
            let entries = ranked
                .iter()
                .map(|r| match names.get(&r.user_id) {
                    // Hidden players keep their rank and score, listed anonymously as on the pages.
                    Some((_, false)) => LeaderboardEntry {
                        rank: r.rank,
                        user_id: None,
                        display_name: "anonymous".into(),
                        score: r.score,
                    },
                    found => LeaderboardEntry {
                        rank: r.rank,
                        user_id: Some(r.user_id),
                        display_name: found.map(|(name, _)| name.clone()).unwrap_or_default(),
                        score: r.score,
                    },
                })
                .collect();
            let data = LeaderboardUpdated { leaderboard_id: board.clone(), season, entries };
            let event = EventDraft::for_leaderboard(&board, EventData::LeaderboardUpdated(data));
            let result = journal.commit(Vec::new(), vec![event], now, None).await.map(drop).map_err(commit_error);
            Committed::Update { result, changed }
        })
    }
}

/// Most writes waiting behind the ones in flight. One board takes the finish of every game of
/// the season, and games that started together end together: at the end of a 10,000-player
/// load run ~1,250 lobbies finished within a second, and a bound of 256 (an actor's mailbox)
/// answered ~1,000 of them 503 while the board was draining 64 at a time. 4,096 games (at most
/// 64 rows each, a few MiB) hold such a burst; the bound still keeps the queue finite.
const QUEUED_WRITES_MAX: usize = 4_096;

/// Queues a write behind the ones in flight; past [`QUEUED_WRITES_MAX`] it is refused, so a
/// board that cannot keep up answers 503 instead of growing without limit.
fn enqueue(queued: &mut VecDeque<Write>, write: Write) {
    if queued.len() < QUEUED_WRITES_MAX {
        queued.push_back(write);
        return;
    }
    match write {
        Write::Game(game) => drop(game.reply.send(Err(mailbox_error()))),
        Write::Reset { reply } => drop(reply.send(Err(mailbox_error()))),
    }
}
