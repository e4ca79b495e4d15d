//! HTTP: the envelope of SPEC section 4, request ids, body limits, caller authentication, rate
//! limits, and the routes that turn paths and bodies into typed `Request`s for the dispatch.

pub mod ops;
pub mod routes;

use crate::app::App;
use crate::auth::Caller;
use crate::ratelimit::TokenBucket;
use crate::telemetry::CallOutcome;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use dashmap::DashMap;
use futures_util::StreamExt;
use pzo_protocol::error::{ErrorDetails, RetryAfterDetails};
use pzo_protocol::limits::HTTP_BODY_BYTES_MAX;
use pzo_protocol::{ApiError, ErrorCode, Request};
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;

/// Per-caller HTTP rate limits (keyed by token or address).
#[derive(Default)]
pub struct HttpLimits {
    buckets: DashMap<String, TokenBucket>,
}

#[derive(Serialize)]
struct Meta<'a> {
    request_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")] // JSON only: HTTP envelopes are never bincode
    docs: Option<String>,
}

#[derive(Serialize)]
struct OkEnvelope<'a, T: Serialize> {
    ok: bool,
    data: T,
    meta: Meta<'a>,
}

#[derive(Serialize)]
struct ErrEnvelope<'a> {
    ok: bool,
    error: pzo_protocol::error::ErrorBodyJson<'a>,
    meta: Meta<'a>,
}

/// The request id: echoed from `X-Request-Id`, or generated.
pub fn request_id(req: &HttpRequest) -> String {
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
}

/// A success answer in the envelope.
pub fn ok_response<T: Serialize>(status: StatusCode, request_id: &str, docs: Option<String>, data: T) -> HttpResponse {
    let body = OkEnvelope { ok: true, data, meta: Meta { request_id, docs } };
    HttpResponse::build(status).insert_header(("x-request-id", request_id.to_owned())).json(body)
}

/// An error answer in the envelope.
pub fn error_response(request_id: &str, error: &ApiError) -> HttpResponse {
    let body = error.body();
    let status = StatusCode::from_u16(body.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    response.insert_header(("x-request-id", request_id.to_owned()));
    if let ErrorDetails::RetryAfter(RetryAfterDetails { retry_after_ms }) = &error.details {
        response.insert_header(("retry-after", retry_after_ms.div_ceil(1000).max(1).to_string()));
    }
    response.json(ErrEnvelope { ok: false, error: body.json(), meta: Meta { request_id, docs: None } })
}

/// Reads the body, refusing more than the limit with `PAYLOAD_TOO_LARGE`.
pub async fn read_body(mut payload: web::Payload) -> Result<web::BytesMut, ApiError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::with_message(ErrorCode::BAD_REQUEST, "the body could not be read"))?;
        if body.len() + chunk.len() > HTTP_BODY_BYTES_MAX {
            return Err(ApiError::with_message(ErrorCode::PAYLOAD_TOO_LARGE, "the body is larger than 64 KiB"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Parses a JSON body into a typed value (`BAD_REQUEST` with serde's reason otherwise).
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) { b"{}".as_slice() } else { body };
    serde_json::from_slice(body)
        .map_err(|e| ApiError::with_message(ErrorCode::BAD_REQUEST, format!("invalid JSON body: {e}")))
}

/// Parses the query string into a typed value.
pub fn parse_query<T: serde::de::DeserializeOwned>(req: &HttpRequest) -> Result<T, ApiError> {
    web::Query::<T>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| ApiError::with_message(ErrorCode::BAD_REQUEST, format!("invalid query: {e}")))
}

fn bearer(req: &HttpRequest) -> Option<&str> {
    let header = req.headers().get("authorization")?.to_str().ok()?;
    let (scheme, token) = header.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// An address is shared (a household, a venue, a carrier's NAT), a token is one player's: calls
/// without a token (registration, login) get this many times a token's rate per address.
const ADDRESS_RATE_FACTOR: u32 = 5;

/// One token bucket per player token, and one per address for calls without a token. The
/// operator token is not limited: it is the studio's own services and console (grants, game
/// results, waves), whose volume a per-player limit would throttle.
fn rate_limit(app: &App, limits: &HttpLimits, req: &HttpRequest) -> Result<(), ApiError> {
    let token = bearer(req).filter(|token| !token.is_empty());
    if token.is_some_and(|token| crate::auth::token_eq(token, &app.admin_token)) {
        return Ok(());
    }
    let (key, rate) = match token {
        Some(token) => (token.to_owned(), app.config.http_rate_per_sec),
        None => (
            req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default(),
            app.config.http_rate_per_sec.saturating_mul(ADDRESS_RATE_FACTOR),
        ),
    };
    let now = Instant::now();
    let mut bucket = limits.buckets.entry(key).or_insert_with(|| TokenBucket::new(rate, now));
    bucket.take(now).map_err(|wait| {
        ApiError::new(ErrorCode::RATE_LIMITED).details(ErrorDetails::RetryAfter(RetryAfterDetails {
            retry_after_ms: u64::try_from(wait.as_millis()).unwrap_or(1000).max(1),
        }))
    })
}

/// Runs one API operation: authenticate, build the typed request, dispatch, answer.
pub async fn serve(
    app: web::Data<Arc<App>>,
    limits: web::Data<HttpLimits>,
    req: HttpRequest,
    operation: &'static str,
    success: StatusCode,
    build: impl FnOnce(Caller) -> Result<Request, ApiError>,
) -> HttpResponse {
    let started = Instant::now();
    let id = request_id(&req);
    let span = tracing::info_span!("http", request_id = %id, operation);
    let result = async {
        rate_limit(&app, &limits, &req)?;
        let caller = crate::users::authenticate(&app, bearer(&req)).await?;
        // A missing token is answered before the path and the body are read, so an anonymous
        // call learns UNAUTHENTICATED, not a 404 for an id or a 400 for a body it may not send.
        if caller == Caller::Anonymous && needs_token(operation) {
            return Err(ApiError::new(ErrorCode::UNAUTHENTICATED));
        }
        let request = build(caller)?;
        crate::dispatch::dispatch(&app, caller, request).await
    }
    .instrument(span)
    .await;
    let response = match &result {
        Ok(reply) => {
            // The docs link is the operation's anchor on /docs, from the one operations table.
            let docs = docs_of(operation);
            ok_response(success, &id, docs, reply.json_data())
        }
        Err(error) => {
            tracing::debug!(code = error.code.as_str(), message = %error.message, "request refused");
            error_response(&id, error)
        }
    };
    app.telemetry.record(operation, started.elapsed(), outcome_of(&result));
    response
}

/// An operation's anchor on /docs, every success envelope's `meta.docs` (SPEC section 4).
pub fn docs_of(operation: &str) -> Option<String> {
    crate::operations::find_by_name(operation).map(crate::operations::Operation::docs_url)
}

/// Whether an operation of the operations table refuses callers without a token.
fn needs_token(operation: &str) -> bool {
    crate::operations::find_by_name(operation).is_some_and(|op| op.auth != crate::operations::Auth::None)
}

/// Whether a result counts against the error budget.
pub fn outcome_of<T>(result: &Result<T, ApiError>) -> CallOutcome {
    match result {
        Ok(_) => CallOutcome::Ok,
        Err(e) if e.code.status() >= 500 => CallOutcome::ServerError,
        Err(_) => CallOutcome::ClientError,
    }
}
