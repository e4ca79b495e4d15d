//! Every operation of the contract as one typed enum (`Request`), with the op names of SPEC
//! section 6. HTTP routes build the same values, so both doors share one dispatch.

use crate::model::{GameResult, GameStatus, WaitlistStatus};
use crate::{AmountInput, EntryId, GameId, UserId};
use serde::{Deserialize, Serialize};

/// Arguments of ops that take none (`{}` or absent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct NoArgs {}

/// Pagination of every list: `limit` (default 50, clamped to 200) and an opaque `cursor`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
#[serde(default)]
pub struct Page {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct AuthArgs {
    pub token: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct RegisterArgs {
    pub email: String,
    pub password: String,
    pub display_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct LoginArgs {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct ResumeArgs {
    pub since_seq: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct IdArgs {
    pub id: uuid::Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct SlugArgs {
    pub id: String,
}

/// A partial update of preferences; absent fields keep their value. `music_volume` is read
/// wide so that 150 answers `VALIDATION_FAILED`, not a parse error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
#[serde(default, deny_unknown_fields)]
pub struct PreferencesPatch {
    pub locale: Option<String>,
    pub sound_enabled: Option<bool>,
    pub music_volume: Option<i64>,
    pub show_on_leaderboard: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct UpdatePreferencesArgs {
    /// The player to update; the caller when absent (sockets).
    #[serde(default)]
    pub id: Option<UserId>,
    pub preferences: PreferencesPatch,
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

/// Whether JSON args that failed to parse as [`UpdatePreferencesArgs`] (or as the HTTP body,
/// `{"preferences", "idempotency_key"?}`) failed inside the preferences: the rest has the right
/// shape. The contract answers "bad preferences" with `VALIDATION_FAILED`, a malformed request
/// with `BAD_REQUEST`; both transports ask this.
pub fn preferences_are_the_fault(json: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Shape {
        #[serde(rename = "preferences")]
        _preferences: serde::de::IgnoredAny,
        #[serde(default, rename = "id")]
        _id: Option<UserId>,
        #[serde(default, rename = "idempotency_key")]
        _idempotency_key: Option<String>,
    }
    serde_json::from_slice::<Shape>(json).is_ok()
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
#[serde(default)]
pub struct WaitlistJoinArgs {
    pub referral_code: Option<String>,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
#[serde(default)]
pub struct WaitlistListArgs {
    pub status: Option<WaitlistStatus>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct AdmitArgs {
    pub count: i64,
}

/// `waitlist.auto`: turns capacity-aware admission on or off and sets its wave and interval.
/// An absent field keeps its current value, so `{}` reads the state without changing it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
#[serde(default)]
pub struct AutoAdmitArgs {
    pub enabled: Option<bool>,
    /// Players admitted per wave (1 to 100000).
    pub wave: Option<i64>,
    /// Time between decisions, in milliseconds (100 to 3600000).
    pub interval_ms: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct SetEntryStatusArgs {
    pub entry_id: EntryId,
    pub status: WaitlistStatus,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
#[serde(default)]
pub struct GamesListArgs {
    pub status: Option<GameStatus>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct CreateGameArgs {
    pub name: String,
    pub max_players: i64,
    #[serde(default)]
    pub min_players: Option<i64>,
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct GameIdArgs {
    pub game_id: GameId,
}

/// A player's command on a game (join, leave, start): the game and an optional idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct GameActionArgs {
    pub game_id: GameId,
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct FinishGameArgs {
    pub game_id: GameId,
    pub results: Vec<GameResult>,
}

/// An opaque game message. JSON carries it as a string (UTF-8 text) or an array of bytes and
/// relays it in the same form; bincode carries the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayPayload {
    Text(String),
    Binary(bytes::Bytes),
}

impl RelayPayload {
    pub fn len(&self) -> usize {
        match self {
            Self::Text(text) => text.len(),
            Self::Binary(bytes) => bytes.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Serialize, Deserialize)]
enum RelayPayloadWire {
    Text(String),
    Binary(Vec<u8>),
}

impl Serialize for RelayPayload {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match (self, s.is_human_readable()) {
            (Self::Text(text), true) => s.serialize_str(text),
            (Self::Binary(bytes), true) => bytes.as_ref().serialize(s),
            (Self::Text(text), false) => RelayPayloadWire::Text(text.clone()).serialize(s),
            (Self::Binary(bytes), false) => RelayPayloadWire::Binary(bytes.to_vec()).serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for RelayPayload {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            #[derive(Deserialize)]
            #[serde(untagged)] // JSON only: a string or an array of bytes
            enum Either {
                Text(String),
                Binary(Vec<u8>),
            }
            Ok(match Either::deserialize(d)? {
                Either::Text(text) => Self::Text(text),
                Either::Binary(bytes) => Self::Binary(bytes.into()),
            })
        } else {
            Ok(match RelayPayloadWire::deserialize(d)? {
                RelayPayloadWire::Text(text) => Self::Text(text),
                RelayPayloadWire::Binary(bytes) => Self::Binary(bytes.into()),
            })
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct SendArgs {
    pub game_id: GameId,
    #[cfg_attr(feature = "ts", ts(type = "string | Array<number>"))] // JSON: UTF-8 text or bytes
    pub payload: RelayPayload,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
#[serde(default)]
pub struct OwnerArgs {
    /// Admins may name another player; players always act on themselves.
    pub user_id: Option<UserId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct ItemIdArgs {
    pub item_id: String,
    #[serde(default)]
    pub user_id: Option<UserId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct AddItemArgs {
    pub user_id: UserId,
    pub item_id: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))] // a JSON integer
    pub quantity: AmountInput,
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct RemoveItemArgs {
    pub item_id: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))] // a JSON integer
    pub quantity: AmountInput,
    #[serde(default)]
    pub user_id: Option<UserId>,
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct CurrencyGetArgs {
    pub currency_id: String,
    #[serde(default)]
    pub user_id: Option<UserId>,
    #[serde(default)]
    pub limit: Option<i64>,
    #[serde(default)]
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct DepositArgs {
    pub user_id: UserId,
    pub currency_id: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))] // a JSON integer
    pub amount: AmountInput,
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct WithdrawArgs {
    pub currency_id: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))] // a JSON integer
    pub amount: AmountInput,
    #[serde(default)]
    pub user_id: Option<UserId>,
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct LeaderboardGetArgs {
    pub id: String,
    #[serde(default)]
    pub limit: Option<i64>,
    #[serde(default)]
    pub cursor: Option<String>,
    /// `"me"`: the page centred on the caller.
    #[serde(default)]
    pub around: Option<String>,
    /// An archived season; the current one when absent.
    #[serde(default)]
    pub season: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct LeaderboardIdArgs {
    pub leaderboard_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct UnlockAchievementArgs {
    pub achievement_id: String,
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct UnlockCosmeticArgs {
    pub cosmetic_id: String,
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct KickArgs {
    pub user_id: UserId,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct UserIdArgs {
    pub user_id: UserId,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
#[serde(default)]
pub struct TailArgs {
    pub types: Option<Vec<String>>,
    pub user_id: Option<UserId>,
    pub game_id: Option<GameId>,
}

named_union! {
    /// Every operation, named as on the socket. Admin and service ops are refused to players.
    pub enum Request {
        "auth" => Auth(AuthArgs),
        "ping" => Ping(NoArgs),
        "events.resume" => EventsResume(ResumeArgs),
        "users.register" => UsersRegister(RegisterArgs),
        "users.login" => UsersLogin(LoginArgs),
        "users.list" => UsersList(Page),
        "users.get" => UsersGet(IdArgs),
        "users.update_preferences" => UsersUpdatePreferences(UpdatePreferencesArgs),
        "waitlist.join" => WaitlistJoin(WaitlistJoinArgs),
        "waitlist.get" => WaitlistGet(IdArgs),
        "waitlist.remove" => WaitlistRemove(IdArgs),
        "waitlist.status" => WaitlistStatus(NoArgs),
        "waitlist.list" => WaitlistList(WaitlistListArgs),
        "waitlist.admit" => WaitlistAdmit(AdmitArgs),
        "waitlist.set_status" => WaitlistSetStatus(SetEntryStatusArgs),
        "waitlist.auto" => WaitlistAuto(AutoAdmitArgs),
        "games.list" => GamesList(GamesListArgs),
        "games.create" => GamesCreate(CreateGameArgs),
        "games.get" => GamesGet(IdArgs),
        "games.join" => GamesJoin(GameActionArgs),
        "games.leave" => GamesLeave(GameActionArgs),
        "games.start" => GamesStart(GameActionArgs),
        "games.send" => GamesSend(SendArgs),
        "games.finish" => GamesFinish(FinishGameArgs),
        "games.close" => GamesClose(GameIdArgs),
        "inventory.list" => InventoryList(OwnerArgs),
        "inventory.get" => InventoryGet(ItemIdArgs),
        "inventory.add" => InventoryAdd(AddItemArgs),
        "inventory.remove" => InventoryRemove(RemoveItemArgs),
        "currency.list" => CurrencyList(OwnerArgs),
        "currency.get" => CurrencyGet(CurrencyGetArgs),
        "currency.deposit" => CurrencyDeposit(DepositArgs),
        "currency.withdraw" => CurrencyWithdraw(WithdrawArgs),
        "leaderboard.list" => LeaderboardList(NoArgs),
        "leaderboard.get" => LeaderboardGet(LeaderboardGetArgs),
        "leaderboard.subscribe" => LeaderboardSubscribe(SlugArgs),
        "leaderboard.reset" => LeaderboardReset(LeaderboardIdArgs),
        "achievements.list" => AchievementsList(NoArgs),
        "achievements.get" => AchievementsGet(SlugArgs),
        "achievements.unlock" => AchievementsUnlock(UnlockAchievementArgs),
        "cosmetics.list" => CosmeticsList(NoArgs),
        "cosmetics.get" => CosmeticsGet(SlugArgs),
        "cosmetics.unlock" => CosmeticsUnlock(UnlockCosmeticArgs),
        "players.kick" => PlayersKick(KickArgs),
        "players.inspect" => PlayersInspect(UserIdArgs),
        "stats.subscribe" => StatsSubscribe(NoArgs),
        "events.tail" => EventsTail(TailArgs),
    }
}

impl Request {
    /// Ops that only the admin token may call (SPEC section 5 "admin/service").
    pub fn is_admin_only(&self) -> bool {
        matches!(
            self,
            Self::WaitlistList(_)
                | Self::WaitlistAdmit(_)
                | Self::WaitlistSetStatus(_)
                | Self::WaitlistAuto(_)
                | Self::GamesFinish(_)
                | Self::GamesClose(_)
                | Self::InventoryAdd(_)
                | Self::CurrencyDeposit(_)
                | Self::LeaderboardReset(_)
                | Self::PlayersKick(_)
                | Self::PlayersInspect(_)
                | Self::StatsSubscribe(_)
                | Self::EventsTail(_)
        )
    }
}
