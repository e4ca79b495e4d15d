//! The server's PostgreSQL connections killed (`pg_terminate_backend`) again and again while a
//! write load runs, so some die in the middle of a journal batch: only retryable 503s, nothing
//! acknowledged lost, nothing half-applied, event seqs without gap or duplicate, and writes
//! succeed again once the killing stops.

use crate::helpers::*;
use crate::support::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Concurrent clients of the load: enough that most batches hold several commands.
const CLIENTS: usize = 12;
/// Rounds of killing, and the pause between them (a few journal batches long).
const KILL_ROUNDS: usize = 40;
const KILL_PAUSE: Duration = Duration::from_millis(150);

#[actix_web::test]
async fn connections_killed_mid_batch() {
    let _alone = one_at_a_time().await;
    let app = Arc::new(spawn_app().await);
    let players = register_many(&app, "Killed", CLIENTS).await;
    let rss_before = rss_kib();
    // Our own connection survives the rounds: it kills every other one of this database, which
    // are the server's (pool, journal and actor activation share them).
    let admin = database(&app.database_url).await;
    let load = WriteLoad::start(&app, &players);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut killed = 0_i64;
    for _ in 0..KILL_ROUNDS {
        let row = admin
            .query_one(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            )
            .await
            .expect("terminate the server's connections");
        killed += row.get::<_, i64>(0);
        tokio::time::sleep(KILL_PAUSE).await;
    }
    let stopped_killing = Instant::now();
    let resumed = loop {
        if let Some(at) = load.first_acknowledged_after(stopped_killing) {
            break Some(at - stopped_killing);
        }
        if stopped_killing.elapsed() > RECOVERY_MAX {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let tally = load.tally.clone();
    let acknowledged = load.stop().await;
    println!(
        "connections killed: {killed} backends terminated in {KILL_ROUNDS} rounds, {} writes answered 503, \
         {} acknowledged, first write after the killing {:?} ms",
        tally.unavailable(),
        tally.ok(),
        resumed.map(|d| d.as_millis()),
    );
    assert!(killed > 0, "the server had connections to kill");
    tally.assert_only_ok_or_retryable_503();
    assert!(resumed.is_some(), "writes succeed within {RECOVERY_MAX:?} once the killing stops");
    let checked = check_ledger(&app, &players, &acknowledged).await;
    println!("connections killed: {checked} acknowledged writes checked against the ledger");
    assert_rss_bounded("connections killed", rss_before);
}
