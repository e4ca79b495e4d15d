//! The connection to PostgreSQL lost while COMMIT is in flight: the batch landed but the server
//! never heard so. The journal must find out before answering (the write is acknowledged, not
//! refused while stored), and must not reuse the landed batch's event numbers (which would make
//! every later commit fail on the events' primary key).
//!
//! A TCP proxy between the server and PostgreSQL, once armed, forwards the next COMMIT and then
//! cuts that connection before PostgreSQL's answer reaches the server.

use crate::helpers::*;
use crate::support::*;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Time PostgreSQL gets to finish the forwarded COMMIT before the connection is cut.
const COMMIT_GRACE: Duration = Duration::from_millis(300);

/// A proxy to `upstream` that cuts the first connection to send COMMIT after it is armed.
struct CommitCutter {
    addr: std::net::SocketAddr,
    armed: Arc<AtomicBool>,
    cuts: Arc<AtomicU32>,
}

impl CommitCutter {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("the proxy listens");
        let addr = listener.local_addr().expect("an address");
        let (armed, cuts) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU32::new(0)));
        let (armed_in, cuts_in) = (armed.clone(), cuts.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&upstream).await else { continue };
                tokio::spawn(relay(client, server, armed_in.clone(), cuts_in.clone()));
            }
        });
        Self { addr, armed, cuts }
    }
}

async fn relay(client: TcpStream, server: TcpStream, armed: Arc<AtomicBool>, cuts: Arc<AtomicU32>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    // Set before the COMMIT goes upstream, so its answer is never passed back.
    let cut = Arc::new(AtomicBool::new(false));
    let cut_seen = cut.clone();
    let downstream = tokio::spawn(async move {
        let mut buffer = vec![0u8; 64 * 1024];
        while let Ok(n) = server_read.read(&mut buffer).await {
            if n == 0 || cut_seen.load(Ordering::SeqCst) || client_write.write_all(&buffer[..n]).await.is_err() {
                break;
            }
        }
    });
    let mut buffer = vec![0u8; 64 * 1024];
    while let Ok(n) = client_read.read(&mut buffer).await {
        if n == 0 {
            break;
        }
        let chunk = &buffer[..n];
        let commits = chunk.windows(6).any(|w| w == b"COMMIT");
        if commits && armed.swap(false, Ordering::SeqCst) {
            cut.store(true, Ordering::SeqCst);
            cuts.fetch_add(1, Ordering::SeqCst);
            let _ = server_write.write_all(chunk).await;
            // The server sees its connection end at once (the answer is dropped downstream);
            // PostgreSQL still gets a moment to finish the COMMIT before its side closes.
            tokio::time::sleep(COMMIT_GRACE).await;
            break;
        }
        if server_write.write_all(chunk).await.is_err() {
            break;
        }
    }
    downstream.abort();
}

#[actix_web::test]
async fn a_commit_whose_answer_is_lost_is_resolved_not_guessed() {
    let _alone = one_at_a_time().await;
    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!("skipped: needs DATABASE_URL (a PostgreSQL to put the proxy in front of)");
        return;
    };
    let config: tokio_postgres::Config = url.parse().expect("DATABASE_URL parses");
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        _ => "127.0.0.1".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let proxy = CommitCutter::start(format!("{host}:{port}")).await;
    let database = format!("pzo_test_{}", uuid::Uuid::new_v4().simple());
    let proxied = format!("postgres://postgres@{}/{database}", proxy.addr);
    let app = spawn_app_on(proxied, |_| {}).await;
    let player = app.register("InDoubt").await;
    let (status, body) = app.deposit(&player, "gold", 100).await;
    assert_eq!(status, 200, "{body}");

    proxy.armed.store(true, Ordering::SeqCst);
    let deposit = json!({"user_id": player.id, "currency_id": "gold", "amount": 50, "idempotency_key": "in-doubt"});
    let (status, body) = app.admin_post("/currency/deposit", deposit).await;
    assert_eq!(proxy.cuts.load(Ordering::SeqCst), 1, "the proxy cut a connection during COMMIT ({status} {body})");
    assert_eq!(status, 200, "the batch landed, so it is acknowledged: {body}");
    assert_eq!(body["data"]["balance"], 150, "{body}");
    let transaction_id = |body: &serde_json::Value| body["data"]["transaction"]["id"].as_str().map(str::to_owned);
    let mut acknowledged: Vec<String> = transaction_id(&body).into_iter().collect();

    // Later commits go on: the landed batch's seqs are not reused.
    for _ in 0..3 {
        let (status, body) = app.deposit(&player, "gold", 1).await;
        assert_eq!(status, 200, "writes go on after the interrupted commit: {body}");
        acknowledged.extend(transaction_id(&body));
    }
    let (_, body) = app.get("/currency/gold", Some(&player.token)).await;
    assert_eq!(body["data"]["balance"], 153, "{body}");
    assert_eq!(acknowledged.len(), 4, "every acknowledged write names its transaction");
    let checked = check_ledger(&app, std::slice::from_ref(&player), &acknowledged).await;
    println!("commit in doubt: resolved as landed and acknowledged; {checked} acknowledged writes checked");
}
