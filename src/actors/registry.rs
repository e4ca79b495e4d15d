//! Addresses of live actors by id (dashmap), with activation on first use.

use dashmap::DashMap;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A live actor's address and a generation, so passivation removes only itself.
pub struct Entry<H> {
    pub handle: H,
    pub generation: u64,
}

/// Live actors of one kind.
pub struct Registry<K, H> {
    live: DashMap<K, Entry<H>>,
    generation: AtomicU64,
    pub kind: &'static str,
}

impl<K: Eq + Hash + Clone, H: Clone> Registry<K, H> {
    pub fn new(kind: &'static str) -> Arc<Self> {
        Arc::new(Self { live: DashMap::new(), generation: AtomicU64::new(0), kind })
    }

    pub fn get(&self, key: &K) -> Option<H> {
        self.live.get(key).map(|e| e.handle.clone())
    }

    /// The live actor, or a new one made by `spawn(generation)` registered atomically.
    pub fn get_or_spawn(&self, key: &K, spawn: impl FnOnce(u64) -> H) -> H {
        if let Some(handle) = self.get(key) {
            return handle;
        }
        let entry = self.live.entry(key.clone()).or_insert_with(|| {
            let generation = self.generation.fetch_add(1, Ordering::Relaxed);
            metrics::gauge!("pzo_actors_live", "kind" => self.kind).increment(1.0);
            Entry { handle: spawn(generation), generation }
        });
        entry.handle.clone()
    }

    /// Removes the actor if it is still the given generation.
    pub fn remove(&self, key: &K, generation: u64) {
        if self.live.remove_if(key, |_, e| e.generation == generation).is_some() {
            metrics::gauge!("pzo_actors_live", "kind" => self.kind).decrement(1.0);
        }
    }

    pub fn len(&self) -> usize {
        self.live.len()
    }

    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    pub fn handles(&self) -> Vec<H> {
        self.live.iter().map(|e| e.handle.clone()).collect()
    }
}
