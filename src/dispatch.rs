//! One flow, one dispatch: every operation, from HTTP or a socket, arrives here as a typed
//! `Request` with its caller, and one `match` routes it to the owning actor.

use crate::actors::lobby::{self, LobbyMsg, lobby_handle};
use crate::actors::mailbox_error;
use crate::actors::player::{Idempotency, PlayerCommand, ask};
use crate::app::App;
use crate::auth::{self, Caller};
use crate::store;
use pzo_protocol::event::AdminAction;
use pzo_protocol::limits::{ADMIT_WAVE_MAX, GAME_RESULTS_MAX, RELAY_PAYLOAD_BYTES_MAX, RESUME_EVENTS_MAX};
use pzo_protocol::model::{LeaderboardEntry, LeaderboardInfo};
use pzo_protocol::reply::*;
use pzo_protocol::request::*;
use pzo_protocol::validate::{Amount, DisplayName, Email, IdempotencyKey, Password, page_limit};
use pzo_protocol::{ApiError, ErrorCode, Reply, Request, UserId};
use std::sync::Arc;
use tokio::sync::oneshot;

fn forbidden() -> ApiError {
    ApiError::new(ErrorCode::FORBIDDEN)
}

fn unauthenticated() -> ApiError {
    ApiError::new(ErrorCode::UNAUTHENTICATED)
}

fn player(caller: Caller) -> Result<UserId, ApiError> {
    match caller {
        Caller::Player(id) => Ok(id),
        Caller::Admin => Err(ApiError::with_message(ErrorCode::FORBIDDEN, "this operation needs a player token")),
        Caller::Anonymous => Err(unauthenticated()),
    }
}

/// The player a caller acts on: itself, or (admins only) the named one.
fn subject(caller: Caller, named: Option<UserId>) -> Result<UserId, ApiError> {
    match (caller, named) {
        (Caller::Admin, Some(id)) => Ok(id),
        (Caller::Admin, None) => Err(ApiError::validation("user_id", "is required for admin calls")),
        (Caller::Player(me), Some(id)) if id != me => Err(forbidden()),
        (Caller::Player(me), _) => Ok(me),
        (Caller::Anonymous, _) => Err(unauthenticated()),
    }
}

fn offset(cursor: Option<&str>) -> Result<u64, ApiError> {
    store::decode_cursor(cursor).ok_or_else(|| ApiError::validation("cursor", "is not a cursor this server issued"))
}

fn idempotency(request: &Request, key: Option<&str>) -> Result<Option<Idempotency>, ApiError> {
    let Some(key) = IdempotencyKey::parse(key)? else { return Ok(None) };
    let args = serde_json::to_string(&request.json_data()).unwrap_or_default();
    Ok(Some(Idempotency { key, request_hash: auth::request_hash(request.name(), &args), operation: request.name() }))
}

/// Routes one request. Session-level ops (auth, ping, subscriptions) are handled by the socket.
pub async fn dispatch(app: &Arc<App>, caller: Caller, request: Request) -> Result<Reply, ApiError> {
    if request.is_admin_only() && !caller.is_admin() {
        return Err(if caller == Caller::Anonymous { unauthenticated() } else { forbidden() });
    }
    let idem_key = match &request {
        Request::InventoryAdd(a) => a.idempotency_key.clone(),
        Request::InventoryRemove(a) => a.idempotency_key.clone(),
        Request::CurrencyDeposit(a) => a.idempotency_key.clone(),
        Request::CurrencyWithdraw(a) => a.idempotency_key.clone(),
        Request::CosmeticsUnlock(a) => a.idempotency_key.clone(),
        Request::UsersUpdatePreferences(a) => a.idempotency_key.clone(),
        Request::WaitlistJoin(a) => a.idempotency_key.clone(),
        Request::GamesCreate(a) => a.idempotency_key.clone(),
        Request::GamesJoin(a) | Request::GamesLeave(a) | Request::GamesStart(a) => a.idempotency_key.clone(),
        Request::AchievementsUnlock(a) => a.idempotency_key.clone(),
        _ => None,
    };
    let idem = idempotency(&request, idem_key.as_deref())?;
    let audit = audit_of(&request);
    let result = route(app, caller, request, idem).await;
    if let (Ok(_), Some(action)) = (&result, audit) {
        store_admin_action(&app.journal, app.now(), action).await;
    }
    result
}

/// Operator actions are themselves events, so the console's tail and the log show who did what.
fn audit_of(request: &Request) -> Option<AdminAction> {
    let (action, target, reason) = match request {
        Request::WaitlistAdmit(a) => ("waitlist.admit", a.count.to_string(), None),
        Request::WaitlistSetStatus(a) => {
            ("waitlist.set_status", format!("{} -> {}", a.entry_id, a.status.as_str()), None)
        }
        Request::WaitlistAuto(a) => ("waitlist.auto", auto_admit_target(a), None),
        Request::LeaderboardReset(a) => ("leaderboard.reset", a.leaderboard_id.clone(), None),
        Request::GamesClose(a) => ("games.close", a.game_id.to_string(), None),
        Request::GamesFinish(a) => ("games.finish", a.game_id.to_string(), None),
        Request::PlayersKick(a) => ("players.kick", a.user_id.to_string(), a.reason.clone()),
        _ => return None,
    };
    Some(AdminAction { action: action.to_owned(), target, reason })
}

/// `waitlist.auto`'s audit target: the settings it asked for.
fn auto_admit_target(args: &pzo_protocol::request::AutoAdmitArgs) -> String {
    let part = |name: &str, value: Option<String>| value.map(|v| format!("{name}={v}"));
    [
        part("enabled", args.enabled.map(|e| e.to_string())),
        part("wave", args.wave.map(|w| w.to_string())),
        part("interval_ms", args.interval_ms.map(|i| i.to_string())),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ")
}

/// Stores an operator action (or an automatic one, like a capacity-aware wave) as an event.
pub async fn store_admin_action(journal: &crate::journal::Journal, now: pzo_protocol::Timestamp, action: AdminAction) {
    let draft = pzo_actors::EventDraft {
        data: pzo_protocol::EventData::AdminAction(action),
        user_id: None,
        game_id: None,
        aggregate: "admin",
        audience: pzo_actors::effect::Audience::default(),
    };
    if let Err(error) = journal.commit(Vec::new(), vec![draft], now, None).await {
        tracing::warn!(%error, "an admin action was applied but its audit event was not stored");
    }
}

async fn route(app: &Arc<App>, caller: Caller, request: Request, idem: Option<Idempotency>) -> Result<Reply, ApiError> {
    match request {
        Request::UsersRegister(args) => register(app, args).await,
        Request::UsersLogin(args) => login(app, args).await,
        Request::Auth(_)
        | Request::Ping(_)
        | Request::StatsSubscribe(_)
        | Request::EventsTail(_)
        | Request::LeaderboardSubscribe(_) => {
            Err(ApiError::with_message(ErrorCode::BAD_REQUEST, "this op is only available on a socket"))
        }
        Request::EventsResume(args) => resume(app, player(caller)?, args.since_seq).await,
        Request::UsersList(page) => {
            player_or_admin(caller)?;
            let (offset, limit) = (offset(page.cursor.as_deref())?, page_limit(page.limit)?);
            let rows = store::list_users(&app.pool, offset, store::rows_for_page(limit)).await;
            let (users, next_cursor) = store::page_of(rows.map_err(|_| mailbox_error())?, offset, limit);
            Ok(Reply::Users(UsersPage { users, next_cursor }))
        }
        Request::UsersGet(IdArgs { id }) => {
            player_or_admin(caller)?;
            let full = caller.is_admin() || caller.user_id() == Some(id);
            ask(app, id, PlayerCommand::Profile { full }, None).await
        }
        Request::UsersUpdatePreferences(args) => {
            let me = player(caller)?;
            if args.id.is_some_and(|id| id != me) {
                return Err(forbidden());
            }
            ask(app, me, PlayerCommand::UpdatePreferences(args.preferences), idem).await
        }
        Request::WaitlistJoin(args) => {
            let me = player(caller)?;
            if idem.is_some() {
                // The player actor keeps the player's remembered answers.
                return ask(app, me, PlayerCommand::JoinWaitlist { referral_code: args.referral_code }, idem).await;
            }
            let entry = app.waitlist.join(me, args.referral_code).await?;
            Ok(Reply::Entry(EntryReply { entry }))
        }
        Request::WaitlistGet(IdArgs { id }) => {
            let entry = app.waitlist.get(id).await?;
            owner_or_admin(caller, entry.user_id)?;
            Ok(Reply::Entry(EntryReply { entry }))
        }
        Request::WaitlistRemove(IdArgs { id }) => {
            let entry = app.waitlist.get(id).await?;
            owner_or_admin(caller, entry.user_id)?;
            ask(app, entry.user_id, PlayerCommand::RemoveWaitlistEntry { entry_id: id, by: caller }, None).await
        }
        Request::WaitlistStatus(_) => {
            player_or_admin(caller)?;
            Ok(Reply::WaitlistStatus(app.waitlist.status(caller.user_id()).await?))
        }
        Request::WaitlistList(args) => {
            let (offset, limit) = (offset(args.cursor.as_deref())?, page_limit(args.limit)?);
            let rows = app.waitlist.list(args.status, offset as usize, store::rows_for_page(limit) as usize).await?;
            let (entries, next_cursor) = store::page_of(rows, offset, limit);
            Ok(Reply::Entries(EntriesPage { entries, next_cursor }))
        }
        Request::WaitlistAdmit(AdmitArgs { count }) => {
            let count = u32::try_from(count)
                .ok()
                .filter(|c| (1..=ADMIT_WAVE_MAX).contains(c))
                .ok_or_else(|| ApiError::validation("admit", "must be 1 to 100000"))?;
            Ok(Reply::Admit(crate::admission::admit_wave(app, count as usize).await?))
        }
        Request::WaitlistSetStatus(args) => {
            let entry = app.waitlist.get(args.entry_id).await?;
            if args.status == pzo_protocol::model::WaitlistStatus::Removed {
                return ask(
                    app,
                    entry.user_id,
                    PlayerCommand::RemoveWaitlistEntry { entry_id: entry.id, by: caller },
                    None,
                )
                .await;
            }
            let entry = app.waitlist.set_status(args.entry_id, args.status, None).await?;
            Ok(Reply::Entry(EntryReply { entry }))
        }
        Request::WaitlistAuto(args) => Ok(Reply::AutoAdmission(app.auto_admitter.configure(args)?)),
        Request::GamesList(args) => {
            player_or_admin(caller)?;
            let (offset, limit) = (offset(args.cursor.as_deref())?, page_limit(args.limit)?);
            let rows = store::list_games(&app.pool, args.status, offset, store::rows_for_page(limit)).await;
            let (games, next_cursor) = store::page_of(rows.map_err(|_| mailbox_error())?, offset, limit);
            Ok(Reply::Games(GamesPage { games, next_cursor }))
        }
        Request::GamesCreate(args) => {
            let me = player(caller)?;
            let settings = pzo_actors::lobby::GameSettings::parse(&args.name, args.max_players, args.min_players)?;
            ask(app, me, PlayerCommand::CreateGame(settings), idem).await
        }
        Request::GamesGet(IdArgs { id }) => {
            player_or_admin(caller)?;
            let game = store::game(&app.pool, id)
                .await
                .map_err(|_| mailbox_error())?
                .ok_or_else(|| ApiError::not_found("game"))?;
            Ok(Reply::Game(GameReply { game }))
        }
        Request::GamesJoin(GameActionArgs { game_id, .. }) => {
            ask(app, player(caller)?, PlayerCommand::JoinGame(game_id), idem).await
        }
        Request::GamesLeave(GameActionArgs { game_id, .. }) => {
            ask(app, player(caller)?, PlayerCommand::LeaveGame(game_id), idem).await
        }
        Request::GamesStart(GameActionArgs { game_id, .. }) => {
            let me = player(caller)?;
            if idem.is_some() {
                // The player actor keeps the player's remembered answers.
                return ask(app, me, PlayerCommand::StartGame(game_id), idem).await;
            }
            let (reply, answer) = oneshot::channel();
            lobby_handle(app, game_id).await?.send(LobbyMsg::Start { user_id: me, reply })?;
            Ok(Reply::Game(GameReply { game: answer.await.map_err(|_| mailbox_error())?? }))
        }
        Request::GamesSend(SendArgs { game_id, payload }) => {
            let me = player(caller)?;
            if payload.len() > RELAY_PAYLOAD_BYTES_MAX {
                return Err(ApiError::with_message(ErrorCode::PAYLOAD_TOO_LARGE, "a relayed payload is at most 1 KiB"));
            }
            if let Some(delivered) = lobby::relay_direct(app, me, game_id, payload.clone()) {
                return Ok(Reply::Send(SendReply { delivered: delivered? }));
            }
            let (reply, answer) = oneshot::channel();
            lobby_handle(app, game_id).await?.send(LobbyMsg::Relay { from: me, payload, reply })?;
            Ok(Reply::Send(SendReply { delivered: answer.await.map_err(|_| mailbox_error())?? }))
        }
        Request::GamesFinish(FinishGameArgs { game_id, results }) => {
            if results.len() > GAME_RESULTS_MAX {
                return Err(ApiError::validation("results", "at most 64 results"));
            }
            let (reply, answer) = oneshot::channel();
            lobby_handle(app, game_id).await?.send(LobbyMsg::Finish { results, reply })?;
            Ok(Reply::Game(GameReply { game: answer.await.map_err(|_| mailbox_error())?? }))
        }
        Request::GamesClose(GameIdArgs { game_id }) => {
            let (reply, answer) = oneshot::channel();
            lobby_handle(app, game_id).await?.send(LobbyMsg::Close { reply })?;
            Ok(Reply::Game(GameReply { game: answer.await.map_err(|_| mailbox_error())?? }))
        }
        Request::InventoryList(OwnerArgs { user_id }) => {
            ask(app, subject(caller, user_id)?, PlayerCommand::Inventory, None).await
        }
        Request::InventoryGet(args) => {
            ask(app, subject(caller, args.user_id)?, PlayerCommand::Item(args.item_id), None).await
        }
        Request::InventoryAdd(args) => {
            let quantity = Amount::parse(args.quantity)?;
            ask(app, args.user_id, PlayerCommand::AddItem { item_id: args.item_id, quantity }, idem).await
        }
        Request::InventoryRemove(args) => {
            let quantity = Amount::parse(args.quantity)?;
            ask(
                app,
                subject(caller, args.user_id)?,
                PlayerCommand::RemoveItem { item_id: args.item_id, quantity },
                idem,
            )
            .await
        }
        Request::CurrencyList(OwnerArgs { user_id }) => {
            ask(app, subject(caller, user_id)?, PlayerCommand::Balances, None).await
        }
        Request::CurrencyGet(args) => {
            let (offset, limit) = (offset(args.cursor.as_deref())?, page_limit(args.limit)?);
            let command = PlayerCommand::Currency { currency_id: args.currency_id, offset, limit };
            ask(app, subject(caller, args.user_id)?, command, None).await
        }
        Request::CurrencyDeposit(args) => {
            let amount = Amount::parse(args.amount)?;
            ask(app, args.user_id, PlayerCommand::Deposit { currency_id: args.currency_id, amount }, idem).await
        }
        Request::CurrencyWithdraw(args) => {
            let amount = Amount::parse(args.amount)?;
            ask(
                app,
                subject(caller, args.user_id)?,
                PlayerCommand::Withdraw { currency_id: args.currency_id, amount },
                idem,
            )
            .await
        }
        Request::LeaderboardList(_) => {
            player_or_admin(caller)?;
            leaderboards(app).await
        }
        Request::LeaderboardGet(args) => {
            player_or_admin(caller)?;
            leaderboard(app, caller, args).await
        }
        Request::LeaderboardReset(LeaderboardIdArgs { leaderboard_id }) => {
            let board = app.boards.get(&leaderboard_id).ok_or_else(|| ApiError::not_found("leaderboard"))?;
            let (archived_season, season) = board.reset().await?;
            Ok(Reply::Reset(ResetReply { leaderboard_id, archived_season, season }))
        }
        Request::AchievementsList(_) => ask(app, player(caller)?, PlayerCommand::Achievements, None).await,
        Request::AchievementsGet(SlugArgs { id }) => {
            ask(app, player(caller)?, PlayerCommand::Achievement(id), None).await
        }
        Request::AchievementsUnlock(args) => {
            ask(app, player(caller)?, PlayerCommand::UnlockAchievement(args.achievement_id), idem).await
        }
        Request::CosmeticsList(_) => ask(app, player(caller)?, PlayerCommand::Cosmetics, None).await,
        Request::CosmeticsGet(SlugArgs { id }) => ask(app, player(caller)?, PlayerCommand::Cosmetic(id), None).await,
        Request::CosmeticsUnlock(args) => {
            ask(app, player(caller)?, PlayerCommand::UnlockCosmetic(args.cosmetic_id), idem).await
        }
        Request::PlayersKick(KickArgs { user_id, .. }) => ask(app, user_id, PlayerCommand::Kick, None).await,
        Request::PlayersInspect(UserIdArgs { user_id }) => ask(app, user_id, PlayerCommand::Inspect, None).await,
    }
}

fn player_or_admin(caller: Caller) -> Result<(), ApiError> {
    if caller == Caller::Anonymous { Err(unauthenticated()) } else { Ok(()) }
}

fn owner_or_admin(caller: Caller, owner: UserId) -> Result<(), ApiError> {
    match caller {
        Caller::Admin => Ok(()),
        Caller::Player(me) if me == owner => Ok(()),
        Caller::Player(_) => Err(forbidden()),
        Caller::Anonymous => Err(unauthenticated()),
    }
}

async fn register(app: &Arc<App>, args: RegisterArgs) -> Result<Reply, ApiError> {
    let email = Email::parse(&args.email)?;
    let password = Password::parse(&args.password)?;
    let display_name = DisplayName::parse(&args.display_name)?;
    crate::users::register(app, email, password, display_name).await
}

async fn login(app: &Arc<App>, args: LoginArgs) -> Result<Reply, ApiError> {
    crate::users::login(app, &args.email, &args.password).await
}

async fn resume(app: &Arc<App>, me: UserId, since: u64) -> Result<Reply, ApiError> {
    let mut events =
        store::events_since(&app.pool, me, since, RESUME_EVENTS_MAX + 1).await.map_err(|_| mailbox_error())?;
    let more = events.len() > RESUME_EVENTS_MAX as usize;
    events.truncate(RESUME_EVENTS_MAX as usize);
    let next_seq = events.last().map_or(since, |e| e.seq);
    Ok(Reply::Events(EventsPage { events, next_seq, more }))
}

async fn leaderboards(app: &Arc<App>) -> Result<Reply, ApiError> {
    let mut leaderboards = Vec::new();
    for board in app.boards.values() {
        let page = board.page(0, 0, None, None);
        leaderboards.push(LeaderboardInfo {
            id: page.id,
            name: page.name,
            season: page.season,
            entry_count: page.total,
        });
    }
    leaderboards.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Reply::Leaderboards(LeaderboardsReply { leaderboards }))
}

async fn leaderboard(app: &Arc<App>, caller: Caller, args: LeaderboardGetArgs) -> Result<Reply, ApiError> {
    let board = app.boards.get(&args.id).ok_or_else(|| ApiError::not_found("leaderboard"))?;
    let (offset, limit) = (offset(args.cursor.as_deref())?, page_limit(args.limit)?);
    let around = match args.around.as_deref() {
        None => None,
        Some("me") => Some(player(caller)?),
        Some(_) => return Err(ApiError::validation("around", "must be \"me\"")),
    };
    let current = board.page(offset as usize, limit as usize, around, caller.user_id());
    let info = LeaderboardInfo {
        id: current.id.clone(),
        name: current.name.clone(),
        season: current.season,
        entry_count: current.total,
    };
    let season = args.season.unwrap_or(current.season);
    // `more`: whether rows follow this page (the live board knows its length; an archived season
    // is read one row past the page).
    let (start, rows, me, more) = if season == current.season {
        (
            current.start as u64,
            current.rows.iter().map(|r| (r.rank, r.user_id, r.score)).collect::<Vec<_>>(),
            current.me,
            ((current.start + current.rows.len()) as u64) < current.total,
        )
    } else {
        if !store::season_exists(&app.pool, &args.id, season).await.map_err(|_| mailbox_error())? {
            return Err(ApiError::not_found("leaderboard season"));
        }
        let rows = store::archived_page(&app.pool, &args.id, season, offset, store::rows_for_page(limit))
            .await
            .map_err(|_| mailbox_error())?;
        let (rows, next) = store::page_of(rows, offset, limit);
        let ranked = rows.into_iter().enumerate().map(|(i, (u, s))| (offset + i as u64 + 1, u, s)).collect();
        (offset, ranked, None, next.is_some())
    };
    let mut ids: Vec<UserId> = rows.iter().map(|r| r.1).collect();
    ids.extend(me.map(|m| m.user_id));
    let names = app.directory.lookup(&app.pool, &ids).await.map_err(|_| mailbox_error())?;
    let entry = |rank: u64, user: UserId, score: i64| {
        let (name, shown) = names.get(&user).cloned().unwrap_or_else(|| ("unknown".to_owned(), true));
        // Hidden players keep their rank and score; only the caller sees their own name.
        if shown || caller.user_id() == Some(user) || caller.is_admin() {
            LeaderboardEntry { rank, user_id: Some(user), display_name: name, score }
        } else {
            LeaderboardEntry { rank, user_id: None, display_name: "anonymous".to_owned(), score }
        }
    };
    let entries: Vec<LeaderboardEntry> = rows.iter().map(|(rank, u, s)| entry(*rank, *u, *s)).collect();
    let next_cursor = (around.is_none() && more).then(|| store::encode_cursor(start + u64::from(limit)));
    Ok(Reply::Leaderboard(LeaderboardReply {
        leaderboard: info,
        season,
        me: me.map(|m| entry(m.rank, m.user_id, m.score)),
        my_rank: me.map(|m| m.rank),
        entries,
        next_cursor,
    }))
}
