//! Journal benchmark: durable commands per second and mean batch size at 1, 100 and 10,000
//! concurrent writers, each command a ledger deposit (balance row, transaction row, two events).
//!
//! Run: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/pzo_bench cargo run --release --example journal_bench`
//! (optional `PZO_BENCH_SECS`, default 10, and `PZO_BENCH_WRITERS`, default "1,100,10000").

use pzo_actors::effect::{Effect, EventDraft};
use pzo_protocol::event::{CurrencyMoved, TransactionCompleted};
use pzo_protocol::model::{Transaction, TransactionKind};
use pzo_protocol::{EventData, UserId};
use pzo_server::journal::{AfterCommit, Journal};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

struct Discard;

impl AfterCommit for Discard {
    fn committed(&self, _: &[(Arc<pzo_protocol::Event>, pzo_actors::effect::Audience)], _: &[UserId]) {}
}

fn deposit(user_id: UserId, balance: i64) -> (Vec<Effect>, Vec<EventDraft>) {
    let now = chrono::Utc::now();
    let transaction = Transaction {
        id: uuid::Uuid::new_v4(),
        user_id,
        currency_id: "gold".into(),
        kind: TransactionKind::Deposit,
        amount: 1,
        balance_after: balance,
        reference: None,
        created_at: now,
    };
    let moved = CurrencyMoved {
        user_id,
        currency_id: "gold".into(),
        amount: 1,
        balance_after: balance,
        transaction_id: transaction.id,
    };
    let events = vec![
        EventDraft::for_player(user_id, "player", EventData::CurrencyDeposited(moved)),
        EventDraft::for_player(
            user_id,
            "player",
            EventData::TransactionCompleted(TransactionCompleted { transaction: transaction.clone() }),
        ),
    ];
    let effects = vec![
        Effect::SetBalance { user_id, currency_id: "gold".into(), balance },
        Effect::InsertTransaction(transaction),
    ];
    (effects, events)
}

async fn users(pool: &deadpool_postgres::Pool, count: usize) -> Vec<UserId> {
    let client = pool.get().await.expect("a connection");
    let ids: Vec<UserId> = (0..count).map(|_| uuid::Uuid::new_v4()).collect();
    let emails: Vec<String> = ids.iter().map(|id| format!("{id}@bench.pzo")).collect();
    client
        .execute(
            "INSERT INTO users (id, email, password_hash, display_name, created_at)
             SELECT id, email, 'x', 'bench', now() FROM unnest($1::uuid[], $2::text[]) AS u(id, email)",
            &[&ids, &emails],
        )
        .await
        .expect("bench users");
    ids
}

async fn run(journal: &Journal, users: &[UserId], seconds: u64) -> (f64, f64, Duration) {
    let done = Arc::new(AtomicU64::new(0));
    let (batches0, commands0) =
        (journal.stats.batches.load(Ordering::Relaxed), journal.stats.commands.load(Ordering::Relaxed));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    let latencies = Arc::new(std::sync::Mutex::new(hdrhistogram::Histogram::<u64>::new(3).expect("histogram")));
    for (i, user) in users.iter().copied().enumerate() {
        let (journal, done, latencies) = (journal.clone(), done.clone(), latencies.clone());
        tasks.push(tokio::spawn(async move {
            let mut balance = 0;
            while Instant::now() < deadline {
                balance += 1;
                let (effects, events) = deposit(user, balance);
                let sent = Instant::now();
                if journal.commit(effects, events, chrono::Utc::now(), None).await.is_ok() {
                    done.fetch_add(1, Ordering::Relaxed);
                    let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                    latencies.lock().expect("lock").saturating_record(micros);
                } else {
                    balance -= 1;
                    tokio::time::sleep(Duration::from_millis(5 + (i % 5) as u64)).await;
                }
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let batches = journal.stats.batches.load(Ordering::Relaxed) - batches0;
    let commands = journal.stats.commands.load(Ordering::Relaxed) - commands0;
    let p99 = Duration::from_micros(latencies.lock().expect("lock").value_at_quantile(0.99));
    (done.load(Ordering::Relaxed) as f64 / elapsed, commands as f64 / batches.max(1) as f64, p99)
}

#[tokio::main]
async fn main() {
    let url = std::env::var("DATABASE_URL").expect("set DATABASE_URL to a PostgreSQL database for the benchmark");
    let seconds = std::env::var("PZO_BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let writers: Vec<usize> = std::env::var("PZO_BENCH_WRITERS")
        .unwrap_or_else(|_| "1,100,10000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    pzo_server::db::ensure_database(&url).await.expect("database");
    let pool = pzo_server::db::pool(&url, 8).expect("pool");
    pzo_server::db::migrate(&pool).await.expect("migrations");
    let catalog = pzo_actors::catalog::Catalog::parse(include_str!("../catalog/season0.json")).expect("catalog");
    pzo_server::db::upsert_catalog(&pool, &catalog).await.expect("catalog upsert");
    let journal = Journal::start(pool.clone(), Arc::new(Discard)).await.expect("journal");
    println!("writers  commands/s  mean batch  p99 commit wait");
    for count in writers {
        let ids = users(&pool, count).await;
        let (rate, batch, p99) = run(&journal, &ids, seconds).await;
        println!("{count:>7}  {rate:>10.0}  {batch:>10.1}  {:>10.1} ms", p99.as_secs_f64() * 1000.0);
    }
}
