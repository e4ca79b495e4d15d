//! PostgreSQL stopped (the server process, not a database flag) for ~30 s under a write load and
//! started again on the same port: only retryable 503s meanwhile, `/ready` and writes back within
//! 5 s, nothing acknowledged lost, nothing half-applied, memory bounded.
//!
//! It stops a whole PostgreSQL server, so it always runs its own private cluster (whatever
//! `DATABASE_URL` says): the machine's shared one serves the other tests.

use crate::helpers::*;
use crate::support::*;
use pzo_server::embedded_pg::{EmbeddedPgError, EmbeddedPostgres};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the database stays down (`PZO_FAULT_OUTAGE_SECS`, default the 30 s).
fn outage() -> Duration {
    let secs = std::env::var("PZO_FAULT_OUTAGE_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(30);
    Duration::from_secs(secs)
}
/// Concurrent clients of the load.
const CLIENTS: usize = 8;
/// Load before the stop and after the restart, so both sides of the outage see commits.
const STEADY: Duration = Duration::from_secs(2);
/// An acknowledgement this long after the stop began cannot be from a commit before it.
const STOP_MARGIN: Duration = Duration::from_secs(1);

#[actix_web::test]
async fn postgres_stopped_and_restarted_under_load() {
    let _alone = one_at_a_time().await;
    let dir = std::env::temp_dir().join(format!("pzo-faults-pg-{}", uuid::Uuid::new_v4().simple()));
    let pg = match EmbeddedPostgres::start(&dir).await {
        Err(EmbeddedPgError::BinariesNotFound) => {
            eprintln!("skipped: {}", EmbeddedPgError::BinariesNotFound);
            return;
        }
        started => Arc::new(started.expect("a private PostgreSQL starts")),
    };
    let app = Arc::new(spawn_app_on(pg.url("pzo_faults_restart"), |_| {}).await);
    let players = register_many(&app, "Restart", CLIENTS).await;
    let rss_before = rss_kib();
    let load = WriteLoad::start(&app, &players);
    tokio::time::sleep(STEADY).await;
    assert!(load.acknowledged_count() > 0, "the load commits before the fault");

    let stopping = Instant::now();
    pg.stop().await.expect("PostgreSQL stops");
    let unavailable_before = load.tally.unavailable();
    tokio::time::sleep(outage()).await;
    let during = load.tally.unavailable() - unavailable_before;
    // Only commits made before the stop may be acknowledged while the database is down.
    let acknowledged_while_down = load.acknowledged_between(stopping + STOP_MARGIN, Instant::now());

    pg.restart().await.expect("PostgreSQL starts again on its port");
    let back = Instant::now();
    let ready = ready_within(&app, RECOVERY_MAX).await;
    tokio::time::sleep(STEADY).await;
    let first_write = load.first_acknowledged_after(back).map(|at| at - back);
    let tally = load.tally.clone();
    let acknowledged = load.stop().await;

    println!(
        "postgres restart: outage {:?}, {during} writes answered 503 during it ({} in all, {} acknowledged), \
         /ready after {:?} ms, first write after {:?} ms",
        outage(),
        tally.unavailable(),
        acknowledged.len(),
        ready.map(|d| d.as_millis()),
        first_write.map(|d| d.as_millis()),
    );
    tally.assert_only_ok_or_retryable_503();
    assert!(during > 0, "the clients saw the outage as 503s");
    assert_eq!(acknowledged_while_down, 0, "nothing is acknowledged while the database is down");
    assert!(ready.is_some(), "/ready answers 200 within {RECOVERY_MAX:?} of the database coming back");
    assert!(first_write.is_some_and(|d| d <= RECOVERY_MAX), "writes succeed within {RECOVERY_MAX:?}: {first_write:?}");
    let checked = check_ledger(&app, &players, &acknowledged).await;
    println!("postgres restart: {checked} acknowledged writes checked against the ledger");
    assert_rss_bounded("postgres restart", rss_before);
    pg.stop().await.expect("PostgreSQL stops");
    let _ = std::fs::remove_dir_all(&dir);
}
