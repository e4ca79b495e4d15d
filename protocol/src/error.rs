//! The contract's error codes (SPEC section 8): one table mapping each code to its HTTP status,
//! retryability, meaning and advice, shared by HTTP, sockets and the docs pages.

use serde::{Deserialize, Serialize};

macro_rules! error_codes {
    ( $( $code:ident = $status:literal, $retry:literal, $meaning:literal, $advice:literal; )+ ) => {
        /// A stable, documented error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        #[allow(non_camel_case_types)] // the wire names are the contract's SCREAMING_CASE codes
        pub enum ErrorCode { $( $code ),+ }

        impl ErrorCode {
            /// Every code, in the order of the docs page.
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$code ),+ ];

            /// The code as written on the wire.
            pub fn as_str(self) -> &'static str {
                match self { $( ErrorCode::$code => stringify!($code) ),+ }
            }
            /// The HTTP status this code answers with.
            pub fn status(self) -> u16 {
                match self { $( ErrorCode::$code => $status ),+ }
            }
            /// Whether the same request may succeed if retried unchanged.
            pub fn retryable(self) -> bool {
                match self { $( ErrorCode::$code => $retry ),+ }
            }
            /// One sentence on what the code means (the default message).
            pub fn meaning(self) -> &'static str {
                match self { $( ErrorCode::$code => $meaning ),+ }
            }
            /// One sentence on what a client should do about it.
            pub fn advice(self) -> &'static str {
                match self { $( ErrorCode::$code => $advice ),+ }
            }
        }
    };
}

error_codes! {
    BAD_REQUEST = 400, false, "The request is malformed: bad JSON, wrong types or an unknown op.", "Fix the request; see the operation's schema in /openapi.json.";
    VALIDATION_FAILED = 422, false, "A field has a value outside its rules.", "Read details.field and details.reason, correct the value and send again.";
    UNAUTHENTICATED = 401, false, "The bearer token is missing, unknown or expired.", "Log in again to get a fresh token.";
    INVALID_CREDENTIALS = 401, false, "The email or the password is wrong.", "Check both; the answer does not say which one was wrong.";
    FORBIDDEN = 403, false, "The caller may not perform this operation.", "Use an account (or the admin token) that has the right.";
    NOT_FOUND = 404, false, "No resource has this id.", "Check the id; list the collection to find valid ids.";
    PAYLOAD_TOO_LARGE = 413, false, "The request body or frame is larger than allowed.", "Send less than 64 KiB per request.";
    RATE_LIMITED = 429, true, "Too many requests from this caller.", "Wait for Retry-After (details.retry_after_ms) and retry.";
    EMAIL_TAKEN = 409, false, "An account with this email already exists (case-insensitive).", "Log in instead, or register another email.";
    ALREADY_ON_WAITLIST = 409, false, "The player already has a waitlist entry.", "Read it with GET /waitlist/status.";
    IN_ACTIVE_GAME = 409, false, "The player is a member of an open or started game.", "Leave the game first, then retry.";
    NOT_ADMITTED = 403, false, "The player has not been admitted into Season 0 yet.", "Wait for admission (the SEASON0_JOINED event).";
    GAME_FULL = 409, false, "The game has no free seat.", "Join or create another game.";
    GAME_NOT_OPEN = 409, false, "The game is started, finished or closed.", "Join an open game.";
    ALREADY_IN_GAME = 409, false, "The player is already in a game.", "Leave that game first.";
    NOT_IN_GAME = 409, false, "The player is not a member of this game.", "Join the game first.";
    NOT_HOST = 403, false, "Only the host may do this.", "Ask the host (details.host_id).";
    NOT_ENOUGH_PLAYERS = 409, false, "The game has fewer players than its minimum.", "Wait for more players to join.";
    ITEM_NOT_IN_INVENTORY = 409, false, "The player holds none of this item.", "Check GET /inventory.";
    INSUFFICIENT_QUANTITY = 409, false, "The player holds fewer of this item than asked.", "Ask for at most details.held.";
    INSUFFICIENT_FUNDS = 409, false, "The balance is lower than the amount.", "Deposit first or ask for at most details.balance.";
    AMOUNT_OUT_OF_RANGE = 422, false, "The amount or quantity is not in 1..=10^12, or a balance would pass 2^53-1.", "Send an integer in range.";
    CONDITIONS_NOT_MET = 409, false, "The achievement's condition is not met yet.", "Compare details.current with details.required.";
    ALREADY_UNLOCKED = 409, false, "The achievement or cosmetic is already owned.", "Nothing to do.";
    ACHIEVEMENT_REQUIRED = 409, false, "The cosmetic needs an achievement the player has not unlocked.", "Unlock details.achievement_id first.";
    IDEMPOTENCY_KEY_REUSED = 422, false, "This idempotency key was used with a different request.", "Use a fresh key for a different request.";
    SERVICE_UNAVAILABLE = 503, true, "The database is unreachable or the journal is overloaded; nothing was applied.", "Retry with the same idempotency key after a short backoff.";
    INTERNAL = 500, true, "An unexpected server fault; nothing was applied.", "Retry; report the request_id if it persists.";
}

/// Typed details of an error. JSON carries only the payload (an object), never the tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(untagged))] // JSON carries the bare payload
pub enum ErrorDetails {
    None(NoDetails),
    Field(FieldDetails),
    Progress(ProgressDetails),
    Funds(FundsDetails),
    Quantity(QuantityDetails),
    Achievement(AchievementDetails),
    Host(HostDetails),
    RetryAfter(RetryAfterDetails),
    Players(PlayersDetails),
}

/// No details: `{}` in JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NoDetails {}

/// Which field failed validation, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FieldDetails {
    pub field: String,
    pub reason: String,
}

/// How far an achievement's condition is from being met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ProgressDetails {
    pub current: i64,
    pub required: i64,
}

/// The balance that was too low for the amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FundsDetails {
    pub currency_id: String,
    pub balance: i64,
    pub required: i64,
}

/// The quantity held against the quantity asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct QuantityDetails {
    pub item_id: String,
    pub held: i64,
    pub requested: i64,
}

/// The achievement a cosmetic needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AchievementDetails {
    pub achievement_id: String,
}

/// The current host of a game.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HostDetails {
    pub host_id: uuid::Uuid,
}

/// How long to wait before retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RetryAfterDetails {
    pub retry_after_ms: u64,
}

/// Seats of a game against its bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PlayersDetails {
    pub players: u32,
    pub min_players: u32,
    pub max_players: u32,
}

impl serde::Serialize for crate::JsonData<'_, ErrorDetails> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            ErrorDetails::None(d) => d.serialize(s),
            ErrorDetails::Field(d) => d.serialize(s),
            ErrorDetails::Progress(d) => d.serialize(s),
            ErrorDetails::Funds(d) => d.serialize(s),
            ErrorDetails::Quantity(d) => d.serialize(s),
            ErrorDetails::Achievement(d) => d.serialize(s),
            ErrorDetails::Host(d) => d.serialize(s),
            ErrorDetails::RetryAfter(d) => d.serialize(s),
            ErrorDetails::Players(d) => d.serialize(s),
        }
    }
}

/// A domain error: a code, a human message and typed details. The one error value every
/// boundary passes outward; HTTP and sockets render it as [`ErrorBody`].
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: ErrorDetails,
}

impl ApiError {
    /// An error with the code's default message and no details.
    pub fn new(code: ErrorCode) -> Self {
        Self { code, message: code.meaning().to_owned(), details: ErrorDetails::None(NoDetails {}) }
    }
    /// An error with a specific message.
    pub fn with_message(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), details: ErrorDetails::None(NoDetails {}) }
    }
    /// Adds typed details.
    pub fn details(mut self, details: ErrorDetails) -> Self {
        self.details = details;
        self
    }
    /// `VALIDATION_FAILED` naming the field and the reason.
    pub fn validation(field: &str, reason: &str) -> Self {
        Self::with_message(ErrorCode::VALIDATION_FAILED, format!("{field}: {reason}"))
            .details(ErrorDetails::Field(FieldDetails { field: field.to_owned(), reason: reason.to_owned() }))
    }
    /// `NOT_FOUND` naming what was missing.
    pub fn not_found(what: &str) -> Self {
        Self::with_message(ErrorCode::NOT_FOUND, format!("{what} not found"))
    }
    /// The wire form of this error.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code,
            message: self.message.clone(),
            status: self.code.status(),
            retryable: self.code.retryable(),
            details: self.details.clone(),
            docs: format!("/docs/errors#{}", self.code.as_str()),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<ErrorCode> for ApiError {
    fn from(code: ErrorCode) -> Self {
        Self::new(code)
    }
}

/// The error object of HTTP answers and socket replies (SPEC section 4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    pub status: u16,
    pub retryable: bool,
    pub details: ErrorDetails,
    pub docs: String,
}

/// The JSON shape of [`ErrorBody`]: `details` is the bare payload object.
#[derive(Serialize)]
pub struct ErrorBodyJson<'a> {
    pub code: &'static str,
    pub message: &'a str,
    pub status: u16,
    pub retryable: bool,
    pub details: crate::JsonData<'a, ErrorDetails>,
    pub docs: &'a str,
}

impl ErrorBody {
    /// The contract's JSON rendering.
    pub fn json(&self) -> ErrorBodyJson<'_> {
        ErrorBodyJson {
            code: self.code.as_str(),
            message: &self.message,
            status: self.status,
            retryable: self.retryable,
            details: crate::JsonData(&self.details),
            docs: &self.docs,
        }
    }
}
