//! Named bounds of the contract, units last, shared by server, harness and clients.

/// Largest WebSocket frame the server reads; larger frames close the socket with 1009.
pub const WS_FRAME_BYTES_MAX: usize = 64 * 1024;
/// Most bytes a client decodes from one bincode server frame (counted as bincode's decode limit
/// counts them: in memory, not on the wire). A full resume page needs ~200 KiB.
pub const SERVER_FRAME_DECODE_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Largest HTTP request body; larger bodies answer `PAYLOAD_TOO_LARGE`.
pub const HTTP_BODY_BYTES_MAX: usize = 64 * 1024;
/// Largest opaque payload relayed by `games.send`.
pub const RELAY_PAYLOAD_BYTES_MAX: usize = 1024;
/// Default page size of every list.
pub const LIST_LIMIT_DEFAULT: u32 = 50;
/// Largest page size of every list; larger `limit` values are clamped to it.
pub const LIST_LIMIT_MAX: u32 = 200;
/// Most events one `events.resume` answer carries; the client asks again from `next_seq`.
pub const RESUME_EVENTS_MAX: u32 = 1000;
/// Seconds a socket may stay unauthenticated before it is closed.
pub const WS_AUTH_TIMEOUT_SECS: u64 = 10;
/// Fewest and most seats of a game lobby.
pub const GAME_PLAYERS_MIN: u32 = 2;
pub const GAME_PLAYERS_MAX: u32 = 64;
/// Longest game name, in characters.
pub const GAME_NAME_CHARS_MAX: usize = 64;
/// Display names are 2..=32 characters.
pub const DISPLAY_NAME_CHARS_MIN: usize = 2;
pub const DISPLAY_NAME_CHARS_MAX: usize = 32;
/// Passwords are at least 8 characters and at most 256 bytes (the upper bound keeps hashing cost
/// bounded).
pub const PASSWORD_CHARS_MIN: usize = 8;
pub const PASSWORD_BYTES_MAX: usize = 256;
/// Longest email address accepted (RFC 5321 path limit).
pub const EMAIL_BYTES_MAX: usize = 254;
/// Longest idempotency key.
pub const IDEMPOTENCY_KEY_BYTES_MAX: usize = 128;
/// Most results one `games.finish` carries (one per seat).
pub const GAME_RESULTS_MAX: usize = GAME_PLAYERS_MAX as usize;
/// Largest admission wave of one command.
pub const ADMIT_WAVE_MAX: u32 = 100_000;

const _: () = assert!(LIST_LIMIT_DEFAULT <= LIST_LIMIT_MAX);
const _: () = assert!(RELAY_PAYLOAD_BYTES_MAX < WS_FRAME_BYTES_MAX);
const _: () = assert!(WS_FRAME_BYTES_MAX <= SERVER_FRAME_DECODE_BYTES_MAX);
const _: () = assert!(GAME_PLAYERS_MIN <= GAME_PLAYERS_MAX);
