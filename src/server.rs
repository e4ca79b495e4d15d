//! Starting and stopping the server: the database (embedded when `DATABASE_URL` is unset), the
//! application, the HTTP server bound first (so tests can use port 0) and graceful shutdown.

use crate::app::{self, App};
use crate::config::Config;
use crate::embedded_pg::EmbeddedPostgres;
use crate::http::{self, HttpLimits};
use actix_web::{App as HttpApp, HttpServer, web};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    pub server: actix_web::dev::Server,
    pub embedded: Option<Arc<EmbeddedPostgres>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Embedded(#[from] crate::embedded_pg::EmbeddedPgError),
    #[error(transparent)]
    Start(#[from] app::StartError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
}

/// Resolves the database: `DATABASE_URL`, or a private cluster under `PZO_DATA_DIR`.
pub async fn database(config: &Config) -> Result<(String, Option<Arc<EmbeddedPostgres>>), ServerError> {
    match &config.database_url {
        Some(url) => Ok((url.clone(), None)),
        None => {
            let embedded = EmbeddedPostgres::start(&config.data_dir).await?;
            Ok((embedded.url("pzo"), Some(Arc::new(embedded))))
        }
    }
}

/// A peer that has not taken our data for this long is gone: the kernel drops the connection.
pub const STALLED_PEER_TIMEOUT: Duration = Duration::from_secs(20);

/// Sets `TCP_USER_TIMEOUT` on each accepted connection. A client that stops reading is taken off
/// its socket by the bus at once, but actix-http closes the TCP connection only once its write
/// buffer drains, which never happens while the peer's window stays shut; with the timeout, the
/// kernel gives up on the unacknowledged bytes (Linux applies it to zero-window probes too) and
/// the file handle and buffers come back.
fn drop_stalled_peers(connection: &dyn std::any::Any, _: &mut actix_web::dev::Extensions) {
    if let Some(stream) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
        if let Err(error) = socket2::SockRef::from(stream).set_tcp_user_timeout(Some(STALLED_PEER_TIMEOUT)) {
            tracing::debug!(%error, "TCP_USER_TIMEOUT not set");
        }
    }
}

/// Starts everything and binds; returns once the server accepts connections.
pub async fn start(
    config: Config,
    database_url: String,
    embedded: Option<Arc<EmbeddedPostgres>>,
) -> Result<Running, ServerError> {
    let admin_token = config.admin_token.clone().unwrap_or_else(crate::auth::new_token);
    let workers = std::thread::available_parallelism().map_or(2, usize::from);
    let app = app::build(config.clone(), &database_url, admin_token).await?;
    let data = web::Data::new(app.clone());
    let limits = web::Data::new(HttpLimits::default());
    let server = HttpServer::new(move || {
        HttpApp::new()
            .app_data(data.clone())
            .app_data(limits.clone())
            .configure(http::routes::configure)
            .route("/", web::get().to(http::ops::root))
            .route("/health", web::get().to(http::ops::health))
            .route("/ready", web::get().to(http::ops::ready))
            .route("/metrics", web::get().to(http::ops::metrics))
            .route("/slo", web::get().to(http::ops::slo))
            .route("/openapi.json", web::get().to(http::ops::openapi))
            .route("/docs", web::get().to(http::ops::docs))
            .route("/docs/errors", web::get().to(http::ops::docs_errors))
            .route("/admin", web::get().to(http::ops::admin_page))
            .route("/ws", web::get().to(crate::ws::player_socket))
            .route("/admin/ws", web::get().to(crate::ws::admin_socket))
            .default_service(web::to(http::ops::not_found))
    })
    .workers(workers)
    // Replies and pushes are small frames written back to back (an event, then the reply):
    // with Nagle's algorithm the second waits for the client's delayed ACK, ~40 ms on Linux.
    .tcp_nodelay(true)
    .on_connect(drop_stalled_peers)
    .shutdown_timeout(5)
    .disable_signals();
    let server = server.bind(config.bind).map_err(|source| ServerError::Bind { addr: config.bind, source })?;
    let addr = server.addrs().first().copied().unwrap_or(config.bind);
    let server = server.run();
    Ok(Running { addr, app, server, embedded })
}

/// Updates the gauges that are read rather than counted.
pub fn refresh_gauges(app: &App) {
    metrics::gauge!("pzo_ws_sockets_open").set(app.bus.socket_count() as f64);
    metrics::gauge!("pzo_players_online").set(app.bus.players_online() as f64);
    metrics::gauge!("pzo_mailbox_depth", "kind" => "journal").set(app.journal.queue_depth() as f64);
    metrics::gauge!("pzo_mailbox_depth", "kind" => "waitlist").set(app.waitlist.depth() as f64);
    metrics::gauge!("pzo_journal_last_seq").set(app.journal.stats.last_seq.load(Ordering::Relaxed) as f64);
}
