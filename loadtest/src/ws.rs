//! The socket door: one authenticated `/ws` connection with request ids matched to replies,
//! pushes (events, relays) handed to the owner, and every request recorded under its op name.

use crate::answer::{CallError, ErrorView};
use crate::control::RunControl;
use crate::limits::{
    WS_CONNECT_TIMEOUT, WS_OUTBOUND_FRAMES_MAX, WS_PUSH_FRAMES_MAX, WS_READ_BUFFER_BYTES, WS_REPLY_TIMEOUT,
};
use crate::sources::Sources;
use crate::stamp::now_us;
use crate::stats::{Outcome, Stats};
use crate::view;
use crate::wire::{self, EventView, Incoming, RelayView, ReplyData};
use futures_util::{SinkExt, StreamExt};
use pzo_protocol::request::AuthArgs;
use pzo_protocol::{ClientFrame, Codec, Request};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use uuid::Uuid;

/// The harness measurement of connecting and authenticating one socket.
pub const OP_CONNECT: &str = "ws.connect";
/// Check name for frames the harness could not decode.
const CHECK_FRAMES: &str = "server frames decode";
/// Check name for frames the server could not read.
const CHECK_READ: &str = "server reads our frames";

/// What every socket of a run shares.
#[derive(Debug, Clone)]
pub struct SocketParams {
    pub url: String,
    /// The server's address, resolved once.
    pub addr: SocketAddr,
    /// The local addresses sockets connect from.
    pub sources: Sources,
    pub codec: Codec,
    pub control: Arc<RunControl>,
    pub stats: Arc<Stats>,
}

/// A push from the server, stamped with its receipt time (`stamp::now_us`).
#[derive(Debug, Clone)]
pub struct Push {
    pub at_us: u64,
    pub kind: PushKind,
}

#[derive(Debug, Clone)]
pub enum PushKind {
    Event(EventView),
    Relay(RelayView),
}

type Waiter = oneshot::Sender<(Instant, Result<ReplyData, ErrorView>)>;

#[derive(Debug)]
struct Shared {
    pending: Mutex<HashMap<u32, Waiter>>,
    last_seq: AtomicU64,
    open: AtomicBool,
}

impl Shared {
    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Waiter>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One authenticated connection. Dropping it drops the TCP connection.
#[derive(Debug)]
pub struct Socket {
    shared: Arc<Shared>,
    out: mpsc::Sender<Message>,
    next_id: AtomicU32,
    params: SocketParams,
    tasks: [AbortHandle; 2],
    user_id: Uuid,
    session_seq: u64,
}

impl Drop for Socket {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// A connected socket and, when asked for, the stream of its pushes (which the owner must
/// drain: the reader waits when it is full).
pub type Connected = (Socket, Option<mpsc::Receiver<Push>>);

impl Socket {
    /// Connects, authenticates with `token`, and records the whole as `ws.connect`.
    pub async fn connect(params: &SocketParams, token: &str, forward_pushes: bool) -> Result<Connected, CallError> {
        let started = Instant::now();
        let result = tokio::time::timeout(WS_CONNECT_TIMEOUT, Self::open(params, token, forward_pushes)).await;
        let result = result.unwrap_or(Err(CallError::Timeout));
        match &result {
            Ok(_) => params.stats.record(OP_CONNECT, Outcome::Ok, Some(started.elapsed())),
            Err(error) => {
                if let Some(outcome) = error.outcome() {
                    params.stats.record(OP_CONNECT, outcome, None);
                }
            }
        }
        result
    }

    async fn open(params: &SocketParams, token: &str, forward_pushes: bool) -> Result<Connected, CallError> {
        if params.control.stop_requested() {
            return Err(CallError::Stopped);
        }
        let mut request = params.url.as_str().into_client_request().map_err(|e| CallError::Transport(e.to_string()))?;
        request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static(params.codec.protocol()));
        let tcp = params.sources.connect(params.addr).await.map_err(|e| CallError::Transport(e.to_string()))?;
        // tungstenite reserves 128 KiB of read buffer per socket by default: at 100,000 sockets
        // that is 12 GiB of address space and one mmap each (past vm.max_map_count). The
        // server's frames are small; the buffer still grows for a large one.
        let config = WebSocketConfig::default().read_buffer_size(WS_READ_BUFFER_BYTES);
        let (stream, _response) = tokio_tungstenite::client_async_with_config(request, tcp, Some(config))
            .await
            .map_err(|e| CallError::Transport(e.to_string()))?;
        let (sink, stream) = stream.split();
        let shared =
            Arc::new(Shared { pending: Mutex::default(), last_seq: AtomicU64::new(0), open: AtomicBool::new(true) });
        let (out, outbound) = mpsc::channel(WS_OUTBOUND_FRAMES_MAX);
        let (push_tx, push_rx) = if forward_pushes {
            let (tx, rx) = mpsc::channel(WS_PUSH_FRAMES_MAX);
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        let writer = tokio::spawn(write_loop(sink, outbound)).abort_handle();
        let reader = tokio::spawn(read_loop(stream, shared.clone(), push_tx, params.stats.clone())).abort_handle();
        let mut socket = Self {
            shared,
            out,
            next_id: AtomicU32::new(1),
            params: params.clone(),
            tasks: [writer, reader],
            user_id: Uuid::nil(),
            session_seq: 0,
        };
        let data = socket.request(Request::Auth(AuthArgs { token: token.to_owned() })).await?;
        let (user_id, last_seq) = view::session(&data).ok_or_else(|| CallError::Shape("auth reply".into()))?;
        socket.user_id = user_id;
        socket.session_seq = last_seq;
        Ok((socket, push_rx))
    }

    pub fn user_id(&self) -> Uuid {
        self.user_id
    }

    /// The newest event `seq` when the socket authenticated.
    pub fn session_seq(&self) -> u64 {
        self.session_seq
    }

    /// The highest event `seq` pushed to this socket (0 before any).
    pub fn last_pushed_seq(&self) -> u64 {
        self.shared.last_seq.load(Ordering::Relaxed)
    }

    /// Whether the connection is still up, as far as the reader knows.
    pub fn is_open(&self) -> bool {
        self.shared.open.load(Ordering::Relaxed)
    }

    /// Drops the connection at once, without a close handshake (a network failure).
    pub fn drop_connection(&self) {
        for task in &self.tasks {
            task.abort();
        }
        self.shared.open.store(false, Ordering::Relaxed);
        self.shared.pending().clear();
    }

    /// Closes with a normal close frame.
    pub async fn close(&self) {
        let _ = tokio::time::timeout(WS_REPLY_TIMEOUT, self.out.send(Message::Close(None))).await;
    }

    /// Sends `request`, waits for its reply, and records it under the op name.
    pub async fn request(&self, request: Request) -> Result<ReplyData, CallError> {
        let op = request.name();
        let started = Instant::now();
        let result = self.exchange(request).await;
        let stats = &self.params.stats;
        match result {
            Ok((at, Ok(data))) => {
                stats.record(op, Outcome::Ok, Some(at.saturating_duration_since(started)));
                Ok(data)
            }
            Ok((at, Err(error))) => {
                let error = CallError::from_answer(error);
                if let Some(outcome) = error.outcome() {
                    stats.record(op, outcome, Some(at.saturating_duration_since(started)));
                }
                Err(error)
            }
            Err(error) => {
                if let Some(outcome) = error.outcome() {
                    stats.record(op, outcome, None);
                }
                Err(error)
            }
        }
    }

    async fn exchange(&self, request: Request) -> Result<(Instant, Result<ReplyData, ErrorView>), CallError> {
        if !self.is_open() {
            return Err(CallError::Transport("socket closed".into()));
        }
        if !self.params.control.take_request() {
            return Err(CallError::Stopped);
        }
        let op = request.name();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let frame = ClientFrame { id, request };
        let message = match self.params.codec {
            Codec::Bincode => Message::binary(frame.encode_bincode()),
            Codec::Json => Message::text(frame.encode_json()),
        };
        let (tx, rx) = oneshot::channel();
        self.shared.pending().insert(id, tx);
        let exchange = async {
            self.out.send(message).await.map_err(|_| CallError::Transport("socket closed".into()))?;
            self.params.stats.sent(op);
            rx.await.map_err(|_| CallError::Transport("socket closed before the reply".into()))
        };
        let result = tokio::time::timeout(WS_REPLY_TIMEOUT, exchange).await.unwrap_or(Err(CallError::Timeout));
        if result.is_err() {
            self.shared.pending().remove(&id);
        }
        result
    }
}

type WsStream = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn write_loop(
    mut sink: futures_util::stream::SplitSink<WsStream, Message>,
    mut outbound: mpsc::Receiver<Message>,
) {
    while let Some(message) = outbound.recv().await {
        let closing = matches!(message, Message::Close(_));
        if sink.send(message).await.is_err() || closing {
            break;
        }
    }
    let _ = sink.close().await;
}

async fn read_loop(
    mut stream: futures_util::stream::SplitStream<WsStream>,
    shared: Arc<Shared>,
    mut pushes: Option<mpsc::Sender<Push>>,
    stats: Arc<Stats>,
) {
    while let Some(Ok(message)) = stream.next().await {
        let at = Instant::now();
        let at_us = now_us();
        let incoming = match &message {
            Message::Text(text) => wire::decode_text(text.as_str()),
            Message::Binary(bytes) => wire::decode_binary(bytes),
            Message::Close(_) => break,
            _ => continue,
        };
        let Some(incoming) = incoming else {
            stats.fail(CHECK_FRAMES, format!("undecodable frame of {} bytes", message.len()));
            continue;
        };
        let push = match incoming {
            Incoming::Reply { re, result } => {
                if let Some(waiter) = shared.pending().remove(&re) {
                    let _ = waiter.send((at, result));
                }
                continue;
            }
            Incoming::Error(error) => {
                stats.fail(CHECK_READ, format!("server could not read a frame: {}", error.code));
                continue;
            }
            Incoming::Event(event) => {
                shared.last_seq.fetch_max(event.seq, Ordering::Relaxed);
                PushKind::Event(event)
            }
            Incoming::Relay(relay) => PushKind::Relay(relay),
        };
        if let Some(sender) = &pushes
            && sender.send(Push { at_us, kind: push }).await.is_err()
        {
            pushes = None;
        }
    }
    shared.open.store(false, Ordering::Relaxed);
    // Dropping the waiters wakes every request still waiting with "closed".
    shared.pending().clear();
}
