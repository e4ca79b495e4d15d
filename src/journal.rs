//! The journal: the one writer to PostgreSQL. It groups every command that arrived while the
//! previous transaction was in flight into the next transaction (group commit), assigns event
//! `seq`s in commit order, and acknowledges each command only after its transaction committed.
//! Events are handed to [`AfterCommit`] (socket fan-out, player notices) after the commit too.

use crate::sql::{apply_effect, insert_events, is_batched, prepare_batch, sql_of, write_batched};
use deadpool_postgres::Pool;
use pzo_actors::effect::{Audience, Effect, EventDraft};
use pzo_protocol::{Event, Timestamp, UserId};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Commands waiting for the journal; past this, callers get `SERVICE_UNAVAILABLE` at once.
pub const JOURNAL_QUEUE_COMMANDS_MAX: usize = 65_536;
/// Most commands in one transaction.
pub const JOURNAL_BATCH_COMMANDS_MAX: usize = 4_096;

const _: () = assert!(JOURNAL_BATCH_COMMANDS_MAX <= JOURNAL_QUEUE_COMMANDS_MAX);

/// How long the writer keeps asking whether an interrupted COMMIT landed before it gives up on
/// that batch (answers it 503 and re-reads the last stored `seq` before the next batch).
pub const IN_DOUBT_RESOLVE_FOR: Duration = Duration::from_secs(20);
/// A commit this slow is logged (with its size) at warn: every command batched with it, and
/// every one queued behind it, waited that long.
const SLOW_COMMIT: Duration = Duration::from_millis(40);
/// The transaction's own id, so an interrupted COMMIT can be looked up afterwards.
const CURRENT_XID_SQL: &str = "SELECT txid_current()";
/// First pause between those questions; it doubles up to a second.
const IN_DOUBT_RETRY_FIRST: Duration = Duration::from_millis(50);

/// Why a command was not committed. Either way, nothing of it was applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommitError {
    #[error("the journal is unavailable: {0}")]
    Unavailable(String),
    #[error("a database constraint refused the command: {0}")]
    Conflict(String),
}

/// What one command asks the journal to write.
#[derive(Debug)]
pub struct JournalCommand {
    pub effects: Vec<Effect>,
    pub events: Vec<EventDraft>,
    pub at: Timestamp,
    /// The player actors that apply this command's events themselves (they get no notice of them).
    pub origins: Vec<UserId>,
    pub reply: oneshot::Sender<Result<Vec<Arc<Event>>, CommitError>>,
    /// When the caller queued it (for [`crate::telemetry::METRIC_JOURNAL_QUEUE`]).
    pub submitted: Instant,
}

/// Receives committed events, in seq order, right after each commit.
pub trait AfterCommit: Send + Sync + 'static {
    fn committed(&self, events: &[(Arc<Event>, Audience)], origins: &[UserId]);
}

/// The journal's handle: cheap to clone.
#[derive(Clone)]
pub struct Journal {
    tx: mpsc::Sender<JournalCommand>,
    pub stats: Arc<JournalStats>,
}

/// Live numbers of the journal, for `/ready`, `/metrics` and the console.
#[derive(Debug)]
pub struct JournalStats {
    pub last_seq: AtomicU64,
    pub batches: AtomicU64,
    pub commands: AtomicU64,
    /// Commit latencies in microseconds since start.
    commit_us: std::sync::Mutex<hdrhistogram::Histogram<u64>>,
}

impl Default for JournalStats {
    fn default() -> Self {
        Self {
            last_seq: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            commands: AtomicU64::new(0),
            commit_us: std::sync::Mutex::new(
                hdrhistogram::Histogram::new_with_bounds(1, 60_000_000, 3)
                    .unwrap_or_else(|_| unreachable!("static bounds and 3 significant figures are valid")),
            ),
        }
    }
}

impl JournalStats {
    fn record_commit(&self, elapsed: std::time::Duration) {
        let mut histogram = self.commit_us.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        histogram.saturating_record(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX));
    }

    /// p99 commit latency in milliseconds since start.
    pub fn commit_ms_p99(&self) -> f64 {
        let histogram = self.commit_us.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        histogram.value_at_quantile(0.99) as f64 / 1000.0
    }

    /// Mean commands per transaction since start.
    pub fn mean_batch(&self) -> f64 {
        self.commands.load(Ordering::Relaxed) as f64 / self.batches.load(Ordering::Relaxed).max(1) as f64
    }
}

impl Journal {
    /// Starts the journal task on the current runtime.
    pub async fn start(pool: Pool, after: Arc<dyn AfterCommit>) -> Result<Self, crate::db::DbError> {
        let client = pool.get().await?;
        let last: i64 = client.query_one("SELECT coalesce(max(seq), 0) FROM events", &[]).await?.get(0);
        drop(client);
        let stats = Arc::new(JournalStats::default());
        stats.last_seq.store(u64::try_from(last).unwrap_or(0), Ordering::SeqCst);
        let (tx, rx) = mpsc::channel(JOURNAL_QUEUE_COMMANDS_MAX);
        let writer = Writer {
            pool,
            rx,
            after,
            stats: stats.clone(),
            next_seq: u64::try_from(last).unwrap_or(0) + 1,
            resync_seq: false,
        };
        crate::runtime::spawn(writer.run());
        Ok(Self { tx, stats })
    }

    /// Submits a command and waits for its commit. `origin` is the player actor that applies the
    /// events itself.
    pub async fn commit(
        &self,
        effects: Vec<Effect>,
        events: Vec<EventDraft>,
        at: Timestamp,
        origin: Option<UserId>,
    ) -> Result<Vec<Arc<Event>>, CommitError> {
        self.commit_from(effects, events, at, origin.into_iter().collect()).await
    }

    /// [`Journal::commit`] for a command several player actors apply themselves (a lobby's
    /// grouped joins).
    pub async fn commit_from(
        &self,
        effects: Vec<Effect>,
        events: Vec<EventDraft>,
        at: Timestamp,
        origins: Vec<UserId>,
    ) -> Result<Vec<Arc<Event>>, CommitError> {
        if effects.is_empty() && events.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = oneshot::channel();
        let submitted = Instant::now();
        let command = JournalCommand { effects, events, at, origins, reply, submitted };
        self.tx.try_send(command).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => CommitError::Unavailable("the journal queue is full".into()),
            mpsc::error::TrySendError::Closed(_) => CommitError::Unavailable("the journal has stopped".into()),
        })?;
        let answered = answer.await;
        // What a caller waits for durability: the batch in flight, then its own commit.
        metrics::histogram!(crate::telemetry::METRIC_JOURNAL_WAIT).record(submitted.elapsed().as_secs_f64());
        answered.map_err(|_| CommitError::Unavailable("the journal stopped before answering".into()))?
    }

    /// Whether the journal can take work: its writer runs and its queue is not nearly full.
    pub fn accepting(&self) -> bool {
        !self.tx.is_closed() && self.queue_depth() < JOURNAL_QUEUE_COMMANDS_MAX / 10 * 9
    }

    /// Commands waiting to be written (for the console's mailbox depth).
    pub fn queue_depth(&self) -> usize {
        JOURNAL_QUEUE_COMMANDS_MAX - self.tx.capacity()
    }
}

struct Writer {
    pool: Pool,
    rx: mpsc::Receiver<JournalCommand>,
    after: Arc<dyn AfterCommit>,
    stats: Arc<JournalStats>,
    next_seq: u64,
    /// Set when an interrupted commit could not be resolved: the next batch first re-reads the
    /// last stored `seq`, so it never reuses numbers a commit that did land took.
    resync_seq: bool,
}

/// A command with its events numbered, ready to write.
struct Numbered {
    command: JournalCommand,
    events: Vec<Arc<Event>>,
}

impl Writer {
    async fn run(mut self) {
        let mut batch = Vec::with_capacity(JOURNAL_BATCH_COMMANDS_MAX);
        // recv_many takes what is queued now: no waiting at low load, big batches at high load.
        while self.rx.recv_many(&mut batch, JOURNAL_BATCH_COMMANDS_MAX).await > 0 {
            let commands = std::mem::take(&mut batch);
            let taken = Instant::now();
            for command in &commands {
                metrics::histogram!(crate::telemetry::METRIC_JOURNAL_QUEUE)
                    .record(taken.saturating_duration_since(command.submitted).as_secs_f64());
            }
            self.write_batch(commands).await;
        }
        tracing::info!("journal drained and stopped");
    }

    fn number(&mut self, commands: Vec<JournalCommand>) -> Vec<Numbered> {
        commands
            .into_iter()
            .map(|command| {
                let events = command
                    .events
                    .iter()
                    .map(|draft| {
                        let seq = self.next_seq;
                        self.next_seq += 1;
                        Arc::new(Event { seq, at: command.at, data: draft.data.clone() })
                    })
                    .collect();
                Numbered { command, events }
            })
            .collect()
    }

    async fn write_batch(&mut self, commands: Vec<JournalCommand>) {
        if self.resync_seq {
            match self.last_stored_seq().await {
                Ok(last) => (self.next_seq, self.resync_seq) = (last + 1, false),
                Err(error) => return refuse(commands, &CommitError::Unavailable(error.to_string())),
            }
        }
        let first_seq = self.next_seq;
        let numbered = self.number(commands);
        let started = Instant::now();
        match self.transaction(&numbered).await {
            Ok(()) => {
                if started.elapsed() >= SLOW_COMMIT {
                    let effects: usize = numbered.iter().map(|n| n.command.effects.len()).sum();
                    let events: usize = numbered.iter().map(|n| n.events.len()).sum();
                    let commands = numbered.len();
                    let ms = started.elapsed().as_millis();
                    tracing::warn!(commands, effects, events, ms, "slow journal commit");
                }
                metrics::histogram!(crate::telemetry::METRIC_JOURNAL_COMMIT).record(started.elapsed().as_secs_f64());
                self.stats.record_commit(started.elapsed());
                metrics::histogram!(crate::telemetry::METRIC_JOURNAL_BATCH).record(numbered.len() as f64);
                self.acknowledge(numbered);
            }
            Err(error) if is_constraint(&error) && numbered.len() > 1 => {
                // One command broke a constraint: write each alone so the others still land.
                self.next_seq = first_seq;
                let commands = numbered.into_iter().map(|n| n.command).collect::<Vec<_>>();
                for command in commands {
                    Box::pin(self.write_batch(vec![command])).await;
                }
            }
            Err(JournalError::InDoubt { error, xid }) => {
                tracing::warn!(%error, xid, "the connection failed during COMMIT; asking the database whether it landed");
                let landed = self.landed(xid).await;
                match landed {
                    Some(true) => self.acknowledge(numbered),
                    Some(false) => {
                        self.next_seq = first_seq;
                        refuse_numbered(numbered, &CommitError::Unavailable(error.to_string()));
                    }
                    None => {
                        // Unknown still: answer 503 (a retry with an idempotency key is safe) and
                        // never reuse these numbers.
                        tracing::error!("an interrupted commit could not be resolved; its batch is answered 503");
                        self.resync_seq = true;
                        refuse_numbered(numbered, &CommitError::Unavailable(error.to_string()));
                    }
                }
            }
            Err(error) => {
                self.next_seq = first_seq;
                let failure = if is_constraint(&error) {
                    CommitError::Conflict(constraint_name(&error))
                } else {
                    tracing::warn!(error = %error, cause = ?error.db_cause(), "journal commit failed; the batch is refused");
                    CommitError::Unavailable(error.to_string())
                };
                refuse_numbered(numbered, &failure);
            }
        }
    }

    /// Whether transaction `xid` committed, asked on a fresh connection until PostgreSQL knows
    /// (the interrupted backend may still be finishing its COMMIT) or [`IN_DOUBT_RESOLVE_FOR`]
    /// passes (then `None`). The batch's callers wait for this: answering before knowing would
    /// either acknowledge a lost write or refuse a stored one the actors never applied. Commands
    /// that arrive meanwhile are refused at once with a retryable 503.
    async fn landed(&mut self, xid: i64) -> Option<bool> {
        let deadline = Instant::now() + IN_DOUBT_RESOLVE_FOR;
        let mut pause = IN_DOUBT_RETRY_FIRST;
        loop {
            match self.transaction_status(xid).await {
                Ok(Some(status)) if status == "committed" => return Some(true),
                Ok(Some(status)) if status == "aborted" => return Some(false),
                Ok(status) => tracing::debug!(?status, "the interrupted transaction is not finished yet"),
                Err(error) => tracing::debug!(%error, "the database cannot tell yet whether the batch landed"),
            }
            while let Ok(command) = self.rx.try_recv() {
                refuse(
                    vec![command],
                    &CommitError::Unavailable("the journal is confirming an interrupted commit".into()),
                );
            }
            if Instant::now() + pause > deadline {
                return None;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }

    /// `committed`, `aborted` or `in progress`; None when PostgreSQL no longer remembers it.
    async fn transaction_status(&self, xid: i64) -> Result<Option<String>, JournalError> {
        let client = self.pool.get().await?;
        Ok(client.query_one("SELECT txid_status($1)::text", &[&xid]).await?.get(0))
    }

    async fn last_stored_seq(&self) -> Result<u64, JournalError> {
        let client = self.pool.get().await?;
        let last: i64 = client.query_one("SELECT coalesce(max(seq), 0) FROM events", &[]).await?.get(0);
        Ok(u64::try_from(last).unwrap_or(0))
    }

    async fn transaction(&self, batch: &[Numbered]) -> Result<(), JournalError> {
        use futures_util::future::{join, join_all, join3, maybe_done};
        use std::future::Future;
        let client = self.pool.get().await?;
        let effects = || batch.iter().flat_map(|n| n.command.effects.iter());
        // Every statement is ready before any write, so the pipelined writes below go out in
        // order: a command's rows may reference each other (a game before its members).
        let prepared = prepare_batch(&client, effects()).await?;
        let xid_statement = client.prepare_cached(CURRENT_XID_SQL).await?;
        let mut writes = Vec::new();
        for effect in effects().filter(|e| !is_batched(e)) {
            let statement = sql_of(effect).and_then(|sql| prepared.get(sql)).ok_or(JournalError::Unprepared)?;
            writes.push(apply_effect(&client, statement, effect));
        }
        let events: Vec<(&Event, &EventDraft)> =
            batch.iter().flat_map(|n| n.events.iter().map(AsRef::as_ref).zip(n.command.events.iter())).collect();
        // One pipeline on the one connection, each request sent when its future is first polled:
        // BEGIN (no round trip of its own) and the transaction's id (so that if the connection
        // dies during COMMIT, PostgreSQL can still say what became of it: `txid_status`), then
        // the per-effect statements in order, the multi-row statements (`sql.rs` `BATCHED`) and
        // the events insert.
        let mut head = std::pin::pin!(join(client.batch_execute("BEGIN"), client.query_one(&xid_statement, &[])));
        let mut body = std::pin::pin!(maybe_done(join3(
            // Every write is awaited, none dropped at the first error, so the constraint that
            // failed is among the answers wherever it is.
            join_all(writes),
            write_batched(&client, &prepared, effects()),
            insert_events(&client, &prepared, &events),
        )));
        // Wait for the head's answers only, the body going out behind it meanwhile (`maybe_done`:
        // the body may finish first, say on a broken connection, and keeps its answers).
        let (begun, xid) = std::future::poll_fn(|cx| {
            let head = head.as_mut().poll(cx);
            let _ = body.as_mut().poll(cx);
            head
        })
        .await;
        let xid = match (begun, xid) {
            (Ok(()), Ok(row)) => row.get::<_, i64>(0),
            (Err(error), _) | (_, Err(error)) => {
                body.as_mut().await;
                // End the transaction before the connection goes back to the pool (on a broken
                // connection this fails too, and the pool drops the connection).
                let _ = client.batch_execute("ROLLBACK").await;
                return Err(error.into());
            }
        };
        // COMMIT goes out now, while PostgreSQL is still running the body: it waits behind the
        // body in the connection, so the body's answers need not come back first (a round trip
        // and a wake-up of this task less per batch; docs/benchmarks.md). If a statement failed,
        // the transaction is aborted and PostgreSQL answers this COMMIT with a ROLLBACK.
        let commit = client.batch_execute("COMMIT");
        let ((), committed) = join(body.as_mut(), commit).await;
        let (written, batched, inserted) =
            body.take_output().unwrap_or_else(|| unreachable!("the join above ran the body to its end"));
        // The cause is the first error that is not "current transaction is aborted": that one
        // only reports an earlier failure. Answers are not seen in sending order: the connection
        // runs on another thread, so by the time a poll reaches write 2, its "aborted" answer can
        // be in while write 1 was found pending a moment before. Taking the first error seen for
        // the cause (and dropping the rest, as `try_join_all` did) answered some registrations
        // racing for one email 503 instead of `EMAIL_TAKEN`.
        let written = written.into_iter().filter_map(Result::err).reduce(earlier_cause);
        let errors = [written, batched.err(), inserted.err()];
        let failed = errors.into_iter().flatten().reduce(earlier_cause);
        match (failed, committed) {
            (None, Ok(())) => Ok(()),
            // PostgreSQL refused a statement: the transaction cannot have committed.
            (Some(error), _) if error.as_db_error().is_some() => Err(error.into()),
            // The connection failed with COMMIT sent: the outcome is unknown.
            (Some(error), _) | (None, Err(error)) => Err(JournalError::InDoubt { error, xid }),
        }
    }

    fn acknowledge(&self, batch: Vec<Numbered>) {
        self.stats.batches.fetch_add(1, Ordering::Relaxed);
        self.stats.commands.fetch_add(batch.len() as u64, Ordering::Relaxed);
        self.stats.last_seq.store(self.next_seq - 1, Ordering::SeqCst);
        for n in batch {
            let fanout: Vec<(Arc<Event>, Audience)> =
                n.events.iter().cloned().zip(n.command.events.iter().map(|d| d.audience.clone())).collect();
            self.after.committed(&fanout, &n.command.origins);
            let _ = n.command.reply.send(Ok(n.events));
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum JournalError {
    #[error("pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("{0}")]
    Db(#[from] tokio_postgres::Error),
    #[error("a statement of the batch was not prepared")]
    Unprepared,
    /// The connection failed while COMMIT of transaction `xid` was in flight.
    #[error("the outcome of transaction {xid}'s commit is unknown: {error}")]
    InDoubt { error: tokio_postgres::Error, xid: i64 },
}

fn refuse(commands: Vec<JournalCommand>, failure: &CommitError) {
    for command in commands {
        let _ = command.reply.send(Err(failure.clone()));
    }
}

fn refuse_numbered(batch: Vec<Numbered>, failure: &CommitError) {
    refuse(batch.into_iter().map(|n| n.command).collect(), failure);
}

impl JournalError {
    /// PostgreSQL's own code and message (a `tokio_postgres::Error` displays only "db error").
    fn db_cause(&self) -> Option<(String, String)> {
        match self {
            Self::Db(e) | Self::InDoubt { error: e, .. } => {
                e.as_db_error().map(|d| (d.code().code().to_owned(), d.message().to_owned()))
            }
            Self::Pool(_) | Self::Unprepared => None,
        }
    }
}

/// Of two errors of one failed transaction, the one that says why it failed.
fn earlier_cause(first: tokio_postgres::Error, next: tokio_postgres::Error) -> tokio_postgres::Error {
    let aborted =
        |e: &tokio_postgres::Error| e.code() == Some(&tokio_postgres::error::SqlState::IN_FAILED_SQL_TRANSACTION);
    if aborted(&first) && !aborted(&next) { next } else { first }
}

fn is_constraint(error: &JournalError) -> bool {
    match error {
        JournalError::Db(e) => e.code().is_some_and(|c| c.code().starts_with("23")),
        JournalError::Pool(_) | JournalError::Unprepared | JournalError::InDoubt { .. } => false,
    }
}

fn constraint_name(error: &JournalError) -> String {
    match error {
        JournalError::Db(e) => {
            e.as_db_error().and_then(|d| d.constraint().map(str::to_owned)).unwrap_or_else(|| e.to_string())
        }
        JournalError::Pool(e) => e.to_string(),
        JournalError::Unprepared | JournalError::InDoubt { .. } => error.to_string(),
    }
}
