//! The typed events of SPEC section 7. Each is stored with its global `seq` in the same
//! transaction as the change it describes, and pushed to the sockets that should see it.

use crate::model::*;
use crate::{EntryId, GameId, Timestamp, UserId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Season0Joined {
    pub user_id: UserId,
    pub entry_id: EntryId,
    pub founder_number: Option<u32>,
    pub admitted_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UserRegistered {
    pub user_id: UserId,
    pub display_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UserLoggedIn {
    pub user_id: UserId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UserPreferencesUpdated {
    pub user_id: UserId,
    pub preferences: Preferences,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WaitlistAdded {
    pub entry: WaitlistEntry,
    /// Places the referrer moved up thanks to this join (0 without a referral).
    pub referrer_moved_places: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WaitlistRemoved {
    pub entry_id: EntryId,
    pub user_id: UserId,
    pub previous_status: WaitlistStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WaitlistStatusUpdated {
    pub entry_id: EntryId,
    pub user_id: UserId,
    pub from: WaitlistStatus,
    pub to: WaitlistStatus,
    pub founder_number: Option<u32>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GameCreated {
    pub game_id: GameId,
    pub name: String,
    pub host_id: UserId,
    pub max_players: u32,
    pub min_players: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GameJoined {
    pub game_id: GameId,
    pub user_id: UserId,
    pub display_name: String,
    pub player_count: u32,
}

/// Why a member left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    Left,
    Disconnected,
    Kicked,
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GameLeft {
    pub game_id: GameId,
    pub user_id: UserId,
    pub reason: LeaveReason,
    pub host_id: UserId,
    pub status: GameStatus,
    pub player_count: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GameStarted {
    pub game_id: GameId,
    pub player_ids: Vec<UserId>,
    pub started_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GameFinished {
    pub game_id: GameId,
    pub results: Vec<GameResult>,
    pub finished_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ItemChanged {
    pub user_id: UserId,
    pub item_id: String,
    /// The quantity added or removed.
    pub quantity: i64,
    /// The quantity held afterwards.
    pub total: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ItemQuantity {
    pub item_id: String,
    pub quantity: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct InventoryUpdated {
    pub user_id: UserId,
    pub items: Vec<ItemQuantity>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CurrencyMoved {
    pub user_id: UserId,
    pub currency_id: String,
    pub amount: i64,
    pub balance_after: i64,
    pub transaction_id: uuid::Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TransactionCompleted {
    pub transaction: Transaction,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LeaderboardUpdated {
    pub leaderboard_id: String,
    pub season: u32,
    /// The entries whose score changed, with their new ranks.
    pub entries: Vec<LeaderboardEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LeaderboardReset {
    pub leaderboard_id: String,
    pub archived_season: u32,
    pub season: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AchievementUnlocked {
    pub user_id: UserId,
    pub achievement_id: String,
    pub unlocked_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CosmeticUnlocked {
    pub user_id: UserId,
    pub cosmetic_id: String,
    pub price: Option<Price>,
    pub unlocked_at: Timestamp,
}

/// An operator's action, kept in the event log for audit (admin socket only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AdminAction {
    pub action: String,
    pub target: String,
    pub reason: Option<String>,
}

named_union! {
    /// Every event type and its typed data.
    pub enum EventData {
        "SEASON0_JOINED" => Season0Joined(Season0Joined),
        "USER_REGISTERED" => UserRegistered(UserRegistered),
        "USER_LOGGED_IN" => UserLoggedIn(UserLoggedIn),
        "USER_PREFERENCES_UPDATED" => UserPreferencesUpdated(UserPreferencesUpdated),
        "WAITLIST_ADDED" => WaitlistAdded(WaitlistAdded),
        "WAITLIST_REMOVED" => WaitlistRemoved(WaitlistRemoved),
        "WAITLIST_STATUS_UPDATED" => WaitlistStatusUpdated(WaitlistStatusUpdated),
        "GAME_CREATED" => GameCreated(GameCreated),
        "GAME_JOINED" => GameJoined(GameJoined),
        "GAME_LEFT" => GameLeft(GameLeft),
        "GAME_STARTED" => GameStarted(GameStarted),
        "GAME_FINISHED" => GameFinished(GameFinished),
        "ITEM_ADDED" => ItemAdded(ItemChanged),
        "ITEM_REMOVED" => ItemRemoved(ItemChanged),
        "INVENTORY_UPDATED" => InventoryUpdated(InventoryUpdated),
        "CURRENCY_DEPOSITED" => CurrencyDeposited(CurrencyMoved),
        "CURRENCY_WITHDRAWN" => CurrencyWithdrawn(CurrencyMoved),
        "TRANSACTION_COMPLETED" => TransactionCompleted(TransactionCompleted),
        "LEADERBOARD_UPDATED" => LeaderboardUpdated(LeaderboardUpdated),
        "LEADERBOARD_RESET" => LeaderboardReset(LeaderboardReset),
        "ACHIEVEMENT_UNLOCKED" => AchievementUnlocked(AchievementUnlocked),
        "COSMETIC_UNLOCKED" => CosmeticUnlocked(CosmeticUnlocked),
        "ADMIN_ACTION" => AdminAction(AdminAction),
    }
}

/// A committed event: its global sequence number, its time and its data. In JSON it has the
/// contract's shape `{"seq", "type", "at", "data"}` wherever it appears; bincode carries the
/// tagged enum.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub seq: u64,
    pub at: Timestamp,
    pub data: EventData,
}

#[derive(Serialize, Deserialize)]
struct EventWire {
    seq: u64,
    at: Timestamp,
    data: EventData,
}

#[derive(Deserialize)]
struct EventJsonIn {
    seq: u64,
    #[serde(rename = "type")]
    kind: String,
    at: Timestamp,
    data: Box<serde_json::value::RawValue>,
}

impl Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            self.json().serialize(s)
        } else {
            EventWire { seq: self.seq, at: self.at, data: self.data.clone() }.serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let raw = EventJsonIn::deserialize(d)?;
            let data = EventData::decode_json(&raw.kind, raw.data.get())
                .ok_or_else(|| serde::de::Error::custom(format!("unknown event type {}", raw.kind)))?
                .map_err(serde::de::Error::custom)?;
            Ok(Self { seq: raw.seq, at: raw.at, data })
        } else {
            let wire = EventWire::deserialize(d)?;
            Ok(Self { seq: wire.seq, at: wire.at, data: wire.data })
        }
    }
}

/// The contract's JSON shape of an event: `{"seq", "type", "at", "data"}`.
#[derive(Serialize)]
pub struct EventJson<'a> {
    pub seq: u64,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub at: &'a Timestamp,
    pub data: crate::JsonData<'a, EventData>,
}

impl Event {
    /// The event type, e.g. `GAME_JOINED`.
    pub fn kind(&self) -> &'static str {
        self.data.name()
    }
    pub fn json(&self) -> EventJson<'_> {
        EventJson { seq: self.seq, kind: self.data.name(), at: &self.at, data: self.data.json_data() }
    }
}
