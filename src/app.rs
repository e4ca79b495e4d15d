//! The application: every shared service (pool, journal, bus, actor registries, catalog) and
//! the start-up sequence that wires them.

use crate::actors::leaderboard::{self, BoardHandle};
use crate::actors::lobby::LobbyHandle;
use crate::actors::player::PlayerHandle;
use crate::actors::registry::Registry;
use crate::actors::waitlist::{self, Admissions, WaitlistHandle};
use crate::admission::{AdmissionTask, AutoAdmitter};
use crate::bus::Bus;
use crate::config::Config;
use crate::directory::Directory;
use crate::journal::{AfterCommit, Journal};
use crate::{db, store};
use deadpool_postgres::Pool;
use pzo_actors::IdSource;
use pzo_actors::catalog::Catalog;
use pzo_actors::effect::Audience;
use pzo_actors::leaderboard::{BestScore, BoardState};
use pzo_actors::waitlist::WaitlistConfig;
use pzo_protocol::model::Preferences;
use pzo_protocol::{Event, EventData, GameId, Timestamp, UserId};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// The board that finished games score on.
pub const SEASON_BOARD: &str = "season0";

/// The catalog shipped with the binary, used when `PZO_CATALOG` names no readable file.
const CATALOG_EMBEDDED: &str = include_str!("../catalog/season0.json");

/// New ids in the server come from the OS's randomness.
pub struct RandomIds;

impl IdSource for RandomIds {
    fn next_id(&mut self) -> uuid::Uuid {
        uuid::Uuid::new_v4()
    }
}

fn wall_clock() -> Timestamp {
    // Microsecond precision: what PostgreSQL stores, so replayed state compares equal.
    let now = chrono::Utc::now();
    chrono::DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

pub struct App {
    pub config: Config,
    pub pool: Pool,
    pub journal: Journal,
    pub bus: Arc<Bus>,
    pub catalog: Arc<Catalog>,
    pub players: Arc<Registry<UserId, PlayerHandle>>,
    pub lobbies: Arc<Registry<GameId, LobbyHandle>>,
    pub waitlist: WaitlistHandle,
    pub boards: HashMap<String, BoardHandle>,
    pub admissions: Admissions,
    /// Members of every live open or started game, published by its lobby actor after each
    /// commit, so a relay reaches the other members without a hop through the lobby's mailbox.
    pub rosters: dashmap::DashMap<GameId, Arc<[UserId]>>,
    pub admin_token: String,
    /// Sessions already looked up or issued (token authentication without a database read).
    pub sessions: crate::auth::SessionCache,
    /// Display names and leaderboard visibility (named leaderboard rows without a database read).
    pub directory: Arc<Directory>,
    pub telemetry: Arc<crate::telemetry::Telemetry>,
    /// Capacity-aware admission's settings and decisions (`waitlist.auto`).
    pub auto_admitter: Arc<AutoAdmitter>,
    pub started: Instant,
}

impl App {
    pub fn now(&self) -> Timestamp {
        wall_clock()
    }
    pub fn ids(&self) -> RandomIds {
        RandomIds
    }
}

/// Pushes committed events to sockets and tells live player actors about events that other
/// actors committed for them.
struct Fanout {
    bus: Arc<Bus>,
    players: Arc<Registry<UserId, PlayerHandle>>,
    directory: Arc<Directory>,
}

impl AfterCommit for Fanout {
    fn committed(&self, events: &[(Arc<Event>, Audience)], origins: &[UserId]) {
        for (event, audience) in events {
            match &event.data {
                EventData::UserRegistered(user) => self.directory.registered(
                    user.user_id,
                    &user.display_name,
                    Preferences::default().show_on_leaderboard,
                ),
                EventData::UserPreferencesUpdated(update) => self.directory.preferences_changed(update.user_id),
                _ => {}
            }
            self.bus.publish(event, audience);
            for user in &audience.users {
                if !origins.contains(user) {
                    if let Some(player) = self.players.get(user) {
                        player.notice(event.clone());
                    }
                }
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error(transparent)]
    Catalog(#[from] pzo_actors::catalog::CatalogError),
}

fn load_catalog() -> Result<Catalog, StartError> {
    let path = std::env::var("PZO_CATALOG").unwrap_or_else(|_| "catalog/season0.json".to_owned());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|_| CATALOG_EMBEDDED.to_owned());
    Ok(Catalog::parse(&text)?)
}

/// Connects, migrates, loads the catalog and rebuilds the actors that live for the whole run.
pub async fn build(config: Config, database_url: &str, admin_token: String) -> Result<Arc<App>, StartError> {
    db::ensure_database(database_url).await?;
    let pool = db::pool(database_url, db::POOL_CONNECTIONS_MAX)?;
    db::migrate(&pool).await?;
    let catalog = load_catalog()?;
    db::upsert_catalog(&pool, &catalog).await?;
    let bus = Arc::new(Bus::default());
    let players = Registry::new("player");
    let directory = Arc::new(Directory::default());
    let fanout = Arc::new(Fanout { bus: bus.clone(), players: players.clone(), directory: directory.clone() });
    let journal = Journal::start(pool.clone(), fanout).await?;
    let admissions: Admissions = Arc::default();
    let history = store::events_of(&pool, "waitlist").await?;
    let waitlist_config = WaitlistConfig { founder_cap: config.founder_cap, referral_boost: config.referral_boost };
    let waitlist = waitlist::spawn(
        waitlist_config,
        &history,
        journal.clone(),
        admissions.clone(),
        config.season0_capacity,
        wall_clock,
    );
    let mut boards = HashMap::new();
    for (id, name, season, scores) in store::boards(&pool).await? {
        let mut state = BoardState::new(id.clone(), name, season);
        for (user, score, achieved_at) in scores {
            state.record(user, BestScore { score, achieved_at });
        }
        boards.insert(id, leaderboard::spawn(state, journal.clone(), pool.clone(), directory.clone(), wall_clock));
    }
    let telemetry = Arc::new(crate::telemetry::Telemetry::new());
    let auto_admitter = AutoAdmitter::new(config.auto_admit, config.auto_admit_wave, config.auto_admit_interval);
    let app = Arc::new(App {
        config,
        pool,
        journal,
        bus,
        catalog: Arc::new(catalog),
        players,
        lobbies: Registry::new("lobby"),
        waitlist,
        boards,
        admissions,
        rosters: dashmap::DashMap::new(),
        admin_token,
        sessions: crate::auth::SessionCache::default(),
        directory,
        telemetry,
        auto_admitter,
        started: Instant::now(),
    });
    AdmissionTask { app: Arc::downgrade(&app), admitter: app.auto_admitter.clone(), clock: wall_clock }.spawn();
    Ok(app)
}
