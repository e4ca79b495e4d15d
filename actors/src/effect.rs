//! What a command changes: typed row effects for the journal and typed event drafts. The rules
//! produce them; only the journal (in the server) turns them into SQL.

use pzo_protocol::model::{GameStatus, Preferences, Transaction, WaitlistStatus};
use pzo_protocol::{EntryId, EventData, GameId, Reply, Timestamp, UserId};

/// One row-level change. Each variant is one statement in the journal's transaction.
// Effects live briefly in a command's Vec on their way to the journal; boxing would only add allocations.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    InsertUser {
        id: UserId,
        email: String,
        password_hash: String,
        display_name: String,
        created_at: Timestamp,
    },
    SetPreferences {
        user_id: UserId,
        preferences: Preferences,
        at: Timestamp,
    },
    InsertSession {
        token_hash: Vec<u8>,
        user_id: UserId,
        created_at: Timestamp,
        expires_at: Timestamp,
    },
    InsertWaitlistEntry {
        id: EntryId,
        user_id: UserId,
        join_seq: i64,
        referral_code: String,
        referred_by: Option<EntryId>,
        joined_at: Timestamp,
    },
    WaitlistStatusChange {
        entry_id: EntryId,
        from: Option<WaitlistStatus>,
        to: WaitlistStatus,
        founder_number: Option<u32>,
        changed_by: Option<UserId>,
        reason: String,
        at: Timestamp,
    },
    InsertReferral {
        referrer: EntryId,
        referred: EntryId,
        places_moved: i32,
        at: Timestamp,
    },
    InsertGame {
        id: GameId,
        name: String,
        host_id: UserId,
        max_players: u32,
        min_players: u32,
        created_at: Timestamp,
    },
    UpdateGame {
        id: GameId,
        status: GameStatus,
        host_id: UserId,
        started_at: Option<Timestamp>,
        finished_at: Option<Timestamp>,
    },
    InsertGamePlayer {
        game_id: GameId,
        user_id: UserId,
        joined_at: Timestamp,
    },
    GamePlayerLeft {
        game_id: GameId,
        user_id: UserId,
        at: Timestamp,
    },
    GamePlayerScore {
        game_id: GameId,
        user_id: UserId,
        score: i64,
        at: Timestamp,
    },
    /// Counts a completed game and raises the best score (applied in SQL as increments).
    StatsGameCompleted {
        user_id: UserId,
        score: i64,
    },
    SetInventory {
        user_id: UserId,
        item_id: String,
        quantity: i64,
    },
    SetBalance {
        user_id: UserId,
        currency_id: String,
        balance: i64,
    },
    InsertTransaction(Transaction),
    UpsertBestScore {
        leaderboard_id: String,
        season: u32,
        user_id: UserId,
        score: i64,
        at: Timestamp,
    },
    ResetLeaderboard {
        leaderboard_id: String,
        archived_season: u32,
        season: u32,
        at: Timestamp,
    },
    InsertPlayerAchievement {
        user_id: UserId,
        achievement_id: String,
        at: Timestamp,
    },
    InsertPlayerCosmetic {
        user_id: UserId,
        cosmetic_id: String,
        at: Timestamp,
    },
    StoreIdempotency {
        user_id: UserId,
        key: String,
        operation: String,
        request_hash: Vec<u8>,
        response: Reply,
        at: Timestamp,
    },
}

/// Who should see an event, besides the admin console.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audience {
    /// Players whose sockets receive it (the player, or every member of a game).
    pub users: Vec<UserId>,
    /// Sockets subscribed to this leaderboard receive it.
    pub leaderboard: Option<String>,
}

/// An event before the journal gives it a `seq`.
#[derive(Debug, Clone, PartialEq)]
pub struct EventDraft {
    pub data: EventData,
    /// Stored columns: the acting or owning player, and the game.
    pub user_id: Option<UserId>,
    pub game_id: Option<GameId>,
    pub aggregate: &'static str,
    pub audience: Audience,
}

impl EventDraft {
    /// A player's own event, seen by that player's sockets.
    pub fn for_player(user_id: UserId, aggregate: &'static str, data: EventData) -> Self {
        Self {
            data,
            user_id: Some(user_id),
            game_id: None,
            aggregate,
            audience: Audience { users: vec![user_id], leaderboard: None },
        }
    }
    /// A game event, seen by every listed member.
    pub fn for_game(game_id: GameId, actor: Option<UserId>, members: Vec<UserId>, data: EventData) -> Self {
        Self {
            data,
            user_id: actor,
            game_id: Some(game_id),
            aggregate: "game",
            audience: Audience { users: members, leaderboard: None },
        }
    }
    /// A leaderboard event, seen by the board's subscribers.
    pub fn for_leaderboard(leaderboard_id: &str, data: EventData) -> Self {
        Self {
            data,
            user_id: None,
            game_id: None,
            aggregate: "leaderboard",
            audience: Audience { users: Vec::new(), leaderboard: Some(leaderboard_id.to_owned()) },
        }
    }
}

/// The result of a rule: what to write, what to announce and what to answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome<R> {
    pub effects: Vec<Effect>,
    pub events: Vec<EventDraft>,
    pub reply: R,
}

impl<R> Outcome<R> {
    pub fn new(reply: R) -> Self {
        Self { effects: Vec::new(), events: Vec::new(), reply }
    }
    pub fn effect(mut self, effect: Effect) -> Self {
        self.effects.push(effect);
        self
    }
    pub fn event(mut self, event: EventDraft) -> Self {
        self.events.push(event);
        self
    }
    /// Keeps the effects and events, replaces the reply.
    pub fn map_reply<T>(self, f: impl FnOnce(R) -> T) -> Outcome<T> {
        Outcome { effects: self.effects, events: self.events, reply: f(self.reply) }
    }
}
