//! The PostgreSQL connection pool, migrations (refinery) and the catalog upsert at start.

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use pzo_actors::catalog::Catalog;
use tokio_postgres::NoTls;

refinery::embed_migrations!("migrations");

/// Connections in the pool used by reads, actor activation and the journal.
pub const POOL_CONNECTIONS_MAX: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("invalid DATABASE_URL: {0}")]
    Url(#[source] tokio_postgres::Error),
    #[error("cannot reach PostgreSQL: {0}")]
    Connect(#[source] tokio_postgres::Error),
    #[error("database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("database: {0}")]
    Query(#[from] tokio_postgres::Error),
    #[error("migrations failed: {0}")]
    Migrate(#[from] refinery::Error),
    #[error("pool setup: {0}")]
    Build(String),
}

/// Builds a pool for `url`.
pub fn pool(url: &str, size: usize) -> Result<Pool, DbError> {
    let config: tokio_postgres::Config = url.parse().map_err(DbError::Url)?;
    let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
    Pool::builder(manager)
        .max_size(size)
        .wait_timeout(Some(std::time::Duration::from_secs(5)))
        .create_timeout(Some(std::time::Duration::from_secs(5)))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .map_err(|e| DbError::Build(e.to_string()))
}

/// Creates the database named in `url` if it does not exist (tests and first starts).
pub async fn ensure_database(url: &str) -> Result<(), DbError> {
    let config: tokio_postgres::Config = url.parse().map_err(DbError::Url)?;
    let Some(name) = config.get_dbname().map(str::to_owned) else { return Ok(()) };
    let mut admin = config.clone();
    admin.dbname("postgres");
    let (client, connection) = admin.connect(NoTls).await.map_err(DbError::Connect)?;
    tokio::spawn(connection);
    let exists = client.query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name]).await?.is_some();
    if !exists {
        let quoted = name.replace('"', "\"\"");
        client.batch_execute(&format!("CREATE DATABASE \"{quoted}\"")).await?;
    }
    Ok(())
}

/// Applies every pending migration.
pub async fn migrate(pool: &Pool) -> Result<(), DbError> {
    let mut client = pool.get().await?;
    migrations::runner().run_async(&mut **client).await?;
    Ok(())
}

/// Whether every embedded migration is applied (for `/ready`).
pub async fn migrations_applied(pool: &Pool) -> Result<bool, DbError> {
    let client = pool.get().await?;
    let applied: i64 = client.query_one("SELECT count(*) FROM refinery_schema_history", &[]).await?.get(0);
    Ok(usize::try_from(applied).unwrap_or(0) >= migrations::runner().get_migrations().len())
}

/// Upserts the catalog so the database's foreign keys see every entry.
pub async fn upsert_catalog(pool: &Pool, catalog: &Catalog) -> Result<(), DbError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    for c in catalog.currencies.values() {
        tx.execute(
            "INSERT INTO currencies (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name",
            &[&c.id, &c.name],
        )
        .await?;
    }
    for i in catalog.items.values() {
        tx.execute(
            "INSERT INTO items (id, name, stackable, max_stack) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, stackable = EXCLUDED.stackable, max_stack = EXCLUDED.max_stack",
            &[&i.id, &i.name, &i.stackable, &i.max_stack],
        )
        .await?;
    }
    for a in catalog.achievements.values() {
        tx.execute(
            "INSERT INTO achievements (id, name, description, condition_kind, threshold) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, description = EXCLUDED.description,
               condition_kind = EXCLUDED.condition_kind, threshold = EXCLUDED.threshold",
            &[&a.id, &a.name, &a.description, &a.condition.kind.as_str(), &a.condition.threshold],
        )
        .await?;
    }
    for c in catalog.cosmetics.values() {
        let currency = c.price.as_ref().map(|p| p.currency_id.clone());
        let amount = c.price.as_ref().map(|p| p.amount);
        tx.execute(
            "INSERT INTO cosmetics (id, name, price_currency_id, price_amount, required_achievement) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, price_currency_id = EXCLUDED.price_currency_id,
               price_amount = EXCLUDED.price_amount, required_achievement = EXCLUDED.required_achievement",
            &[&c.id, &c.name, &currency, &amount, &c.required_achievement],
        )
        .await?;
    }
    for l in catalog.leaderboards.values() {
        tx.execute(
            "INSERT INTO leaderboard (id, name, season) VALUES ($1, $2, 1) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name",
            &[&l.id, &l.name],
        )
        .await?;
        tx.execute(
            "INSERT INTO leaderboard_seasons (leaderboard_id, season, started_at)
             SELECT id, season, now() FROM leaderboard WHERE id = $1 ON CONFLICT DO NOTHING",
            &[&l.id],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
