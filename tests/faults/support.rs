//! What every fault test checks the same way: the answers clients got (only successes or
//! retryable 503s), a deposit/withdrawal load that remembers what was acknowledged, the ledger
//! in PostgreSQL against those acknowledgements, recovery of `/ready`, and the process's RSS.

use crate::helpers::*;
use crate::sockets::request;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// The contract's bound: service resumes within 5 s of the database coming back.
pub const RECOVERY_MAX: Duration = Duration::from_secs(5);
/// RSS growth that counts as unbounded: far above what a test's data needs, far below what an
/// unbounded queue of outage-long retries or a never-drained socket queue would reach.
pub const RSS_GROWTH_MAX_KIB: u64 = 256 * 1024;
/// A request that gets no answer at all within this long is a failure (a hang), not a 503.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause between retries of a refused write, like a client honouring `retryable`.
const RETRY_PAUSE: Duration = Duration::from_millis(50);

/// Every answer the load got: successes, retryable 503s, and anything else (which fails).
#[derive(Default)]
pub struct Tally {
    ok: AtomicU64,
    unavailable: AtomicU64,
    others: Mutex<BTreeMap<String, u64>>,
}

impl Tally {
    /// Counts one answer; true when it was a success.
    pub fn record(&self, answer: Option<(u16, &Value)>) -> bool {
        let kind = match answer {
            Some((200, _)) => {
                self.ok.fetch_add(1, Ordering::Relaxed);
                return true;
            }
            Some((503, body)) if code(body) == "SERVICE_UNAVAILABLE" && body["error"]["retryable"] == true => {
                self.unavailable.fetch_add(1, Ordering::Relaxed);
                return false;
            }
            Some((status, body)) => format!("{status} {} retryable={}", code(body), body["error"]["retryable"]),
            None => format!("no answer within {ANSWER_TIMEOUT:?}"),
        };
        *self.others.lock().expect("tally lock").entry(kind).or_default() += 1;
        false
    }

    pub fn ok(&self) -> u64 {
        self.ok.load(Ordering::Relaxed)
    }

    pub fn unavailable(&self) -> u64 {
        self.unavailable.load(Ordering::Relaxed)
    }

    /// The contract: during a fault a write either succeeds or answers 503 `SERVICE_UNAVAILABLE`
    /// with `retryable: true`; never a 500, another code, or silence.
    pub fn assert_only_ok_or_retryable_503(&self) {
        let others = self.others.lock().expect("tally lock");
        assert!(others.is_empty(), "answers other than 200 or a retryable 503: {others:?}");
    }
}

/// An HTTP call that gives up after [`ANSWER_TIMEOUT`] (None), so a hang fails the test.
pub async fn call(app: &TestApp, path: &str, token: &str, body: Value) -> Option<(u16, Value)> {
    tokio::time::timeout(ANSWER_TIMEOUT, app.call(reqwest::Method::POST, path, Some(token), Some(body))).await.ok()
}

/// Clients depositing (admin) and withdrawing (the player) in turn, one task per player, each
/// retrying a refused write with the same idempotency key until it is acknowledged.
pub struct WriteLoad {
    stop: Arc<AtomicBool>,
    tasks: Vec<JoinHandle<()>>,
    pub tally: Arc<Tally>,
    /// Transaction ids of every acknowledged (200) write, with when it was acknowledged.
    acknowledged: Arc<Mutex<Vec<(String, Instant)>>>,
}

impl WriteLoad {
    pub fn start(app: &Arc<TestApp>, players: &[Player]) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let tally = Arc::new(Tally::default());
        let acknowledged = Arc::new(Mutex::new(Vec::new()));
        let tasks = players
            .iter()
            .enumerate()
            .map(|(n, player)| {
                let (app, player) = (app.clone(), player.clone());
                let (stop, tally, acknowledged) = (stop.clone(), tally.clone(), acknowledged.clone());
                tokio::spawn(async move {
                    for i in 0.. {
                        let deposit = json!({"user_id": player.id, "currency_id": "gold", "amount": 10,
                                             "idempotency_key": format!("d{n}-{i}")});
                        let withdraw =
                            json!({"currency_id": "gold", "amount": 3, "idempotency_key": format!("w{n}-{i}")});
                        for (path, token, body) in [
                            ("/currency/deposit", ADMIN_TOKEN, deposit),
                            ("/currency/withdraw", &player.token, withdraw),
                        ] {
                            let Some(id) = until_acknowledged(&app, &stop, &tally, path, token, body).await else {
                                return;
                            };
                            acknowledged.lock().expect("ack lock").push((id, Instant::now()));
                        }
                    }
                })
            })
            .collect();
        Self { stop, tasks, tally, acknowledged }
    }

    /// How many writes were acknowledged so far.
    pub fn acknowledged_count(&self) -> usize {
        self.acknowledged.lock().expect("ack lock").len()
    }

    /// Acknowledgements received within `from..to`.
    pub fn acknowledged_between(&self, from: Instant, to: Instant) -> usize {
        self.acknowledged.lock().expect("ack lock").iter().filter(|(_, at)| (from..to).contains(at)).count()
    }

    /// The first acknowledgement at or after `since`.
    pub fn first_acknowledged_after(&self, since: Instant) -> Option<Instant> {
        self.acknowledged.lock().expect("ack lock").iter().map(|(_, at)| *at).filter(|at| *at >= since).min()
    }

    /// Stops the clients (a write in flight finishes or is abandoned unacknowledged) and returns
    /// the acknowledged transaction ids.
    pub async fn stop(self) -> Vec<String> {
        self.stop.store(true, Ordering::SeqCst);
        for task in self.tasks {
            task.await.expect("a load client panicked");
        }
        self.acknowledged.lock().expect("ack lock").iter().map(|(id, _)| id.clone()).collect()
    }
}

/// Sends `body` until it is acknowledged (its transaction id) or the load stops (None).
async fn until_acknowledged(
    app: &TestApp,
    stop: &AtomicBool,
    tally: &Tally,
    path: &str,
    token: &str,
    body: Value,
) -> Option<String> {
    while !stop.load(Ordering::SeqCst) {
        let answer = call(app, path, token, body.clone()).await;
        if tally.record(answer.as_ref().map(|(status, body)| (*status, body))) {
            let (_, body) = answer?;
            return Some(body["data"]["transaction"]["id"].as_str().expect("a transaction id").to_owned());
        }
        tokio::time::sleep(RETRY_PAUSE).await;
    }
    None
}

/// A direct connection to the test's database, beside the server's.
pub async fn database(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("the database answers");
    tokio::spawn(connection);
    client
}

/// After a fault: every acknowledged write is in the ledger, every balance equals the sum of
/// its transactions (in PostgreSQL and as the server answers it), every transaction has its
/// event and no event lacks its transaction (nothing half-applied), and event `seq`s run 1..n
/// with no gap or duplicate. Returns how many acknowledged writes were checked.
pub async fn check_ledger(app: &TestApp, players: &[Player], acknowledged: &[String]) -> usize {
    let db = database(&app.database_url).await;
    let stored: HashSet<String> =
        db.query("SELECT id::text FROM transactions", &[]).await.expect("ledger").iter().map(|r| r.get(0)).collect();
    let lost: Vec<_> = acknowledged.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(lost.is_empty(), "{} acknowledged writes are not in the ledger: {lost:?}", lost.len());
    let unique: HashSet<_> = acknowledged.iter().collect();
    assert_eq!(unique.len(), acknowledged.len(), "a transaction id was acknowledged twice");

    let mismatched: Vec<(String, i64, i64)> = db
        .query(
            "SELECT b.user_id::text, b.balance, coalesce(t.total, 0)::bigint FROM balances b
             LEFT JOIN (SELECT user_id, currency_id, sum(amount) AS total FROM transactions GROUP BY 1, 2) t
               ON t.user_id = b.user_id AND t.currency_id = b.currency_id
             WHERE b.balance <> coalesce(t.total, 0)",
            &[],
        )
        .await
        .expect("balances")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert!(mismatched.is_empty(), "balances that differ from their ledger (user, balance, sum): {mismatched:?}");

    // A transaction and its TRANSACTION_COMPLETED event commit together or not at all.
    let orphans: i64 = db
        .query_one(
            "SELECT count(*) FROM transactions t FULL JOIN
               (SELECT payload->'transaction'->>'id' AS id FROM events WHERE type = 'TRANSACTION_COMPLETED') e
             ON e.id = t.id::text WHERE t.id IS NULL OR e.id IS NULL",
            &[],
        )
        .await
        .expect("events of transactions")
        .get(0);
    assert_eq!(orphans, 0, "transactions without their event, or events without their transaction");

    // The journal numbers events in commit order and reuses the numbers of a refused batch, so
    // the stored seqs are exactly 1..=n: a gap or a repeat means a batch was half-numbered.
    let row = db.query_one("SELECT count(*), count(DISTINCT seq), coalesce(max(seq), 0) FROM events", &[]).await;
    let row = row.expect("event seqs");
    let (count, distinct, max): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!((distinct, max), (count, count), "event seqs are 1..={count} without gap or duplicate");

    // The server's memory agrees with PostgreSQL: a commit reported failed but applied (or the
    // reverse) would leave the player actor's balance off, and every later write wrong.
    for player in players {
        let (status, body) = app.get("/currency/gold", Some(&player.token)).await;
        assert_eq!(status, 200, "{body}");
        let stored: i64 = db
            .query_one(
                "SELECT coalesce(sum(amount), 0)::bigint FROM transactions WHERE user_id = $1::text::uuid",
                &[&player.id],
            )
            .await
            .expect("sum")
            .get(0);
        assert_eq!(body["data"]["balance"], stored, "the server's balance of {} matches its ledger", player.id);
    }
    acknowledged.len()
}

/// How long until `/ready` answers 200, polling every 50 ms; None if not within `limit`.
pub async fn ready_within(app: &TestApp, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() <= limit {
        if let Ok((200, _)) = tokio::time::timeout(limit, app.get("/ready", None)).await {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// Held by each fault test for its whole run: RSS is the process's, so tests run one at a time
/// and none is charged another's memory (or slowed by its load past the recovery bound).
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().await
}

/// This process's resident memory in KiB (the server runs in-process).
pub fn rss_kib() -> u64 {
    crate::rss::resident_kib(std::process::id()).expect("VmRSS of this process")
}

/// Prints RSS before and after and fails when it grew past [`RSS_GROWTH_MAX_KIB`].
pub fn assert_rss_bounded(label: &str, before_kib: u64) {
    let after = rss_kib();
    println!("{label}: RSS {} MiB before, {} MiB after", before_kib / 1024, after / 1024);
    assert!(
        after.saturating_sub(before_kib) < RSS_GROWTH_MAX_KIB,
        "{label}: RSS grew from {before_kib} KiB to {after} KiB: something queues without bound"
    );
}

/// One admin-socket request (its reply frame), on a socket of its own that is closed after.
pub async fn admin_request(app: &TestApp, op: &str, args: Value) -> Value {
    let mut ws = crate::sockets::connect_to(app, "/admin/ws", "pzo.v1.json").await;
    let (reply, _) = request(&mut ws, 1, "auth", json!({"token": ADMIN_TOKEN})).await;
    assert_eq!(reply["ok"], true, "{reply}");
    let (reply, _) = request(&mut ws, 2, op, args).await;
    assert_eq!(reply["ok"], true, "{op}: {reply}");
    reply
}

/// How many sockets the server holds open for a player (`players.inspect`).
pub async fn open_sockets(app: &TestApp, player: &Player) -> u64 {
    let reply = admin_request(app, "players.inspect", json!({"user_id": player.id})).await;
    reply["data"]["sockets"].as_u64().expect("a socket count")
}

/// Registers `count` players, a few at a time (password hashing is the slow part).
pub async fn register_many(app: &Arc<TestApp>, prefix: &str, count: usize) -> Vec<Player> {
    let mut players = Vec::with_capacity(count);
    for chunk in (0..count).collect::<Vec<_>>().chunks(16) {
        let batch = chunk.iter().map(|i| {
            let app = app.clone();
            let name = format!("{prefix}{i}");
            tokio::spawn(async move { app.register(&name).await })
        });
        for task in batch.collect::<Vec<_>>() {
            players.push(task.await.expect("registration"));
        }
    }
    players
}
