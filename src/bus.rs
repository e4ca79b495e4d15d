//! The event bus: who is connected, and fan-out of committed events and relays to their
//! sockets. Every send is a bounded `try_send`; a socket whose queue is full is told to close
//! (it resumes by `seq` when it comes back), so a slow reader never slows the others.

use bytes::Bytes;
use dashmap::DashMap;
use pzo_actors::effect::Audience;
use pzo_protocol::{Codec, Event, ServerFrame, UserId};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use tokio::sync::{Notify, mpsc};

/// Frames queued per socket before it counts as too slow and is disconnected.
pub const SOCKET_QUEUE_FRAMES_MAX: usize = 1024;

/// A frame shared by every socket that receives it, encoded at most once per codec.
pub struct SharedFrame {
    pub frame: ServerFrame,
    pub created: Instant,
    json: OnceLock<Bytes>,
    bincode: OnceLock<Bytes>,
}

impl SharedFrame {
    pub fn new(frame: ServerFrame) -> Arc<Self> {
        Arc::new(Self { frame, created: Instant::now(), json: OnceLock::new(), bincode: OnceLock::new() })
    }
    /// The encoded bytes for `codec` (text for JSON, binary for bincode).
    pub fn encoded(&self, codec: Codec) -> Bytes {
        match codec {
            Codec::Json => self.json.get_or_init(|| Bytes::from(self.frame.encode_json())).clone(),
            Codec::Bincode => self.bincode.get_or_init(|| Bytes::from(self.frame.encode_bincode())).clone(),
        }
    }
    pub fn is_event(&self) -> bool {
        matches!(self.frame, ServerFrame::Event(_))
    }
}

/// The sending side of one socket.
#[derive(Clone)]
pub struct SocketHandle {
    pub id: u64,
    pub user_id: Option<UserId>,
    pub tx: mpsc::Sender<Arc<SharedFrame>>,
    /// Notified to make the socket close (slow reader, kick, shutdown).
    pub kill: Arc<Notify>,
}

impl SocketHandle {
    /// Queues a frame; a full queue marks the socket for disconnection.
    pub fn push(&self, frame: &Arc<SharedFrame>) -> bool {
        match self.tx.try_send(frame.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                metrics::counter!("pzo_ws_slow_disconnects_total").increment(1);
                self.kill.notify_one();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

/// What an admin socket's event tail lets through.
#[derive(Debug, Clone, Default)]
pub struct TailFilter {
    pub types: Option<Vec<String>>,
    pub user_id: Option<UserId>,
    pub game_id: Option<uuid::Uuid>,
}

impl TailFilter {
    fn admits(&self, event: &Event, audience: &Audience) -> bool {
        let kind_ok = self.types.as_ref().is_none_or(|t| t.iter().any(|k| k == event.kind()));
        let user_ok = self.user_id.is_none_or(|u| audience.users.contains(&u));
        let game_ok = self.game_id.is_none_or(|g| event_game(event) == Some(g));
        kind_ok && user_ok && game_ok
    }
}

fn event_game(event: &Event) -> Option<uuid::Uuid> {
    use pzo_protocol::EventData as E;
    match &event.data {
        E::GameCreated(e) => Some(e.game_id),
        E::GameJoined(e) => Some(e.game_id),
        E::GameLeft(e) => Some(e.game_id),
        E::GameStarted(e) => Some(e.game_id),
        E::GameFinished(e) => Some(e.game_id),
        _ => None,
    }
}

/// Every connected socket, by player, by subscribed leaderboard and by admin tail.
pub struct Bus {
    players: DashMap<UserId, Vec<SocketHandle>>,
    boards: DashMap<String, Vec<SocketHandle>>,
    tails: DashMap<u64, (SocketHandle, TailFilter)>,
    /// Sockets not yet authenticated (in none of the maps above), by id: only so that shutdown
    /// can close them too.
    anonymous: DashMap<u64, Arc<Notify>>,
    next_socket_id: AtomicU64,
    pub events_published: AtomicU64,
    /// Set on shutdown: sockets then close with "going away".
    pub shutting_down: std::sync::atomic::AtomicBool,
    /// (when, count then, last rate) for the events/s figure.
    rate_mark: std::sync::Mutex<(Instant, u64, f64)>,
}

impl Default for Bus {
    fn default() -> Self {
        Self {
            players: DashMap::new(),
            boards: DashMap::new(),
            tails: DashMap::new(),
            anonymous: DashMap::new(),
            next_socket_id: AtomicU64::new(0),
            events_published: AtomicU64::new(0),
            shutting_down: std::sync::atomic::AtomicBool::new(false),
            rate_mark: std::sync::Mutex::new((Instant::now(), 0, 0.0)),
        }
    }
}

impl Bus {
    pub fn next_socket_id(&self) -> u64 {
        self.next_socket_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Registers a socket that has not authenticated yet. Opened after shutdown began, it is
    /// told to close at once.
    pub fn add_anonymous_socket(&self, socket_id: u64, kill: Arc<Notify>) {
        self.anonymous.insert(socket_id, kill.clone());
        if self.shutting_down.load(Ordering::SeqCst) {
            kill.notify_one();
        }
    }

    /// The socket authenticated: it is in the player or tail map from now on (call this after
    /// adding it there). Should shutdown have begun meanwhile, `close_all` may have walked the
    /// player map before the socket was in it and the anonymous map after it left: the socket
    /// is told to close here instead.
    pub fn remove_anonymous_socket(&self, socket_id: u64) {
        if let Some((_, kill)) = self.anonymous.remove(&socket_id) {
            if self.shutting_down.load(Ordering::SeqCst) {
                kill.notify_one();
            }
        }
    }

    pub fn add_player_socket(&self, user_id: UserId, handle: SocketHandle) {
        // Most players hold one socket: room for exactly one (a Vec's first push reserves four).
        self.players.entry(user_id).or_insert_with(|| Vec::with_capacity(1)).push(handle);
    }

    /// Removes a socket everywhere; returns how many sockets the player still has.
    pub fn remove_socket(&self, socket_id: u64, user_id: Option<UserId>) -> usize {
        let mut left = 0;
        if let Some(user_id) = user_id {
            self.players.remove_if_mut(&user_id, |_, sockets| {
                sockets.retain(|s| s.id != socket_id);
                left = sockets.len();
                sockets.is_empty()
            });
        }
        for mut board in self.boards.iter_mut() {
            board.retain(|s| s.id != socket_id);
        }
        self.tails.remove(&socket_id);
        self.anonymous.remove(&socket_id);
        left
    }

    pub fn subscribe_board(&self, board: &str, handle: SocketHandle) {
        let mut sockets = self.boards.entry(board.to_owned()).or_default();
        if !sockets.iter().any(|s| s.id == handle.id) {
            sockets.push(handle);
        }
    }

    pub fn set_tail(&self, handle: SocketHandle, filter: TailFilter) {
        self.tails.insert(handle.id, (handle, filter));
    }

    pub fn player_sockets(&self, user_id: UserId) -> Vec<SocketHandle> {
        self.players.get(&user_id).map(|s| s.clone()).unwrap_or_default()
    }

    pub fn player_socket_count(&self, user_id: UserId) -> usize {
        self.players.get(&user_id).map_or(0, |s| s.len())
    }

    pub fn players_online(&self) -> usize {
        self.players.len()
    }

    /// Open sockets of players plus admin tails (each player socket counted once).
    pub fn socket_count(&self) -> u64 {
        self.players.iter().map(|s| s.len() as u64).sum::<u64>() + self.tails.len() as u64
    }

    /// Events published per second over the last completed second.
    pub fn events_rate(&self) -> f64 {
        let now = self.events_published.load(Ordering::Relaxed);
        let mut last = self.rate_mark.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let elapsed = last.0.elapsed().as_secs_f64();
        if elapsed >= 1.0 {
            last.2 = (now - last.1) as f64 / elapsed;
            *last = (Instant::now(), now, last.2);
        }
        last.2
    }

    /// Closes every socket of a player; returns how many.
    pub fn kick(&self, user_id: UserId) -> usize {
        let sockets = self.player_sockets(user_id);
        for socket in &sockets {
            socket.kill.notify_one();
        }
        sockets.len()
    }

    /// Asks every socket to close (shutdown).
    pub fn close_all(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        for sockets in self.players.iter() {
            for socket in sockets.iter() {
                socket.kill.notify_one();
            }
        }
        for tail in self.tails.iter() {
            tail.value().0.kill.notify_one();
        }
        for kill in self.anonymous.iter() {
            kill.value().notify_one();
        }
    }

    /// Pushes a committed event to its audience and to the admin tails.
    pub fn publish(&self, event: &Arc<Event>, audience: &Audience) {
        self.events_published.fetch_add(1, Ordering::Relaxed);
        let frame = SharedFrame::new(ServerFrame::Event(event.clone()));
        for user in &audience.users {
            if let Some(sockets) = self.players.get(user) {
                for socket in sockets.iter() {
                    socket.push(&frame);
                }
            }
        }
        if let Some(board) = &audience.leaderboard {
            if let Some(sockets) = self.boards.get(board) {
                for socket in sockets.iter() {
                    socket.push(&frame);
                }
            }
        }
        for tail in self.tails.iter() {
            let (socket, filter) = tail.value();
            if filter.admits(event, audience) {
                socket.push(&frame);
            }
        }
    }

    /// Pushes one shared frame to the sockets of the given players; returns how many got it.
    pub fn push_to_players(&self, users: &[UserId], frame: &Arc<SharedFrame>) -> u32 {
        let mut delivered = 0;
        for user in users {
            if let Some(sockets) = self.players.get(user) {
                for socket in sockets.iter() {
                    delivered += u32::from(socket.push(frame));
                }
            }
        }
        delivered
    }
}
