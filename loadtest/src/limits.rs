//! Named bounds of the harness, units last, so that every run stops by itself and every queue
//! it holds is bounded.

use std::time::Duration;

/// Most simulated players in one run.
pub const PLAYERS_MAX: u32 = 100_000;
/// Highest per-player rate of `--rate`, in operations (or messages) per second.
pub const RATE_PER_PLAYER_MAX: f64 = 1_000.0;
/// Requests one run may send when `--max-requests` is not given.
pub const REQUESTS_MAX_DEFAULT: u64 = 5_000_000;
/// Registrations in flight at once: argon2 hashing makes each one slow and CPU-heavy.
pub const REGISTER_IN_FLIGHT_MAX: usize = 16;
/// Other setup calls (waitlist joins, admin deposits, admissions) in flight at once.
pub const SETUP_IN_FLIGHT_MAX: usize = 32;
/// Extra time past `ramp + duration` after which the run is cut off whatever it is doing.
pub const HARD_CAP_GRACE: Duration = Duration::from_secs(30);
/// Time allowed for setup (registration, admission) when `--setup-timeout` is not given.
pub const SETUP_TIMEOUT_DEFAULT: &str = "5m";
/// How long one socket request may wait for its reply.
pub const WS_REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one socket may take to connect and authenticate.
pub const WS_CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long one HTTP request may take (registration hashes a password under load).
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// Frames queued for one socket's writer.
pub const WS_OUTBOUND_FRAMES_MAX: usize = 256;
/// Read buffer reserved per socket (grows past it for a larger frame). Small on purpose:
/// tungstenite zero-fills the free part of this buffer before every read, and at 8 KiB that
/// memset was 3.5% of the generator's CPU in a 5,000-player season0 run, for frames of a few
/// hundred bytes (docs/benchmarks.md).
pub const WS_READ_BUFFER_BYTES: usize = 1024;
/// Pushes (events, relays) queued for one socket's consumer before the reader waits.
pub const WS_PUSH_FRAMES_MAX: usize = 4_096;
/// Sockets per loopback source address when `--source-ips` is automatic: below the ~28,000
/// ephemeral ports of one address, with room for the HTTP client and sockets in TIME_WAIT.
pub const SOCKETS_PER_SOURCE_MAX: u32 = 20_000;
/// Most loopback source addresses (127.0.0.1 to 127.0.0.64).
pub const SOURCE_ADDRS_MAX: u32 = 64;
/// Failure details kept per correctness check; the rest are only counted.
pub const CHECK_DETAILS_MAX: usize = 10;
/// Seats of the lobbies the harness forms.
pub const LOBBY_SEATS: usize = 8;
/// Players admitted by one admin wave.
pub const ADMIT_WAVE_PLAYERS_MAX: u32 = 1_000;
/// How long receivers keep listening after senders stop, before unreceived relays count as lost.
pub const RELAY_DRAIN: Duration = Duration::from_secs(2);
/// Pages one `events.resume` catch-up may read before the harness gives up on it.
pub const RESUME_PAGES_MAX: u32 = 100;
/// Times an unanswered withdrawal is retried with its idempotency key to learn its outcome.
pub const RESOLVE_ATTEMPTS_MAX: u32 = 3;

const _: () = assert!(ADMIT_WAVE_PLAYERS_MAX <= pzo_protocol::limits::ADMIT_WAVE_MAX);
const _: () = assert!(LOBBY_SEATS as u32 <= pzo_protocol::limits::GAME_PLAYERS_MAX);
const _: () = assert!(LOBBY_SEATS as u32 >= pzo_protocol::limits::GAME_PLAYERS_MIN);
const _: () = assert!(REGISTER_IN_FLIGHT_MAX <= SETUP_IN_FLIGHT_MAX);
