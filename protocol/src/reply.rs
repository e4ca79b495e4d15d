//! Every successful answer of the contract as one typed enum (`Reply`). HTTP puts the payload
//! in the envelope's `data`; sockets put it in the reply frame's `data`.

use crate::event::Event;
use crate::model::*;
use crate::{EntryId, Timestamp, UserId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AuthReply {
    pub user: UserProfile,
    pub token: String,
    pub expires_at: Timestamp,
}

/// The socket's answer to `auth`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SessionReply {
    pub user_id: UserId,
    pub role: String,
    /// The newest event `seq`, to resume from later.
    pub last_seq: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Pong {
    pub server_time_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UserReply {
    pub user: UserProfile,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UsersPage {
    pub users: Vec<UserProfile>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EventsPage {
    #[cfg_attr(feature = "ts", ts(type = "Array<PzoEvent>"))] // the union of `{seq, type, at, data}`
    pub events: Vec<Event>,
    /// Resume again from here when `more` is true.
    pub next_seq: u64,
    pub more: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EntryReply {
    pub entry: WaitlistEntry,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EntriesPage {
    pub entries: Vec<WaitlistEntry>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WaitlistStatusReply {
    pub entry: Option<WaitlistEntry>,
    pub position: Option<u64>,
    pub waiting_count: u64,
    pub admitted_count: u64,
    /// How many players Season 0 admits in all (`PZO_SEASON0_CAPACITY`).
    pub capacity: u64,
    pub founder_cap: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AdmitReply {
    pub admitted: Vec<WaitlistEntry>,
    pub count: u64,
    pub waiting_count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GameReply {
    pub game: Game,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GamesPage {
    pub games: Vec<Game>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SendReply {
    pub delivered: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct InventoryReply {
    pub user_id: UserId,
    pub items: Vec<InventoryItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ItemReply {
    pub item: ItemDef,
    pub quantity: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct InventoryChangeReply {
    pub user_id: UserId,
    pub item_id: String,
    /// The quantity added or removed.
    pub delta: i64,
    /// The quantity held afterwards.
    pub quantity: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BalancesReply {
    pub user_id: UserId,
    pub balances: Vec<Balance>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CurrencyReply {
    pub currency: CurrencyDef,
    pub balance: i64,
    pub transactions: Vec<Transaction>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TransactionReply {
    pub transaction: Transaction,
    pub balance: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LeaderboardsReply {
    pub leaderboards: Vec<LeaderboardInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LeaderboardReply {
    pub leaderboard: LeaderboardInfo,
    /// The season shown (the current one unless `season` was asked).
    pub season: u32,
    pub entries: Vec<LeaderboardEntry>,
    /// The caller's own row, null when the caller has no score.
    pub me: Option<LeaderboardEntry>,
    /// The caller's own rank (the same as `me.rank`), null when the caller has no score.
    pub my_rank: Option<u64>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SubscribeReply {
    pub leaderboard_id: String,
    pub subscribed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ResetReply {
    pub leaderboard_id: String,
    pub archived_season: u32,
    pub season: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AchievementsReply {
    pub achievements: Vec<Achievement>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AchievementReply {
    pub achievement: Achievement,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CosmeticsReply {
    pub cosmetics: Vec<Cosmetic>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CosmeticReply {
    pub cosmetic: Cosmetic,
    /// The purchase, when the cosmetic had a price.
    pub transaction: Option<Transaction>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct KickReply {
    pub user_id: UserId,
    pub sockets_closed: u32,
}

/// What a player actor holds, for operators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct InspectReply {
    pub user: UserProfile,
    pub balances: Vec<Balance>,
    pub inventory: Vec<InventoryItem>,
    pub stats: PlayerStats,
    pub achievements: Vec<String>,
    pub cosmetics: Vec<String>,
    pub current_game: Option<crate::GameId>,
    pub sockets: u32,
    pub waitlist_entry_id: Option<EntryId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AckReply {
    pub ok: bool,
}

/// One live-stats snapshot of the admin console.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StatsSnapshot {
    pub at: Timestamp,
    pub sockets: u64,
    pub players_online: u64,
    pub actors: Vec<ActorCount>,
    pub mailbox_depth: u64,
    pub journal_batch_size_mean: f64,
    pub journal_commit_ms_p99: f64,
    pub events_per_sec: f64,
    pub endpoints: Vec<EndpointStat>,
    /// Capacity-aware admission: its settings and its latest decision.
    pub auto_admission: AutoAdmission,
}

/// Capacity-aware admission (`waitlist.auto`): while enabled, every `interval_ms` it admits the
/// next `wave` waiting players if the live SLO compliance has headroom, and pauses if not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AutoAdmission {
    pub enabled: bool,
    pub wave: u64,
    pub interval_ms: u64,
    /// Waves admitted since the server started.
    pub waves_admitted: u64,
    /// Players admitted by those waves.
    pub players_admitted: u64,
    /// The latest decision; none before the first one.
    pub last_decision: Option<AdmissionDecision>,
}

/// One decision of capacity-aware admission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AdmissionDecision {
    pub at: Timestamp,
    pub action: AdmissionAction,
    /// Players admitted by this decision (0 unless `admit`).
    pub admitted: u64,
    /// Why: the operation without headroom, or the headroom that allowed the wave.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum AdmissionAction {
    /// Every operation had headroom: the next wave went in.
    Admit,
    /// Some operation was near or past its objective: no wave this time.
    Pause,
    /// Nobody was waiting.
    Idle,
    /// The wave could not be committed (the database was unavailable).
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ActorCount {
    pub kind: String,
    pub live: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EndpointStat {
    pub operation: String,
    pub count: u64,
    pub p99_ms: f64,
    pub error_rate: f64,
    pub slo_p99_ms: f64,
    pub passing: bool,
}

named_union! {
    /// Every successful answer.
    pub enum Reply {
        "session" => Session(SessionReply),
        "pong" => Pong(Pong),
        "auth" => Auth(AuthReply),
        "user" => User(UserReply),
        "users" => Users(UsersPage),
        "events" => Events(EventsPage),
        "entry" => Entry(EntryReply),
        "entries" => Entries(EntriesPage),
        "waitlist_status" => WaitlistStatus(WaitlistStatusReply),
        "admit" => Admit(AdmitReply),
        "game" => Game(GameReply),
        "games" => Games(GamesPage),
        "send" => Send(SendReply),
        "inventory" => Inventory(InventoryReply),
        "item" => Item(ItemReply),
        "inventory_change" => InventoryChange(InventoryChangeReply),
        "balances" => Balances(BalancesReply),
        "currency" => Currency(CurrencyReply),
        "transaction" => Transaction(TransactionReply),
        "leaderboards" => Leaderboards(LeaderboardsReply),
        "leaderboard" => Leaderboard(LeaderboardReply),
        "subscribe" => Subscribe(SubscribeReply),
        "reset" => Reset(ResetReply),
        "achievements" => Achievements(AchievementsReply),
        "achievement" => Achievement(AchievementReply),
        "cosmetics" => Cosmetics(CosmeticsReply),
        "cosmetic" => Cosmetic(CosmeticReply),
        "kick" => Kick(KickReply),
        "inspect" => Inspect(InspectReply),
        "ack" => Ack(AckReply),
        "stats" => Stats(StatsSnapshot),
        "auto_admission" => AutoAdmission(AutoAdmission),
    }
}
