//! The one table of every operation (HTTP endpoints and socket ops) with its auth, error codes,
//! payload types, docs anchor and SLO class; routing, telemetry, `/slo`, `/openapi.json` and
//! `/docs` all read it, so they cannot drift apart.

use pzo_protocol::ErrorCode;
use serde::{Deserialize, Serialize};

/// The latency profile of an operation; it picks the operation's SLO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OpClass {
    /// Answered from actor memory.
    Read,
    /// A durable write: acknowledged after the journal's group commit.
    Write,
    /// Register and login: dominated by password hashing.
    Auth,
    /// Socket traffic that touches no state: relays and pings.
    Relay,
    /// Operator commands; an admission wave touches many players at once.
    Admin,
    /// Health, metrics, documents and socket upgrades.
    Ops,
}

impl OpClass {
    pub const ALL: [OpClass; 6] =
        [OpClass::Read, OpClass::Write, OpClass::Auth, OpClass::Relay, OpClass::Admin, OpClass::Ops];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Auth => "auth",
            Self::Relay => "relay",
            Self::Admin => "admin",
            Self::Ops => "ops",
        }
    }

    /// The objective of every operation of this class (see [`SLO_BY_CLASS`]).
    pub const fn slo(self) -> Slo {
        match self {
            Self::Read => SLO_READ,
            Self::Write => SLO_WRITE,
            Self::Auth => SLO_AUTH,
            Self::Relay => SLO_RELAY,
            Self::Admin => SLO_ADMIN,
            Self::Ops => SLO_OPS,
        }
    }
}

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Auth {
    /// Anyone, without a token.
    None,
    /// A player token.
    Player,
    /// The admin token only.
    Admin,
    /// A player acting on themself, or the admin token naming any player.
    PlayerOrAdmin,
}

impl Auth {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "anyone",
            Self::Player => "player",
            Self::Admin => "admin",
            Self::PlayerOrAdmin => "player or admin",
        }
    }
}

/// An operation's service level objective: latency percentiles, the share of server errors
/// allowed, and the throughput at which both must hold on the reference machine.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Slo {
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Largest share of 5xx / `SERVICE_UNAVAILABLE` answers.
    pub error_budget: f64,
    pub throughput_rps: f64,
}

/// SPEC section 9: 0.1% of calls may fail server-side.
pub const ERROR_BUDGET: f64 = 0.001;

// The starting points of SPEC section 9, to be tightened as the numbers improve. Reads are served
// from actor memory; writes wait for one group commit; register/login pay for argon2; relays and
// pings only cross the lobby actor; admin waves admit thousands of players in one command.
pub const SLO_READ: Slo = Slo { p50_ms: 2.0, p99_ms: 10.0, error_budget: ERROR_BUDGET, throughput_rps: 5000.0 };
pub const SLO_WRITE: Slo = Slo { p50_ms: 10.0, p99_ms: 50.0, error_budget: ERROR_BUDGET, throughput_rps: 2000.0 };
pub const SLO_AUTH: Slo = Slo { p50_ms: 60.0, p99_ms: 250.0, error_budget: ERROR_BUDGET, throughput_rps: 60.0 };
pub const SLO_RELAY: Slo = Slo { p50_ms: 2.0, p99_ms: 10.0, error_budget: ERROR_BUDGET, throughput_rps: 100_000.0 };
pub const SLO_ADMIN: Slo = Slo { p50_ms: 50.0, p99_ms: 500.0, error_budget: ERROR_BUDGET, throughput_rps: 10.0 };
pub const SLO_OPS: Slo = Slo { p50_ms: 5.0, p99_ms: 50.0, error_budget: ERROR_BUDGET, throughput_rps: 50.0 };

/// The SLO table of SPEC section 9, one row per class; every operation takes its class's row.
pub const SLO_BY_CLASS: [(OpClass, Slo); 6] = [
    (OpClass::Read, SLO_READ),
    (OpClass::Write, SLO_WRITE),
    (OpClass::Auth, SLO_AUTH),
    (OpClass::Relay, SLO_RELAY),
    (OpClass::Admin, SLO_ADMIN),
    (OpClass::Ops, SLO_OPS),
];

/// Event delivery, from the commit of an event to its write on a subscriber's socket. Its
/// throughput is events pushed per second: writes times their fan-out to lobby members.
pub const EVENT_DELIVERY_SLO: Slo =
    Slo { p50_ms: 10.0, p99_ms: 50.0, error_budget: ERROR_BUDGET, throughput_rps: 20_000.0 };

/// The telemetry name of event delivery (not an operation a client calls).
pub const EVENT_DELIVERY: &str = "event delivery";

/// One operation: an HTTP endpoint (`"POST /currency/withdraw"`) or a socket op
/// (`"ws currency.withdraw"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// The telemetry and SLO name: `"<METHOD> <path>"` or `"ws <op>"`.
    pub name: &'static str,
    pub method: Option<&'static str>,
    /// OpenAPI-style path template, `{id}` for path parameters.
    pub path: Option<&'static str>,
    pub ws_op: Option<&'static str>,
    pub class: OpClass,
    pub summary: &'static str,
    pub auth: Auth,
    /// Codes this operation can answer besides the generic ones ([`Operation::generic_errors`]).
    pub errors: &'static [ErrorCode],
    /// The request body (HTTP) or args (socket) schema, by type name; `None` when there is none.
    pub request: Option<&'static str>,
    /// The reply payload schema, by type name (the envelope's `data`).
    pub response: &'static str,
    /// The anchor on `/docs`, also the OpenAPI operationId and the envelope's `meta.docs`.
    pub docs_anchor: &'static str,
}

/// HTTP endpoints that answer 201 Created (SPEC section 5).
const CREATED: &[&str] = &["POST /users/register", "POST /waitlist", "POST /games"];

impl Operation {
    /// The objective of this operation.
    pub fn slo(&self) -> Slo {
        self.class.slo()
    }

    /// Whether this is an HTTP endpoint (else a socket op).
    pub fn is_http(&self) -> bool {
        self.method.is_some()
    }

    /// The status of a successful HTTP answer.
    pub fn success_status(&self) -> u16 {
        if CREATED.contains(&self.name) { 201 } else { 200 }
    }

    /// `/docs#<anchor>`, the envelope's `meta.docs`.
    pub fn docs_url(&self) -> String {
        format!("/docs#{}", self.docs_anchor)
    }

    /// The service this operation belongs to, for grouping in the documents.
    pub fn service(&self) -> &'static str {
        if self.ws_op == Some("events.tail") {
            return "Admin"; // an operator feed, though it shares the `events.` prefix
        }
        let key = match (self.path, self.ws_op) {
            (Some(path), _) => path.trim_start_matches('/').split('/').next().unwrap_or_default(),
            (None, Some(op)) => op.split('.').next().unwrap_or_default(),
            (None, None) => "",
        };
        match (key, self.path) {
            ("users", _) => "User",
            ("waitlist", _) => "Waitlist",
            ("games", _) => "Game",
            ("inventory", _) => "Inventory",
            ("currency", _) => "Currency",
            ("leaderboard", _) => "Leaderboard",
            ("achievements", _) => "Achievement",
            ("cosmetics", _) => "Cosmetic",
            ("ws", _) | ("admin", Some(_)) => "Sockets",
            ("auth" | "ping" | "events", _) => "Session",
            ("players" | "stats", _) => "Admin",
            _ => "Ops",
        }
    }

    /// Codes any call of this operation may answer, whatever it does: malformed input, rate
    /// limits, an overloaded journal, and the token checks its [`Auth`] implies.
    pub fn generic_errors(&self) -> Vec<ErrorCode> {
        let mut codes = vec![ErrorCode::BAD_REQUEST];
        if self.request.is_some() {
            codes.push(ErrorCode::PAYLOAD_TOO_LARGE);
        }
        if self.auth != Auth::None {
            // Any token may be the wrong kind (an admin token on a player op, a player acting on
            // another player's resource), and ids, cursors, limits and keys are checked.
            codes.extend([
                ErrorCode::UNAUTHENTICATED,
                ErrorCode::FORBIDDEN,
                ErrorCode::NOT_FOUND,
                ErrorCode::VALIDATION_FAILED,
            ]);
        }
        codes.extend([ErrorCode::RATE_LIMITED, ErrorCode::SERVICE_UNAVAILABLE, ErrorCode::INTERNAL]);
        codes
    }

    /// Every code this operation may answer: its own, then the generic ones, without repeats.
    pub fn all_errors(&self) -> Vec<ErrorCode> {
        let mut codes: Vec<ErrorCode> = self.errors.to_vec();
        for code in self.generic_errors() {
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
        codes
    }
}

/// Builds table rows; a macro (not a `const fn`) keeps each row one readable line of named parts.
macro_rules! http {
    ($method:literal $path:literal, $anchor:literal, $class:ident, $auth:ident, $request:expr, $response:literal,
     [$($error:ident),*], $summary:literal) => {
        Operation {
            name: concat!($method, " ", $path),
            method: Some($method),
            path: Some($path),
            ws_op: None,
            class: OpClass::$class,
            summary: $summary,
            auth: Auth::$auth,
            errors: &[$(ErrorCode::$error),*],
            request: $request,
            response: $response,
            docs_anchor: $anchor,
        }
    };
}

macro_rules! ws {
    ($op:literal, $class:ident, $auth:ident, $request:literal, $response:literal, [$($error:ident),*],
     $summary:literal) => {
        Operation {
            name: concat!("ws ", $op),
            method: None,
            path: None,
            ws_op: Some($op),
            class: OpClass::$class,
            summary: $summary,
            auth: Auth::$auth,
            errors: &[$(ErrorCode::$error),*],
            request: Some($request),
            response: $response,
            docs_anchor: concat!("ws-", $op),
        }
    };
}

/// Every operation of the contract: the HTTP endpoints of SPEC section 5, then every socket op of
/// [`pzo_protocol::Request::ALL_NAMES`].
#[rustfmt::skip] // one row per line reads as a table; rustfmt would explode each row
pub const OPERATIONS: &[Operation] = &[
    // User
    http!("POST" "/users/register", "post-users-register", Auth, None, Some("RegisterArgs"), "AuthReply",
        [EMAIL_TAKEN, VALIDATION_FAILED], "Register a player; returns the profile and a session token."),
    http!("POST" "/users/login", "post-users-login", Auth, None, Some("LoginArgs"), "AuthReply",
        [INVALID_CREDENTIALS, VALIDATION_FAILED], "Log in with email and password; returns a fresh token."),
    http!("GET" "/users", "get-users", Read, Player, None, "UsersPage",
        [VALIDATION_FAILED], "Public profiles, paginated."),
    http!("GET" "/users/{id}", "get-users-id", Read, Player, None, "UserReply",
        [NOT_FOUND], "A public profile; the player themself and admins also see email, preferences and season0."),
    http!("PATCH" "/users/{id}", "patch-users-id", Write, PlayerOrAdmin, Some("UpdatePreferencesArgs"), "UserReply",
        [NOT_FOUND, FORBIDDEN, VALIDATION_FAILED], "Update one's typed preferences (partial update)."),
    // Waitlist
    http!("POST" "/waitlist", "post-waitlist", Write, Player, Some("WaitlistJoinArgs"), "EntryReply",
        [ALREADY_ON_WAITLIST, VALIDATION_FAILED, IDEMPOTENCY_KEY_REUSED],
        "Join the Season 0 waitlist, optionally with a referral code."),
    http!("GET" "/waitlist", "get-waitlist", Read, Admin, None, "EntriesPage",
        [VALIDATION_FAILED], "Waitlist entries in order, filtered by status, paginated."),
    http!("GET" "/waitlist/status", "get-waitlist-status", Read, Player, None, "WaitlistStatusReply",
        [], "One's own entry and position, with waiting and admitted counts and the capacity."),
    http!("POST" "/waitlist/status", "post-waitlist-status", Admin, Admin, Some("WaitlistStatusBody"),
        "WaitlistStatusUpdateReply",
        [NOT_FOUND, VALIDATION_FAILED],
        "Admit the next n waiting players in order ({admit: n}), or set one entry's status."),
    http!("GET" "/waitlist/{id}", "get-waitlist-id", Read, PlayerOrAdmin, None, "EntryReply",
        [NOT_FOUND], "One waitlist entry with its live position (owner or admin)."),
    http!("DELETE" "/waitlist/{id}", "delete-waitlist-id", Write, PlayerOrAdmin, None, "EntryReply",
        [NOT_FOUND, IN_ACTIVE_GAME], "Remove a waitlist entry (owner or admin)."),
    // Game
    http!("GET" "/games", "get-games", Read, Player, None, "GamesPage",
        [VALIDATION_FAILED], "Game lobbies, filtered by status, paginated."),
    http!("POST" "/games", "post-games", Write, Player, Some("CreateGameArgs"), "GameReply",
        [NOT_ADMITTED, ALREADY_IN_GAME, VALIDATION_FAILED],
        "Create a lobby; the creator is its host and first member."),
    http!("GET" "/games/{id}", "get-games-id", Read, Player, None, "GameReply",
        [NOT_FOUND], "One lobby with its players."),
    http!("POST" "/games/join", "post-games-join", Write, Player, Some("GameActionArgs"), "GameReply",
        [NOT_FOUND, NOT_ADMITTED, GAME_FULL, GAME_NOT_OPEN, ALREADY_IN_GAME], "Join an open lobby."),
    http!("POST" "/games/leave", "post-games-leave", Write, Player, Some("GameActionArgs"), "GameReply",
        [NOT_FOUND, NOT_IN_GAME], "Leave a lobby; the host passes to the earliest member left."),
    http!("POST" "/games/start", "post-games-start", Write, Player, Some("GameActionArgs"), "GameReply",
        [NOT_FOUND, NOT_IN_GAME, NOT_HOST, NOT_ENOUGH_PLAYERS, GAME_NOT_OPEN],
        "Start a lobby (host only, at least min_players)."),
    http!("POST" "/games/finish", "post-games-finish", Write, Admin, Some("FinishGameArgs"), "GameReply",
        [NOT_FOUND, GAME_NOT_OPEN, NOT_IN_GAME, VALIDATION_FAILED],
        "Record a started game's results; scores go to the season0 leaderboard."),
    http!("POST" "/games/close", "post-games-close", Admin, Admin, Some("GameIdArgs"), "GameReply",
        [NOT_FOUND, GAME_NOT_OPEN], "Close an open lobby (operators)."),
    // Inventory
    http!("GET" "/inventory", "get-inventory", Read, PlayerOrAdmin, None, "InventoryReply",
        [NOT_FOUND], "Own items and quantities (admin: ?user_id=)."),
    http!("GET" "/inventory/{item_id}", "get-inventory-item-id", Read, PlayerOrAdmin, None, "ItemReply",
        [NOT_FOUND], "An item definition and the quantity held."),
    http!("POST" "/inventory/add", "post-inventory-add", Write, Admin, Some("AddItemArgs"), "InventoryChangeReply",
        [NOT_FOUND, AMOUNT_OUT_OF_RANGE, IDEMPOTENCY_KEY_REUSED, VALIDATION_FAILED],
        "Grant items to a player (admin/service)."),
    http!("POST" "/inventory/remove", "post-inventory-remove", Write, PlayerOrAdmin, Some("RemoveItemArgs"),
        "InventoryChangeReply",
        [NOT_FOUND, ITEM_NOT_IN_INVENTORY, INSUFFICIENT_QUANTITY, AMOUNT_OUT_OF_RANGE, IDEMPOTENCY_KEY_REUSED,
         VALIDATION_FAILED],
        "Remove items from one's inventory (admin: with user_id)."),
    // Currency
    http!("GET" "/currency", "get-currency", Read, PlayerOrAdmin, None, "BalancesReply",
        [NOT_FOUND], "Own balances (admin: ?user_id=)."),
    http!("GET" "/currency/{currency_id}", "get-currency-currency-id", Read, PlayerOrAdmin, None, "CurrencyReply",
        [NOT_FOUND, VALIDATION_FAILED], "A currency, the balance held and recent transactions, paginated."),
    http!("POST" "/currency/deposit", "post-currency-deposit", Write, Admin, Some("DepositArgs"), "TransactionReply",
        [NOT_FOUND, AMOUNT_OUT_OF_RANGE, IDEMPOTENCY_KEY_REUSED, VALIDATION_FAILED],
        "Credit a player's balance (admin/service)."),
    http!("POST" "/currency/withdraw", "post-currency-withdraw", Write, PlayerOrAdmin, Some("WithdrawArgs"),
        "TransactionReply",
        [NOT_FOUND, INSUFFICIENT_FUNDS, AMOUNT_OUT_OF_RANGE, IDEMPOTENCY_KEY_REUSED, VALIDATION_FAILED],
        "Debit one's balance; concurrent withdrawals never overdraw."),
    // Leaderboard
    http!("GET" "/leaderboard", "get-leaderboard", Read, Player, None, "LeaderboardsReply",
        [], "The leaderboards and their current seasons."),
    http!("GET" "/leaderboard/{id}", "get-leaderboard-id", Read, Player, None, "LeaderboardReply",
        [NOT_FOUND, VALIDATION_FAILED], "Ranked entries (?limit, ?around=me, ?season) and the caller's own rank."),
    http!("POST" "/leaderboard/reset", "post-leaderboard-reset", Admin, Admin, Some("LeaderboardIdArgs"), "ResetReply",
        [NOT_FOUND], "Archive the current season of a leaderboard and start a new one."),
    // Achievement
    http!("GET" "/achievements", "get-achievements", Read, Player, None, "AchievementsReply",
        [], "The achievement catalog with own progress and unlock times."),
    http!("GET" "/achievements/{id}", "get-achievements-id", Read, Player, None, "AchievementReply",
        [NOT_FOUND], "One achievement with own progress."),
    http!("POST" "/achievements/unlock", "post-achievements-unlock", Write, Player, Some("UnlockAchievementArgs"),
        "AchievementReply",
        [NOT_FOUND, CONDITIONS_NOT_MET, ALREADY_UNLOCKED], "Unlock an achievement whose condition is met."),
    // Cosmetic
    http!("GET" "/cosmetics", "get-cosmetics", Read, Player, None, "CosmeticsReply",
        [], "The cosmetic catalog with owned flags, prices and requirements."),
    http!("GET" "/cosmetics/{id}", "get-cosmetics-id", Read, Player, None, "CosmeticReply",
        [NOT_FOUND], "One cosmetic."),
    http!("POST" "/cosmetics/unlock", "post-cosmetics-unlock", Write, Player, Some("UnlockCosmeticArgs"),
        "CosmeticReply",
        [NOT_FOUND, ALREADY_UNLOCKED, ACHIEVEMENT_REQUIRED, INSUFFICIENT_FUNDS, IDEMPOTENCY_KEY_REUSED],
        "Unlock a cosmetic: pays its price and checks its achievement, atomically."),
    // Events
    http!("GET" "/events", "get-events", Read, Player, None, "EventsPage",
        [VALIDATION_FAILED], "Events the caller may see after ?since_seq= (the HTTP twin of events.resume)."),
    // Ops
    http!("GET" "/health", "get-health", Ops, None, None, "HealthReply",
        [], "Liveness: the process answers."),
    http!("GET" "/ready", "get-ready", Ops, None, None, "ReadyReply",
        [], "Readiness: database reachable, migrations applied, journal healthy (503 otherwise)."),
    http!("GET" "/metrics", "get-metrics", Ops, None, None, "PrometheusText",
        [], "Prometheus metrics in the text exposition format."),
    http!("GET" "/slo", "get-slo", Ops, None, None, "SloReport",
        [], "The SLO contract of every operation with live compliance over the last minute."),
    http!("GET" "/openapi.json", "get-openapi-json", Ops, None, None, "OpenApiDocument",
        [], "This API as an OpenAPI 3.1 document."),
    http!("GET" "/docs", "get-docs", Ops, None, None, "HtmlPage",
        [], "The human API reference."),
    http!("GET" "/docs/errors", "get-docs-errors", Ops, None, None, "HtmlPage",
        [], "Every error code with its status, meaning and advice."),
    // Sockets
    http!("GET" "/ws", "get-ws", Ops, Player, None, "WebSocketUpgrade",
        [], "The player socket (pzo.v1.json or pzo.v1.bincode); authenticate with the first frame or ?token=."),
    http!("GET" "/admin/ws", "get-admin-ws", Ops, Admin, None, "WebSocketUpgrade",
        [], "The admin console socket: live stats, event tail and operator commands."),
    http!("GET" "/admin", "get-admin", Ops, None, None, "HtmlPage",
        [], "The admin console page (it asks for the admin token)."),

    // Socket ops: session
    ws!("auth", Read, None, "AuthArgs", "SessionReply",
        [UNAUTHENTICATED], "Authenticate the socket with a player or admin token; must be the first frame."),
    ws!("ping", Relay, Player, "NoArgs", "Pong",
        [], "Round trip with the server's clock."),
    ws!("events.resume", Read, Player, "ResumeArgs", "EventsPage",
        [VALIDATION_FAILED], "Events the caller may see after since_seq, to catch up after a reconnect."),
    // User
    ws!("users.register", Auth, None, "RegisterArgs", "AuthReply",
        [EMAIL_TAKEN, VALIDATION_FAILED], "Register a player (as POST /users/register)."),
    ws!("users.login", Auth, None, "LoginArgs", "AuthReply",
        [INVALID_CREDENTIALS, VALIDATION_FAILED], "Log in (as POST /users/login)."),
    ws!("users.list", Read, Player, "Page", "UsersPage",
        [VALIDATION_FAILED], "Public profiles, paginated."),
    ws!("users.get", Read, Player, "IdArgs", "UserReply",
        [NOT_FOUND], "A profile."),
    ws!("users.update_preferences", Write, Player, "UpdatePreferencesArgs", "UserReply",
        [NOT_FOUND, FORBIDDEN, VALIDATION_FAILED], "Update one's preferences."),
    // Waitlist
    ws!("waitlist.join", Write, Player, "WaitlistJoinArgs", "EntryReply",
        [ALREADY_ON_WAITLIST, VALIDATION_FAILED, IDEMPOTENCY_KEY_REUSED], "Join the waitlist."),
    ws!("waitlist.get", Read, PlayerOrAdmin, "IdArgs", "EntryReply",
        [NOT_FOUND, FORBIDDEN], "One waitlist entry with its live position."),
    ws!("waitlist.remove", Write, PlayerOrAdmin, "IdArgs", "EntryReply",
        [NOT_FOUND, FORBIDDEN, IN_ACTIVE_GAME], "Remove a waitlist entry."),
    ws!("waitlist.status", Read, Player, "NoArgs", "WaitlistStatusReply",
        [], "One's own entry, position and the waitlist counts."),
    ws!("waitlist.list", Read, Admin, "WaitlistListArgs", "EntriesPage",
        [VALIDATION_FAILED], "Waitlist entries in order (admin)."),
    ws!("waitlist.admit", Admin, Admin, "AdmitArgs", "AdmitReply",
        [VALIDATION_FAILED], "Admit the next count waiting players (admin)."),
    ws!("waitlist.set_status", Admin, Admin, "SetEntryStatusArgs", "EntryReply",
        [NOT_FOUND, VALIDATION_FAILED], "Set one entry's status (admin)."),
    ws!("waitlist.auto", Admin, Admin, "AutoAdmitArgs", "AutoAdmission",
        [VALIDATION_FAILED], "Capacity-aware admission: admit a wave every interval while the live SLOs have headroom (admin)."),
    // Game
    ws!("games.list", Read, Player, "GamesListArgs", "GamesPage",
        [VALIDATION_FAILED], "Lobbies, filtered by status."),
    ws!("games.create", Write, Player, "CreateGameArgs", "GameReply",
        [NOT_ADMITTED, ALREADY_IN_GAME, VALIDATION_FAILED], "Create a lobby."),
    ws!("games.get", Read, Player, "IdArgs", "GameReply",
        [NOT_FOUND], "One lobby."),
    ws!("games.join", Write, Player, "GameActionArgs", "GameReply",
        [NOT_FOUND, NOT_ADMITTED, GAME_FULL, GAME_NOT_OPEN, ALREADY_IN_GAME], "Join an open lobby."),
    ws!("games.leave", Write, Player, "GameActionArgs", "GameReply",
        [NOT_FOUND, NOT_IN_GAME], "Leave a lobby."),
    ws!("games.start", Write, Player, "GameActionArgs", "GameReply",
        [NOT_FOUND, NOT_IN_GAME, NOT_HOST, NOT_ENOUGH_PLAYERS, GAME_NOT_OPEN], "Start a lobby (host)."),
    ws!("games.send", Relay, Player, "SendArgs", "SendReply",
        [NOT_FOUND, NOT_IN_GAME, PAYLOAD_TOO_LARGE],
        "Relay an opaque message (<= 1 KiB) to the other members of one's lobby."),
    ws!("games.finish", Write, Admin, "FinishGameArgs", "GameReply",
        [NOT_FOUND, GAME_NOT_OPEN, NOT_IN_GAME, VALIDATION_FAILED], "Record a game's results (admin/service)."),
    ws!("games.close", Admin, Admin, "GameIdArgs", "GameReply",
        [NOT_FOUND, GAME_NOT_OPEN], "Close an open lobby (admin)."),
    // Inventory
    ws!("inventory.list", Read, PlayerOrAdmin, "OwnerArgs", "InventoryReply",
        [NOT_FOUND, FORBIDDEN], "Own items and quantities."),
    ws!("inventory.get", Read, PlayerOrAdmin, "ItemIdArgs", "ItemReply",
        [NOT_FOUND, FORBIDDEN], "One item and the quantity held."),
    ws!("inventory.add", Write, Admin, "AddItemArgs", "InventoryChangeReply",
        [NOT_FOUND, AMOUNT_OUT_OF_RANGE, IDEMPOTENCY_KEY_REUSED, VALIDATION_FAILED], "Grant items (admin/service)."),
    ws!("inventory.remove", Write, PlayerOrAdmin, "RemoveItemArgs", "InventoryChangeReply",
        [NOT_FOUND, ITEM_NOT_IN_INVENTORY, INSUFFICIENT_QUANTITY, AMOUNT_OUT_OF_RANGE, IDEMPOTENCY_KEY_REUSED,
         VALIDATION_FAILED],
        "Remove items."),
    // Currency
    ws!("currency.list", Read, PlayerOrAdmin, "OwnerArgs", "BalancesReply",
        [NOT_FOUND, FORBIDDEN], "Own balances."),
    ws!("currency.get", Read, PlayerOrAdmin, "CurrencyGetArgs", "CurrencyReply",
        [NOT_FOUND, FORBIDDEN, VALIDATION_FAILED], "A currency, the balance held and recent transactions."),
    ws!("currency.deposit", Write, Admin, "DepositArgs", "TransactionReply",
        [NOT_FOUND, AMOUNT_OUT_OF_RANGE, IDEMPOTENCY_KEY_REUSED, VALIDATION_FAILED],
        "Credit a balance (admin/service)."),
    ws!("currency.withdraw", Write, PlayerOrAdmin, "WithdrawArgs", "TransactionReply",
        [NOT_FOUND, INSUFFICIENT_FUNDS, AMOUNT_OUT_OF_RANGE, IDEMPOTENCY_KEY_REUSED, VALIDATION_FAILED],
        "Debit one's balance."),
    // Leaderboard
    ws!("leaderboard.list", Read, Player, "NoArgs", "LeaderboardsReply",
        [], "The leaderboards."),
    ws!("leaderboard.get", Read, Player, "LeaderboardGetArgs", "LeaderboardReply",
        [NOT_FOUND, VALIDATION_FAILED], "Ranked entries and one's own rank."),
    ws!("leaderboard.subscribe", Read, Player, "SlugArgs", "SubscribeReply",
        [NOT_FOUND], "Receive this board's LEADERBOARD_UPDATED and LEADERBOARD_RESET events on this socket."),
    ws!("leaderboard.reset", Admin, Admin, "LeaderboardIdArgs", "ResetReply",
        [NOT_FOUND], "Archive and clear a leaderboard (admin)."),
    // Achievement
    ws!("achievements.list", Read, Player, "NoArgs", "AchievementsReply",
        [], "The achievements with own progress."),
    ws!("achievements.get", Read, Player, "SlugArgs", "AchievementReply",
        [NOT_FOUND], "One achievement with own progress."),
    ws!("achievements.unlock", Write, Player, "UnlockAchievementArgs", "AchievementReply",
        [NOT_FOUND, CONDITIONS_NOT_MET, ALREADY_UNLOCKED], "Unlock an achievement whose condition is met."),
    // Cosmetic
    ws!("cosmetics.list", Read, Player, "NoArgs", "CosmeticsReply",
        [], "The cosmetics with owned flags."),
    ws!("cosmetics.get", Read, Player, "SlugArgs", "CosmeticReply",
        [NOT_FOUND], "One cosmetic."),
    ws!("cosmetics.unlock", Write, Player, "UnlockCosmeticArgs", "CosmeticReply",
        [NOT_FOUND, ALREADY_UNLOCKED, ACHIEVEMENT_REQUIRED, INSUFFICIENT_FUNDS, IDEMPOTENCY_KEY_REUSED],
        "Unlock a cosmetic, paying its price atomically."),
    // Admin console
    ws!("players.kick", Admin, Admin, "KickArgs", "KickReply",
        [NOT_FOUND], "Close a player's sockets and take them out of their lobby (admin)."),
    ws!("players.inspect", Admin, Admin, "UserIdArgs", "InspectReply",
        [NOT_FOUND], "What a player's actor holds (admin)."),
    ws!("stats.subscribe", Admin, Admin, "NoArgs", "StatsSnapshot",
        [], "Receive a live stats snapshot every second (admin)."),
    ws!("events.tail", Admin, Admin, "TailArgs", "AckReply",
        [VALIDATION_FAILED], "Receive every event live, filtered by type, user or game (admin)."),
];

/// The HTTP operation for a method and a path template (`"/users/{id}"`), as routes declare them.
pub fn find_http(method: &str, path_template: &str) -> Option<&'static Operation> {
    OPERATIONS
        .iter()
        .find(|op| op.path == Some(path_template) && op.method.is_some_and(|m| m.eq_ignore_ascii_case(method)))
}

/// The socket operation for an op name (`"currency.withdraw"`).
pub fn find_ws(op: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|entry| entry.ws_op == Some(op))
}

/// The operation with this name (`"POST /games"`, `"ws games.join"`).
pub fn find_by_name(name: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|op| op.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pzo_protocol::Request;
    use std::collections::HashSet;

    #[test]
    fn every_socket_op_has_exactly_one_entry() {
        for op in Request::ALL_NAMES {
            let entry = find_ws(op).unwrap_or_else(|| panic!("no operation for socket op {op}"));
            assert_eq!(entry.name, format!("ws {op}"));
            assert_eq!(OPERATIONS.iter().filter(|e| e.ws_op == Some(op)).count(), 1, "{op}");
        }
        for entry in OPERATIONS.iter().filter(|e| !e.is_http()) {
            assert!(Request::ALL_NAMES.contains(&entry.ws_op.unwrap_or_default()), "{} is no Request op", entry.name);
        }
    }

    #[test]
    fn names_and_anchors_are_unique() {
        let names: HashSet<_> = OPERATIONS.iter().map(|op| op.name).collect();
        assert_eq!(names.len(), OPERATIONS.len(), "duplicate operation name");
        let anchors: HashSet<_> = OPERATIONS.iter().map(|op| op.docs_anchor).collect();
        assert_eq!(anchors.len(), OPERATIONS.len(), "duplicate docs anchor");
        assert!(!names.contains(EVENT_DELIVERY));
    }

    #[test]
    fn every_spec_endpoint_is_listed() {
        let endpoints = [
            "POST /users/register",
            "POST /users/login",
            "GET /users",
            "GET /users/{id}",
            "PATCH /users/{id}",
            "POST /waitlist",
            "GET /waitlist",
            "GET /waitlist/status",
            "POST /waitlist/status",
            "GET /waitlist/{id}",
            "DELETE /waitlist/{id}",
            "GET /games",
            "POST /games",
            "GET /games/{id}",
            "POST /games/join",
            "POST /games/leave",
            "POST /games/start",
            "POST /games/finish",
            "POST /games/close",
            "GET /inventory",
            "GET /inventory/{item_id}",
            "POST /inventory/add",
            "POST /inventory/remove",
            "GET /currency",
            "GET /currency/{currency_id}",
            "POST /currency/deposit",
            "POST /currency/withdraw",
            "GET /leaderboard",
            "GET /leaderboard/{id}",
            "POST /leaderboard/reset",
            "GET /achievements",
            "GET /achievements/{id}",
            "POST /achievements/unlock",
            "GET /cosmetics",
            "GET /cosmetics/{id}",
            "POST /cosmetics/unlock",
            "GET /events",
            "GET /health",
            "GET /ready",
            "GET /metrics",
            "GET /slo",
            "GET /openapi.json",
            "GET /docs",
            "GET /docs/errors",
            "GET /ws",
            "GET /admin/ws",
            "GET /admin",
        ];
        for name in endpoints {
            let (method, path) = name.split_once(' ').unwrap_or_default();
            let op = find_http(method, path).unwrap_or_else(|| panic!("no operation for {name}"));
            assert_eq!(op.name, name);
            assert!(op.ws_op.is_none());
        }
        assert_eq!(OPERATIONS.iter().filter(|op| op.is_http()).count(), endpoints.len());
        assert_eq!(find_http("post", "/currency/withdraw").map(|op| op.name), Some("POST /currency/withdraw"));
        assert!(find_http("GET", "/currency/withdraw").is_none());
    }

    #[test]
    fn slo_comes_from_the_class_table() {
        for op in OPERATIONS {
            let row = SLO_BY_CLASS.iter().find(|(class, _)| *class == op.class).map(|(_, slo)| *slo);
            assert_eq!(Some(op.slo()), row);
            assert!(op.slo().p50_ms <= op.slo().p99_ms);
        }
        assert_eq!(find_ws("currency.withdraw").map(Operation::slo), Some(SLO_WRITE));
        assert_eq!(find_http("POST", "/users/login").map(|op| op.slo().p99_ms), Some(250.0));
        assert_eq!(EVENT_DELIVERY_SLO.p99_ms, 50.0);
    }

    #[test]
    fn own_errors_are_not_generic_and_not_repeated() {
        for op in OPERATIONS {
            let unique: HashSet<_> = op.errors.iter().collect();
            assert_eq!(unique.len(), op.errors.len(), "{} repeats an error code", op.name);
            let all = op.all_errors();
            let unique_all: HashSet<_> = all.iter().collect();
            assert_eq!(unique_all.len(), all.len());
            assert!(all.contains(&ErrorCode::SERVICE_UNAVAILABLE));
        }
    }

    #[test]
    fn services_group_every_operation() {
        assert_eq!(find_ws("currency.withdraw").map(Operation::service), Some("Currency"));
        assert_eq!(find_http("GET", "/admin/ws").map(Operation::service), Some("Sockets"));
        assert_eq!(find_ws("events.resume").map(Operation::service), Some("Session"));
        assert_eq!(find_http("GET", "/events").map(Operation::service), Some("Session"));
        assert_eq!(find_ws("players.kick").map(Operation::service), Some("Admin"));
        assert_eq!(find_http("GET", "/slo").map(Operation::service), Some("Ops"));
        assert_eq!(find_http("POST", "/games").map(Operation::success_status), Some(201));
    }
}
