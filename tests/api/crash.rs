//! Crash test: under a running load of deposits and withdrawals the server process is killed
//! with SIGKILL and started again; every acknowledged operation is in the ledger, nothing
//! unacknowledged is half-applied, and every balance equals the sum of its transactions.

use crate::helpers::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

/// A `pzo-server` process on a free port over the given database.
struct ServerProcess {
    child: Child,
    base: String,
}

impl ServerProcess {
    fn start(database_url: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pzo-server"))
            .env("DATABASE_URL", database_url)
            .env("PZO_BIND", "127.0.0.1:0")
            .env("PZO_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("PZO_LOG", "warn")
            .env("PZO_HTTP_RATE_PER_SEC", "100000")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server binary starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let base = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| line.split("listening on ").nth(1).map(|url| url.trim().to_owned()))
            .expect("the server prints its address");
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, base }
    }

    fn kill(mut self) {
        let _ = self.child.kill(); // SIGKILL on unix
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

async fn post(client: &reqwest::Client, base: &str, path: &str, token: &str, body: Value) -> Option<Value> {
    let response = client.post(format!("{base}{path}")).bearer_auth(token).json(&body).send().await.ok()?;
    let status = response.status().as_u16();
    let body: Value = response.json().await.ok()?;
    (status == 200).then_some(body)
}

#[actix_web::test]
async fn acknowledged_writes_survive_kill_9() {
    // The database outlives both server processes; the in-process server only registers players.
    let app = spawn_app().await;
    let mut players = Vec::new();
    for i in 0..8 {
        players.push(app.register(&format!("Crash{i}")).await);
    }
    let server = ServerProcess::start(&app.database_url);
    let client = reqwest::Client::new();
    let acknowledged = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut writers = Vec::new();
    for (n, player) in players.iter().cloned().enumerate() {
        let (client, base, acknowledged) = (client.clone(), server.base.clone(), acknowledged.clone());
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let deposit = json!({"user_id": player.id, "currency_id": "gold", "amount": 10, "idempotency_key": format!("d{n}-{i}")});
                let Some(body) = post(&client, &base, "/currency/deposit", ADMIN_TOKEN, deposit).await else { break };
                acknowledged.lock().expect("lock").push(body["data"]["transaction"]["id"].as_str().unwrap_or_default().to_owned());
                let withdraw = json!({"currency_id": "gold", "amount": 3});
                let Some(body) = post(&client, &base, "/currency/withdraw", &player.token, withdraw).await else { break };
                acknowledged.lock().expect("lock").push(body["data"]["transaction"]["id"].as_str().unwrap_or_default().to_owned());
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill();
    for writer in writers {
        let _ = writer.await;
    }
    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(acknowledged.len() > 20, "the load ran before the kill ({} acknowledged)", acknowledged.len());

    let restarted = ServerProcess::start(&app.database_url);
    let (db, connection) = tokio_postgres::connect(&app.database_url, tokio_postgres::NoTls).await.expect("database");
    tokio::spawn(connection);
    let stored: std::collections::HashSet<String> = db
        .query("SELECT id::text FROM transactions", &[])
        .await
        .expect("ledger")
        .iter()
        .map(|row| row.get(0))
        .collect();
    let lost: Vec<_> = acknowledged.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(lost.is_empty(), "acknowledged but not in the ledger: {lost:?}");
    let mismatched = db
        .query(
            "SELECT b.user_id FROM balances b
             LEFT JOIN (SELECT user_id, currency_id, sum(amount) AS total FROM transactions GROUP BY 1, 2) t
               ON t.user_id = b.user_id AND t.currency_id = b.currency_id
             WHERE b.balance <> coalesce(t.total, 0)",
            &[],
        )
        .await
        .expect("balances");
    assert!(mismatched.is_empty(), "{} balances differ from their ledger", mismatched.len());
    // The restarted server serves the same balances.
    let response = client
        .get(format!("{}/currency/gold", restarted.base))
        .bearer_auth(&players[0].token)
        .send()
        .await
        .expect("answer");
    let body: Value = response.json().await.expect("envelope");
    let balance: i64 = db
        .query_one(
            "SELECT coalesce(sum(amount), 0)::bigint FROM transactions WHERE user_id = $1::text::uuid",
            &[&players[0].id],
        )
        .await
        .expect("sum")
        .get(0);
    assert_eq!(body["data"]["balance"], balance);
}

/// The close code the server sent on `ws`, skipping other frames; None if the connection ended
/// without a close frame (or nothing came within `wait`, a bound far above the server's own).
async fn close_code(ws: &mut crate::sockets::Ws, wait: Duration) -> Option<u16> {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(_)) | None) | Err(_) => return None,
        }
    }
}

async fn socket(base: &str, path: &str) -> crate::sockets::Ws {
    crate::sockets::connect_url(&format!("{}{path}", base.replace("http://", "ws://")), "pzo.v1.json").await
}

/// SIGTERM closes every socket with 1001 "going away" (SPEC section 10): a player's, an admin's,
/// and one that has not authenticated yet; then the process exits 0.
#[actix_web::test]
async fn sigterm_closes_every_socket_with_going_away() {
    let app = spawn_app().await;
    let player = app.register("Leaving").await;
    let mut server = ServerProcess::start(&app.database_url);
    let mut playing = socket(&server.base, "/ws").await;
    let (reply, _) = crate::sockets::request(&mut playing, 1, "auth", json!({"token": player.token})).await;
    assert_eq!(reply["ok"], true, "{reply}");
    let mut admin = socket(&server.base, "/admin/ws").await;
    let (reply, _) = crate::sockets::request(&mut admin, 1, "auth", json!({"token": ADMIN_TOKEN})).await;
    assert_eq!(reply["ok"], true, "{reply}");
    let mut anonymous = socket(&server.base, "/ws").await;
    let (reply, _) = crate::sockets::request(&mut anonymous, 1, "ping", json!({})).await;
    assert_eq!(reply["error"]["code"], "UNAUTHENTICATED", "{reply}");

    let pid = server.child.id().to_string();
    let signalled = Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
    assert!(signalled.success());
    let wait = Duration::from_secs(60);
    assert_eq!(close_code(&mut playing, wait).await, Some(1001), "player socket");
    assert_eq!(close_code(&mut admin, wait).await, Some(1001), "admin socket");
    assert_eq!(close_code(&mut anonymous, wait).await, Some(1001), "unauthenticated socket");
    let status = tokio::task::spawn_blocking(move || server.child.wait()).await.expect("join").expect("exit status");
    assert!(status.success(), "the server exits 0 on SIGTERM: {status}");
}
