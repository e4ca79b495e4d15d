//! The journal's SQL: one statement per effect, except the hot paths (the ledger, a finished
//! game's rows, the events), which a batch writes with one multi-row statement per kind.
//! Statements are prepared once per connection ([`prepare_batch`]) so that the writes of a
//! batch can be pipelined in order inside one transaction. They run on the journal's connection
//! (`tx`), inside the transaction the journal opened on it.

use deadpool_postgres::ClientWrapper;
use pzo_actors::effect::{Effect, EventDraft};
use pzo_protocol::{Event, Reply};
use std::collections::HashMap;
use tokio_postgres::Statement;
use tokio_postgres::types::ToSql;

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
// Joins of a batch as one statement (~750 joins/s at 10,000 players were as many single-row
// statements). It runs after the batch's per-effect statements, so a new game's row is there
// first; a member's leave is a per-effect statement of a later command of the same lobby, which
// awaits each commit, so never in the same batch as that member's join.
const INSERT_GAME_PLAYERS: &str = "INSERT INTO game_players (game_id, user_id, joined_at)
     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[])
     ON CONFLICT (game_id, user_id) DO UPDATE SET joined_at = EXCLUDED.joined_at, left_at = NULL";
const GAME_PLAYER_LEFT: &str = "UPDATE game_players SET left_at = $3 WHERE game_id = $1 AND user_id = $2";
const RESET_LEADERBOARD: &str = "WITH archived AS (
       UPDATE leaderboard_seasons SET archived_at = $4 WHERE leaderboard_id = $1 AND season = $2),
     opened AS (INSERT INTO leaderboard_seasons (leaderboard_id, season, started_at) VALUES ($1, $3, $4))
     UPDATE leaderboard SET season = $3 WHERE id = $1";
const INSERT_PLAYER_ACHIEVEMENT: &str =
    "INSERT INTO player_achievements (user_id, achievement_id, unlocked_at) VALUES ($1, $2, $3)";
const INSERT_PLAYER_COSMETIC: &str =
    "INSERT INTO player_cosmetics (user_id, cosmetic_id, unlocked_at) VALUES ($1, $2, $3)";
// A game event's audience travels as one comma-separated text per event: unnest would flatten a
// two-dimensional uuid array into single ids.
const INSERT_EVENTS: &str = "INSERT INTO events (seq, type, aggregate, user_id, game_id, leaderboard_id, payload, created_at, audience)
     SELECT s, t, a, u, g, l, p::jsonb, c, string_to_array(w, ',')::uuid[]
     FROM unnest($1::bigint[], $2::text[], $3::text[], $4::uuid[], $5::uuid[], $6::text[], $7::text[], $8::timestamptz[], $9::text[])
       AS x(s, t, a, u, g, l, p, c, w)";

const SET_BALANCES: &str = "INSERT INTO balances (user_id, currency_id, balance)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[])
     ON CONFLICT (user_id, currency_id) DO UPDATE SET balance = EXCLUDED.balance";
const SET_INVENTORIES: &str = "INSERT INTO inventory (user_id, item_id, quantity)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[])
     ON CONFLICT (user_id, item_id) DO UPDATE SET quantity = EXCLUDED.quantity";
const INSERT_TRANSACTIONS: &str = "INSERT INTO transactions
       (id, user_id, currency_id, kind, amount, balance_after, reference, created_at)
     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[],
                          $8::timestamptz[])";
// A finished game's rows, one statement per kind for the whole batch (a game of 8 was 24
// single-row statements, and games started together finish together).
// An upsert on the primary key rather than `UPDATE ... FROM unnest(...)`: that join's plan is
// cached per connection once the statement has run a few times, and when it was planned while
// `game_players` was small (a fresh database, or statistics never refreshed: autovacuum off)
// the cached plan hashed the whole table on every finish. At 10,000 players it was the
// journal's most expensive statement (sampled from pg_stat_activity: 586 of ~1,800 busy
// samples, more than the events insert). An upsert finds each row through the key, whatever
// the statistics. Every member has a row (inserted when they joined); the insert branch would
// only add one that is missing, joined at the finish.
const SET_GAME_PLAYER_SCORES: &str = "INSERT INTO game_players (game_id, user_id, joined_at, left_at, score)
     SELECT g, u, t, t, s FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::timestamptz[]) AS x(g, u, s, t)
     ON CONFLICT (game_id, user_id) DO UPDATE SET score = EXCLUDED.score, left_at = EXCLUDED.left_at";
const ADD_GAMES_COMPLETED: &str = "INSERT INTO player_stats (user_id, games_completed, best_score)
     SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bigint[])
     ON CONFLICT (user_id) DO UPDATE SET games_completed = player_stats.games_completed + EXCLUDED.games_completed,
       best_score = greatest(player_stats.best_score, EXCLUDED.best_score)";
// Only a higher score replaces a best (a tie keeps the earlier row): the leaderboard actor
// relies on this to keep several game commits in flight (actors/leaderboard.rs).
const UPSERT_BEST_SCORES: &str = "INSERT INTO player_scores (leaderboard_id, season, user_id, score, achieved_at)
     SELECT * FROM unnest($1::text[], $2::integer[], $3::uuid[], $4::bigint[], $5::timestamptz[])
     ON CONFLICT (leaderboard_id, season, user_id) DO UPDATE SET score = EXCLUDED.score,
       achieved_at = EXCLUDED.achieved_at WHERE player_scores.score < EXCLUDED.score";
const STORE_IDEMPOTENCIES: &str = "INSERT INTO idempotency_keys
       (user_id, key, operation, request_hash, response, created_at)
     SELECT u, k, o, h, r::jsonb, c
     FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[], $5::text[], $6::timestamptz[]) AS x(u, k, o, h, r, c)";

/// Whether an effect is written by one multi-row statement per batch (the ledger and a finished
/// game's rows: the hot paths) rather than a statement of its own. These rows reference only
/// rows that existed before the batch (a player is loaded from committed rows before its ledger
/// moves; a game's members joined in earlier commits before it could finish), and no later
/// statement of a batch touches them again, so they may follow the per-effect statements.
pub fn is_batched(effect: &Effect) -> bool {
    sql_of(effect).is_none()
}

/// The multi-row statements a batch uses, always prepared.
const BATCHED: [&str; 9] = [
    SET_BALANCES,
    SET_INVENTORIES,
    INSERT_TRANSACTIONS,
    STORE_IDEMPOTENCIES,
    INSERT_GAME_PLAYERS,
    SET_GAME_PLAYER_SCORES,
    ADD_GAMES_COMPLETED,
    UPSERT_BEST_SCORES,
    INSERT_EVENTS,
];

/// The statement an effect runs on its own; `None` for the batched ledger effects, which
/// [`write_batched`] writes with one multi-row statement per kind.
pub fn sql_of(effect: &Effect) -> Option<&'static str> {
    Some(match effect {
        Effect::InsertUser { .. } => INSERT_USER,
        Effect::SetPreferences { .. } => SET_PREFERENCES,
        Effect::InsertSession { .. } => INSERT_SESSION,
        Effect::InsertWaitlistEntry { .. } => INSERT_WAITLIST_ENTRY,
        Effect::WaitlistStatusChange { .. } => WAITLIST_STATUS_CHANGE,
        Effect::InsertReferral { .. } => INSERT_REFERRAL,
        Effect::InsertGame { .. } => INSERT_GAME,
        Effect::UpdateGame { .. } => UPDATE_GAME,
        Effect::GamePlayerLeft { .. } => GAME_PLAYER_LEFT,
        Effect::ResetLeaderboard { .. } => RESET_LEADERBOARD,
        Effect::InsertPlayerAchievement { .. } => INSERT_PLAYER_ACHIEVEMENT,
        Effect::InsertPlayerCosmetic { .. } => INSERT_PLAYER_COSMETIC,
        Effect::SetInventory { .. }
        | Effect::SetBalance { .. }
        | Effect::InsertTransaction(_)
        | Effect::StoreIdempotency { .. }
        | Effect::InsertGamePlayer { .. }
        | Effect::GamePlayerScore { .. }
        | Effect::StatsGameCompleted { .. }
        | Effect::UpsertBestScore { .. } => return None,
    })
}

/// Prepared statements of one batch, by SQL text.
pub type Prepared = HashMap<&'static str, Statement>;

/// Prepares (or takes from the connection's cache) every statement a batch needs, one after
/// the other, so the pipelined writes that follow are sent in order.
pub async fn prepare_batch<'e>(
    tx: &ClientWrapper,
    effects: impl Iterator<Item = &'e Effect>,
) -> Result<Prepared, tokio_postgres::Error> {
    let mut prepared = Prepared::new();
    for sql in effects.filter_map(sql_of).chain(BATCHED) {
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
    tx: &ClientWrapper,
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
        Effect::GamePlayerLeft { game_id, user_id, at } => tx.execute(statement, &[game_id, user_id, at]).await,
        Effect::ResetLeaderboard { leaderboard_id, archived_season, season, at } => {
            tx.execute(statement, &[leaderboard_id, &i32_of(*archived_season), &i32_of(*season), at]).await
        }
        Effect::InsertPlayerAchievement { user_id, achievement_id, at } => {
            tx.execute(statement, &[user_id, achievement_id, at]).await
        }
        Effect::InsertPlayerCosmetic { user_id, cosmetic_id, at } => {
            tx.execute(statement, &[user_id, cosmetic_id, at]).await
        }
        // The batched effects have no statement of their own (`sql_of` is None): the journal
        // hands them to `write_batched` and never here.
        Effect::SetInventory { .. }
        | Effect::SetBalance { .. }
        | Effect::InsertTransaction(_)
        | Effect::StoreIdempotency { .. }
        | Effect::InsertGamePlayer { .. }
        | Effect::GamePlayerScore { .. }
        | Effect::StatsGameCompleted { .. }
        | Effect::UpsertBestScore { .. } => Ok(0),
    }
}

/// Writes a batch's events in one statement.
pub async fn insert_events(
    tx: &ClientWrapper,
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
    let mut audiences = Vec::with_capacity(events.len());
    for (event, draft) in events {
        seqs.push(i64::try_from(event.seq).unwrap_or(i64::MAX));
        types.push(event.kind());
        aggregates.push(draft.aggregate);
        users.push(draft.user_id);
        games.push(draft.game_id);
        boards.push(draft.audience.leaderboard.as_deref());
        payloads.push(serde_json::to_string(&event.data.json_data()).unwrap_or_else(|_| "{}".to_owned()));
        times.push(event.at);
        audiences.push(draft.game_id.map(|_| game_audience(&draft.audience.users)));
    }
    let columns: [&(dyn tokio_postgres::types::ToSql + Sync); 9] =
        [&seqs, &types, &aggregates, &users, &games, &boards, &payloads, &times, &audiences];
    tx.execute(statement, &columns).await
}

/// A game event's audience as stored (`events.audience`): its users' ids, comma-separated.
fn game_audience(users: &[pzo_protocol::UserId]) -> String {
    use std::fmt::Write;
    let mut joined = String::with_capacity(users.len() * 37);
    for (i, user) in users.iter().enumerate() {
        if i > 0 {
            joined.push(',');
        }
        let _ = write!(joined, "{user}");
    }
    joined
}

/// One idempotency row: user, key, operation, request hash, stored answer, time.
type KeyRow<'a> = (&'a uuid::Uuid, &'a str, &'a str, &'a [u8], String, &'a pzo_protocol::Timestamp);

/// One joining member's row: game, player, joined at.
type MemberRow<'a> = (&'a uuid::Uuid, &'a uuid::Uuid, &'a pzo_protocol::Timestamp);
/// One member's result row: game, player, score, time.
type ScoreRow<'a> = (&'a uuid::Uuid, &'a uuid::Uuid, i64, &'a pzo_protocol::Timestamp);
/// One best-score row: board, season, player, score, time.
type BestRow<'a> = (&'a str, i32, &'a uuid::Uuid, i64, &'a pzo_protocol::Timestamp);

/// The hot paths of a batch (the ledger, finished games), gathered into columns for the
/// multi-row statements.
#[derive(Default)]
struct Columns<'a> {
    balances: Vec<(&'a uuid::Uuid, &'a str, i64)>,
    inventory: Vec<(&'a uuid::Uuid, &'a str, i64)>,
    transactions: Vec<&'a pzo_protocol::model::Transaction>,
    keys: Vec<KeyRow<'a>>,
    members: Vec<MemberRow<'a>>,
    scores: Vec<ScoreRow<'a>>,
    /// Per player: games completed in this batch and their best score (one row per player, as
    /// one upsert may not touch a row twice).
    completed: Vec<(&'a uuid::Uuid, i64, i64)>,
    best: Vec<BestRow<'a>>,
}

impl<'a> Columns<'a> {
    fn completed(&mut self, user_id: &'a uuid::Uuid, score: i64) {
        match self.completed.iter_mut().find(|(u, _, _)| *u == user_id) {
            Some((_, games, best)) => (*games, *best) = (*games + 1, (*best).max(score)),
            None => self.completed.push((user_id, 1, score)),
        }
    }

    /// The stored rule within the batch: a higher score replaces, a tie keeps the earlier.
    fn best(&mut self, row: BestRow<'a>) {
        let same = |r: &&mut BestRow<'a>| r.0 == row.0 && r.1 == row.1 && r.2 == row.2;
        match self.best.iter_mut().find(same) {
            Some(kept) if kept.3 < row.3 => *kept = row,
            Some(_) => {}
            None => self.best.push(row),
        }
    }
}

/// Keeps the last row per key, in order: a later command of a batch saw the earlier one's state,
/// and one multi-row upsert may not touch a row twice. (For game members this only matters if a
/// batch ever carried a member twice: a lobby commits one command at a time.)
fn last_per_key<R, K: Eq + std::hash::Hash>(rows: Vec<R>, key: impl Fn(&R) -> K) -> Vec<R> {
    let mut seen = std::collections::HashSet::new();
    let mut kept: Vec<R> = rows.into_iter().rev().filter(|row| seen.insert(key(row))).collect();
    kept.reverse();
    kept
}

/// Writes the batched effects with one statement per kind.
pub async fn write_batched<'e>(
    tx: &ClientWrapper,
    prepared: &Prepared,
    effects: impl Iterator<Item = &'e Effect>,
) -> Result<(), tokio_postgres::Error> {
    let mut columns = Columns::default();
    for effect in effects {
        match effect {
            Effect::SetBalance { user_id, currency_id, balance } => {
                columns.balances.push((user_id, currency_id, *balance))
            }
            Effect::SetInventory { user_id, item_id, quantity } => {
                columns.inventory.push((user_id, item_id, *quantity))
            }
            Effect::InsertTransaction(t) => columns.transactions.push(t),
            Effect::StoreIdempotency { user_id, key, operation, request_hash, response, at } => {
                let stored = StoredReply { kind: response.name(), data: response.json_data() };
                let text = serde_json::to_string(&stored).unwrap_or_else(|_| "{}".to_owned());
                columns.keys.push((user_id, key, operation, request_hash, text, at));
            }
            Effect::InsertGamePlayer { game_id, user_id, joined_at } => {
                columns.members.push((game_id, user_id, joined_at))
            }
            Effect::GamePlayerScore { game_id, user_id, score, at } => {
                columns.scores.push((game_id, user_id, *score, at))
            }
            Effect::StatsGameCompleted { user_id, score } => columns.completed(user_id, *score),
            Effect::UpsertBestScore { leaderboard_id, season, user_id, score, at } => {
                columns.best((leaderboard_id, i32_of(*season), user_id, *score, at))
            }
            _ => {}
        }
    }
    let balances = last_per_key(columns.balances, |row| (*row.0, row.1));
    let inventory = last_per_key(columns.inventory, |row| (*row.0, row.1));
    let members = last_per_key(columns.members, |row| (*row.0, *row.1));
    let scores = last_per_key(columns.scores, |row| (*row.0, *row.1));
    let writes = [
        pairs(tx, prepared.get(SET_BALANCES), &balances),
        pairs(tx, prepared.get(SET_INVENTORIES), &inventory),
        transactions(tx, prepared.get(INSERT_TRANSACTIONS), &columns.transactions),
        keys(tx, prepared.get(STORE_IDEMPOTENCIES), &columns.keys),
        joins(tx, prepared.get(INSERT_GAME_PLAYERS), &members),
        game_scores(tx, prepared.get(SET_GAME_PLAYER_SCORES), &scores),
        games_completed(tx, prepared.get(ADD_GAMES_COMPLETED), &columns.completed),
        best_scores(tx, prepared.get(UPSERT_BEST_SCORES), &columns.best),
    ];
    futures_util::future::try_join_all(writes).await.map(|_| ())
}

type Write<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<u64, tokio_postgres::Error>> + Send + 'a>>;

fn pairs<'a>(
    tx: &'a ClientWrapper,
    statement: Option<&'a Statement>,
    rows: &'a [(&'a uuid::Uuid, &'a str, i64)],
) -> Write<'a> {
    Box::pin(async move {
        let Some(statement) = statement.filter(|_| !rows.is_empty()) else { return Ok(0) };
        let users: Vec<uuid::Uuid> = rows.iter().map(|r| *r.0).collect();
        let ids: Vec<&str> = rows.iter().map(|r| r.1).collect();
        let values: Vec<i64> = rows.iter().map(|r| r.2).collect();
        tx.execute(statement, &[&users, &ids, &values]).await
    })
}

fn transactions<'a>(
    tx: &'a ClientWrapper,
    statement: Option<&'a Statement>,
    rows: &'a [&'a pzo_protocol::model::Transaction],
) -> Write<'a> {
    Box::pin(async move {
        let Some(statement) = statement.filter(|_| !rows.is_empty()) else { return Ok(0) };
        let ids: Vec<uuid::Uuid> = rows.iter().map(|t| t.id).collect();
        let users: Vec<uuid::Uuid> = rows.iter().map(|t| t.user_id).collect();
        let currencies: Vec<&str> = rows.iter().map(|t| t.currency_id.as_str()).collect();
        let kinds: Vec<&str> = rows.iter().map(|t| t.kind.as_str()).collect();
        let amounts: Vec<i64> = rows.iter().map(|t| t.amount).collect();
        let after: Vec<i64> = rows.iter().map(|t| t.balance_after).collect();
        let references: Vec<Option<&str>> = rows.iter().map(|t| t.reference.as_deref()).collect();
        let times: Vec<pzo_protocol::Timestamp> = rows.iter().map(|t| t.created_at).collect();
        tx.execute(statement, &[&ids, &users, &currencies, &kinds, &amounts, &after, &references, &times]).await
    })
}

fn keys<'a>(tx: &'a ClientWrapper, statement: Option<&'a Statement>, rows: &'a [KeyRow<'a>]) -> Write<'a> {
    Box::pin(async move {
        let Some(statement) = statement.filter(|_| !rows.is_empty()) else { return Ok(0) };
        let users: Vec<uuid::Uuid> = rows.iter().map(|r| *r.0).collect();
        let keys: Vec<&str> = rows.iter().map(|r| r.1).collect();
        let operations: Vec<&str> = rows.iter().map(|r| r.2).collect();
        let hashes: Vec<&[u8]> = rows.iter().map(|r| r.3).collect();
        let responses: Vec<&str> = rows.iter().map(|r| r.4.as_str()).collect();
        let times: Vec<pzo_protocol::Timestamp> = rows.iter().map(|r| *r.5).collect();
        tx.execute(statement, &[&users, &keys, &operations, &hashes, &responses, &times]).await
    })
}

fn joins<'a>(tx: &'a ClientWrapper, statement: Option<&'a Statement>, rows: &'a [MemberRow<'a>]) -> Write<'a> {
    Box::pin(async move {
        let Some(statement) = statement.filter(|_| !rows.is_empty()) else { return Ok(0) };
        let games: Vec<uuid::Uuid> = rows.iter().map(|r| *r.0).collect();
        let users: Vec<uuid::Uuid> = rows.iter().map(|r| *r.1).collect();
        let times: Vec<pzo_protocol::Timestamp> = rows.iter().map(|r| *r.2).collect();
        tx.execute(statement, &[&games, &users, &times]).await
    })
}

fn game_scores<'a>(tx: &'a ClientWrapper, statement: Option<&'a Statement>, rows: &'a [ScoreRow<'a>]) -> Write<'a> {
    Box::pin(async move {
        let Some(statement) = statement.filter(|_| !rows.is_empty()) else { return Ok(0) };
        let games: Vec<uuid::Uuid> = rows.iter().map(|r| *r.0).collect();
        let users: Vec<uuid::Uuid> = rows.iter().map(|r| *r.1).collect();
        let scores: Vec<i64> = rows.iter().map(|r| r.2).collect();
        let times: Vec<pzo_protocol::Timestamp> = rows.iter().map(|r| *r.3).collect();
        tx.execute(statement, &[&games, &users, &scores, &times]).await
    })
}

fn games_completed<'a>(
    tx: &'a ClientWrapper,
    statement: Option<&'a Statement>,
    rows: &'a [(&'a uuid::Uuid, i64, i64)],
) -> Write<'a> {
    Box::pin(async move {
        let Some(statement) = statement.filter(|_| !rows.is_empty()) else { return Ok(0) };
        let users: Vec<uuid::Uuid> = rows.iter().map(|r| *r.0).collect();
        let games: Vec<i64> = rows.iter().map(|r| r.1).collect();
        let best: Vec<i64> = rows.iter().map(|r| r.2).collect();
        tx.execute(statement, &[&users, &games, &best]).await
    })
}

fn best_scores<'a>(tx: &'a ClientWrapper, statement: Option<&'a Statement>, rows: &'a [BestRow<'a>]) -> Write<'a> {
    Box::pin(async move {
        let Some(statement) = statement.filter(|_| !rows.is_empty()) else { return Ok(0) };
        let boards: Vec<&str> = rows.iter().map(|r| r.0).collect();
        let seasons: Vec<i32> = rows.iter().map(|r| r.1).collect();
        let users: Vec<uuid::Uuid> = rows.iter().map(|r| *r.2).collect();
        let scores: Vec<i64> = rows.iter().map(|r| r.3).collect();
        let times: Vec<pzo_protocol::Timestamp> = rows.iter().map(|r| *r.4).collect();
        tx.execute(statement, &[&boards, &seasons, &users, &scores, &times]).await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> pzo_protocol::Timestamp {
        chrono::DateTime::from_timestamp(1_700_000_000 + secs, 0).expect("valid instant")
    }

    #[test]
    fn a_batch_keeps_one_best_row_per_player_by_the_stored_rule() {
        let (ada, bo) = (uuid::Uuid::from_u128(1), uuid::Uuid::from_u128(2));
        let times = [at(1), at(2), at(3), at(4)];
        let mut columns = Columns::default();
        columns.best(("season0", 1, &ada, 50, &times[0]));
        columns.best(("season0", 1, &bo, 40, &times[0]));
        columns.best(("season0", 1, &ada, 50, &times[1])); // a tie keeps the earlier row
        columns.best(("season0", 1, &bo, 30, &times[2])); // a lower score changes nothing
        columns.best(("season0", 1, &bo, 45, &times[3])); // a higher one replaces it
        columns.best(("season0", 2, &ada, 10, &times[3])); // another season is another row
        assert_eq!(
            columns.best,
            vec![
                ("season0", 1, &ada, 50, &times[0]),
                ("season0", 1, &bo, 45, &times[3]),
                ("season0", 2, &ada, 10, &times[3])
            ]
        );
    }

    #[test]
    fn a_batch_counts_each_players_completed_games_in_one_row() {
        let (ada, bo) = (uuid::Uuid::from_u128(1), uuid::Uuid::from_u128(2));
        let mut columns = Columns::default();
        columns.completed(&ada, 7);
        columns.completed(&bo, 3);
        columns.completed(&ada, 5);
        assert_eq!(columns.completed, vec![(&ada, 2, 7), (&bo, 1, 3)]);
    }

    #[test]
    fn a_batch_writes_one_score_row_per_game_member_the_last() {
        let (game, other, ada, bo) =
            (uuid::Uuid::from_u128(9), uuid::Uuid::from_u128(8), uuid::Uuid::from_u128(1), uuid::Uuid::from_u128(2));
        let times = [at(1), at(2)];
        let rows = vec![
            (&game, &ada, 10, &times[0]),
            (&game, &bo, 20, &times[0]),
            (&other, &ada, 30, &times[1]), // the same player in another game is another row
            (&game, &ada, 40, &times[1]),  // the same member again: the later row wins
        ];
        assert_eq!(
            last_per_key(rows, |row| (*row.0, *row.1)),
            vec![(&game, &bo, 20, &times[0]), (&other, &ada, 30, &times[1]), (&game, &ada, 40, &times[1])]
        );
    }
}
