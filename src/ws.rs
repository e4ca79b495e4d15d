//! WebSocket sessions (`/ws` for players, `/admin/ws` for operators): one task per connection
//! that authenticates, decodes frames in either codec, routes requests to the dispatch, and
//! writes replies, events and relays from a bounded outbound queue.

use crate::app::App;
use crate::auth::Caller;
use crate::bus::{SOCKET_QUEUE_FRAMES_MAX, SharedFrame, SocketHandle, TailFilter};
use crate::ratelimit::TokenBucket;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{CloseCode, CloseReason};
use futures_util::StreamExt;
use pzo_protocol::error::{ErrorDetails, RetryAfterDetails};
use pzo_protocol::limits::{WS_AUTH_TIMEOUT_SECS, WS_FRAME_BYTES_MAX};
use pzo_protocol::reply::{SessionReply, SubscribeReply};
use pzo_protocol::{ApiError, ClientFrame, Codec, ErrorCode, FrameError, Reply, Request, ServerFrame};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Notify, mpsc};

/// How often the server pings an idle socket.
pub const WS_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(15);
/// A socket silent for this long is closed.
pub const WS_IDLE_TIMEOUT: Duration = Duration::from_secs(45);
/// Frames written per wake-up before yielding (coalesces bursts into fewer wake-ups).
const WRITE_BURST_FRAMES_MAX: usize = 64;
/// How long closing waits to queue the close frame for a peer that may have stopped reading.
const WS_CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

const _: () = assert!(WS_IDLE_TIMEOUT.as_secs() > WS_HEARTBEAT_INTERVAL.as_secs());

fn negotiate(req: &HttpRequest) -> Codec {
    req.headers()
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .and_then(|list| list.split(',').find_map(Codec::from_protocol))
        .unwrap_or(Codec::Json)
}

fn query_token(req: &HttpRequest) -> Option<String> {
    req.query_string().split('&').find_map(|pair| pair.strip_prefix("token=").map(str::to_owned))
}

pub async fn player_socket(
    app: web::Data<Arc<App>>,
    req: HttpRequest,
    body: web::Payload,
) -> actix_web::Result<HttpResponse> {
    open(app.get_ref().clone(), req, body, false).await
}

pub async fn admin_socket(
    app: web::Data<Arc<App>>,
    req: HttpRequest,
    body: web::Payload,
) -> actix_web::Result<HttpResponse> {
    open(app.get_ref().clone(), req, body, true).await
}

async fn open(app: Arc<App>, req: HttpRequest, body: web::Payload, admin: bool) -> actix_web::Result<HttpResponse> {
    let codec = negotiate(&req);
    let offered = req.headers().contains_key("sec-websocket-protocol");
    let (mut response, session, stream) = match actix_ws::handle(&req, body) {
        Ok(parts) => parts,
        // A plain HTTP request here answers in the envelope like every other route.
        Err(_) => {
            let error = ApiError::with_message(ErrorCode::BAD_REQUEST, "this path expects a WebSocket upgrade");
            return Ok(crate::http::error_response(&crate::http::request_id(&req), &error));
        }
    };
    if offered {
        if let Ok(value) = actix_web::http::header::HeaderValue::from_str(codec.protocol()) {
            response.headers_mut().insert(actix_web::http::header::SEC_WEBSOCKET_PROTOCOL, value);
        }
    }
    // Boxed: an async fn keeps its by-value arguments twice (the argument and its binding), and
    // every idle socket's task would carry each copy of this 176-byte stream for good.
    let stream = Box::pin(
        stream.max_frame_size(WS_FRAME_BYTES_MAX).aggregate_continuations().max_continuation_size(WS_FRAME_BYTES_MAX),
    );
    // Only a player socket takes `?token=` (for browsers); the operator's token stays out of
    // URLs, and so out of proxy and access logs: the admin socket needs the auth frame.
    let token = if admin { None } else { query_token(&req) };
    actix_web::rt::spawn(async move {
        let (tx, rx) = mpsc::channel(SOCKET_QUEUE_FRAMES_MAX);
        let handle = SocketHandle { id: app.bus.next_socket_id(), user_id: None, tx, kill: Arc::new(Notify::new()) };
        app.bus.add_anonymous_socket(handle.id, handle.kill.clone());
        let mut socket = Socket { app, session, codec, admin, caller: Caller::Anonymous, handle, closing: None };
        metrics::gauge!("pzo_ws_sockets").increment(1.0);
        if let Some(token) = token {
            let _ = Box::pin(socket.authenticate(&token)).await;
        }
        socket.run(stream, rx).await;
        metrics::gauge!("pzo_ws_sockets").decrement(1.0);
    });
    Ok(response)
}

struct Socket {
    app: Arc<App>,
    session: actix_ws::Session,
    codec: Codec,
    admin: bool,
    caller: Caller,
    handle: SocketHandle,
    closing: Option<CloseReason>,
}

fn close(code: CloseCode, description: &str) -> Option<CloseReason> {
    Some(CloseReason { code, description: Some(description.to_owned()) })
}

impl Socket {
    async fn run(
        &mut self,
        mut stream: std::pin::Pin<Box<actix_ws::AggregatedMessageStream>>,
        mut rx: mpsc::Receiver<Arc<SharedFrame>>,
    ) {
        // One timer serves the auth deadline and the heartbeat (a second would be another ~100
        // bytes of every idle socket): it fires at whichever is next.
        let opened = tokio::time::Instant::now();
        let auth_deadline = opened + Duration::from_secs(WS_AUTH_TIMEOUT_SECS);
        let mut next_ping = opened + WS_HEARTBEAT_INTERVAL;
        let timer = tokio::time::sleep_until(auth_deadline.min(next_ping));
        tokio::pin!(timer);
        let mut bucket = TokenBucket::new(self.app.config.ws_rate_per_sec, Instant::now());
        let mut last_seen = Instant::now();
        let kill = self.handle.kill.clone();
        while self.closing.is_none() {
            tokio::select! {
                frame = stream.next() => {
                    last_seen = Instant::now();
                    match frame {
                        // Boxed: handling a frame runs the whole dispatch, whose state machine,
                        // inline, every idle socket's task would carry for good (boxing it took
                        // the server from 31.4 to 28.3 KiB per authenticated socket).
                        Some(Ok(message)) => Box::pin(self.on_message(message, &mut bucket)).await,
                        Some(Err(actix_ws::ProtocolError::Overflow)) => self.closing = close(CloseCode::Size, "frame larger than 64 KiB"),
                        Some(Err(_)) | None => break,
                    }
                }
                // Boxed, like on_message: inline, a write's state machine (the session's send and
                // the kill notification) would size every idle socket's task for good.
                Some(frame) = rx.recv() => Box::pin(self.write(frame, &mut rx)).await,
                () = &mut timer => {
                    let now = tokio::time::Instant::now();
                    let anonymous = self.caller == Caller::Anonymous;
                    if anonymous && now >= auth_deadline {
                        self.closing = close(CloseCode::Policy, "no auth within 10 s");
                    } else if now >= next_ping {
                        next_ping = now + WS_HEARTBEAT_INTERVAL;
                        if last_seen.elapsed() > WS_IDLE_TIMEOUT {
                            self.closing = close(CloseCode::Normal, "idle timeout");
                        } else if Box::pin(self.session.ping(b"")).await.is_err() {
                            break;
                        }
                    }
                    timer.as_mut().reset(if anonymous { auth_deadline.min(next_ping) } else { next_ping });
                }
                () = kill.notified() => self.closing = self.kill_reason(),
            }
        }
        Box::pin(self.finish()).await;
    }

    async fn finish(&mut self) {
        let remaining = self.app.bus.remove_socket(self.handle.id, self.handle.user_id);
        if let Some(user_id) = self.handle.user_id {
            let command = crate::actors::player::PlayerCommand::SocketClosed { remaining };
            // Asked, activating the actor if need be: a player left in a game (say, across a
            // restart, before any command activated the actor) must still start its grace timer.
            let _ = crate::actors::player::ask(&self.app, user_id, command, None).await;
        }
        let reason = self.closing.take();
        // A peer that stopped reading never takes the close frame: give up, so the task ends and
        // dropping the session releases the connection.
        let _ = tokio::time::timeout(WS_CLOSE_TIMEOUT, self.session.clone().close(reason)).await;
    }

    /// Why the server closes a socket it was told to kill.
    fn kill_reason(&self) -> Option<CloseReason> {
        if self.app.bus.shutting_down.load(std::sync::atomic::Ordering::SeqCst) {
            close(CloseCode::Away, "the server is shutting down; reconnect and resume with events.resume")
        } else {
            close(CloseCode::Policy, "disconnected by the server (slow reader or kicked); resume with events.resume")
        }
    }

    /// Writes a frame and whatever else is queued, up to a burst.
    async fn write(&mut self, first: Arc<SharedFrame>, rx: &mut mpsc::Receiver<Arc<SharedFrame>>) {
        let mut next = Some(first);
        let mut written = 0;
        let kill = self.handle.kill.clone();
        while let Some(frame) = next.take() {
            if frame.is_event() {
                self.app.telemetry.record_event_delivery(frame.created.elapsed());
            }
            let bytes = frame.encoded(self.codec);
            let (session, codec) = (&mut self.session, self.codec);
            let send = async move {
                match codec {
                    Codec::Json => match bytestring::ByteString::try_from(bytes) {
                        Ok(text) => session.text(text).await,
                        Err(_) => Ok(()),
                    },
                    Codec::Bincode => session.binary(bytes).await,
                }
            };
            // A write blocks while the peer does not read; meanwhile its queue fills and the bus
            // kills the socket, which must win here or the socket would hang on forever.
            let sent = tokio::select! {
                sent = send => Some(sent),
                () = kill.notified() => None,
            };
            match sent {
                Some(Ok(())) => {}
                Some(Err(_)) => {
                    self.closing = close(CloseCode::Away, "write failed");
                    return;
                }
                None => {
                    self.closing = self.kill_reason();
                    return;
                }
            }
            written += 1;
            if written < WRITE_BURST_FRAMES_MAX {
                next = rx.try_recv().ok();
            }
        }
    }

    async fn send_now(&mut self, frame: ServerFrame) {
        let frame = SharedFrame::new(frame);
        self.write(frame, &mut mpsc::channel(1).1).await;
    }

    async fn on_message(&mut self, message: actix_ws::AggregatedMessage, bucket: &mut TokenBucket) {
        let decoded = match message {
            actix_ws::AggregatedMessage::Text(text) => ClientFrame::decode_json(&text),
            actix_ws::AggregatedMessage::Binary(bytes) => ClientFrame::decode_bincode(&bytes),
            actix_ws::AggregatedMessage::Ping(bytes) => {
                let _ = self.session.pong(&bytes).await;
                return;
            }
            actix_ws::AggregatedMessage::Pong(_) => return,
            actix_ws::AggregatedMessage::Close(_) => {
                self.closing = close(CloseCode::Normal, "closed by the client");
                return;
            }
        };
        if let Err(wait) = bucket.take(Instant::now()) {
            let error = ApiError::new(ErrorCode::RATE_LIMITED).details(ErrorDetails::RetryAfter(RetryAfterDetails {
                retry_after_ms: u64::try_from(wait.as_millis()).unwrap_or(1000).max(1),
            }));
            // A refused call is still a call of its op: counted like HTTP's 429s, so /slo and
            // /metrics agree with what clients sent.
            let id = match &decoded {
                Ok(frame) => {
                    let refused = crate::telemetry::CallOutcome::ClientError;
                    self.app.telemetry.record(op_name(frame.request.name()), Duration::ZERO, refused);
                    frame.id
                }
                Err(_) => 0,
            };
            return self.reply(id, Err(error)).await;
        }
        match decoded {
            Ok(frame) => self.on_request(frame).await,
            Err(error) => {
                let api = ApiError::with_message(ErrorCode::BAD_REQUEST, error.to_string());
                match error {
                    FrameError::Malformed | FrameError::MalformedBinary => {
                        self.send_now(ServerFrame::Error { error: api.body() }).await;
                    }
                    FrameError::UnknownOp { id } | FrameError::BadArgs { id, .. } => self.reply(id, Err(api)).await,
                    FrameError::BadPreferences { id, message } => {
                        self.reply(id, Err(ApiError::validation("preferences", &message))).await;
                    }
                }
            }
        }
    }

    async fn reply(&mut self, re: u32, result: Result<Reply, ApiError>) {
        let result = result.map_err(|e| e.body());
        self.send_now(ServerFrame::Reply { re, result }).await;
    }

    async fn authenticate(&mut self, token: &str) -> Result<Reply, ApiError> {
        let caller = crate::users::authenticate(&self.app, Some(token)).await?;
        match (caller, self.admin) {
            // The admin socket sees every event until `events.tail` narrows it.
            (Caller::Admin, true) => self.app.bus.set_tail(self.handle.clone(), TailFilter::default()),
            (Caller::Player(user_id), false) => {
                self.handle.user_id = Some(user_id);
                self.app.bus.add_player_socket(user_id, self.handle.clone());
                // An idle socket does not activate the player actor (its state, mailboxes and
                // task were ~4 KiB of every socket); the first command does.
                let opened = crate::actors::player::PlayerCommand::SocketOpened;
                crate::actors::player::tell_if_live(&self.app, user_id, opened);
            }
            _ => return Err(ApiError::with_message(ErrorCode::FORBIDDEN, "this socket needs the other kind of token")),
        }
        self.app.bus.remove_anonymous_socket(self.handle.id);
        self.caller = caller;
        Ok(Reply::Session(SessionReply {
            user_id: caller.user_id().unwrap_or_default(),
            role: if self.admin { "admin" } else { "player" }.to_owned(),
            last_seq: self.app.journal.stats.last_seq.load(std::sync::atomic::Ordering::SeqCst),
        }))
    }

    async fn on_request(&mut self, frame: ClientFrame) {
        let started = Instant::now();
        let op = frame.request.name();
        let result = match frame.request {
            Request::Auth(args) if self.caller == Caller::Anonymous => {
                let result = self.authenticate(&args.token).await;
                if result.is_err() && self.admin {
                    tracing::warn!("admin socket refused a bad token");
                    self.closing = close(CloseCode::Policy, "bad admin token");
                }
                result
            }
            Request::Auth(_) => Err(ApiError::with_message(ErrorCode::BAD_REQUEST, "already authenticated")),
            _ if self.caller == Caller::Anonymous => Err(ApiError::new(ErrorCode::UNAUTHENTICATED)),
            Request::Ping(_) => {
                Ok(Reply::Pong(pzo_protocol::reply::Pong { server_time_ms: self.app.now().timestamp_millis() }))
            }
            Request::LeaderboardSubscribe(args) => {
                if self.app.boards.contains_key(&args.id) {
                    self.app.bus.subscribe_board(&args.id, self.handle.clone());
                    Ok(Reply::Subscribe(SubscribeReply { leaderboard_id: args.id, subscribed: true }))
                } else {
                    Err(ApiError::not_found("leaderboard"))
                }
            }
            Request::EventsTail(args) if self.admin => {
                let filter = TailFilter { types: args.types, user_id: args.user_id, game_id: args.game_id };
                self.app.bus.set_tail(self.handle.clone(), filter);
                Ok(Reply::Ack(pzo_protocol::reply::AckReply { ok: true }))
            }
            Request::StatsSubscribe(_) if self.admin => {
                crate::admin::spawn_stats(self.app.clone(), self.handle.clone(), frame.id);
                Ok(Reply::Stats(crate::admin::snapshot(&self.app)))
            }
            // The relay hot path answers from memory: run it inline rather than as a task.
            request @ Request::GamesSend(_) => crate::dispatch::dispatch(&self.app, self.caller, request).await,
            request => {
                // Requests run beside the socket loop, so a slow op never blocks reading.
                let (app, caller, tx, id) = (self.app.clone(), self.caller, self.handle.tx.clone(), frame.id);
                actix_web::rt::spawn(async move {
                    let result = crate::dispatch::dispatch(&app, caller, request).await;
                    app.telemetry.record(op_name(op), started.elapsed(), crate::http::outcome_of(&result));
                    let frame = SharedFrame::new(ServerFrame::Reply { re: id, result: result.map_err(|e| e.body()) });
                    let _ = tx.send(frame).await;
                });
                return;
            }
        };
        self.app.telemetry.record(op_name(op), started.elapsed(), crate::http::outcome_of(&result));
        self.reply(frame.id, result).await;
    }
}

/// The SLO table's name of a socket op.
fn op_name(op: &'static str) -> &'static str {
    crate::operations::find_ws(op).map_or(op, |o| o.name)
}
