//! Test harness: starts the real server on a random port against a fresh PostgreSQL database
//! (under `DATABASE_URL`, or a private cluster when it is unset) and talks to it as a client.

use pzo_server::config::Config;
use pzo_server::embedded_pg::EmbeddedPostgres;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

pub const ADMIN_TOKEN: &str = "test-admin-token";
pub const PASSWORD: &str = "correct horse battery";

static EMBEDDED: OnceCell<Arc<EmbeddedPostgres>> = OnceCell::const_new();

/// A base URL for a fresh database.
async fn fresh_database_url() -> String {
    let name = format!("pzo_test_{}", uuid::Uuid::new_v4().simple());
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let base = url.rsplit_once('/').map_or(url.as_str(), |(base, _)| base).to_owned();
            format!("{base}/{name}")
        }
        _ => {
            let embedded = EMBEDDED
                .get_or_init(|| async {
                    let dir = std::env::temp_dir().join("pzo-test-pg");
                    Arc::new(EmbeddedPostgres::start(&dir).await.expect("the embedded PostgreSQL starts"))
                })
                .await;
            embedded.url(&name)
        }
    }
}

fn init_logs() {
    if std::env::var("TEST_LOG").is_ok() {
        let _ = tracing_subscriber::fmt().with_env_filter("info").try_init();
    }
}

pub struct TestApp {
    pub base: String,
    pub ws_url: String,
    pub client: reqwest::Client,
    pub database_url: String,
    app: std::sync::Arc<pzo_server::app::App>,
}

impl Drop for TestApp {
    /// The actors of a finished test live on in the shared actor runtime and keep its pool
    /// alive; closing it gives its connections back, so the tests together stay under the
    /// PostgreSQL connection limit (100 here) instead of failing on "too many clients".
    fn drop(&mut self) {
        self.app.pool.close();
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_on(fresh_database_url().await, adjust).await
}

/// A server over an existing database (a restart, as far as the data is concerned).
pub async fn spawn_app_on(database_url: String, adjust: impl FnOnce(&mut Config)) -> TestApp {
    init_logs();
    let _ = pzo_server::telemetry::install_prometheus();
    let mut config = Config::from_env().expect("test configuration");
    config.bind = "127.0.0.1:0".parse().expect("valid address");
    config.admin_token = Some(ADMIN_TOKEN.to_owned());
    config.ws_rate_per_sec = 10_000;
    config.http_rate_per_sec = 100_000;
    config.game_grace = Duration::from_secs(2);
    adjust(&mut config);
    let running = pzo_server::server::start(config, database_url.clone(), None).await.expect("the server starts");
    let addr = running.addr;
    let app = running.app.clone();
    actix_web::rt::spawn(running.server);
    TestApp {
        base: format!("http://{addr}"),
        ws_url: format!("ws://{addr}/ws"),
        client: reqwest::Client::new(),
        database_url,
        app,
    }
}

/// A registered player.
#[derive(Debug, Clone)]
pub struct Player {
    pub id: String,
    pub token: String,
    pub email: String,
}

impl TestApp {
    /// The name of this test's database.
    pub fn database_name(&self) -> String {
        self.database_url.rsplit('/').next().unwrap_or_default().to_owned()
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let value = response.json::<Value>().await.unwrap_or(Value::Null);
        (status, value)
    }
    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, token, None).await
    }
    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, token, Some(body)).await
    }
    pub async fn admin_post(&self, path: &str, body: Value) -> (u16, Value) {
        self.post(path, Some(ADMIN_TOKEN), body).await
    }

    pub async fn register(&self, name: &str) -> Player {
        let email = format!("{name}-{}@example.com", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let (status, body) = self
            .post("/users/register", None, json!({"email": email, "password": PASSWORD, "display_name": name}))
            .await;
        assert_eq!(status, 201, "{body}");
        Player {
            id: body["data"]["user"]["id"].as_str().expect("user id").to_owned(),
            token: body["data"]["token"].as_str().expect("token").to_owned(),
            email,
        }
    }

    /// Registers, joins the waitlist and gets admitted.
    pub async fn admitted(&self, name: &str) -> Player {
        let player = self.register(name).await;
        let (status, body) = self.post("/waitlist", Some(&player.token), json!({})).await;
        assert_eq!(status, 201, "{body}");
        let entry = body["data"]["entry"]["id"].as_str().expect("entry id").to_owned();
        let (status, body) =
            self.admin_post("/waitlist/status", json!({"entry_id": entry, "status": "admitted"})).await;
        assert_eq!(status, 200, "{body}");
        player
    }

    pub async fn deposit(&self, player: &Player, currency: &str, amount: i64) -> (u16, Value) {
        self.admin_post("/currency/deposit", json!({"user_id": player.id, "currency_id": currency, "amount": amount}))
            .await
    }
}

/// The error code of an envelope.
pub fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<none>")
}

/// A connection of its own to the test's database, holding `LOCK TABLE events IN EXCLUSIVE MODE`
/// until [`EventWriteLock::release`]: every commit waits (each writes events) while reads go on,
/// which keeps a server's commit in flight for as long as a test needs.
pub struct EventWriteLock {
    pub client: tokio_postgres::Client,
}

impl EventWriteLock {
    pub async fn hold(app: &TestApp) -> Self {
        let (client, connection) =
            tokio_postgres::connect(&app.database_url, tokio_postgres::NoTls).await.expect("a database connection");
        tokio::spawn(connection);
        client.batch_execute("BEGIN; LOCK TABLE events IN EXCLUSIVE MODE").await.expect("the lock");
        Self { client }
    }

    /// Lets the waiting commits go; the connection stays for queries.
    pub async fn release(&self) {
        self.client.batch_execute("ROLLBACK").await.expect("the lock goes");
    }
}
