//! The resources of the contract as clients see them: users, waitlist entries, games, items,
//! balances, transactions, leaderboard entries, achievements and cosmetics.

use crate::{EntryId, GameId, Timestamp, UserId};
use serde::{Deserialize, Serialize};

/// Typed player preferences (SPEC section 5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Preferences {
    pub locale: String,
    pub sound_enabled: bool,
    /// 0..=100.
    pub music_volume: u8,
    pub show_on_leaderboard: bool,
}

impl Default for Preferences {
    fn default() -> Self {
        Self { locale: "en".to_owned(), sound_enabled: true, music_volume: 80, show_on_leaderboard: true }
    }
}

/// Where a player stands in Season 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Season0View {
    pub waitlist_entry_id: Option<EntryId>,
    pub waitlist_status: Option<WaitlistStatus>,
    pub admitted: bool,
    pub founder_number: Option<u32>,
    pub admitted_at: Option<Timestamp>,
}

/// A player's profile. `email`, `preferences` and `season0` are filled for the player
/// themself and for admins only; they are null for everybody else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UserProfile {
    pub id: UserId,
    pub display_name: String,
    pub created_at: Timestamp,
    pub email: Option<String>,
    pub preferences: Option<Preferences>,
    pub season0: Option<Season0View>,
}

/// Status of a waitlist entry: `waiting` -> `admitted` -> (`removed`); `waiting` -> `removed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum WaitlistStatus {
    Waiting,
    Admitted,
    Removed,
}

impl WaitlistStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Admitted => "admitted",
            Self::Removed => "removed",
        }
    }
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "waiting" => Some(Self::Waiting),
            "admitted" => Some(Self::Admitted),
            "removed" => Some(Self::Removed),
            _ => None,
        }
    }
}

/// A waitlist entry with its live position (1-based among waiting entries; null otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WaitlistEntry {
    pub id: EntryId,
    pub user_id: UserId,
    pub status: WaitlistStatus,
    pub position: Option<u64>,
    pub joined_at: Timestamp,
    pub referral_code: String,
    pub referred_by: Option<EntryId>,
    pub founder_number: Option<u32>,
    pub admitted_at: Option<Timestamp>,
}

/// Status of a game: `open` -> `started` -> `finished`; `open` -> `closed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum GameStatus {
    Open,
    Started,
    Finished,
    Closed,
}

impl GameStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Started => "started",
            Self::Finished => "finished",
            Self::Closed => "closed",
        }
    }
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "open" => Some(Self::Open),
            "started" => Some(Self::Started),
            "finished" => Some(Self::Finished),
            "closed" => Some(Self::Closed),
            _ => None,
        }
    }
    /// Open and started games hold their members (one game at a time).
    pub fn is_active(self) -> bool {
        matches!(self, Self::Open | Self::Started)
    }
}

/// A member of a game.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GamePlayer {
    pub user_id: UserId,
    pub display_name: String,
    pub joined_at: Timestamp,
    /// Set once the game is finished.
    pub score: Option<i64>,
}

/// A game lobby.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Game {
    pub id: GameId,
    pub name: String,
    pub host_id: UserId,
    pub status: GameStatus,
    pub max_players: u32,
    pub min_players: u32,
    pub player_count: u32,
    pub players: Vec<GamePlayer>,
    pub created_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
}

/// One player's score in a finished game.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GameResult {
    pub user_id: UserId,
    pub score: i64,
}

/// An item definition from the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ItemDef {
    pub id: String,
    pub name: String,
    pub stackable: bool,
    pub max_stack: i64,
}

/// A quantity of one item held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct InventoryItem {
    pub item_id: String,
    pub name: String,
    pub stackable: bool,
    pub quantity: i64,
}

/// A currency definition from the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CurrencyDef {
    pub id: String,
    pub name: String,
}

/// A balance in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Balance {
    pub currency_id: String,
    pub name: String,
    pub balance: i64,
}

/// Why a balance moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum TransactionKind {
    Deposit,
    Withdrawal,
    Purchase,
}

impl TransactionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deposit => "deposit",
            Self::Withdrawal => "withdrawal",
            Self::Purchase => "purchase",
        }
    }
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "deposit" => Some(Self::Deposit),
            "withdrawal" => Some(Self::Withdrawal),
            "purchase" => Some(Self::Purchase),
            _ => None,
        }
    }
}

/// One ledger row: every balance change has one. `amount` is signed (negative for withdrawals).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Transaction {
    pub id: uuid::Uuid,
    pub user_id: UserId,
    pub currency_id: String,
    pub kind: TransactionKind,
    pub amount: i64,
    pub balance_after: i64,
    pub reference: Option<String>,
    pub created_at: Timestamp,
}

/// A leaderboard and its current season.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LeaderboardInfo {
    pub id: String,
    pub name: String,
    pub season: u32,
    pub entry_count: u64,
}

/// One ranked row. Players hidden from leaderboards appear with a null user and "anonymous".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LeaderboardEntry {
    pub rank: u64,
    pub user_id: Option<UserId>,
    pub display_name: String,
    pub score: i64,
}

/// What an achievement needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ConditionKind {
    GamesCompleted,
    BestScore,
    Founder,
}

impl ConditionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GamesCompleted => "games_completed",
            Self::BestScore => "best_score",
            Self::Founder => "founder",
        }
    }
}

/// An achievement condition: `kind >= threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Condition {
    pub kind: ConditionKind,
    pub threshold: i64,
}

/// Progress toward a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Progress {
    pub current: i64,
    pub target: i64,
}

/// An achievement with the caller's progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Achievement {
    pub id: String,
    pub name: String,
    pub description: String,
    pub condition: Condition,
    pub progress: Progress,
    pub unlocked: bool,
    pub unlocked_at: Option<Timestamp>,
}

/// A price in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Price {
    pub currency_id: String,
    pub amount: i64,
}

/// A cosmetic with the caller's ownership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Cosmetic {
    pub id: String,
    pub name: String,
    pub price: Option<Price>,
    pub required_achievement: Option<String>,
    pub owned: bool,
    pub unlocked_at: Option<Timestamp>,
}

/// A player's counters that achievements are checked against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PlayerStats {
    pub games_completed: i64,
    pub best_score: i64,
}
