//! The waitlist actor: owns the queue (rebuilt at start by replaying the stored waitlist
//! events), answers live positions from memory, and admits waves in committed chunks.

use super::{MAILBOX_CAPACITY, commit_error, mailbox_error};
use crate::journal::Journal;
use dashmap::DashMap;
use pzo_actors::waitlist::{self as rules, WaitlistConfig, WaitlistState};
use pzo_actors::{Effect, EventDraft, Outcome};
use pzo_protocol::model::{WaitlistEntry, WaitlistStatus};
use pzo_protocol::reply::{AdmitReply, WaitlistStatusReply};
use pzo_protocol::{ApiError, EntryId, Event, EventData, Timestamp, UserId};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Entries admitted per journal command in a wave: a 10,000 wave is ten commits.
pub const ADMIT_CHUNK_ENTRIES: usize = 1_000;

/// A player's place in Season 0, readable by every actor without asking the waitlist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    pub entry_id: EntryId,
    pub status: WaitlistStatus,
    pub founder_number: Option<u32>,
    pub admitted_at: Option<Timestamp>,
}

pub type Admissions = Arc<DashMap<UserId, Admission>>;

type Answer<T> = oneshot::Sender<Result<T, ApiError>>;

pub enum WaitlistMsg {
    Join { user_id: UserId, referral_code: Option<String>, reply: Answer<WaitlistEntry> },
    Get { entry_id: EntryId, reply: Answer<WaitlistEntry> },
    Status { user_id: Option<UserId>, reply: Answer<WaitlistStatusReply> },
    Remove { entry_id: EntryId, by: Option<UserId>, reply: Answer<WaitlistEntry> },
    Admit { count: usize, by: Option<UserId>, reply: Answer<AdmitReply> },
    SetStatus { entry_id: EntryId, status: WaitlistStatus, by: Option<UserId>, reply: Answer<WaitlistEntry> },
    List { status: Option<WaitlistStatus>, offset: usize, limit: usize, reply: Answer<Vec<WaitlistEntry>> },
}

#[derive(Clone)]
pub struct WaitlistHandle {
    tx: mpsc::Sender<WaitlistMsg>,
}

impl WaitlistHandle {
    async fn ask<T>(&self, make: impl FnOnce(Answer<T>) -> WaitlistMsg) -> Result<T, ApiError> {
        let (reply, answer) = oneshot::channel();
        self.tx.try_send(make(reply)).map_err(|_| mailbox_error())?;
        answer.await.map_err(|_| mailbox_error())?
    }
    pub async fn join(&self, user_id: UserId, referral_code: Option<String>) -> Result<WaitlistEntry, ApiError> {
        self.ask(|reply| WaitlistMsg::Join { user_id, referral_code, reply }).await
    }
    pub async fn get(&self, entry_id: EntryId) -> Result<WaitlistEntry, ApiError> {
        self.ask(|reply| WaitlistMsg::Get { entry_id, reply }).await
    }
    pub async fn status(&self, user_id: Option<UserId>) -> Result<WaitlistStatusReply, ApiError> {
        self.ask(|reply| WaitlistMsg::Status { user_id, reply }).await
    }
    pub async fn remove(&self, entry_id: EntryId, by: Option<UserId>) -> Result<WaitlistEntry, ApiError> {
        self.ask(|reply| WaitlistMsg::Remove { entry_id, by, reply }).await
    }
    pub async fn admit(&self, count: usize, by: Option<UserId>) -> Result<AdmitReply, ApiError> {
        self.ask(|reply| WaitlistMsg::Admit { count, by, reply }).await
    }
    pub async fn set_status(
        &self,
        entry_id: EntryId,
        status: WaitlistStatus,
        by: Option<UserId>,
    ) -> Result<WaitlistEntry, ApiError> {
        self.ask(|reply| WaitlistMsg::SetStatus { entry_id, status, by, reply }).await
    }
    pub async fn list(
        &self,
        status: Option<WaitlistStatus>,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<WaitlistEntry>, ApiError> {
        self.ask(|reply| WaitlistMsg::List { status, offset, limit, reply }).await
    }
    pub fn depth(&self) -> usize {
        MAILBOX_CAPACITY - self.tx.capacity()
    }
}

/// Rebuilds the queue from the stored events and starts the actor.
pub fn spawn(
    config: WaitlistConfig,
    history: &[EventData],
    journal: Journal,
    admissions: Admissions,
    capacity: u64,
    clock: fn() -> Timestamp,
) -> WaitlistHandle {
    let mut state = WaitlistState::new(config);
    for event in history {
        state.apply(event);
    }
    for entry in state.entries.values() {
        admissions.insert(entry.user_id, admission_of(entry));
    }
    let (tx, rx) = mpsc::channel(MAILBOX_CAPACITY);
    crate::runtime::spawn(Waitlist { state, journal, admissions, capacity, clock }.run(rx));
    WaitlistHandle { tx }
}

/// A join waiting in the mailbox.
struct QueuedJoin {
    user_id: UserId,
    referral_code: Option<String>,
    reply: Answer<WaitlistEntry>,
}

/// Most joins decided and committed together: enough for a rush (a commit seats 32), small
/// enough that a command does not hold up the others batched with it (see the leaderboard's
/// finished-game cap for what a big one costs).
const JOINS_PER_COMMIT_MAX: usize = 32;

fn admission_of(entry: &rules::EntryState) -> Admission {
    Admission {
        entry_id: entry.id,
        status: entry.status,
        founder_number: entry.founder_number,
        admitted_at: entry.admitted_at,
    }
}

struct Waitlist {
    state: WaitlistState,
    journal: Journal,
    admissions: Admissions,
    capacity: u64,
    clock: fn() -> Timestamp,
}

impl Waitlist {
    async fn run(mut self, mut rx: mpsc::Receiver<WaitlistMsg>) {
        while let Some(msg) = rx.recv().await {
            match msg {
                WaitlistMsg::Join { user_id, referral_code, reply } => {
                    let first = QueuedJoin { user_id, referral_code, reply };
                    let (joins, next) = super::queued_run(&mut rx, first, JOINS_PER_COMMIT_MAX, |msg| match msg {
                        WaitlistMsg::Join { user_id, referral_code, reply } => {
                            Ok(QueuedJoin { user_id, referral_code, reply })
                        }
                        other => Err(other),
                    });
                    self.join_group(joins).await;
                    if let Some(msg) = next {
                        self.handle(msg).await;
                    }
                }
                msg => self.handle(msg).await,
            }
        }
    }

    /// Joins that queued while the actor was busy are decided together (`join_many`: the same
    /// answers as one by one) and committed as one command, so a sign-up rush costs one commit
    /// per batch instead of one per player. Refusals are answered after that commit; if it
    /// fails, every join of the group answers its error.
    async fn join_group(&mut self, joins: Vec<QueuedJoin>) {
        let now = (self.clock)();
        let ids: Vec<(EntryId, String)> = joins
            .iter()
            .map(|_| {
                let id = uuid::Uuid::new_v4();
                (id, id.simple().to_string()[..10].to_owned())
            })
            .collect();
        let requests: Vec<rules::JoinRequest<'_>> = joins
            .iter()
            .zip(&ids)
            .map(|(join, (entry_id, code))| rules::JoinRequest {
                user_id: join.user_id,
                entry_id: *entry_id,
                referral_code: code,
                referred_with: join.referral_code.as_deref(),
            })
            .collect();
        let (mut effects, mut events, mut decided) = (Vec::new(), Vec::new(), Vec::with_capacity(joins.len()));
        for outcome in rules::join_many(&self.state, &requests, now) {
            decided.push(outcome.map(|outcome| {
                effects.extend(outcome.effects);
                events.extend(outcome.events);
                outcome.reply.id
            }));
        }
        let committed = if events.is_empty() { Ok(Vec::new()) } else { self.commit(effects, events).await };
        for (join, decision) in joins.into_iter().zip(decided) {
            let answer = match (&committed, decision) {
                (Err(error), _) => Err(error.clone()),
                (Ok(_), Ok(entry_id)) => self.view(entry_id),
                (Ok(_), Err(refusal)) => Err(refusal),
            };
            let _ = join.reply.send(answer);
        }
    }

    /// Commits effects and events, then folds the committed events into the queue.
    async fn commit(&mut self, effects: Vec<Effect>, events: Vec<EventDraft>) -> Result<Vec<Arc<Event>>, ApiError> {
        let committed = self.journal.commit(effects, events, (self.clock)(), None).await.map_err(commit_error)?;
        for event in &committed {
            self.state.apply(&event.data);
        }
        for event in &committed {
            let entry_id = match &event.data {
                EventData::WaitlistAdded(e) => e.entry.id,
                EventData::WaitlistStatusUpdated(e) => e.entry_id,
                EventData::WaitlistRemoved(e) => e.entry_id,
                EventData::Season0Joined(e) => e.entry_id,
                _ => continue,
            };
            if let Some(entry) = self.state.entries.get(&entry_id) {
                self.admissions.insert(entry.user_id, admission_of(entry));
            }
        }
        Ok(committed)
    }

    fn view(&self, entry_id: EntryId) -> Result<WaitlistEntry, ApiError> {
        self.state
            .entries
            .get(&entry_id)
            .map(|e| self.state.view(e))
            .ok_or_else(|| ApiError::not_found("waitlist entry"))
    }

    async fn commit_outcome<R>(&mut self, outcome: Outcome<R>) -> Result<R, ApiError> {
        self.commit(outcome.effects, outcome.events).await?;
        Ok(outcome.reply)
    }

    async fn handle(&mut self, msg: WaitlistMsg) {
        let now = (self.clock)();
        match msg {
            WaitlistMsg::Join { user_id, referral_code, reply } => {
                self.join_group(vec![QueuedJoin { user_id, referral_code, reply }]).await;
            }
            WaitlistMsg::Get { entry_id, reply } => drop(reply.send(self.view(entry_id))),
            WaitlistMsg::Status { user_id, reply } => {
                let entry = user_id.and_then(|u| self.state.by_user.get(&u)).and_then(|id| self.view(*id).ok());
                let _ = reply.send(Ok(WaitlistStatusReply {
                    position: entry.as_ref().and_then(|e| e.position),
                    entry,
                    waiting_count: self.state.waiting_count(),
                    admitted_count: self.state.admitted_count,
                    capacity: self.capacity,
                    founder_cap: self.state.founder_cap,
                }));
            }
            WaitlistMsg::Remove { entry_id, by, reply } => {
                let reason = if by.is_some() { "removed by its player" } else { "removed by an operator" };
                let result = match rules::remove(&self.state, entry_id, by, reason, now) {
                    Ok(outcome) => self.commit_outcome(outcome).await.and_then(|()| self.view(entry_id)),
                    Err(e) => Err(e),
                };
                let _ = reply.send(result);
            }
            WaitlistMsg::Admit { count, by, reply } => {
                let _ = reply.send(self.admit(count, by).await);
            }
            WaitlistMsg::SetStatus { entry_id, status, by, reply } => {
                let result = match rules::set_status(&self.state, entry_id, status, by, now) {
                    Ok(outcome) => self.commit_outcome(outcome).await.and_then(|_| self.view(entry_id)),
                    Err(e) => Err(e),
                };
                let _ = reply.send(result);
            }
            WaitlistMsg::List { status, offset, limit, reply } => {
                let _ = reply.send(Ok(self.list(status, offset, limit)));
            }
        }
    }

    /// Admits in chunks; each chunk is one commit, so a failure keeps the chunks before it.
    async fn admit(&mut self, count: usize, by: Option<UserId>) -> Result<AdmitReply, ApiError> {
        let mut admitted = Vec::new();
        while admitted.len() < count {
            let chunk = (count - admitted.len()).min(ADMIT_CHUNK_ENTRIES);
            let outcome = rules::admit(&self.state, chunk, by, (self.clock)());
            if outcome.reply.is_empty() {
                break;
            }
            let ids = match self.commit_outcome(outcome).await {
                Ok(ids) => ids,
                Err(error) if admitted.is_empty() => return Err(error),
                Err(_) => break,
            };
            admitted.extend(ids.iter().filter_map(|id| self.view(*id).ok()));
        }
        Ok(AdmitReply { count: admitted.len() as u64, admitted, waiting_count: self.state.waiting_count() })
    }

    fn list(&self, status: Option<WaitlistStatus>, offset: usize, limit: usize) -> Vec<WaitlistEntry> {
        match status {
            // Waiting entries come in queue order, straight from the ranked index.
            Some(WaitlistStatus::Waiting) => {
                self.state.waiting(offset, limit).into_iter().map(|e| self.state.view(e)).collect()
            }
            _ => self
                .state
                .join_order
                .iter()
                .filter_map(|id| self.state.entries.get(id))
                .filter(|e| status.is_none_or(|s| e.status == s))
                .skip(offset)
                .take(limit)
                .map(|e| self.state.view(e))
                .collect(),
        }
    }
}
