//! The `pzo-server` binary: reads configuration, starts the database and the server, prints
//! where everything is, and shuts down gracefully on SIGTERM or Ctrl-C.

#![forbid(unsafe_code)]

use pzo_server::config::Config;
use pzo_server::server;
use std::process::ExitCode;

/// Longest wait for the journal to drain on shutdown.
const SHUTDOWN_FLUSH_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

#[actix_web::main]
async fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(message) => {
            eprintln!("configuration error: {message}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::new(&config.log)).init();
    // Every socket is a descriptor: the usual soft limit of 1024 would cap the server near a
    // thousand players. The hard limit stays the cap.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::info!(limit, "open-files limit"),
        Err(error) => tracing::warn!(%error, "cannot raise the open-files limit"),
    }
    let _prometheus = pzo_server::telemetry::install_prometheus();
    let (url, embedded) = match server::database(&config).await {
        Ok(found) => found,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let printed_token = config.admin_token.is_none();
    let running = match server::start(config, url, embedded).await {
        Ok(running) => running,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let base = format!("http://{}", running.addr);
    println!("PZO Season 0 server listening on {base}");
    println!("  API        {base}/   (docs {base}/docs, OpenAPI {base}/openapi.json)");
    println!("  sockets    ws://{}/ws   admin console {base}/admin", running.addr);
    println!("  metrics    {base}/metrics   SLO {base}/slo   ready {base}/ready");
    if printed_token {
        println!("  admin token (generated; set PZO_ADMIN_TOKEN to fix it): {}", running.app.admin_token);
    }
    let handle = running.server.handle();
    let server_task = actix_web::rt::spawn(running.server);
    wait_for_signal().await;
    tracing::info!("shutting down: no new work, flushing the journal, closing sockets");
    // No new connections; then every socket, authenticated or not, finishes the command it is
    // running and closes with 1001 "going away". Sockets first: actix's graceful stop waits for
    // open connections (up to its shutdown timeout) and then drops them without a close frame.
    handle.pause().await;
    running.app.bus.close_all();
    handle.stop(true).await;
    let _ = server_task.await;
    // Flush: wait (bounded) until the journal has written everything it accepted.
    let deadline = std::time::Instant::now() + SHUTDOWN_FLUSH_WAIT;
    while running.app.journal.queue_depth() > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    if let Some(embedded) = running.embedded {
        if let Err(error) = embedded.stop().await {
            eprintln!("error stopping the embedded PostgreSQL: {error}");
        }
    }
    ExitCode::SUCCESS
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => return drop(ctrl_c.await),
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
