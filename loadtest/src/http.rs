//! The HTTP door: sends one request to the target, reads the contract's envelope, and records
//! the request under its operation name (`POST /users/register`).

use crate::answer::{CallError, ErrorView};
use crate::control::RunControl;
use crate::limits::HTTP_TIMEOUT;
use crate::sources::Sources;
use crate::stats::{Outcome, Stats};
use crate::target::Target;
use crate::wire::JsonError;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Idle keep-alive connections kept per host: enough for the setup concurrency.
const HTTP_IDLE_CONNECTIONS_MAX: usize = 64;
/// How long a pooled connection may sit idle before the client drops it: well under the
/// server's keep-alive (actix-web's default, 5 s). reqwest keeps idle connections 90 s by
/// default, so a request could go out on a connection the server was closing at that moment
/// and fail without reaching it (6 `POST /games/finish` in one 10,000-player run, none of them
/// counted by the server): the generator's fault, not the server's, yet graded as failures.
const HTTP_POOL_IDLE: std::time::Duration = std::time::Duration::from_secs(2);

/// Who a request is made as.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    Anonymous,
    Player(&'a str),
    Admin,
}

/// `{"ok", "data" | "error"}`; `data` stays raw until the caller says what it should be.
#[derive(serde::Deserialize)]
struct Envelope {
    ok: bool,
    #[serde(default)]
    data: Option<Box<RawValue>>,
    #[serde(default)]
    error: Option<JsonError>,
}

/// A client for the target's HTTP API, shared by every task.
#[derive(Debug, Clone)]
pub struct Http {
    /// One client per source address (see [`Sources`]), taken in turn.
    clients: Arc<[reqwest::Client]>,
    next: Arc<AtomicUsize>,
    target: Target,
    admin_token: Arc<str>,
    control: Arc<RunControl>,
    stats: Arc<Stats>,
}

impl Http {
    pub fn new(
        target: Target,
        admin_token: &str,
        control: Arc<RunControl>,
        stats: Arc<Stats>,
        sources: &Sources,
    ) -> Result<Self, CallError> {
        let build = |local: Option<IpAddr>| {
            reqwest::Client::builder()
                .timeout(HTTP_TIMEOUT)
                .pool_max_idle_per_host(HTTP_IDLE_CONNECTIONS_MAX)
                .pool_idle_timeout(HTTP_POOL_IDLE)
                .tcp_nodelay(true)
                .local_address(local)
                .build()
                .map_err(|error| CallError::Transport(error.to_string()))
        };
        let clients = if sources.addrs().is_empty() {
            vec![build(None)?]
        } else {
            sources.addrs().iter().map(|ip| build(Some(*ip))).collect::<Result<_, _>>()?
        };
        let (clients, next) = (clients.into(), Arc::default());
        Ok(Self { clients, next, target, admin_token: admin_token.into(), control, stats })
    }

    /// The client for the next request.
    fn client(&self) -> &reqwest::Client {
        let turn = self.next.fetch_add(1, Ordering::Relaxed);
        &self.clients[turn % self.clients.len()]
    }

    /// Calls `op` (`"POST /waitlist"`: method and path) and decodes `data` as `T`; records it.
    pub async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        op: &'static str,
        caller: Caller<'_>,
        body: Option<&B>,
    ) -> Result<T, CallError> {
        let started = Instant::now();
        let result = self.send(op, caller, body).await;
        let latency = started.elapsed();
        let result = result.and_then(|data| {
            serde_json::from_str::<T>(data.get()).map_err(|error| CallError::Shape(format!("{op}: {error}")))
        });
        match &result {
            Ok(_) => self.stats.record(op, Outcome::Ok, Some(latency)),
            Err(error) => {
                if let Some(outcome) = error.outcome() {
                    let answered = matches!(error, CallError::Rejected(_) | CallError::Server(_) | CallError::Shape(_));
                    self.stats.record(op, outcome, answered.then_some(latency));
                }
            }
        }
        result
    }

    /// `GET path` without recording it (the harness's own look-ups, such as `/slo`); the raw body.
    pub async fn get_unrecorded(&self, path: &str) -> Result<String, CallError> {
        if !self.control.take_request() {
            return Err(CallError::Stopped);
        }
        let response = self.client().get(self.target.http(path)).send().await.map_err(transport)?;
        response.text().await.map_err(transport)
    }

    async fn send<B: Serialize>(
        &self,
        op: &'static str,
        caller: Caller<'_>,
        body: Option<&B>,
    ) -> Result<Box<RawValue>, CallError> {
        let (method, path) = split_op(op)?;
        if !self.control.take_request() {
            return Err(CallError::Stopped);
        }
        let mut request = self.client().request(method, self.target.http(path));
        request = match caller {
            Caller::Anonymous => request,
            Caller::Player(token) => request.bearer_auth(token),
            Caller::Admin => request.bearer_auth(&*self.admin_token),
        };
        if let Some(body) = body {
            request = request.json(body);
        }
        self.stats.sent(op);
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(transport)?;
        read_envelope(status, &text)
    }
}

fn transport(error: reqwest::Error) -> CallError {
    if error.is_timeout() { CallError::Timeout } else { CallError::Transport(error.to_string()) }
}

/// Splits `"POST /waitlist"` into its method and path.
fn split_op(op: &str) -> Result<(Method, &str), CallError> {
    let (method, path) = op.split_once(' ').ok_or_else(|| CallError::Shape(format!("bad op name {op}")))?;
    let method = Method::from_bytes(method.as_bytes()).map_err(|_| CallError::Shape(format!("bad method in {op}")))?;
    Ok((method, path))
}

/// Reads the envelope of an answer with HTTP status `status`.
fn read_envelope(status: u16, text: &str) -> Result<Box<RawValue>, CallError> {
    let Ok(envelope) = serde_json::from_str::<Envelope>(text) else {
        // Not the contract's envelope (a proxy page, an empty body): judge by the status alone.
        return Err(CallError::from_answer(ErrorView { code: format!("HTTP_{status}"), status }));
    };
    match (envelope.ok, envelope.data, envelope.error) {
        (true, Some(data), _) => Ok(data),
        (true, None, _) => Ok(RawValue::from_string("{}".to_owned()).expect("{} is JSON")),
        (false, _, error) => {
            let mut view = error.unwrap_or_default().view();
            if view.status == 0 {
                view.status = status;
            }
            Err(CallError::from_answer(view))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_op_names() {
        let (method, path) = split_op("POST /currency/deposit").unwrap();
        assert_eq!((method, path), (Method::POST, "/currency/deposit"));
        assert!(split_op("nonsense").is_err());
    }

    #[test]
    fn reads_success_envelopes() {
        let data = read_envelope(201, r#"{"ok":true,"data":{"token":"t"},"meta":{"request_id":"r"}}"#).unwrap();
        assert_eq!(data.get(), r#"{"token":"t"}"#);
    }

    #[test]
    fn reads_error_envelopes() {
        let body = r#"{"ok":false,"error":{"code":"EMAIL_TAKEN","message":"m","status":409,"retryable":false,"details":{},"docs":"/d"}}"#;
        assert!(matches!(read_envelope(409, body), Err(CallError::Rejected(ErrorView { status: 409, .. }))));
        let fault = r#"{"ok":false,"error":{"code":"SERVICE_UNAVAILABLE","status":503}}"#;
        assert!(matches!(read_envelope(503, fault), Err(CallError::Server(_))));
    }

    #[test]
    fn judges_foreign_bodies_by_status() {
        assert!(matches!(read_envelope(502, "<html>bad gateway</html>"), Err(CallError::Server(_))));
        assert!(matches!(read_envelope(404, ""), Err(CallError::Rejected(ErrorView { status: 404, .. }))));
    }
}
