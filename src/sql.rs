//! The journal's SQL: one statement per effect, and one multi-row insert for a batch's events.
//! Statements are prepared once per connection and pipelined inside the transaction.

use deadpool_postgres::Transaction;
use pzo_actors::effect::{Effect, EventDraft};
use pzo_protocol::{Event, Reply};
use tokio_postgres::types::{Json, ToSql};

type Params<'a> = Vec<&'a (dyn ToSql + Sync)>;

/// The stored form of an idempotent answer: its kind and its JSON data.
#[derive(serde::Serialize, Debug)]
struct StoredReply<'a> {
    kind: &'static str,
    data: pzo_protocol::JsonData<'a, Reply>,
}

/// Writes one effect.
pub async fn apply_effect(tx: &Transaction<'_>, effect: &Effect) -> Result<u64, tokio_postgres::Error> {
    // Owned scalars converted to SQL types live in this frame while the statement runs.
    let (sql, params): (&str, Params<'_>) = match effect {
        Effect::InsertUser { id, email, password_hash, display_name, created_at } => (
            "INSERT INTO users (id, email, password_hash, display_name, created_at) VALUES ($1, $2, $3, $4, $5)",
            vec![id, email, password_hash, display_name, created_at],
        ),
        Effect::SetPreferences { user_id, preferences, at } => {
            return tx
                .execute(
                    &tx.prepare_cached(
                        "INSERT INTO user_preferences (user_id, locale, sound_enabled, music_volume, show_on_leaderboard, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6)
                         ON CONFLICT (user_id) DO UPDATE SET locale = EXCLUDED.locale, sound_enabled = EXCLUDED.sound_enabled,
                           music_volume = EXCLUDED.music_volume, show_on_leaderboard = EXCLUDED.show_on_leaderboard,
                           updated_at = EXCLUDED.updated_at",
                    )
                    .await?,
                    &[
                        user_id,
                        &preferences.locale,
                        &preferences.sound_enabled,
                        &i16::from(preferences.music_volume),
                        &preferences.show_on_leaderboard,
                        at,
                    ],
                )
                .await;
        }
        Effect::InsertSession { token_hash, user_id, created_at, expires_at } => (
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            vec![token_hash, user_id, created_at, expires_at],
        ),
        Effect::InsertWaitlistEntry { id, user_id, join_seq, referral_code, referred_by, joined_at } => (
            "INSERT INTO waitlist (id, user_id, join_seq, referral_code, referred_by, status, joined_at)
             VALUES ($1, $2, $3, $4, $5, 'waiting', $6)",
            vec![id, user_id, join_seq, referral_code, referred_by, joined_at],
        ),
        Effect::WaitlistStatusChange { entry_id, from, to, founder_number, changed_by, reason, at } => {
            let founder = founder_number.map(|n| i32::try_from(n).unwrap_or(i32::MAX));
            let from = from.map(|s| s.as_str());
            let to = to.as_str();
            let statement = tx
                .prepare_cached(
                    "WITH changed AS (
                       UPDATE waitlist SET status = $2::text, founder_number = coalesce($3, founder_number),
                         admitted_at = CASE WHEN $2::text = 'admitted' THEN $6 ELSE admitted_at END
                       WHERE id = $1 RETURNING id)
                     INSERT INTO waitlist_status (entry_id, from_status, to_status, changed_by, reason, changed_at)
                     SELECT id, $4, $2::text, $5, $7, $6 FROM changed",
                )
                .await?;
            return tx.execute(&statement, &[entry_id, &to, &founder, &from, changed_by, at, reason]).await;
        }
        Effect::InsertReferral { referrer, referred, places_moved, at } => (
            "INSERT INTO waitlist_referrals (referrer_entry_id, referred_entry_id, places_moved, created_at) VALUES ($1, $2, $3, $4)",
            vec![referrer, referred, places_moved, at],
        ),
        Effect::InsertGame { id, name, host_id, max_players, min_players, created_at } => {
            let (max, min) = (i32::try_from(*max_players).unwrap_or(64), i32::try_from(*min_players).unwrap_or(2));
            let statement = tx
                .prepare_cached(
                    "INSERT INTO games (id, name, host_id, status, max_players, min_players, created_at)
                     VALUES ($1, $2, $3, 'open', $4, $5, $6)",
                )
                .await?;
            return tx.execute(&statement, &[id, name, host_id, &max, &min, created_at]).await;
        }
        Effect::UpdateGame { id, status, host_id, started_at, finished_at } => {
            let statement = tx
                .prepare_cached(
                    "UPDATE games SET status = $2, host_id = $3, started_at = $4, finished_at = $5 WHERE id = $1",
                )
                .await?;
            return tx.execute(&statement, &[id, &status.as_str(), host_id, started_at, finished_at]).await;
        }
        Effect::InsertGamePlayer { game_id, user_id, joined_at } => (
            "INSERT INTO game_players (game_id, user_id, joined_at) VALUES ($1, $2, $3)
             ON CONFLICT (game_id, user_id) DO UPDATE SET joined_at = EXCLUDED.joined_at, left_at = NULL",
            vec![game_id, user_id, joined_at],
        ),
        Effect::GamePlayerLeft { game_id, user_id, at } => {
            ("UPDATE game_players SET left_at = $3 WHERE game_id = $1 AND user_id = $2", vec![game_id, user_id, at])
        }
        Effect::GamePlayerScore { game_id, user_id, score, at } => (
            "UPDATE game_players SET score = $3, left_at = $4 WHERE game_id = $1 AND user_id = $2",
            vec![game_id, user_id, score, at],
        ),
        Effect::StatsGameCompleted { user_id, score } => (
            "INSERT INTO player_stats (user_id, games_completed, best_score) VALUES ($1, 1, $2)
             ON CONFLICT (user_id) DO UPDATE SET games_completed = player_stats.games_completed + 1,
               best_score = greatest(player_stats.best_score, EXCLUDED.best_score)",
            vec![user_id, score],
        ),
        Effect::SetInventory { user_id, item_id, quantity } => (
            "INSERT INTO inventory (user_id, item_id, quantity) VALUES ($1, $2, $3)
             ON CONFLICT (user_id, item_id) DO UPDATE SET quantity = EXCLUDED.quantity",
            vec![user_id, item_id, quantity],
        ),
        Effect::SetBalance { user_id, currency_id, balance } => (
            "INSERT INTO balances (user_id, currency_id, balance) VALUES ($1, $2, $3)
             ON CONFLICT (user_id, currency_id) DO UPDATE SET balance = EXCLUDED.balance",
            vec![user_id, currency_id, balance],
        ),
        Effect::InsertTransaction(t) => {
            let statement = tx
                .prepare_cached(
                    "INSERT INTO transactions (id, user_id, currency_id, kind, amount, balance_after, reference, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .await?;
            let kind = t.kind.as_str();
            return tx
                .execute(
                    &statement,
                    &[
                        &t.id,
                        &t.user_id,
                        &t.currency_id,
                        &kind,
                        &t.amount,
                        &t.balance_after,
                        &t.reference,
                        &t.created_at,
                    ],
                )
                .await;
        }
        Effect::UpsertBestScore { leaderboard_id, season, user_id, score, at } => {
            let season = i32::try_from(*season).unwrap_or(i32::MAX);
            let statement = tx
                .prepare_cached(
                    "INSERT INTO player_scores (leaderboard_id, season, user_id, score, achieved_at) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (leaderboard_id, season, user_id) DO UPDATE SET score = EXCLUDED.score,
                       achieved_at = EXCLUDED.achieved_at WHERE player_scores.score < EXCLUDED.score",
                )
                .await?;
            return tx.execute(&statement, &[leaderboard_id, &season, user_id, score, at]).await;
        }
        Effect::ResetLeaderboard { leaderboard_id, archived_season, season, at } => {
            let (old, new) = (i32::try_from(*archived_season).unwrap_or(0), i32::try_from(*season).unwrap_or(0));
            let statement = tx
                .prepare_cached(
                    "WITH archived AS (UPDATE leaderboard_seasons SET archived_at = $4 WHERE leaderboard_id = $1 AND season = $2),
                          opened AS (INSERT INTO leaderboard_seasons (leaderboard_id, season, started_at) VALUES ($1, $3, $4))
                     UPDATE leaderboard SET season = $3 WHERE id = $1",
                )
                .await?;
            return tx.execute(&statement, &[leaderboard_id, &old, &new, at]).await;
        }
        Effect::InsertPlayerAchievement { user_id, achievement_id, at } => (
            "INSERT INTO player_achievements (user_id, achievement_id, unlocked_at) VALUES ($1, $2, $3)",
            vec![user_id, achievement_id, at],
        ),
        Effect::InsertPlayerCosmetic { user_id, cosmetic_id, at } => (
            "INSERT INTO player_cosmetics (user_id, cosmetic_id, unlocked_at) VALUES ($1, $2, $3)",
            vec![user_id, cosmetic_id, at],
        ),
        Effect::StoreIdempotency { user_id, key, operation, request_hash, response, at } => {
            let stored = Json(StoredReply { kind: response.name(), data: response.json_data() });
            let statement = tx
                .prepare_cached(
                    "INSERT INTO idempotency_keys (user_id, key, operation, request_hash, response, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .await?;
            return tx.execute(&statement, &[user_id, key, operation, request_hash, &stored, at]).await;
        }
    };
    let statement = tx.prepare_cached(sql).await?;
    tx.execute(&statement, &params).await
}

/// Writes a batch's events in one statement.
pub async fn insert_events(
    tx: &Transaction<'_>,
    events: &[(&Event, &EventDraft)],
) -> Result<u64, tokio_postgres::Error> {
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
    let statement = tx
        .prepare_cached(
            "INSERT INTO events (seq, type, aggregate, user_id, game_id, leaderboard_id, payload, created_at)
             SELECT s, t, a, u, g, l, p::jsonb, c
             FROM unnest($1::bigint[], $2::text[], $3::text[], $4::uuid[], $5::uuid[], $6::text[], $7::text[], $8::timestamptz[])
               AS x(s, t, a, u, g, l, p, c)",
        )
        .await?;
    tx.execute(&statement, &[&seqs, &types, &aggregates, &users, &games, &boards, &payloads, &times]).await
}
