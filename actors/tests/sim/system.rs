//! The simulated backend: the actors' states and thin shells around the pure rules, written
//! after `src/dispatch.rs` and `src/actors/*.rs` but with no IO. A commit gives each event the
//! next `seq`; the player whose command it was applies its events itself, and every other player
//! in the audience gets a notice in an inbox that is delivered later (the server's `Fanout`).
//! Each player shell keeps its idempotency answers and the seq watermark of its notices.

use super::hash::Fnv1a;
use pzo_actors::World;
use pzo_actors::catalog::Catalog;
use pzo_actors::effect::{Audience, EventDraft, Outcome};
use pzo_actors::leaderboard::{self, BestScore, BoardState};
use pzo_actors::lobby::{self, GameSettings, LobbyState, Member};
use pzo_actors::player::{self, PlayerState};
use pzo_actors::waitlist::{self, WaitlistConfig, WaitlistState};
use pzo_actors::world::SeededIds;
use pzo_protocol::event::{LeaveReason, UserRegistered};
use pzo_protocol::limits::{ADMIT_WAVE_MAX, GAME_RESULTS_MAX};
use pzo_protocol::model::{GameResult, WaitlistStatus};
use pzo_protocol::reply::{AckReply, AdmitReply, EntryReply, GameReply, ResetReply};
use pzo_protocol::request::PreferencesPatch;
use pzo_protocol::validate::{Amount, IdempotencyKey};
use pzo_protocol::{ApiError, EntryId, ErrorCode, Event, EventData, GameId, Reply, Request, Timestamp, UserId};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fmt::Write;
use std::sync::Arc;

/// Founder numbers given in the simulation: small, so the cap is reached and passed.
pub const FOUNDER_CAP: u32 = 12;
pub const REFERRAL_BOOST: u32 = 3;
/// Entries admitted per commit of a wave (the server's `ADMIT_CHUNK_ENTRIES`, scaled down so
/// that waves span several commits here too).
const ADMIT_CHUNK_ENTRIES: usize = 3;
pub const BOARD_ID: &str = "season0";
/// Notices kept per player after delivery, to deliver again as duplicates.
const RECENT_NOTICES_MAX: usize = 8;

const CATALOG: &str = include_str!("../../../catalog/season0.json");

/// Who sends a request: the admin token or a player's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Admin,
    Player(UserId),
}

impl Caller {
    pub fn user_id(self) -> Option<UserId> {
        match self {
            Self::Admin => None,
            Self::Player(user) => Some(user),
        }
    }
}

/// The `users` row of a player: what `PlayerState::new` is built from.
#[derive(Debug, Clone)]
pub struct Registration {
    pub user_id: UserId,
    pub email: String,
    pub display_name: String,
    pub created_at: Timestamp,
}

/// A stored answer of an idempotent command (the server's `StoredAnswer`).
#[derive(Debug, Clone)]
pub struct StoredAnswer {
    pub operation: &'static str,
    pub request_hash: u64,
    pub reply: Reply,
}

/// One player actor: its state, its idempotency answers and its notice inbox.
#[derive(Debug)]
pub struct PlayerShell {
    pub state: PlayerState,
    /// The highest seq applied from a notice: a notice at or below it is a duplicate.
    pub watermark: u64,
    pub answers: HashMap<String, StoredAnswer>,
    /// Notices committed by other actors, not yet delivered, in seq order.
    pub inbox: VecDeque<Arc<Event>>,
    /// The last notices delivered, kept to deliver them again.
    pub recent: VecDeque<Arc<Event>>,
}

/// A committed event with the stored columns the replay routes by.
#[derive(Debug, Clone)]
pub struct Committed {
    pub event: Arc<Event>,
    pub audience: Audience,
    pub aggregate: &'static str,
}

/// What one step changed, so the checker can look at just that between full checks.
#[derive(Debug, Default)]
pub struct Touched {
    pub players: BTreeSet<UserId>,
    pub lobbies: BTreeSet<GameId>,
    pub waitlist: bool,
    pub board: bool,
}

/// A command of the player actor (the server's `PlayerCommand`, the mutating ones).
#[derive(Debug, Clone)]
pub enum PlayerCommand {
    UpdatePreferences(PreferencesPatch),
    AddItem { item_id: String, quantity: Amount },
    RemoveItem { item_id: String, quantity: Amount },
    Deposit { currency_id: String, amount: Amount },
    Withdraw { currency_id: String, amount: Amount },
    UnlockAchievement(String),
    UnlockCosmetic(String),
    CreateGame(GameSettings),
    JoinGame(GameId),
    LeaveGame(GameId),
    RemoveWaitlistEntry { entry_id: EntryId, by: Option<UserId> },
}

/// Idempotency of one command: key, request hash and op (the server's `Idempotency`).
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub key: IdempotencyKey,
    pub request_hash: u64,
    pub operation: &'static str,
}

/// The whole simulated backend.
pub struct System {
    pub catalog: Catalog,
    pub now: Timestamp,
    pub ids: SeededIds,
    pub players: HashMap<UserId, PlayerShell>,
    /// Players in registration order (the workload picks from it).
    pub registrations: Vec<Registration>,
    pub waitlist: WaitlistState,
    pub lobbies: HashMap<GameId, LobbyState>,
    /// Lobbies in creation order.
    pub lobby_ids: Vec<GameId>,
    /// Open and started lobbies.
    pub active: BTreeSet<GameId>,
    pub board: BoardState,
    pub log: Vec<Committed>,
    pub touched: Touched,
    /// When set, the next player command sees only part of its inbox: notices committed by other
    /// actors may still be on their way when a command starts.
    pub late_notices: Option<usize>,
}

pub fn waitlist_config() -> WaitlistConfig {
    WaitlistConfig { founder_cap: FOUNDER_CAP, referral_boost: REFERRAL_BOOST }
}

pub fn new_board(season: u32) -> BoardState {
    BoardState::new(BOARD_ID.to_owned(), "Season 0".to_owned(), season)
}

/// The request hash the idempotency cache compares: the op and its JSON args (the server
/// takes a SHA-256 of the same bytes).
pub fn request_hash(request: &Request) -> u64 {
    let mut h = Fnv1a::default();
    h.bytes(request.name().as_bytes());
    h.bytes(&[0]);
    h.bytes(serde_json::to_string(&request.json_data()).unwrap_or_default().as_bytes());
    h.finish()
}

/// The idempotency key a request carries (the ops `src/dispatch.rs` honours).
pub fn idempotency_key(request: &Request) -> Option<&str> {
    match request {
        Request::InventoryAdd(a) => a.idempotency_key.as_deref(),
        Request::InventoryRemove(a) => a.idempotency_key.as_deref(),
        Request::CurrencyDeposit(a) => a.idempotency_key.as_deref(),
        Request::CurrencyWithdraw(a) => a.idempotency_key.as_deref(),
        Request::CosmeticsUnlock(a) => a.idempotency_key.as_deref(),
        _ => None,
    }
}

fn forbidden() -> ApiError {
    ApiError::new(ErrorCode::FORBIDDEN)
}

fn player(caller: Caller) -> Result<UserId, ApiError> {
    caller.user_id().ok_or_else(forbidden)
}

/// The player an owner-or-admin op acts on.
fn subject(caller: Caller, user_id: Option<UserId>) -> Result<UserId, ApiError> {
    match (caller, user_id) {
        (Caller::Admin, Some(id)) => Ok(id),
        (Caller::Admin, None) => Err(ApiError::validation("user_id", "is required for the admin token")),
        (Caller::Player(me), Some(id)) if id != me => Err(forbidden()),
        (Caller::Player(me), _) => Ok(me),
    }
}

fn ack() -> Reply {
    Reply::Ack(AckReply { ok: true })
}

impl System {
    pub fn new(seed: u64, start: Timestamp) -> Self {
        Self {
            catalog: Catalog::parse(CATALOG).expect("the repository's catalog parses"),
            now: start,
            ids: SeededIds::new(seed),
            players: HashMap::new(),
            registrations: Vec::new(),
            waitlist: WaitlistState::new(waitlist_config()),
            lobbies: HashMap::new(),
            lobby_ids: Vec::new(),
            active: BTreeSet::new(),
            board: new_board(1),
            log: Vec::new(),
            touched: Touched::default(),
            late_notices: None,
        }
    }

    pub fn advance_clock(&mut self, millis: i64) {
        self.now += chrono::Duration::milliseconds(millis);
    }

    /// Stores events with the next seqs and queues notices for every other player in their
    /// audience. The caller applies the events to the state of the actor that committed them.
    fn commit(&mut self, drafts: Vec<EventDraft>, origin: Option<UserId>) -> Vec<Arc<Event>> {
        let mut events = Vec::with_capacity(drafts.len());
        for draft in drafts {
            let seq = self.log.last().map_or(1, |c| c.event.seq + 1);
            let event = Arc::new(Event { seq, at: self.now, data: draft.data });
            for user in &draft.audience.users {
                if Some(*user) != origin {
                    if let Some(shell) = self.players.get_mut(user) {
                        shell.inbox.push_back(event.clone());
                    }
                }
            }
            self.log.push(Committed { event: event.clone(), audience: draft.audience, aggregate: draft.aggregate });
            events.push(event);
        }
        events
    }

    /// Registers a player (the `users.register` shell: a row and `USER_REGISTERED`).
    pub fn register(&mut self) -> UserId {
        let user_id = pzo_actors::IdSource::next_id(&mut self.ids);
        let n = self.registrations.len() + 1;
        let registration = Registration {
            user_id,
            email: format!("player{n}@sim.test"),
            display_name: format!("Player {n}"),
            created_at: self.now,
        };
        let state = PlayerState::new(
            user_id,
            registration.email.clone(),
            registration.display_name.clone(),
            registration.created_at,
        );
        let shell = PlayerShell {
            state,
            watermark: self.log.last().map_or(0, |c| c.event.seq),
            answers: HashMap::new(),
            inbox: VecDeque::new(),
            recent: VecDeque::new(),
        };
        self.players.insert(user_id, shell);
        self.registrations.push(registration.clone());
        let data = EventData::UserRegistered(UserRegistered { user_id, display_name: registration.display_name });
        let events = self.commit(vec![EventDraft::for_player(user_id, "user", data)], Some(user_id));
        self.apply_own(user_id, &events);
        user_id
    }

    fn apply_own(&mut self, user: UserId, events: &[Arc<Event>]) {
        if let Some(shell) = self.players.get_mut(&user) {
            for event in events {
                shell.state.apply(&event.data);
            }
            self.touched.players.insert(user);
        }
    }

    /// Applies one notice unless its seq is at or below the watermark (a duplicate or a stale
    /// delivery). Answers whether it was applied.
    pub fn notice(&mut self, user: UserId, event: &Arc<Event>) -> bool {
        let Some(shell) = self.players.get_mut(&user) else { return false };
        if event.seq <= shell.watermark {
            return false;
        }
        shell.state.apply(&event.data);
        shell.watermark = event.seq;
        shell.recent.push_back(event.clone());
        if shell.recent.len() > RECENT_NOTICES_MAX {
            shell.recent.pop_front();
        }
        self.touched.players.insert(user);
        true
    }

    /// Delivers up to `count` queued notices of a player, oldest first.
    pub fn deliver(&mut self, user: UserId, count: usize) {
        for _ in 0..count {
            let Some(event) = self.players.get_mut(&user).and_then(|s| s.inbox.pop_front()) else { return };
            self.notice(user, &event);
        }
    }

    pub fn deliver_all(&mut self) {
        let users: Vec<UserId> = self.registrations.iter().map(|r| r.user_id).collect();
        for user in users {
            self.deliver(user, usize::MAX);
        }
    }

    fn is_admitted(&self, user: UserId) -> bool {
        self.waitlist
            .by_user
            .get(&user)
            .and_then(|id| self.waitlist.entries.get(id))
            .is_some_and(|e| e.status == WaitlistStatus::Admitted)
    }

    fn entry_view(&self, entry_id: EntryId) -> Result<Reply, ApiError> {
        let entry = self.waitlist.entries.get(&entry_id).ok_or_else(|| ApiError::not_found("waitlist entry"))?;
        Ok(Reply::Entry(EntryReply { entry: self.waitlist.view(entry) }))
    }

    /// Commits a waitlist outcome and folds its events into the queue (the waitlist shell).
    fn commit_waitlist<R>(&mut self, outcome: Outcome<R>) -> R {
        let events = self.commit(outcome.events, None);
        for event in &events {
            self.waitlist.apply(&event.data);
        }
        super::check::effects_match_waitlist(&outcome.effects, &self.waitlist);
        self.touched.waitlist = true;
        outcome.reply
    }

    fn commit_lobby(&mut self, outcome: Outcome<LobbyState>, origin: Option<UserId>) -> Vec<Arc<Event>> {
        let events = self.commit(outcome.events, origin);
        super::check::effects_match_lobby(&outcome.effects, &outcome.reply);
        let lobby = outcome.reply;
        if lobby.status.is_active() {
            self.active.insert(lobby.id);
        } else {
            self.active.remove(&lobby.id);
        }
        self.touched.lobbies.insert(lobby.id);
        self.lobbies.insert(lobby.id, lobby);
        events
    }

    fn lobby(&self, game_id: GameId) -> Result<&LobbyState, ApiError> {
        self.lobbies.get(&game_id).ok_or_else(|| ApiError::not_found("game"))
    }

    /// Routes one request like `src/dispatch.rs`.
    pub fn execute(&mut self, caller: Caller, request: &Request) -> Result<Reply, ApiError> {
        let idem = IdempotencyKey::parse(idempotency_key(request))?.map(|key| Idempotency {
            key,
            request_hash: request_hash(request),
            operation: request.name(),
        });
        match request {
            Request::UsersUpdatePreferences(args) => {
                let me = player(caller)?;
                if args.id.is_some_and(|id| id != me) {
                    return Err(forbidden());
                }
                self.ask(me, None, PlayerCommand::UpdatePreferences(args.preferences.clone()))
            }
            Request::WaitlistJoin(args) => {
                let me = player(caller)?;
                let entry_id = pzo_actors::IdSource::next_id(&mut self.ids);
                let code = entry_id.simple().to_string()[..10].to_owned();
                let referral = args.referral_code.as_deref();
                let outcome = waitlist::join(&self.waitlist, me, entry_id, code, referral, self.now)?;
                let entry = self.commit_waitlist(outcome);
                self.entry_view(entry.id)
            }
            Request::WaitlistRemove(args) => {
                let owner = self.waitlist.entries.get(&args.id).ok_or_else(|| ApiError::not_found("waitlist entry"))?;
                let owner = owner.user_id;
                if caller != Caller::Admin && caller != Caller::Player(owner) {
                    return Err(forbidden());
                }
                self.ask(owner, None, PlayerCommand::RemoveWaitlistEntry { entry_id: args.id, by: caller.user_id() })
            }
            Request::WaitlistAdmit(args) => {
                self.admin(caller)?;
                let count = u32::try_from(args.count)
                    .ok()
                    .filter(|c| (1..=ADMIT_WAVE_MAX).contains(c))
                    .ok_or_else(|| ApiError::validation("admit", "must be 1 to 100000"))?;
                Ok(self.admit(count as usize))
            }
            Request::WaitlistSetStatus(args) => {
                self.admin(caller)?;
                let entry =
                    self.waitlist.entries.get(&args.entry_id).ok_or_else(|| ApiError::not_found("waitlist entry"))?;
                if args.status == WaitlistStatus::Removed {
                    let command = PlayerCommand::RemoveWaitlistEntry { entry_id: entry.id, by: None };
                    return self.ask(entry.user_id, None, command);
                }
                let outcome = waitlist::set_status(&self.waitlist, args.entry_id, args.status, None, self.now)?;
                self.commit_waitlist(outcome);
                self.entry_view(args.entry_id)
            }
            Request::GamesCreate(args) => {
                let me = player(caller)?;
                let settings = GameSettings::parse(&args.name, args.max_players, args.min_players)?;
                self.ask(me, None, PlayerCommand::CreateGame(settings))
            }
            Request::GamesJoin(args) => self.ask(player(caller)?, None, PlayerCommand::JoinGame(args.game_id)),
            Request::GamesLeave(args) => self.ask(player(caller)?, None, PlayerCommand::LeaveGame(args.game_id)),
            Request::GamesStart(args) => {
                let me = player(caller)?;
                let outcome = lobby::start(self.lobby(args.game_id)?, me, self.now)?;
                self.commit_lobby(outcome, None);
                Ok(Reply::Game(GameReply { game: self.lobby(args.game_id)?.view() }))
            }
            Request::GamesFinish(args) => {
                self.admin(caller)?;
                if args.results.len() > GAME_RESULTS_MAX {
                    return Err(ApiError::validation("results", "at most 64 results"));
                }
                self.finish(args.game_id, &args.results)
            }
            Request::GamesClose(args) => {
                self.admin(caller)?;
                let outcome = lobby::close(self.lobby(args.game_id)?, self.now)?;
                self.commit_lobby(outcome, None);
                Ok(Reply::Game(GameReply { game: self.lobby(args.game_id)?.view() }))
            }
            Request::InventoryAdd(args) => {
                self.admin(caller)?;
                let quantity = Amount::parse(args.quantity)?;
                let command = PlayerCommand::AddItem { item_id: args.item_id.clone(), quantity };
                self.ask(args.user_id, idem, command)
            }
            Request::InventoryRemove(args) => {
                let quantity = Amount::parse(args.quantity)?;
                let command = PlayerCommand::RemoveItem { item_id: args.item_id.clone(), quantity };
                self.ask(subject(caller, args.user_id)?, idem, command)
            }
            Request::CurrencyDeposit(args) => {
                self.admin(caller)?;
                let amount = Amount::parse(args.amount)?;
                let command = PlayerCommand::Deposit { currency_id: args.currency_id.clone(), amount };
                self.ask(args.user_id, idem, command)
            }
            Request::CurrencyWithdraw(args) => {
                let amount = Amount::parse(args.amount)?;
                let command = PlayerCommand::Withdraw { currency_id: args.currency_id.clone(), amount };
                self.ask(subject(caller, args.user_id)?, idem, command)
            }
            Request::AchievementsUnlock(args) => {
                self.ask(player(caller)?, None, PlayerCommand::UnlockAchievement(args.achievement_id.clone()))
            }
            Request::CosmeticsUnlock(args) => {
                self.ask(player(caller)?, idem, PlayerCommand::UnlockCosmetic(args.cosmetic_id.clone()))
            }
            Request::LeaderboardReset(args) => {
                self.admin(caller)?;
                if args.leaderboard_id != BOARD_ID {
                    return Err(ApiError::not_found("leaderboard"));
                }
                let outcome = leaderboard::reset(&self.board, self.now);
                self.commit(outcome.events, None);
                let archived_season = self.board.season;
                self.board = new_board(outcome.reply);
                self.touched.board = true;
                Ok(Reply::Reset(ResetReply {
                    leaderboard_id: BOARD_ID.to_owned(),
                    archived_season,
                    season: outcome.reply,
                }))
            }
            other => panic!("the workload never sends {}", other.name()),
        }
    }

    fn admin(&self, caller: Caller) -> Result<(), ApiError> {
        if caller == Caller::Admin { Ok(()) } else { Err(forbidden()) }
    }

    /// An admission wave in chunks, one commit each (the waitlist shell's `admit`).
    fn admit(&mut self, count: usize) -> Reply {
        let mut admitted = Vec::new();
        while admitted.len() < count {
            let chunk = (count - admitted.len()).min(ADMIT_CHUNK_ENTRIES);
            let outcome = waitlist::admit(&self.waitlist, chunk, None, self.now);
            if outcome.reply.is_empty() {
                break;
            }
            let ids = self.commit_waitlist(outcome);
            admitted.extend(ids.iter().filter_map(|id| self.waitlist.entries.get(id).map(|e| self.waitlist.view(e))));
        }
        let waiting_count = self.waitlist.waiting_count();
        Reply::Admit(AdmitReply { count: admitted.len() as u64, admitted, waiting_count })
    }

    /// Finishes a game: the lobby's rows and the board's best scores in one commit (the lobby
    /// shell's `finish` with the board's `record_game`).
    fn finish(&mut self, game_id: GameId, results: &[GameResult]) -> Result<Reply, ApiError> {
        if lobby::repeats_finish(self.lobby(game_id)?, results) {
            return Ok(Reply::Game(GameReply { game: self.lobby(game_id)?.view() }));
        }
        let outcome = lobby::finish(self.lobby(game_id)?, results, self.now)?;
        let scores: Vec<(UserId, i64)> = results.iter().map(|r| (r.user_id, r.score)).collect();
        let submitted = leaderboard::submit(&self.board, &scores, self.now);
        let lobby = outcome.reply.clone();
        self.commit_lobby(outcome, None);
        for (user, best) in &submitted.reply {
            self.board.record(*user, BestScore { score: best.score, achieved_at: best.achieved_at });
        }
        super::check::effects_match_board(&submitted.effects, &self.board);
        self.touched.board = true;
        Ok(Reply::Game(GameReply { game: lobby.view() }))
    }

    /// Sends a command to a player actor: pending notices first, then the idempotency cache,
    /// then the rule (the player shell's `handle`).
    pub fn ask(&mut self, user: UserId, idem: Option<Idempotency>, command: PlayerCommand) -> Result<Reply, ApiError> {
        if !self.players.contains_key(&user) {
            return Err(ApiError::not_found("user"));
        }
        let pending = self.late_notices.take().unwrap_or(usize::MAX);
        self.deliver(user, pending);
        if let Some(idem) = &idem {
            if let Some(stored) = self.players[&user].answers.get(idem.key.as_str()) {
                return if stored.request_hash == idem.request_hash && stored.operation == idem.operation {
                    Ok(stored.reply.clone())
                } else {
                    Err(ApiError::new(ErrorCode::IDEMPOTENCY_KEY_REUSED))
                };
            }
        }
        match command {
            PlayerCommand::CreateGame(settings) => self.create_game(user, settings),
            PlayerCommand::JoinGame(game_id) => self.join_game(user, game_id),
            PlayerCommand::LeaveGame(game_id) => self.leave_game(user, game_id),
            PlayerCommand::RemoveWaitlistEntry { entry_id, by } => {
                if self.players[&user].state.current_game.is_some() {
                    return Err(ApiError::new(ErrorCode::IN_ACTIVE_GAME));
                }
                let reason = if by.is_some() { "removed by its player" } else { "removed by an operator" };
                let outcome = waitlist::remove(&self.waitlist, entry_id, by, reason, self.now)?;
                self.commit_waitlist(outcome);
                self.entry_view(entry_id)
            }
            command => {
                let outcome = self.player_rule(user, command)?;
                Ok(self.commit_player(user, outcome, idem))
            }
        }
    }

    /// The player rules that commit on the player's own state.
    fn player_rule(&mut self, user: UserId, command: PlayerCommand) -> Result<Outcome<Reply>, ApiError> {
        let catalog = &self.catalog;
        let state = &self.players[&user].state;
        let mut world = World { now: self.now, ids: &mut self.ids };
        match command {
            PlayerCommand::UpdatePreferences(patch) => {
                Ok(player::update_preferences(state, &patch, &mut world)?.map_reply(|_| ack()))
            }
            PlayerCommand::AddItem { item_id, quantity } => player::add_item(state, catalog, &item_id, quantity),
            PlayerCommand::RemoveItem { item_id, quantity } => player::remove_item(state, catalog, &item_id, quantity),
            PlayerCommand::Deposit { currency_id, amount } => {
                player::deposit(state, catalog, &currency_id, amount, &mut world)
            }
            PlayerCommand::Withdraw { currency_id, amount } => {
                player::withdraw(state, catalog, &currency_id, amount, &mut world)
            }
            PlayerCommand::UnlockAchievement(id) => player::unlock_achievement(state, catalog, &id, &mut world),
            PlayerCommand::UnlockCosmetic(id) => player::unlock_cosmetic(state, catalog, &id, &mut world),
            other => unreachable!("{other:?} is not a player-state rule"),
        }
    }

    /// Commits the outcome of a player's own command, applies its events and stores the answer
    /// under the idempotency key (the player shell's `commit`).
    fn commit_player(&mut self, user: UserId, outcome: Outcome<Reply>, idem: Option<Idempotency>) -> Reply {
        let events = self.commit(outcome.events, Some(user));
        self.apply_own(user, &events);
        let shell = self.players.get_mut(&user).expect("asked players exist");
        super::check::effects_match_player(&outcome.effects, &shell.state);
        if let Some(idem) = idem {
            let stored = StoredAnswer {
                operation: idem.operation,
                request_hash: idem.request_hash,
                reply: outcome.reply.clone(),
            };
            shell.answers.insert(idem.key.as_str().to_owned(), stored);
        }
        outcome.reply
    }

    fn member(&self, user: UserId) -> Member {
        Member { user_id: user, display_name: self.players[&user].state.display_name.clone(), joined_at: self.now }
    }

    fn create_game(&mut self, user: UserId, settings: GameSettings) -> Result<Reply, ApiError> {
        if !self.is_admitted(user) {
            return Err(ApiError::new(ErrorCode::NOT_ADMITTED));
        }
        if self.players[&user].state.current_game.is_some() {
            return Err(ApiError::new(ErrorCode::ALREADY_IN_GAME));
        }
        let game_id = pzo_actors::IdSource::next_id(&mut self.ids);
        let outcome = lobby::create(game_id, settings, self.member(user));
        self.lobby_ids.push(game_id);
        let events = self.commit_lobby(outcome, Some(user));
        self.apply_own(user, &events);
        Ok(Reply::Game(GameReply { game: self.lobby(game_id)?.view() }))
    }

    fn join_game(&mut self, user: UserId, game_id: GameId) -> Result<Reply, ApiError> {
        if !self.is_admitted(user) {
            return Err(ApiError::new(ErrorCode::NOT_ADMITTED));
        }
        if self.players[&user].state.current_game.is_some() {
            return Err(ApiError::new(ErrorCode::ALREADY_IN_GAME));
        }
        let outcome = lobby::join(self.lobby(game_id)?, self.member(user))?;
        let events = self.commit_lobby(outcome, Some(user));
        self.apply_own(user, &events);
        Ok(Reply::Game(GameReply { game: self.lobby(game_id)?.view() }))
    }

    fn leave_game(&mut self, user: UserId, game_id: GameId) -> Result<Reply, ApiError> {
        if self.players[&user].state.current_game != Some(game_id) {
            return Err(ApiError::new(ErrorCode::NOT_IN_GAME));
        }
        let outcome = lobby::leave(self.lobby(game_id)?, user, LeaveReason::Left, self.now)?;
        let events = self.commit_lobby(outcome, Some(user));
        self.apply_own(user, &events);
        Ok(Reply::Game(GameReply { game: self.lobby(game_id)?.view() }))
    }

    /// A canonical rendering of the waitlist (its maps are unordered).
    pub fn render_waitlist(state: &WaitlistState, out: &mut impl Write) {
        let mut entries: Vec<_> = state.entries.values().collect();
        entries.sort_by_key(|e| e.join_seq);
        let waiting: Vec<EntryId> = state.waiting(0, state.queue.len()).into_iter().map(|e| e.id).collect();
        let _ = write!(
            out,
            "waitlist next_join_seq={} founders={} admitted={} entries={entries:?} queue={waiting:?} order={:?};",
            state.next_join_seq, state.founders_assigned, state.admitted_count, state.join_order
        );
    }

    /// A canonical rendering of a board.
    pub fn render_board(board: &BoardState, out: &mut impl Write) {
        let mut best: Vec<_> = board.best.iter().collect();
        best.sort_by_key(|(u, _)| **u);
        let ranked = board.page(0, board.ranking.len());
        let _ = write!(out, "board {} season={} best={best:?} ranked={ranked:?};", board.id, board.season);
    }

    /// The final state hash: every actor's state and the event log, rendered canonically.
    pub fn state_hash(&self) -> u64 {
        let mut h = Fnv1a::default();
        for registration in &self.registrations {
            let shell = &self.players[&registration.user_id];
            let mut answers: Vec<_> = shell.answers.iter().map(|(k, a)| (k, a.request_hash, &a.reply)).collect();
            answers.sort_by(|a, b| a.0.cmp(b.0));
            let _ = write!(h, "{:?} watermark={} answers={answers:?};", shell.state, shell.watermark);
        }
        Self::render_waitlist(&self.waitlist, &mut h);
        for id in &self.lobby_ids {
            let _ = write!(h, "{:?};", self.lobbies[id]);
        }
        Self::render_board(&self.board, &mut h);
        for committed in &self.log {
            let _ = write!(h, "{:?}/{:?}/{};", committed.event, committed.audience, committed.aggregate);
        }
        h.finish()
    }
}
