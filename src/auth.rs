//! Credentials: argon2id password hashing on the blocking pool, random bearer tokens stored as
//! SHA-256, and the constant-time admin token check.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Who is calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Anonymous,
    Player(uuid::Uuid),
    Admin,
}

impl Caller {
    pub fn user_id(self) -> Option<uuid::Uuid> {
        match self {
            Self::Player(id) => Some(id),
            _ => None,
        }
    }
    pub fn is_admin(self) -> bool {
        self == Self::Admin
    }
}

/// argon2id with OWASP's parameters (m = 19 MiB, t = 2, p = 1) unless configured otherwise.
pub fn hasher(memory_kib: u32) -> Argon2<'static> {
    let params = Params::new(memory_kib.max(8), 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Password work waiting for a hashing thread; past this, registrations answer 503 at once.
pub const HASH_QUEUE_JOBS_MAX: usize = 1024;

type HashJob = Box<dyn FnOnce() + Send>;

/// A fixed pool of hashing threads, one per core. argon2id takes 19 MiB per hash: a bounded
/// pool bounds that memory (a growing blocking pool keeps a malloc arena per thread) and queues
/// the work fairly instead of oversubscribing the cores.
fn hash_pool() -> &'static std::sync::mpsc::SyncSender<HashJob> {
    static POOL: std::sync::OnceLock<std::sync::mpsc::SyncSender<HashJob>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<HashJob>(HASH_QUEUE_JOBS_MAX);
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        for index in 0..std::thread::available_parallelism().map_or(2, usize::from) {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new().name(format!("pzo-hash-{index}")).spawn(move || {
                loop {
                    let job = match rx.lock() {
                        Ok(guard) => guard.recv(),
                        Err(poisoned) => poisoned.into_inner().recv(),
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => break,
                    }
                }
            });
            if let Err(error) = spawned {
                tracing::error!(%error, "cannot start a password hashing thread");
            }
        }
        tx
    })
}

/// Runs password work on the hashing pool (never on an event-loop thread).
async fn on_hash_pool<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    let job: HashJob = Box::new(move || {
        let _ = reply.send(work());
    });
    hash_pool().try_send(job).map_err(|_| "the password hashing queue is full".to_owned())?;
    answer.await.map_err(|_| "the password hashing thread stopped".to_owned())
}

/// Hashes a password with a fresh salt.
pub async fn hash_password(password: String, memory_kib: u32) -> Result<String, String> {
    on_hash_pool(move || {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
        hasher(memory_kib).hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| e.to_string())
    })
    .await?
}

/// A well-formed hash of a random password: verifying against it costs what a real check costs,
/// so an unknown email answers as slowly as a wrong password.
pub const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$WJcSHQ9PSq8VvZJq9f3fR8PV2KnbZl0m7kKOoUwX1rQ";

/// Checks a password on the hashing pool.
pub async fn verify_password(password: String, hash: String, memory_kib: u32) -> bool {
    on_hash_pool(move || {
        PasswordHash::new(&hash)
            .is_ok_and(|parsed| hasher(memory_kib).verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .unwrap_or(false)
}

/// A new random bearer token (256 bits, URL-safe).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored for a token: its SHA-256.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Sessions most recently used, kept in memory so that authenticating a request or a socket
/// does not ask PostgreSQL each time (bounded; about 100 bytes each).
pub const SESSION_CACHE_ENTRIES_MAX: usize = 200_000;

/// Tokens the server issued or already looked up: SHA-256 of the token -> (player, expiry).
/// Sessions are never revoked before they expire (the contract has no logout), so an entry
/// stays true until its expiry, which every lookup still checks; a miss asks PostgreSQL.
pub struct SessionCache(quick_cache::sync::Cache<[u8; 32], (uuid::Uuid, pzo_protocol::Timestamp)>);

impl Default for SessionCache {
    fn default() -> Self {
        Self(quick_cache::sync::Cache::new(SESSION_CACHE_ENTRIES_MAX))
    }
}

impl SessionCache {
    pub fn get(&self, token_hash: &[u8]) -> Option<(uuid::Uuid, pzo_protocol::Timestamp)> {
        self.0.get(&<[u8; 32]>::try_from(token_hash).ok()?)
    }

    /// Remembers a committed session.
    pub fn insert(&self, token_hash: &[u8], user_id: uuid::Uuid, expires_at: pzo_protocol::Timestamp) {
        if let Ok(key) = <[u8; 32]>::try_from(token_hash) {
            self.0.insert(key, (user_id, expires_at));
        }
    }
}

/// Compares tokens in constant time.
pub fn token_eq(given: &str, expected: &str) -> bool {
    // Hash both first so the comparison time does not depend on the length either.
    Sha256::digest(given.as_bytes()).ct_eq(&Sha256::digest(expected.as_bytes())).into()
}

/// A request-hash for idempotency: the op and its canonical JSON arguments.
pub fn request_hash(op: &str, args_json: &str) -> Vec<u8> {
    let mut digest = Sha256::new();
    digest.update(op.as_bytes());
    digest.update([0]);
    digest.update(args_json.as_bytes());
    digest.finalize().to_vec()
}
