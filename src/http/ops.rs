//! Operations endpoints: liveness, readiness, Prometheus metrics, the SLO table with live
//! compliance, the OpenAPI document, the docs pages and the admin console page.

use super::{docs_of, error_response, ok_response, request_id};
use crate::app::App;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use pzo_protocol::{ApiError, ErrorCode};
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::Ordering;

#[derive(Serialize)]
struct Health {
    status: &'static str,
    uptime_secs: u64,
}

#[derive(Serialize)]
struct Readiness {
    database: bool,
    migrations: bool,
    journal: bool,
    last_seq: u64,
}

pub async fn health(app: web::Data<Arc<App>>, req: HttpRequest) -> HttpResponse {
    let data = Health { status: "ok", uptime_secs: app.started.elapsed().as_secs() };
    ok_response(StatusCode::OK, &request_id(&req), docs_of("GET /health"), data)
}

pub async fn ready(app: web::Data<Arc<App>>, req: HttpRequest) -> HttpResponse {
    let id = request_id(&req);
    let database = match app.pool.get().await {
        Ok(client) => client.simple_query("SELECT 1").await.is_ok(),
        Err(_) => false,
    };
    let migrations = database && crate::db::migrations_applied(&app.pool).await.unwrap_or(false);
    let journal = app.journal.accepting();
    if database && migrations && journal {
        let last_seq = app.journal.stats.last_seq.load(Ordering::SeqCst);
        ok_response(StatusCode::OK, &id, docs_of("GET /ready"), Readiness { database, migrations, journal, last_seq })
    } else {
        let reason = format!("not ready: database={database} migrations={migrations} journal={journal}");
        error_response(&id, &ApiError::with_message(ErrorCode::SERVICE_UNAVAILABLE, reason))
    }
}

pub async fn metrics(app: web::Data<Arc<App>>) -> HttpResponse {
    crate::server::refresh_gauges(&app);
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(crate::telemetry::install_prometheus().render())
}

pub async fn slo(app: web::Data<Arc<App>>, req: HttpRequest) -> HttpResponse {
    ok_response(StatusCode::OK, &request_id(&req), docs_of("GET /slo"), app.telemetry.report())
}

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(crate::openapi::document())
}

/// The base URL the server prints as "API": a person opening it lands on the API's docs.
pub async fn root() -> HttpResponse {
    HttpResponse::Found().insert_header((actix_web::http::header::LOCATION, "/docs")).finish()
}

pub async fn docs() -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(crate::docs_pages::api_page())
}

pub async fn docs_errors() -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(crate::docs_pages::errors_page())
}

pub async fn admin_page() -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(include_str!("../admin/console.html"))
}

/// Unknown paths and methods answer in the envelope too.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    error_response(
        &request_id(&req),
        &ApiError::with_message(ErrorCode::NOT_FOUND, format!("no route for {} {}", req.method(), req.path())),
    )
}
