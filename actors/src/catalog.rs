//! The catalog of Season 0 (items, currencies, achievements, cosmetics, leaderboards), read from
//! `catalog/season0.json` at start and upserted into PostgreSQL.

use pzo_protocol::model::{Condition, CurrencyDef, ItemDef, Price};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AchievementDef {
    pub id: String,
    pub name: String,
    pub description: String,
    pub condition: Condition,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CosmeticDef {
    pub id: String,
    pub name: String,
    pub price: Option<Price>,
    pub required_achievement: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LeaderboardDef {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Deserialize)]
struct CatalogFile {
    currencies: Vec<CurrencyDef>,
    items: Vec<ItemDef>,
    leaderboards: Vec<LeaderboardDef>,
    achievements: Vec<AchievementDef>,
    cosmetics: Vec<CosmeticDef>,
}

/// The whole catalog, keyed by slug.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    pub currencies: BTreeMap<String, CurrencyDef>,
    pub items: BTreeMap<String, ItemDef>,
    pub leaderboards: BTreeMap<String, LeaderboardDef>,
    pub achievements: BTreeMap<String, AchievementDef>,
    pub cosmetics: BTreeMap<String, CosmeticDef>,
}

/// Why a catalog file was refused.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("the catalog is not valid JSON of the expected shape: {0}")]
    Parse(#[from] serde_json::Error),
    #[error("the catalog misses required entry `{0}` (SPEC section 5)")]
    Missing(&'static str),
    #[error("catalog entry `{0}` refers to unknown `{1}`")]
    Dangling(String, String),
}

/// Entries the contract requires (SPEC section 5).
const REQUIRED: &[(&str, &str)] = &[
    ("currency", "gold"),
    ("currency", "gems"),
    ("item", "potion"),
    ("item", "sword_basic"),
    ("leaderboard", "season0"),
    ("achievement", "first_game"),
    ("achievement", "veteran"),
    ("achievement", "high_scorer"),
    ("achievement", "founder"),
    ("cosmetic", "founder_cape"),
    ("cosmetic", "golden_helm"),
    ("cosmetic", "neon_trail"),
];

impl Catalog {
    /// Parses and checks a catalog file's text.
    pub fn parse(text: &str) -> Result<Self, CatalogError> {
        let file: CatalogFile = serde_json::from_str(text)?;
        let catalog = Self {
            currencies: file.currencies.into_iter().map(|c| (c.id.clone(), c)).collect(),
            items: file.items.into_iter().map(|i| (i.id.clone(), i)).collect(),
            leaderboards: file.leaderboards.into_iter().map(|l| (l.id.clone(), l)).collect(),
            achievements: file.achievements.into_iter().map(|a| (a.id.clone(), a)).collect(),
            cosmetics: file.cosmetics.into_iter().map(|c| (c.id.clone(), c)).collect(),
        };
        catalog.check()?;
        Ok(catalog)
    }

    fn has(&self, kind: &str, id: &str) -> bool {
        match kind {
            "currency" => self.currencies.contains_key(id),
            "item" => self.items.contains_key(id),
            "leaderboard" => self.leaderboards.contains_key(id),
            "achievement" => self.achievements.contains_key(id),
            _ => self.cosmetics.contains_key(id),
        }
    }

    fn check(&self) -> Result<(), CatalogError> {
        for (kind, id) in REQUIRED {
            if !self.has(kind, id) {
                return Err(CatalogError::Missing(id));
            }
        }
        for cosmetic in self.cosmetics.values() {
            if let Some(price) = &cosmetic.price
                && !self.currencies.contains_key(&price.currency_id)
            {
                return Err(CatalogError::Dangling(cosmetic.id.clone(), price.currency_id.clone()));
            }
            if let Some(required) = &cosmetic.required_achievement
                && !self.achievements.contains_key(required)
            {
                return Err(CatalogError::Dangling(cosmetic.id.clone(), required.clone()));
            }
        }
        Ok(())
    }
}
