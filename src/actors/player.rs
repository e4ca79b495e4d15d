//! The player actor: owns one player's state and serializes every command on it. It activates
//! from PostgreSQL on first use, applies notices of events committed by other actors (game
//! results, admission), and passivates when idle with no socket open.

use super::lobby::{LobbyMsg, lobby_handle};
use super::{MAILBOX_CAPACITY, commit_error, mailbox_error};
use crate::app::App;
use crate::auth::Caller;
use crate::store::{self, StoredAnswer};
use pzo_actors::catalog::Catalog;
use pzo_actors::lobby::{GameSettings, Member};
use pzo_actors::player::{self as rules, PlayerState};
use pzo_actors::{Outcome, World};
use pzo_protocol::event::LeaveReason;
use pzo_protocol::model::*;
use pzo_protocol::reply::*;
use pzo_protocol::request::PreferencesPatch;
use pzo_protocol::validate::{Amount, IdempotencyKey};
use pzo_protocol::{ApiError, EntryId, ErrorCode, Event, GameId, Reply, UserId};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How long a player actor with no socket stays in memory after its last command.
pub const PLAYER_IDLE_PASSIVATE: Duration = Duration::from_secs(600);

/// Idempotency of one mutating command: the key, the request's hash and its op.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub key: IdempotencyKey,
    pub request_hash: Vec<u8>,
    pub operation: &'static str,
}

/// What a player actor can be asked.
#[derive(Debug)]
pub enum PlayerCommand {
    Profile {
        full: bool,
    },
    UpdatePreferences(PreferencesPatch),
    Inventory,
    Item(String),
    AddItem {
        item_id: String,
        quantity: Amount,
    },
    RemoveItem {
        item_id: String,
        quantity: Amount,
    },
    Balances,
    Currency {
        currency_id: String,
        offset: u64,
        limit: u32,
    },
    Deposit {
        currency_id: String,
        amount: Amount,
    },
    Withdraw {
        currency_id: String,
        amount: Amount,
    },
    Achievements,
    Achievement(String),
    UnlockAchievement(String),
    Cosmetics,
    Cosmetic(String),
    UnlockCosmetic(String),
    CreateGame(GameSettings),
    JoinGame(GameId),
    LeaveGame(GameId),
    /// Sent here (instead of straight to the lobby) only with an idempotency key.
    StartGame(GameId),
    /// Sent here (instead of straight to the waitlist) only with an idempotency key.
    JoinWaitlist {
        referral_code: Option<String>,
    },
    RemoveWaitlistEntry {
        entry_id: EntryId,
        by: Caller,
    },
    Inspect,
    /// Nothing but the activation: answered once the actor has loaded (see [`warm`]).
    Warm,
    SocketOpened,
    SocketClosed {
        remaining: usize,
    },
    Kick,
}

pub struct PlayerMsg {
    pub command: PlayerCommand,
    pub idempotency: Option<Idempotency>,
    pub reply: oneshot::Sender<Result<Reply, ApiError>>,
}

/// A player actor's address.
#[derive(Clone)]
pub struct PlayerHandle {
    /// Boxed: a tokio channel allocates its first block of 32 slots up front, and every player
    /// who has sent a command keeps a live actor while a socket is open (32 x 120-byte messages
    /// was 3.8 KiB per idle player; boxed, 256 bytes).
    tx: mpsc::Sender<Box<PlayerMsg>>,
    notices: mpsc::UnboundedSender<Arc<Event>>,
}

impl PlayerHandle {
    /// Tells the actor about an event another actor committed (never blocks; bounded by the
    /// journal's commit rate, not by any client).
    pub fn notice(&self, event: Arc<Event>) {
        let _ = self.notices.send(event);
    }
    pub fn depth(&self) -> usize {
        MAILBOX_CAPACITY - self.tx.capacity()
    }
}

/// Sends a command to the player's actor (activating it) and waits for the answer.
pub async fn ask(
    app: &Arc<App>,
    user_id: UserId,
    command: PlayerCommand,
    idempotency: Option<Idempotency>,
) -> Result<Reply, ApiError> {
    let mut msg = Box::new(PlayerMsg { command, idempotency, reply: oneshot::channel().0 });
    // A passivating actor may close its mailbox between lookup and send: try once more.
    for _ in 0..2 {
        let handle = app.players.get_or_spawn(&user_id, |generation| spawn(app.clone(), user_id, generation));
        let (reply, answer) = oneshot::channel();
        msg.reply = reply;
        match handle.tx.try_send(msg) {
            Ok(()) => return answer.await.unwrap_or_else(|_| Err(mailbox_error())),
            Err(mpsc::error::TrySendError::Full(_)) => return Err(mailbox_error()),
            Err(mpsc::error::TrySendError::Closed(returned)) => msg = returned,
        }
    }
    Err(mailbox_error())
}

/// Tells the player's actor something only if it is live, without waiting for an answer. An
/// actor that is not live needs no telling: it reads what the message says (the open sockets)
/// when it activates. This keeps an idle authenticated socket from pinning a player actor.
pub fn tell_if_live(app: &Arc<App>, user_id: UserId, command: PlayerCommand) {
    if let Some(handle) = app.players.get(&user_id) {
        let msg = Box::new(PlayerMsg { command, idempotency: None, reply: oneshot::channel().0 });
        // A full mailbox drops the tell: the next SocketOpened or SocketClosed recounts.
        let _ = handle.tx.try_send(msg);
    }
}

/// Activates the actors of the players among `users` who have a socket open, and waits (at most
/// [`WARM_WAIT_MAX`]) until they have loaded. A hint, not a command: failures are ignored, and
/// the first real command activates an actor that is still cold.
pub async fn warm(app: &Arc<App>, users: impl IntoIterator<Item = UserId>) {
    let online = users.into_iter().filter(|user| app.bus.player_socket_count(*user) > 0);
    let loads = online.map(|user| ask(app, user, PlayerCommand::Warm, None)).collect::<Vec<_>>();
    let _ = tokio::time::timeout(WARM_WAIT_MAX, futures_util::future::join_all(loads)).await;
}

/// The longest [`warm`] holds its caller (an admission wave) for loads still under way.
pub const WARM_WAIT_MAX: Duration = Duration::from_secs(1);

fn spawn(app: Arc<App>, user_id: UserId, generation: u64) -> PlayerHandle {
    let (tx, rx) = mpsc::channel(MAILBOX_CAPACITY);
    let (notices_tx, notices) = mpsc::unbounded_channel();
    crate::runtime::spawn(run(app, user_id, generation, rx, notices));
    PlayerHandle { tx, notices: notices_tx }
}

struct Actor {
    app: Arc<App>,
    state: PlayerState,
    watermark: u64,
    answers: HashMap<String, StoredAnswer>,
    sockets: usize,
    /// Bumped on every socket change so a stale grace timer does nothing.
    grace_epoch: u64,
}

async fn run(
    app: Arc<App>,
    user_id: UserId,
    generation: u64,
    mut rx: mpsc::Receiver<Box<PlayerMsg>>,
    mut notices: mpsc::UnboundedReceiver<Arc<Event>>,
) {
    // The loading, a command's handling and a grace timer's work are boxed: inline, their state
    // machines (database futures) would size every idle actor's task for good, and a live actor
    // stays behind every socket of a player who has sent a command.
    let loaded = Box::pin(store::load_player(&app.pool, user_id)).await;
    let (state, watermark, answers) = match loaded {
        Ok(Some(found)) => found,
        Ok(None) | Err(_) => {
            let error = if loaded.is_ok() { ApiError::not_found("user") } else { mailbox_error() };
            app.players.remove(&user_id, generation);
            rx.close();
            while let Some(msg) = rx.recv().await {
                let _ = msg.reply.send(Err(error.clone()));
            }
            return;
        }
    };
    let sockets = app.bus.player_socket_count(user_id);
    let mut actor = Actor { app: app.clone(), state, watermark, answers, sockets, grace_epoch: 0 };
    let (grace_tx, mut grace_rx) = mpsc::unbounded_channel::<(u64, GameId)>();
    loop {
        tokio::select! {
            biased;
            Some(event) = notices.recv() => actor.notice(&event),
            Some((epoch, game_id)) = grace_rx.recv() => Box::pin(actor.grace_expired(epoch, game_id)).await,
            msg = rx.recv() => {
                let Some(msg) = msg else { break };
                // Apply every pending notice first so the command sees committed results.
                while let Ok(event) = notices.try_recv() {
                    actor.notice(&event);
                }
                let answer = Box::pin(actor.handle(msg.command, msg.idempotency, &grace_tx)).await;
                let _ = msg.reply.send(answer);
            }
            () = tokio::time::sleep(PLAYER_IDLE_PASSIVATE), if actor.sockets == 0 && actor.state.current_game.is_none() => {
                break;
            }
        }
    }
    app.players.remove(&user_id, generation);
    rx.close();
    while let Some(msg) = rx.recv().await {
        let _ = msg.reply.send(Err(mailbox_error()));
    }
}

impl Actor {
    fn notice(&mut self, event: &Event) {
        // Notices arrive in seq order (one journal fans out in commit order), so a notice at or
        // below the watermark is a duplicate or predates the load: either way already applied.
        if event.seq > self.watermark {
            self.state.apply(&event.data);
            self.watermark = event.seq;
        }
    }

    fn catalog(&self) -> &Catalog {
        &self.app.catalog
    }

    /// Commits an outcome of this player's own command and applies its events.
    async fn commit(&mut self, outcome: Outcome<Reply>, idempotency: Option<Idempotency>) -> Result<Reply, ApiError> {
        let now = self.app.now();
        let mut effects = outcome.effects;
        effects.extend(idempotency.as_ref().map(|idem| self.answer_effect(idem, &outcome.reply)));
        let events = self
            .app
            .journal
            .commit(effects, outcome.events, now, Some(self.state.user_id))
            .await
            .map_err(commit_error)?;
        for event in &events {
            self.state.apply(&event.data);
        }
        if let Some(idem) = idempotency {
            self.remember(idem, &outcome.reply);
        }
        Ok(outcome.reply)
    }

    /// The effect that stores a keyed command's answer, committed with the command's own effects.
    fn answer_effect(&self, idem: &Idempotency, reply: &Reply) -> pzo_actors::Effect {
        pzo_actors::Effect::StoreIdempotency {
            user_id: self.state.user_id,
            key: idem.key.as_str().to_owned(),
            operation: idem.operation.to_owned(),
            request_hash: idem.request_hash.clone(),
            response: reply.clone(),
            at: self.app.now(),
        }
    }

    /// Keeps a committed answer for retries with the same key.
    fn remember(&mut self, idem: Idempotency, reply: &Reply) {
        let stored = StoredAnswer {
            operation: idem.operation.to_owned(),
            request_hash: idem.request_hash,
            reply: reply.clone(),
        };
        self.answers.insert(idem.key.as_str().to_owned(), stored);
    }

    /// Stores the answer of a keyed command whose change another actor committed (a lobby's join,
    /// leave or start; the waitlist's join), in a commit of its own after that one. Should the
    /// server stop between the two, a retry gets the operation's own refusal (`ALREADY_IN_GAME`,
    /// `ALREADY_ON_WAITLIST`...) rather than the first answer; it still changes nothing. If this
    /// commit fails, the command stays done and answered; only the key is not remembered.
    async fn remember_after(
        &mut self,
        idempotency: Option<Idempotency>,
        result: Result<Reply, ApiError>,
    ) -> Result<Reply, ApiError> {
        let (Some(idem), Ok(reply)) = (idempotency, &result) else { return result };
        let effect = self.answer_effect(&idem, reply);
        match self.app.journal.commit(vec![effect], Vec::new(), self.app.now(), Some(self.state.user_id)).await {
            Ok(_) => self.remember(idem, reply),
            Err(error) => {
                tracing::warn!(%error, "a keyed command's answer was not stored; a retry is refused by the operation itself")
            }
        }
        result
    }

    async fn handle(
        &mut self,
        command: PlayerCommand,
        idempotency: Option<Idempotency>,
        grace: &mpsc::UnboundedSender<(u64, GameId)>,
    ) -> Result<Reply, ApiError> {
        if let Some(idem) = &idempotency {
            if let Some(stored) = self.answers.get(idem.key.as_str()) {
                return if stored.request_hash == idem.request_hash && stored.operation == idem.operation {
                    Ok(stored.reply.clone())
                } else {
                    Err(ApiError::new(ErrorCode::IDEMPOTENCY_KEY_REUSED))
                };
            }
        }
        match command {
            PlayerCommand::Profile { full } => Ok(Reply::User(UserReply { user: self.profile(full) })),
            PlayerCommand::UpdatePreferences(patch) => {
                let mut ids = self.app.ids();
                let mut world = World { now: self.app.now(), ids: &mut ids };
                let outcome = rules::update_preferences(&self.state, &patch, &mut world)?;
                // The answer is the profile with the new preferences, known before the commit
                // so that a keyed retry gets the same one.
                let mut user = self.profile(true);
                let outcome = outcome.map_reply(|preferences| {
                    user.preferences = Some(preferences);
                    Reply::User(UserReply { user })
                });
                self.commit(outcome, idempotency).await
            }
            PlayerCommand::Inventory => Ok(Reply::Inventory(self.inventory())),
            PlayerCommand::Item(item_id) => {
                let item = self.catalog().items.get(&item_id).cloned().ok_or_else(|| ApiError::not_found("item"))?;
                Ok(Reply::Item(ItemReply { quantity: self.state.quantity(&item_id), item }))
            }
            PlayerCommand::AddItem { item_id, quantity } => {
                let outcome = rules::add_item(&self.state, self.catalog(), &item_id, quantity)?;
                self.commit(outcome, idempotency).await
            }
            PlayerCommand::RemoveItem { item_id, quantity } => {
                let outcome = rules::remove_item(&self.state, self.catalog(), &item_id, quantity)?;
                self.commit(outcome, idempotency).await
            }
            PlayerCommand::Balances => Ok(Reply::Balances(self.balances())),
            PlayerCommand::Currency { currency_id, offset, limit } => self.currency(&currency_id, offset, limit).await,
            PlayerCommand::Deposit { currency_id, amount } => {
                let mut ids = self.app.ids();
                let mut world = World { now: self.app.now(), ids: &mut ids };
                let outcome = rules::deposit(&self.state, &self.app.catalog, &currency_id, amount, &mut world)?;
                self.commit(outcome, idempotency).await
            }
            PlayerCommand::Withdraw { currency_id, amount } => {
                let mut ids = self.app.ids();
                let mut world = World { now: self.app.now(), ids: &mut ids };
                let outcome = rules::withdraw(&self.state, &self.app.catalog, &currency_id, amount, &mut world)?;
                self.commit(outcome, idempotency).await
            }
            PlayerCommand::Achievements => Ok(Reply::Achievements(AchievementsReply {
                achievements: self
                    .catalog()
                    .achievements
                    .values()
                    .map(|d| rules::achievement_view(&self.state, d))
                    .collect(),
            })),
            PlayerCommand::Achievement(id) => {
                let def = self.catalog().achievements.get(&id).ok_or_else(|| ApiError::not_found("achievement"))?;
                Ok(Reply::Achievement(AchievementReply { achievement: rules::achievement_view(&self.state, def) }))
            }
            PlayerCommand::UnlockAchievement(id) => {
                let mut ids = self.app.ids();
                let mut world = World { now: self.app.now(), ids: &mut ids };
                let outcome = rules::unlock_achievement(&self.state, &self.app.catalog, &id, &mut world)?;
                self.commit(outcome, idempotency).await
            }
            PlayerCommand::Cosmetics => Ok(Reply::Cosmetics(CosmeticsReply {
                cosmetics: self.catalog().cosmetics.values().map(|d| rules::cosmetic_view(&self.state, d)).collect(),
            })),
            PlayerCommand::Cosmetic(id) => {
                let def = self.catalog().cosmetics.get(&id).ok_or_else(|| ApiError::not_found("cosmetic"))?;
                Ok(Reply::Cosmetic(CosmeticReply {
                    cosmetic: rules::cosmetic_view(&self.state, def),
                    transaction: None,
                }))
            }
            PlayerCommand::UnlockCosmetic(id) => {
                let mut ids = self.app.ids();
                let mut world = World { now: self.app.now(), ids: &mut ids };
                let outcome = rules::unlock_cosmetic(&self.state, &self.app.catalog, &id, &mut world)?;
                self.commit(outcome, idempotency).await
            }
            PlayerCommand::CreateGame(settings) => self.create_game(settings, idempotency).await,
            PlayerCommand::JoinGame(game_id) => {
                let joined = self.join_game(game_id).await;
                self.remember_after(idempotency, joined).await
            }
            PlayerCommand::LeaveGame(game_id) => {
                let left = self.leave_game(game_id, LeaveReason::Left).await;
                self.remember_after(idempotency, left).await
            }
            PlayerCommand::StartGame(game_id) => {
                let started = self.start_game(game_id).await;
                self.remember_after(idempotency, started).await
            }
            PlayerCommand::JoinWaitlist { referral_code } => {
                let joined = self.app.waitlist.join(self.state.user_id, referral_code).await;
                let joined = joined.map(|entry| Reply::Entry(EntryReply { entry }));
                self.remember_after(idempotency, joined).await
            }
            PlayerCommand::RemoveWaitlistEntry { entry_id, by } => self.remove_entry(entry_id, by).await,
            PlayerCommand::Inspect => Ok(Reply::Inspect(self.inspect())),
            PlayerCommand::Warm => Ok(Reply::Ack(AckReply { ok: true })),
            PlayerCommand::SocketOpened => {
                // Counted from the bus, not incremented: an actor activating while the socket
                // registers has already counted it.
                self.sockets = self.app.bus.player_socket_count(self.state.user_id);
                self.grace_epoch += 1;
                Ok(Reply::Ack(AckReply { ok: true }))
            }
            PlayerCommand::SocketClosed { remaining } => {
                self.sockets = remaining;
                self.grace_epoch += 1;
                if remaining == 0 {
                    if let Some(game_id) = self.state.current_game {
                        let (epoch, grace, tx) = (self.grace_epoch, self.app.config.game_grace, grace.clone());
                        crate::runtime::spawn(async move {
                            tokio::time::sleep(grace).await;
                            let _ = tx.send((epoch, game_id));
                        });
                    }
                }
                Ok(Reply::Ack(AckReply { ok: true }))
            }
            PlayerCommand::Kick => {
                let closed = u32::try_from(self.app.bus.kick(self.state.user_id)).unwrap_or(u32::MAX);
                Ok(Reply::Kick(KickReply { user_id: self.state.user_id, sockets_closed: closed }))
            }
        }
    }

    async fn grace_expired(&mut self, epoch: u64, game_id: GameId) {
        // The bus is asked too: a SocketOpened told to a full mailbox is dropped, and a player
        // back on a socket must keep the seat.
        let reconnected = self.app.bus.player_socket_count(self.state.user_id) > 0;
        if epoch == self.grace_epoch && self.sockets == 0 && !reconnected && self.state.current_game == Some(game_id) {
            if let Err(error) = self.leave_game(game_id, LeaveReason::Disconnected).await {
                tracing::debug!(%error, "grace-period leave did not apply");
            }
        }
    }

    fn profile(&self, full: bool) -> UserProfile {
        let s = &self.state;
        let season0 = full.then(|| {
            let admission = self.app.admissions.get(&s.user_id).map(|a| *a);
            Season0View {
                waitlist_entry_id: admission.map(|a| a.entry_id),
                waitlist_status: admission.map(|a| a.status),
                admitted: admission.is_some_and(|a| a.status == WaitlistStatus::Admitted),
                founder_number: admission.and_then(|a| a.founder_number),
                admitted_at: admission.and_then(|a| a.admitted_at),
            }
        });
        UserProfile {
            id: s.user_id,
            display_name: s.display_name.clone(),
            created_at: s.created_at,
            email: full.then(|| s.email.clone()),
            preferences: full.then(|| s.preferences.clone()),
            season0,
        }
    }

    fn inventory(&self) -> InventoryReply {
        let items = self
            .state
            .inventory
            .iter()
            .filter_map(|(id, quantity)| {
                let def = self.catalog().items.get(id)?;
                Some(InventoryItem {
                    item_id: id.clone(),
                    name: def.name.clone(),
                    stackable: def.stackable,
                    quantity: *quantity,
                })
            })
            .collect();
        InventoryReply { user_id: self.state.user_id, items }
    }

    fn balances(&self) -> BalancesReply {
        let balances = self
            .catalog()
            .currencies
            .values()
            .map(|c| Balance { currency_id: c.id.clone(), name: c.name.clone(), balance: self.state.balance(&c.id) })
            .collect();
        BalancesReply { user_id: self.state.user_id, balances }
    }

    async fn currency(&self, currency_id: &str, offset: u64, limit: u32) -> Result<Reply, ApiError> {
        let currency =
            self.catalog().currencies.get(currency_id).cloned().ok_or_else(|| ApiError::not_found("currency"))?;
        let rows =
            store::transactions(&self.app.pool, self.state.user_id, currency_id, offset, store::rows_for_page(limit))
                .await
                .map_err(|_| mailbox_error())?;
        let (transactions, next_cursor) = store::page_of(rows, offset, limit);
        Ok(Reply::Currency(CurrencyReply {
            currency,
            balance: self.state.balance(currency_id),
            transactions,
            next_cursor,
        }))
    }

    fn admitted(&self) -> Result<(), ApiError> {
        let admitted =
            self.app.admissions.get(&self.state.user_id).is_some_and(|a| a.status == WaitlistStatus::Admitted);
        if admitted { Ok(()) } else { Err(ApiError::new(ErrorCode::NOT_ADMITTED)) }
    }

    fn member(&self) -> Member {
        Member { user_id: self.state.user_id, display_name: self.state.display_name.clone(), joined_at: self.app.now() }
    }

    async fn create_game(
        &mut self,
        settings: GameSettings,
        idempotency: Option<Idempotency>,
    ) -> Result<Reply, ApiError> {
        self.admitted()?;
        if self.state.current_game.is_some() {
            return Err(ApiError::new(ErrorCode::ALREADY_IN_GAME));
        }
        let game_id = uuid::Uuid::new_v4();
        let outcome = pzo_actors::lobby::create(game_id, settings, self.member());
        let lobby = outcome.reply.clone();
        let reply =
            self.commit(outcome.map_reply(|game| Reply::Game(GameReply { game: game.view() })), idempotency).await?;
        super::lobby::adopt(&self.app, lobby);
        Ok(reply)
    }

    async fn start_game(&mut self, game_id: GameId) -> Result<Reply, ApiError> {
        let lobby = lobby_handle(&self.app, game_id).await?;
        let (reply, answer) = oneshot::channel();
        lobby.send(LobbyMsg::Start { user_id: self.state.user_id, reply })?;
        Ok(Reply::Game(GameReply { game: answer.await.map_err(|_| mailbox_error())?? }))
    }

    async fn join_game(&mut self, game_id: GameId) -> Result<Reply, ApiError> {
        self.admitted()?;
        if self.state.current_game.is_some() {
            return Err(ApiError::new(ErrorCode::ALREADY_IN_GAME));
        }
        let lobby = lobby_handle(&self.app, game_id).await?;
        let (reply, answer) = oneshot::channel();
        lobby.send(LobbyMsg::Join { member: self.member(), reply })?;
        let (game, events) = answer.await.map_err(|_| mailbox_error())??;
        for event in &events {
            self.state.apply(&event.data);
        }
        Ok(Reply::Game(GameReply { game }))
    }

    async fn leave_game(&mut self, game_id: GameId, reason: LeaveReason) -> Result<Reply, ApiError> {
        if self.state.current_game != Some(game_id) {
            // An id that names no game is NOT_FOUND, as everywhere; NOT_IN_GAME is for a real
            // game this player is not in.
            let known = self.app.lobbies.get(&game_id).is_some()
                || store::game_exists(&self.app.pool, game_id).await.map_err(|_| mailbox_error())?;
            return Err(if known { ApiError::new(ErrorCode::NOT_IN_GAME) } else { ApiError::not_found("game") });
        }
        let lobby = lobby_handle(&self.app, game_id).await?;
        let (reply, answer) = oneshot::channel();
        lobby.send(LobbyMsg::Leave { user_id: self.state.user_id, reason, reply })?;
        let (game, events) = answer.await.map_err(|_| mailbox_error())??;
        for event in &events {
            self.state.apply(&event.data);
        }
        Ok(Reply::Game(GameReply { game }))
    }

    async fn remove_entry(&mut self, entry_id: EntryId, by: Caller) -> Result<Reply, ApiError> {
        if self.state.current_game.is_some() {
            return Err(ApiError::new(ErrorCode::IN_ACTIVE_GAME));
        }
        let entry = self.app.waitlist.remove(entry_id, by.user_id()).await?;
        Ok(Reply::Entry(EntryReply { entry }))
    }

    fn inspect(&self) -> InspectReply {
        let s = &self.state;
        InspectReply {
            user: self.profile(true),
            balances: self.balances().balances,
            inventory: self.inventory().items,
            stats: s.stats,
            achievements: s.achievements.keys().cloned().collect(),
            cosmetics: s.cosmetics.keys().cloned().collect(),
            current_game: s.current_game,
            sockets: u32::try_from(self.sockets).unwrap_or(u32::MAX),
            waitlist_entry_id: self.app.admissions.get(&s.user_id).map(|a| a.entry_id),
        }
    }
}
