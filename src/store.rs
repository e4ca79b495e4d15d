//! Read queries: actor activation from PostgreSQL, lists and pages. Writes go through the
//! journal only; these are the reads, each backed by an index of the schema.

use base64::Engine;
use deadpool_postgres::Pool;
use pzo_actors::player::PlayerState;
use pzo_protocol::model::*;
use pzo_protocol::{Event, EventData, GameId, Reply, Timestamp, UserId};
use std::collections::HashMap;

pub type StoreResult<T> = Result<T, crate::db::DbError>;

/// Opaque cursors are base64 of an offset.
pub fn encode_cursor(offset: u64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(offset.to_string())
}

/// `None` for a cursor that is not one of ours.
pub fn decode_cursor(cursor: Option<&str>) -> Option<u64> {
    match cursor {
        None | Some("") => Some(0),
        Some(text) => base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.parse().ok()),
    }
}

/// How many rows to read for a page of `limit`: one more, so the page knows whether another
/// follows (see [`page_of`]).
pub fn rows_for_page(limit: u32) -> u32 {
    limit.saturating_add(1)
}

/// A page of at most `limit` rows from `offset`, out of `rows` read with [`rows_for_page`]: the
/// extra row, dropped here, is what says a next page exists. So the last page has no cursor even
/// when it is exactly full (the contract's `next_cursor` is null at the end), and a client never
/// follows a cursor to an empty page.
pub fn page_of<T>(mut rows: Vec<T>, offset: u64, limit: u32) -> (Vec<T>, Option<String>) {
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next = more.then(|| encode_cursor(offset + u64::from(limit)));
    (rows, next)
}

/// A stored idempotent answer.
#[derive(Debug, Clone)]
pub struct StoredAnswer {
    pub operation: String,
    pub request_hash: Vec<u8>,
    pub reply: Reply,
}

#[derive(serde::Deserialize)]
struct StoredReplyRow {
    kind: String,
    data: Box<serde_json::value::RawValue>,
}

/// The reads that activate a player actor, in the order [`load_player`] sends them.
const LOAD_PLAYER_SQL: [&str; 8] = [
    "SELECT u.email, u.display_name, u.created_at, p.locale, p.sound_enabled, p.music_volume, p.show_on_leaderboard,
            coalesce(s.games_completed, 0), coalesce(s.best_score, 0), w.founder_number
     FROM users u LEFT JOIN user_preferences p ON p.user_id = u.id LEFT JOIN player_stats s ON s.user_id = u.id
     LEFT JOIN waitlist w ON w.user_id = u.id AND w.status = 'admitted'
     WHERE u.id = $1",
    // Takes $1 like the others (unused) so the eight go out as one uniform pipeline.
    "SELECT coalesce(max(seq), 0) FROM events WHERE $1::uuid IS NOT NULL",
    "SELECT currency_id, balance FROM balances WHERE user_id = $1",
    "SELECT item_id, quantity FROM inventory WHERE user_id = $1 AND quantity > 0",
    "SELECT achievement_id, unlocked_at FROM player_achievements WHERE user_id = $1",
    "SELECT cosmetic_id, unlocked_at FROM player_cosmetics WHERE user_id = $1",
    "SELECT gp.game_id FROM game_players gp JOIN games g ON g.id = gp.game_id
     WHERE gp.user_id = $1 AND gp.left_at IS NULL AND g.status IN ('open', 'started') LIMIT 1",
    "SELECT key, operation, request_hash, response::text FROM idempotency_keys
     WHERE user_id = $1 AND created_at > now() - interval '48 hours'",
];

/// A player's state as committed, with the newest event seq it reflects.
///
/// Activation is on the path of a socket's `auth` and of a player's first command after a
/// quiet spell, so its eight reads are prepared once per connection (cached) and sent as one
/// pipeline inside the snapshot: three round trips (BEGIN, the reads, COMMIT) instead of one or
/// two per read.
pub async fn load_player(
    pool: &Pool,
    user_id: UserId,
) -> StoreResult<Option<(PlayerState, u64, HashMap<String, StoredAnswer>)>> {
    let mut client = pool.get().await?;
    let statements =
        futures_util::future::try_join_all(LOAD_PLAYER_SQL.iter().map(|sql| client.prepare_cached(sql))).await?;
    // One snapshot: state and the events seq watermark agree (both written in one transaction).
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&user_id];
    let mut results =
        futures_util::future::try_join_all(statements.iter().map(|s| tx.query(s, &params))).await?.into_iter();
    let mut next = move || results.next().unwrap_or_default();
    let (user, watermark, balances, inventory) = (next(), next(), next(), next());
    let (achievements, cosmetics, current_game, idempotency) = (next(), next(), next(), next());
    tx.commit().await?;
    let Some(user) = user.first() else {
        return Ok(None);
    };
    let watermark: i64 = watermark.first().map_or(0, |row| row.get(0));
    let mut state = PlayerState::new(user_id, user.get(0), user.get(1), user.get(2));
    if let Some(locale) = user.get::<_, Option<String>>(3) {
        state.preferences = Preferences {
            locale,
            sound_enabled: user.get(4),
            music_volume: u8::try_from(user.get::<_, i16>(5)).unwrap_or(0),
            show_on_leaderboard: user.get(6),
        };
    }
    state.stats = PlayerStats { games_completed: user.get(7), best_score: user.get(8) };
    state.founder_number = user.get::<_, Option<i32>>(9).and_then(|n| u32::try_from(n).ok());
    state.balances.extend(balances.iter().map(|row| (row.get(0), row.get(1))));
    state.inventory.extend(inventory.iter().map(|row| (row.get(0), row.get(1))));
    state.achievements.extend(achievements.iter().map(|row| (row.get(0), row.get(1))));
    state.cosmetics.extend(cosmetics.iter().map(|row| (row.get(0), row.get(1))));
    state.current_game = current_game.first().map(|row| row.get(0));
    let mut answers = HashMap::new();
    for row in &idempotency {
        let text: String = row.get(3);
        let Ok(stored) = serde_json::from_str::<StoredReplyRow>(&text) else { continue };
        let Some(Ok(reply)) = Reply::decode_json(&stored.kind, stored.data.get()) else { continue };
        answers.insert(row.get(0), StoredAnswer { operation: row.get(1), request_hash: row.get(2), reply });
    }
    Ok(Some((state, u64::try_from(watermark).unwrap_or(0), answers)))
}

/// The id and password hash of the account with this email (case-insensitive).
pub async fn credentials(pool: &Pool, email_lower: &str) -> StoreResult<Option<(UserId, String)>> {
    let client = pool.get().await?;
    let statement = client.prepare_cached("SELECT id, password_hash FROM users WHERE lower(email) = $1").await?;
    Ok(client.query_opt(&statement, &[&email_lower]).await?.map(|r| (r.get(0), r.get(1))))
}

/// The player behind a token hash, when the token has not expired.
pub async fn session_user(pool: &Pool, token_hash: &[u8]) -> StoreResult<Option<(UserId, Timestamp)>> {
    let client = pool.get().await?;
    let statement = client.prepare_cached("SELECT user_id, expires_at FROM sessions WHERE token_hash = $1").await?;
    Ok(client.query_opt(&statement, &[&token_hash]).await?.map(|r| (r.get(0), r.get(1))))
}

/// Public profiles in creation order.
pub async fn list_users(pool: &Pool, offset: u64, limit: u32) -> StoreResult<Vec<UserProfile>> {
    let client = pool.get().await?;
    let rows = client
        .query(
            "SELECT id, display_name, created_at FROM users ORDER BY created_at, id OFFSET $1 LIMIT $2",
            &[&i64::try_from(offset).unwrap_or(i64::MAX), &i64::from(limit)],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| UserProfile {
            id: r.get(0),
            display_name: r.get(1),
            created_at: r.get(2),
            email: None,
            preferences: None,
            season0: None,
        })
        .collect())
}

/// Display names and leaderboard visibility of some players.
pub async fn directory(pool: &Pool, ids: &[UserId]) -> StoreResult<HashMap<UserId, (String, bool)>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let client = pool.get().await?;
    let statement = client
        .prepare_cached(
            "SELECT u.id, u.display_name, coalesce(p.show_on_leaderboard, true)
             FROM users u LEFT JOIN user_preferences p ON p.user_id = u.id WHERE u.id = ANY($1)",
        )
        .await?;
    let rows = client.query(&statement, &[&ids]).await?;
    Ok(rows.iter().map(|r| (r.get(0), (r.get(1), r.get(2)))).collect())
}

/// Every stored event of one aggregate kind, in seq order (rebuilds at start).
pub async fn events_of(pool: &Pool, aggregate: &str) -> StoreResult<Vec<EventData>> {
    let client = pool.get().await?;
    let rows =
        client.query("SELECT type, payload::text FROM events WHERE aggregate = $1 ORDER BY seq", &[&aggregate]).await?;
    Ok(rows.iter().filter_map(|r| EventData::decode_json(r.get(0), r.get::<_, &str>(1)).and_then(Result::ok)).collect())
}

/// A player's events after `since`, as its sockets would have received them live: its own, and
/// those of the games it was in while it was in them (`events.audience`; events stored before
/// that column go to every player ever in the game).
pub async fn events_since(pool: &Pool, user_id: UserId, since: u64, limit: u32) -> StoreResult<Vec<Event>> {
    let client = pool.get().await?;
    let statement = client
        .prepare_cached(
            "SELECT seq, type, payload::text, created_at FROM (
               SELECT seq, type, payload, created_at FROM events
               WHERE user_id = $1 AND seq > $2 AND (audience IS NULL OR $1 = ANY (audience))
               UNION
               SELECT e.seq, e.type, e.payload, e.created_at FROM events e
               JOIN game_players gp ON gp.game_id = e.game_id AND gp.user_id = $1
               WHERE e.seq > $2 AND e.game_id IS NOT NULL AND (e.audience IS NULL OR $1 = ANY (e.audience))
             ) x ORDER BY seq LIMIT $3",
        )
        .await?;
    let rows =
        client.query(&statement, &[&user_id, &i64::try_from(since).unwrap_or(i64::MAX), &i64::from(limit)]).await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let data = EventData::decode_json(r.get(1), r.get::<_, &str>(2))?.ok()?;
            Some(Event { seq: u64::try_from(r.get::<_, i64>(0)).ok()?, at: r.get(3), data })
        })
        .collect())
}

fn game_from_rows(row: &tokio_postgres::Row, players: Vec<GamePlayer>) -> Game {
    Game {
        id: row.get("id"),
        name: row.get("name"),
        host_id: row.get("host_id"),
        status: GameStatus::parse(row.get("status")).unwrap_or(GameStatus::Closed),
        max_players: u32::try_from(row.get::<_, i32>("max_players")).unwrap_or(0),
        min_players: u32::try_from(row.get::<_, i32>("min_players")).unwrap_or(0),
        player_count: u32::try_from(players.len()).unwrap_or(0),
        players,
        created_at: row.get("created_at"),
        started_at: row.get("started_at"),
        finished_at: row.get("finished_at"),
    }
}

async fn players_of(
    client: &deadpool_postgres::Client,
    ids: &[GameId],
) -> StoreResult<HashMap<GameId, Vec<GamePlayer>>> {
    let statement = client
        .prepare_cached(
            "SELECT gp.game_id, gp.user_id, u.display_name, gp.joined_at, gp.score
             FROM game_players gp JOIN users u ON u.id = gp.user_id JOIN games g ON g.id = gp.game_id
             WHERE gp.game_id = ANY($1) AND (gp.left_at IS NULL OR gp.score IS NOT NULL)
             ORDER BY gp.joined_at, gp.user_id",
        )
        .await?;
    let mut by_game: HashMap<GameId, Vec<GamePlayer>> = HashMap::new();
    for r in client.query(&statement, &[&ids]).await? {
        by_game.entry(r.get(0)).or_default().push(GamePlayer {
            user_id: r.get(1),
            display_name: r.get(2),
            joined_at: r.get(3),
            score: r.get(4),
        });
    }
    Ok(by_game)
}

/// One game with its members.
pub async fn game(pool: &Pool, id: GameId) -> StoreResult<Option<Game>> {
    let client = pool.get().await?;
    let Some(row) = client.query_opt("SELECT * FROM games WHERE id = $1", &[&id]).await? else { return Ok(None) };
    let mut players = players_of(&client, &[id]).await?;
    Ok(Some(game_from_rows(&row, players.remove(&id).unwrap_or_default())))
}

/// Whether a game with this id was ever created.
pub async fn game_exists(pool: &Pool, id: GameId) -> StoreResult<bool> {
    let client = pool.get().await?;
    Ok(client.query_one("SELECT EXISTS (SELECT 1 FROM games WHERE id = $1)", &[&id]).await?.get(0))
}

/// Games, newest first, optionally of one status.
pub async fn list_games(pool: &Pool, status: Option<GameStatus>, offset: u64, limit: u32) -> StoreResult<Vec<Game>> {
    let client = pool.get().await?;
    let rows = client
        .query(
            "SELECT * FROM games WHERE ($1::text IS NULL OR status = $1) ORDER BY created_at DESC, id OFFSET $2 LIMIT $3",
            &[&status.map(GameStatus::as_str), &i64::try_from(offset).unwrap_or(i64::MAX), &i64::from(limit)],
        )
        .await?;
    let ids: Vec<GameId> = rows.iter().map(|r| r.get("id")).collect();
    let mut players = players_of(&client, &ids).await?;
    Ok(rows.iter().map(|r| game_from_rows(r, players.remove(&r.get::<_, GameId>("id")).unwrap_or_default())).collect())
}

/// Recent ledger rows of one currency, newest first.
pub async fn transactions(
    pool: &Pool,
    user_id: UserId,
    currency_id: &str,
    offset: u64,
    limit: u32,
) -> StoreResult<Vec<Transaction>> {
    let client = pool.get().await?;
    let statement = client
        .prepare_cached(
            "SELECT id, kind, amount, balance_after, reference, created_at FROM transactions
             WHERE user_id = $1 AND currency_id = $2 ORDER BY seq DESC OFFSET $3 LIMIT $4",
        )
        .await?;
    let rows = client
        .query(&statement, &[&user_id, &currency_id, &i64::try_from(offset).unwrap_or(i64::MAX), &i64::from(limit)])
        .await?;
    Ok(rows
        .iter()
        .map(|r| Transaction {
            id: r.get(0),
            user_id,
            currency_id: currency_id.to_owned(),
            kind: TransactionKind::parse(r.get(1)).unwrap_or(TransactionKind::Deposit),
            amount: r.get(2),
            balance_after: r.get(3),
            reference: r.get(4),
            created_at: r.get(5),
        })
        .collect())
}

/// Each board's current season and its best scores (rebuilds at start).
pub async fn boards(pool: &Pool) -> StoreResult<Vec<(String, String, u32, Vec<(UserId, i64, Timestamp)>)>> {
    let client = pool.get().await?;
    let mut boards = Vec::new();
    for row in client.query("SELECT id, name, season FROM leaderboard ORDER BY id", &[]).await? {
        let (id, name, season): (String, String, i32) = (row.get(0), row.get(1), row.get(2));
        let scores = client
            .query(
                "SELECT user_id, score, achieved_at FROM player_scores WHERE leaderboard_id = $1 AND season = $2",
                &[&id, &season],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        boards.push((id, name, u32::try_from(season).unwrap_or(1), scores));
    }
    Ok(boards)
}

/// A page of an archived season, ranked.
pub async fn archived_page(
    pool: &Pool,
    board: &str,
    season: u32,
    offset: u64,
    limit: u32,
) -> StoreResult<Vec<(UserId, i64)>> {
    let client = pool.get().await?;
    let rows = client
        .query(
            "SELECT user_id, score FROM player_scores WHERE leaderboard_id = $1 AND season = $2
             ORDER BY score DESC, achieved_at, user_id OFFSET $3 LIMIT $4",
            &[
                &board,
                &i32::try_from(season).unwrap_or(0),
                &i64::try_from(offset).unwrap_or(i64::MAX),
                &i64::from(limit),
            ],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Whether a board had this season.
pub async fn season_exists(pool: &Pool, board: &str, season: u32) -> StoreResult<bool> {
    let client = pool.get().await?;
    Ok(client
        .query_opt(
            "SELECT 1 FROM leaderboard_seasons WHERE leaderboard_id = $1 AND season = $2",
            &[&board, &i32::try_from(season).unwrap_or(0)],
        )
        .await?
        .is_some())
}
