//! Display names and leaderboard visibility, cached: every leaderboard page and every coalesced
//! `LEADERBOARD_UPDATED` names its rows, and asking PostgreSQL for each took `leaderboard.get`
//! p99 to ~25 ms in the CI smoke run (a pool connection and a round trip per read, behind the
//! journal's writes).
//!
//! Names never change after registration; visibility changes with `USER_PREFERENCES_UPDATED`.
//! The journal's fan-out calls [`Directory::registered`] and [`Directory::preferences_changed`]
//! after each commit, so the cache never answers older than the committed rows for longer than
//! the fan-out takes.

use crate::store::{self, StoreResult};
use deadpool_postgres::Pool;
use pzo_protocol::UserId;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Players whose name and visibility are kept (about 100 bytes each).
pub const DIRECTORY_ENTRIES_MAX: usize = 200_000;

/// A player's display name and whether they show on leaderboards.
pub type Listing = (String, bool);

pub struct Directory {
    cache: quick_cache::sync::Cache<UserId, (Arc<str>, bool)>,
    /// Bumped by every visibility change: a lookup that read PostgreSQL across a change does
    /// not cache what it read (it may predate the change).
    changes: AtomicU64,
}

impl Default for Directory {
    fn default() -> Self {
        Self { cache: quick_cache::sync::Cache::new(DIRECTORY_ENTRIES_MAX), changes: AtomicU64::new(0) }
    }
}

impl Directory {
    /// Names and visibility of `ids`, from memory where known, else from PostgreSQL (then kept).
    pub async fn lookup(&self, pool: &Pool, ids: &[UserId]) -> StoreResult<HashMap<UserId, Listing>> {
        let mut found = HashMap::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            match self.cache.get(id) {
                Some((name, shown)) => drop(found.insert(*id, (name.to_string(), shown))),
                None => missing.push(*id),
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let before = self.changes.load(Ordering::SeqCst);
        let stored = store::directory(pool, &missing).await?;
        let unchanged = self.changes.load(Ordering::SeqCst) == before;
        for (id, (name, shown)) in stored {
            if unchanged {
                self.cache.insert(id, (Arc::from(name.as_str()), shown));
            }
            found.insert(id, (name, shown));
        }
        Ok(found)
    }

    /// A registration committed: its name, shown by default.
    pub fn registered(&self, user_id: UserId, display_name: &str, shown: bool) {
        self.cache.insert(user_id, (Arc::from(display_name), shown));
    }

    /// A player's preferences committed: their visibility is read again on the next lookup.
    pub fn preferences_changed(&self, user_id: UserId) {
        self.changes.fetch_add(1, Ordering::SeqCst);
        self.cache.remove(&user_id);
    }
}
