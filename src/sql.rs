//! The journal's SQL: one statement per effect, and one multi-row insert for a batch's events.
//! Statements are prepared once per connection ([`prepare_batch`]) so that the writes of a
//! batch can be pipelined in order inside one transaction.

use deadpool_postgres::Transaction;
use pzo_actors::effect::{Effect, EventDraft};
use pzo_protocol::{Event, Reply};
use std::collections::HashMap;
use tokio_postgres::Statement;
use tokio_postgres::types::{Json, ToSql};

type Params<'a> = Vec<&'a (dyn ToSql + Sync)>;

/// The stored form of an idempotent answer: its kind and its JSON data.
#[derive(Debug, serde::Serialize)]
struct StoredReply<'a> {
    kind: &'static str,
    data: pzo_protocol::JsonData<'a, Reply>,
}

const INSERT_USER: &str =
    "INSERT INTO users (id, email, password_hash, display_name, created_at) VALUES ($1, $2, $3, $4, $5)";
const SET_PREFERENCES: &str = "INSERT INTO user_preferences
       (user_id, locale, sound_enabled, music_volume, show_on_leaderboard, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (user_id) DO UPDATE SET locale = EXCLUDED.locale, sound_enabled = EXCLUDED.sound_enabled,
       music_volume = EXCLUDED.music_volume, show_on_leaderboard = EXCLUDED.show_on_leaderboard,
       updated_at = EXCLUDED.updated_at";
const INSERT_SESSION: &str =
    "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)";
const INSERT_WAITLIST_ENTRY: &str = "INSERT INTO waitlist
       (id, user_id, join_seq, referral_code, referred_by, status, joined_at) VALUES ($1, $2, $3, $4, $5, 'waiting', $6)";
const WAITLIST_STATUS_CHANGE: &str = "WITH changed AS (
       UPDATE waitlist SET status = $2::text, founder_number = coalesce($3, founder_number),
         admitted_at = CASE WHEN $2::text = 'admitted' THEN $6 ELSE admitted_at END
       WHERE id = $1 RETURNING id)
     INSERT INTO waitlist_status (entry_id, from_status, to_status, changed_by, reason, changed_at)
     SELECT id, $4, $2::text, $5, $7, $6 FROM changed";
const INSERT_REFERRAL: &str = "INSERT INTO waitlist_referrals
       (referrer_entry_id, referred_entry_id, places_moved, created_at) VALUES ($1, $2, $3, $4)";
const INSERT_GAME: &str = "INSERT INTO games (id, name, host_id, status, max_players, min_players, created_at)
     VALUES ($1, $2, $3, 'open', $4, $5, $6)";
const UPDATE_GAME: &str = "UPDATE games SET status = $2, host_id = $3, started_at = $4, finished_at = $5 WHERE id = $1";
const INSERT_GAME_PLAYER: &str = "INSERT INTO game_players (game_id, user_id, joined_at) VALUES ($1, $2, $3)
     ON CONFLICT (game_id, user_id) DO UPDATE SET joined_at = EXCLUDED.joined_at, left_at = NULL";
const GAME_PLAYER_LEFT: &str = "UPDATE game_players SET left_at = $3 WHERE game_id = $1 AND user_id = $2";
const GAME_PLAYER_SCORE: &str = "UPDATE game_players SET score = $3, left_at = $4 WHERE game_id = $1 AND user_id = $2";
const STATS_GAME_COMPLETED: &str = "INSERT INTO player_stats (user_id, games_completed, best_score) VALUES ($1, 1, $2)
     ON CONFLICT (user_id) DO UPDATE SET games_completed = player_stats.games_completed + 1,
       best_score = greatest(player_stats.best_score, EXCLUDED.best_score)";
const SET_INVENTORY: &str = "INSERT INTO inventory (user_id, item_id, quantity) VALUES ($1, $2, $3)
     ON CONFLICT (user_id, item_id) DO UPDATE SET quantity = EXCLUDED.quantity";
const SET_BALANCE: &str = "INSERT INTO balances (user_id, currency_id, balance) VALUES ($1, $2, $3)
     ON CONFLICT (user_id, currency_id) DO UPDATE SET balance = EXCLUDED.balance";
const INSERT_TRANSACTION: &str = "INSERT INTO transactions
       (id, user_id, currency_id, kind, amount, balance_after, reference, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
const UPSERT_BEST_SCORE: &str = "INSERT INTO player_scores (leaderboard_id, season, user_id, score, achieved_at)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (leaderboard_id, season, user_id) DO UPDATE SET score = EXCLUDED.score,
       achieved_at = EXCLUDED.achieved_at WHERE player_scores.score < EXCLUDED.score";
const RESET_LEADERBOARD: &str = "WITH archived AS (
       UPDATE leaderboard_seasons SET archived_at = $4 WHERE leaderboard_id = $1 AND season = $2),
     opened AS (INSERT INTO leaderboard_seasons (leaderboard_id, season, started_at) VALUES ($1, $3, $4))
     UPDATE leaderboard SET season = $3 WHERE id = $1";
const INSERT_PLAYER_ACHIEVEMENT: &str =
    "INSERT INTO player_achievements (user_id, achievement_id, unlocked_at) VALUES ($1, $2, $3)";
const INSERT_PLAYER_COSMETIC: &str =
    "INSERT INTO player_cosmetics (user_id, cosmetic_id, unlocked_at) VALUES ($1, $2, $3)";
const STORE_IDEMPOTENCY: &str = "INSERT INTO idempotency_keys
       (user_id, key, operation, request_hash, response, created_at) VALUES ($1, $2, $3, $4, $5, $6)";
const INSERT_EVENTS: &str = "INSERT INTO events (seq, type, aggregate, user_id, game_id, leaderboard_id, payload, created_at)
     SELECT s, t, a, u, g, l, p::jsonb, c
     FROM unnest($1::bigint[], $2::text[], $3::text[], $4::uuid[], $5::uuid[], $6::text[], $7::text[], $8::timestamptz[])
       AS x(s, t, a, u, g, l, p, c)";

/// The statement an effect runs.
pub fn sql_of(effect: &Effect) -> &'static str {
    match effect {
        Effect::InsertUser { .. } => INSERT_USER,
        Effect::SetPreferences { .. } => SET_PREFERENCES,
        Effect::InsertSession { .. } => INSERT_SESSION,
        Effect::InsertWaitlistEntry { .. } => INSERT_WAITLIST_ENTRY,
        Effect::WaitlistStatusChange { .. } => WAITLIST_STATUS_CHANGE,
        Effect::InsertReferral { .. } => INSERT_REFERRAL,
        Effect::InsertGame { .. } => INSERT_GAME,
        Effect::UpdateGame { .. } => UPDATE_GAME,
        Effect::InsertGamePlayer { .. } => INSERT_GAME_PLAYER,
        Effect::GamePlayerLeft { .. } => GAME_PLAYER_LEFT,
        Effect::GamePlayerScore { .. } => GAME_PLAYER_SCORE,
        Effect::StatsGameCompleted { .. } => STATS_GAME_COMPLETED,
        Effect::SetInventory { .. } => SET_INVENTORY,
        Effect::SetBalance { .. } => SET_BALANCE,
        Effect::InsertTransaction(_) => INSERT_TRANSACTION,
        Effect::UpsertBestScore { .. } => UPSERT_BEST_SCORE,
        Effect::ResetLeaderboard { .. } => RESET_LEADERBOARD,
        Effect::InsertPlayerAchievement { .. } => INSERT_PLAYER_ACHIEVEMENT,
        Effect::InsertPlayerCosmetic { .. } => INSERT_PLAYER_COSMETIC,
        Effect::StoreIdempotency { .. } => STORE_IDEMPOTENCY,
    }
}

/// Prepared statements of one batch, by SQL text.
pub type Prepared = HashMap<&'static str, Statement>;

/// Prepares (or takes from the connection's cache) every statement a batch needs, one after
/// the other, so the pipelined writes that follow are sent in order.
pub async fn prepare_batch<'e>(
    tx: &Transaction<'_>,
    effects: impl Iterator<Item = &'e Effect>,
) -> Result<Prepared, tokio_postgres::Error> {
    let mut prepared = Prepared::new();
    for sql in effects.map(sql_of).chain([INSERT_EVENTS]) {
        if !prepared.contains_key(sql) {
            prepared.insert(sql, tx.prepare_cached(sql).await?);
        }
    }
    Ok(prepared)
}

fn i32_of(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

/// Writes one effect with its prepared statement.
pub async fn apply_effect(
    tx: &Transaction<'_>,
    statement: &Statement,
    effect: &Effect,
) -> Result<u64, tokio_postgres::Error> {
    // Values converted to their SQL types live in this frame while the statement runs.
    match effect {
        Effect::InsertUser { id, email, password_hash, display_name, created_at } => {
            tx.execute(statement, &[id, email, password_hash, display_name, created_at]).await
        }
        Effect::SetPreferences { user_id, preferences: p, at } => {
            let volume = i16::from(p.music_volume);
            let params: Params<'_> = vec![user_id, &p.locale, &p.sound_enabled, &volume, &p.show_on_leaderboard, at];
            tx.execute(statement, &params).await
        }
        Effect::InsertSession { token_hash, user_id, created_at, expires_at } => {
            tx.execute(statement, &[token_hash, user_id, created_at, expires_at]).await
        }
        Effect::InsertWaitlistEntry { id, user_id, join_seq, referral_code, referred_by, joined_at } => {
            tx.execute(statement, &[id, user_id, join_seq, referral_code, referred_by, joined_at]).await
        }
        Effect::WaitlistStatusChange { entry_id, from, to, founder_number, changed_by, reason, at } => {
            let founder = founder_number.map(i32_of);
            let (from, to) = (from.map(|s| s.as_str()), to.as_str());
            tx.execute(statement, &[entry_id, &to, &founder, &from, changed_by, at, reason]).await
        }
        Effect::InsertReferral { referrer, referred, places_moved, at } => {
            tx.execute(statement, &[referrer, referred, places_moved, at]).await
        }
        Effect::InsertGame { id, name, host_id, max_players, min_players, created_at } => {
            let (max, min) = (i32_of(*max_players), i32_of(*min_players));
            tx.execute(statement, &[id, name, host_id, &max, &min, created_at]).await
        }
        Effect::UpdateGame { id, status, host_id, started_at, finished_at } => {
            tx.execute(statement, &[id, &status.as_str(), host_id, started_at, finished_at]).await
        }
        Effect::InsertGamePlayer { game_id, user_id, joined_at } => {
            tx.execute(statement, &[game_id, user_id, joined_at]).await
        }
        Effect::GamePlayerLeft { game_id, user_id, at } => tx.execute(statement, &[game_id, user_id, at]).await,
        Effect::GamePlayerScore { game_id, user_id, score, at } => {
            tx.execute(statement, &[game_id, user_id, score, at]).await
        }
        Effect::StatsGameCompleted { user_id, score } => tx.execute(statement, &[user_id, score]).await,
        Effect::SetInventory { user_id, item_id, quantity } => {
            tx.execute(statement, &[user_id, item_id, quantity]).await
        }
        Effect::SetBalance { user_id, currency_id, balance } => {
            tx.execute(statement, &[user_id, currency_id, balance]).await
        }
        Effect::InsertTransaction(t) => {
            let kind = t.kind.as_str();
            let params: Params<'_> = vec![
                &t.id,
                &t.user_id,
                &t.currency_id,
                &kind,
                &t.amount,
                &t.balance_after,
                &t.reference,
                &t.created_at,
            ];
            tx.execute(statement, &params).await
        }
        Effect::UpsertBestScore { leaderboard_id, season, user_id, score, at } => {
            tx.execute(statement, &[leaderboard_id, &i32_of(*season), user_id, score, at]).await
        }
        Effect::ResetLeaderboard { leaderboard_id, archived_season, season, at } => {
            tx.execute(statement, &[leaderboard_id, &i32_of(*archived_season), &i32_of(*season), at]).await
        }
        Effect::InsertPlayerAchievement { user_id, achievement_id, at } => {
            tx.execute(statement, &[user_id, achievement_id, at]).await
        }
        Effect::InsertPlayerCosmetic { user_id, cosmetic_id, at } => {
            tx.execute(statement, &[user_id, cosmetic_id, at]).await
        }
        Effect::StoreIdempotency { user_id, key, operation, request_hash, response, at } => {
            let stored = Json(StoredReply { kind: response.name(), data: response.json_data() });
            tx.execute(statement, &[user_id, key, operation, request_hash, &stored, at]).await
        }
    }
}

/// Writes a batch's events in one statement.
pub async fn insert_events(
    tx: &Transaction<'_>,
    prepared: &Prepared,
    events: &[(&Event, &EventDraft)],
) -> Result<u64, tokio_postgres::Error> {
    let Some(statement) = prepared.get(INSERT_EVENTS) else { return Ok(0) };
    if events.is_empty() {
        return Ok(0);
    }
    let mut seqs = Vec::with_capacity(events.len());
    let mut types = Vec::with_capacity(events.len());
    let mut aggregates = Vec::with_capacity(events.len());
    let mut users = Vec::with_capacity(events.len());
    let mut games = Vec::with_capacity(events.len());
    let mut boards = Vec::with_capacity(events.len());
    let mut payloads = Vec::with_capacity(events.len());
    let mut times = Vec::with_capacity(events.len());
    for (event, draft) in events {
        seqs.push(i64::try_from(event.seq).unwrap_or(i64::MAX));
        types.push(event.kind());
        aggregates.push(draft.aggregate);
        users.push(draft.user_id);
        games.push(draft.game_id);
        boards.push(draft.audience.leaderboard.as_deref());
        payloads.push(serde_json::to_string(&event.data.json_data()).unwrap_or_else(|_| "{}".to_owned()));
        times.push(event.at);
    }
    tx.execute(statement, &[&seqs, &types, &aggregates, &users, &games, &boards, &payloads, &times]).await
}
