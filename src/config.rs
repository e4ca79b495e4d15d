//! Server configuration from environment variables (SPEC section 10).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Requests per second a player's socket may send (burst: twice that). A game client that sends
/// more than 200 a second is broken or abusive; relays at 20-60 Hz fit well under it.
pub const WS_RATE_PER_SEC_DEFAULT: u32 = 200;
/// Requests per second per player token over HTTP (burst: twice that); calls without a token get
/// five times that per address. The operator token is not limited.
pub const HTTP_RATE_PER_SEC_DEFAULT: u32 = 200;

/// Everything the server reads from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `PZO_BIND`: where HTTP and sockets listen (port 0 picks a free one).
    pub bind: SocketAddr,
    /// `DATABASE_URL`: PostgreSQL; unset starts the embedded cluster.
    pub database_url: Option<String>,
    /// `PZO_DATA_DIR`: where the embedded cluster lives.
    pub data_dir: PathBuf,
    /// `PZO_ADMIN_TOKEN`: the operator token; generated and printed when unset.
    pub admin_token: Option<String>,
    /// `PZO_FOUNDER_CAP`: how many admitted players get founder numbers.
    pub founder_cap: u32,
    /// `PZO_SEASON0_CAPACITY`: how many players Season 0 admits in all (reported only).
    pub season0_capacity: u64,
    /// `PZO_REFERRAL_BOOST`: places a referrer moves up per referral.
    pub referral_boost: u32,
    /// `PZO_GAME_GRACE_SECS`: how long a disconnected member keeps a seat.
    pub game_grace: Duration,
    /// `PZO_TOKEN_TTL_HOURS`: lifetime of a player token.
    pub token_ttl: Duration,
    /// `PZO_WS_RATE_PER_SEC`: sustained requests per second per socket (burst: twice that).
    pub ws_rate_per_sec: u32,
    /// `PZO_HTTP_RATE_PER_SEC`: sustained requests per second per player token (or address) over
    /// HTTP (burst: twice that); the operator token is not limited.
    pub http_rate_per_sec: u32,
    /// `PZO_ARGON2_M_KIB`: argon2id memory cost (OWASP: 19456 KiB).
    pub argon2_memory_kib: u32,
    /// `PZO_AUTO_ADMIT`: capacity-aware admission on at start (`waitlist.auto` changes it live).
    pub auto_admit: bool,
    /// `PZO_AUTO_ADMIT_WAVE`: players per capacity-aware wave.
    pub auto_admit_wave: u64,
    /// `PZO_AUTO_ADMIT_INTERVAL_MS`: time between capacity-aware admission decisions.
    pub auto_admit_interval: Duration,
    /// `PZO_LOG`: the tracing filter.
    pub log: String,
}

fn env_parse<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match std::env::var(name) {
        Ok(text) if !text.trim().is_empty() => {
            text.trim().parse().map_err(|_| format!("{name}={text} is not a valid value"))
        }
        _ => Ok(default),
    }
}

fn env_opt(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Config {
    /// Reads the environment; an unparsable value is an error naming the variable.
    pub fn from_env() -> Result<Self, String> {
        Ok(Self {
            bind: env_parse("PZO_BIND", SocketAddr::from(([127, 0, 0, 1], 8080)))?,
            database_url: env_opt("DATABASE_URL"),
            data_dir: PathBuf::from(env_opt("PZO_DATA_DIR").unwrap_or_else(|| "./data".to_owned())),
            admin_token: env_opt("PZO_ADMIN_TOKEN"),
            founder_cap: env_parse("PZO_FOUNDER_CAP", 1000)?,
            season0_capacity: env_parse("PZO_SEASON0_CAPACITY", 100_000)?,
            referral_boost: env_parse("PZO_REFERRAL_BOOST", 10)?,
            game_grace: Duration::from_secs(env_parse("PZO_GAME_GRACE_SECS", 30)?),
            token_ttl: Duration::from_secs(3600 * env_parse::<u64>("PZO_TOKEN_TTL_HOURS", 24 * 7)?),
            ws_rate_per_sec: env_parse("PZO_WS_RATE_PER_SEC", WS_RATE_PER_SEC_DEFAULT)?,
            http_rate_per_sec: env_parse("PZO_HTTP_RATE_PER_SEC", HTTP_RATE_PER_SEC_DEFAULT)?,
            argon2_memory_kib: env_parse("PZO_ARGON2_M_KIB", 19_456)?,
            auto_admit: env_parse("PZO_AUTO_ADMIT", false)?,
            auto_admit_wave: env_parse("PZO_AUTO_ADMIT_WAVE", 100)?,
            auto_admit_interval: Duration::from_millis(env_parse("PZO_AUTO_ADMIT_INTERVAL_MS", 5_000)?),
            log: env_opt("PZO_LOG").unwrap_or_else(|| "info".to_owned()),
        })
    }
}
