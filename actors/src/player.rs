//! A player's state and the pure rules of the player actor: preferences, inventory, currency
//! ledger, achievements and cosmetics. `apply` folds a committed event into the state, so
//! replaying the stored events rebuilds it.

use crate::catalog::Catalog;
use crate::effect::{Effect, EventDraft, Outcome};
use crate::world::World;
use pzo_protocol::error::{
    AchievementDetails, ApiError, ErrorCode, ErrorDetails, FundsDetails, ProgressDetails, QuantityDetails,
};
use pzo_protocol::event::*;
use pzo_protocol::model::*;
use pzo_protocol::reply::*;
use pzo_protocol::validate::{Amount, apply_preferences};
use pzo_protocol::{BALANCE_MAX, EventData, GameId, Reply, Timestamp, UserId};
use std::collections::BTreeMap;

/// Everything one player actor owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayerState {
    pub user_id: UserId,
    pub email: String,
    pub display_name: String,
    pub created_at: Timestamp,
    pub preferences: Preferences,
    pub balances: BTreeMap<String, i64>,
    pub inventory: BTreeMap<String, i64>,
    pub achievements: BTreeMap<String, Timestamp>,
    pub cosmetics: BTreeMap<String, Timestamp>,
    pub stats: PlayerStats,
    pub founder_number: Option<u32>,
    pub current_game: Option<GameId>,
}

impl PlayerState {
    /// A freshly registered player.
    pub fn new(user_id: UserId, email: String, display_name: String, created_at: Timestamp) -> Self {
        Self {
            user_id,
            email,
            display_name,
            created_at,
            preferences: Preferences::default(),
            balances: BTreeMap::new(),
            inventory: BTreeMap::new(),
            achievements: BTreeMap::new(),
            cosmetics: BTreeMap::new(),
            stats: PlayerStats::default(),
            founder_number: None,
            current_game: None,
        }
    }

    pub fn balance(&self, currency_id: &str) -> i64 {
        self.balances.get(currency_id).copied().unwrap_or(0)
    }

    pub fn quantity(&self, item_id: &str) -> i64 {
        self.inventory.get(item_id).copied().unwrap_or(0)
    }

    /// Folds one committed event into the state. Events of other players change nothing.
    pub fn apply(&mut self, event: &EventData) {
        let me = self.user_id;
        match event {
            EventData::UserPreferencesUpdated(e) if e.user_id == me => self.preferences = e.preferences.clone(),
            EventData::ItemAdded(e) | EventData::ItemRemoved(e) if e.user_id == me => {
                self.set_quantity(&e.item_id, e.total);
            }
            EventData::CurrencyDeposited(e) | EventData::CurrencyWithdrawn(e) if e.user_id == me => {
                self.balances.insert(e.currency_id.clone(), e.balance_after);
            }
            EventData::AchievementUnlocked(e) if e.user_id == me => {
                self.achievements.insert(e.achievement_id.clone(), e.unlocked_at);
            }
            EventData::CosmeticUnlocked(e) if e.user_id == me => {
                self.cosmetics.insert(e.cosmetic_id.clone(), e.unlocked_at);
            }
            EventData::Season0Joined(e) if e.user_id == me => self.founder_number = e.founder_number,
            EventData::GameCreated(e) if e.host_id == me => self.current_game = Some(e.game_id),
            EventData::GameJoined(e) if e.user_id == me => self.current_game = Some(e.game_id),
            EventData::GameLeft(e) if e.user_id == me && self.current_game == Some(e.game_id) => {
                self.current_game = None;
            }
            EventData::GameLeft(e) if e.status == GameStatus::Closed && self.current_game == Some(e.game_id) => {
                self.current_game = None;
            }
            EventData::GameFinished(e) => self.apply_finish(e),
            _ => {}
        }
    }

    fn apply_finish(&mut self, event: &GameFinished) {
        if let Some(result) = event.results.iter().find(|r| r.user_id == self.user_id) {
            self.stats.games_completed += 1;
            self.stats.best_score = self.stats.best_score.max(result.score);
        }
        if self.current_game == Some(event.game_id) {
            self.current_game = None;
        }
    }

    fn set_quantity(&mut self, item_id: &str, quantity: i64) {
        if quantity == 0 {
            self.inventory.remove(item_id);
        } else {
            self.inventory.insert(item_id.to_owned(), quantity);
        }
    }

    /// The value an achievement condition is compared with.
    pub fn condition_value(&self, kind: ConditionKind) -> i64 {
        match kind {
            ConditionKind::GamesCompleted => self.stats.games_completed,
            ConditionKind::BestScore => self.stats.best_score,
            ConditionKind::Founder => i64::from(self.founder_number.is_some()),
        }
    }
}

/// Applies each outcome event to a copy of the state: the state after the commit.
pub fn state_after<R>(state: &PlayerState, outcome: &Outcome<R>) -> PlayerState {
    let mut next = state.clone();
    for event in &outcome.events {
        next.apply(&event.data);
    }
    next
}

fn player_event(state: &PlayerState, data: EventData) -> EventDraft {
    EventDraft::for_player(state.user_id, "player", data)
}

pub fn update_preferences(
    state: &PlayerState,
    patch: &pzo_protocol::request::PreferencesPatch,
    world: &mut World<'_>,
) -> Result<Outcome<Preferences>, ApiError> {
    let preferences = apply_preferences(&state.preferences, patch)?;
    let data = UserPreferencesUpdated { user_id: state.user_id, preferences: preferences.clone() };
    Ok(Outcome::new(preferences.clone())
        .effect(Effect::SetPreferences { user_id: state.user_id, preferences, at: world.now })
        .event(player_event(state, EventData::UserPreferencesUpdated(data))))
}

fn inventory_updated(state: &PlayerState, item_id: &str, total: i64) -> EventData {
    let mut items: BTreeMap<String, i64> = state.inventory.clone();
    items.insert(item_id.to_owned(), total);
    let items = items
        .into_iter()
        .filter(|(_, q)| *q > 0)
        .map(|(item_id, quantity)| ItemQuantity { item_id, quantity })
        .collect();
    EventData::InventoryUpdated(InventoryUpdated { user_id: state.user_id, items })
}

fn out_of_range(message: &str) -> ApiError {
    ApiError::with_message(ErrorCode::AMOUNT_OUT_OF_RANGE, message)
}

/// Grants items (admin/service).
pub fn add_item(
    state: &PlayerState,
    catalog: &Catalog,
    item_id: &str,
    quantity: Amount,
) -> Result<Outcome<Reply>, ApiError> {
    let def = catalog.items.get(item_id).ok_or_else(|| ApiError::not_found("item"))?;
    // A stack never passes its catalog maximum (1 for items that do not stack), nor 2^53-1.
    let total = state
        .quantity(item_id)
        .checked_add(quantity.get())
        .filter(|t| *t <= BALANCE_MAX.min(def.max_stack))
        .ok_or_else(|| out_of_range(&format!("{item_id} stacks to at most {}", def.max_stack)))?;
    let change = ItemChanged { user_id: state.user_id, item_id: item_id.to_owned(), quantity: quantity.get(), total };
    let reply = Reply::InventoryChange(InventoryChangeReply {
        user_id: state.user_id,
        item_id: item_id.to_owned(),
        delta: quantity.get(),
        quantity: total,
    });
    Ok(Outcome::new(reply)
        .effect(Effect::SetInventory { user_id: state.user_id, item_id: item_id.to_owned(), quantity: total })
        .event(player_event(state, EventData::ItemAdded(change)))
        .event(player_event(state, inventory_updated(state, item_id, total))))
}

/// Removes held items (the owner, or an admin for them).
pub fn remove_item(
    state: &PlayerState,
    catalog: &Catalog,
    item_id: &str,
    quantity: Amount,
) -> Result<Outcome<Reply>, ApiError> {
    if !catalog.items.contains_key(item_id) {
        return Err(ApiError::not_found("item"));
    }
    let held = state.quantity(item_id);
    if held == 0 {
        return Err(ApiError::new(ErrorCode::ITEM_NOT_IN_INVENTORY));
    }
    if held < quantity.get() {
        return Err(ApiError::new(ErrorCode::INSUFFICIENT_QUANTITY).details(ErrorDetails::Quantity(QuantityDetails {
            item_id: item_id.to_owned(),
            held,
            requested: quantity.get(),
        })));
    }
    let total = held - quantity.get();
    let change = ItemChanged { user_id: state.user_id, item_id: item_id.to_owned(), quantity: quantity.get(), total };
    let reply = Reply::InventoryChange(InventoryChangeReply {
        user_id: state.user_id,
        item_id: item_id.to_owned(),
        delta: -quantity.get(),
        quantity: total,
    });
    Ok(Outcome::new(reply)
        .effect(Effect::SetInventory { user_id: state.user_id, item_id: item_id.to_owned(), quantity: total })
        .event(player_event(state, EventData::ItemRemoved(change)))
        .event(player_event(state, inventory_updated(state, item_id, total))))
}

/// A ledger movement: the balance row, the transaction row and the two currency events.
fn move_currency(
    state: &PlayerState,
    currency_id: &str,
    kind: TransactionKind,
    signed_amount: i64,
    balance_after: i64,
    world: &mut World<'_>,
) -> (Transaction, Vec<Effect>, Vec<EventDraft>) {
    debug_assert!((0..=BALANCE_MAX).contains(&balance_after), "a committed balance is never negative");
    let transaction = Transaction {
        id: world.ids.next_id(),
        user_id: state.user_id,
        currency_id: currency_id.to_owned(),
        kind,
        amount: signed_amount,
        balance_after,
        reference: None,
        created_at: world.now,
    };
    let moved = CurrencyMoved {
        user_id: state.user_id,
        currency_id: currency_id.to_owned(),
        amount: signed_amount.abs(),
        balance_after,
        transaction_id: transaction.id,
    };
    let moved =
        if signed_amount > 0 { EventData::CurrencyDeposited(moved) } else { EventData::CurrencyWithdrawn(moved) };
    let completed = EventData::TransactionCompleted(TransactionCompleted { transaction: transaction.clone() });
    let effects = vec![
        Effect::SetBalance { user_id: state.user_id, currency_id: currency_id.to_owned(), balance: balance_after },
        Effect::InsertTransaction(transaction.clone()),
    ];
    (transaction, effects, vec![player_event(state, moved), player_event(state, completed)])
}

fn known_currency(catalog: &Catalog, currency_id: &str) -> Result<(), ApiError> {
    if catalog.currencies.contains_key(currency_id) { Ok(()) } else { Err(ApiError::not_found("currency")) }
}

fn with_ledger(reply: Reply, parts: (Transaction, Vec<Effect>, Vec<EventDraft>)) -> Outcome<Reply> {
    let (_, effects, events) = parts;
    Outcome { effects, events, reply }
}

/// Credits a balance (admin/service).
pub fn deposit(
    state: &PlayerState,
    catalog: &Catalog,
    currency_id: &str,
    amount: Amount,
    world: &mut World<'_>,
) -> Result<Outcome<Reply>, ApiError> {
    known_currency(catalog, currency_id)?;
    let balance_after = state
        .balance(currency_id)
        .checked_add(amount.get())
        .filter(|b| *b <= BALANCE_MAX)
        .ok_or_else(|| out_of_range("the balance would pass 2^53-1"))?;
    let parts = move_currency(state, currency_id, TransactionKind::Deposit, amount.get(), balance_after, world);
    let reply = Reply::Transaction(TransactionReply { transaction: parts.0.clone(), balance: balance_after });
    Ok(with_ledger(reply, parts))
}

fn insufficient_funds(currency_id: &str, balance: i64, required: i64) -> ApiError {
    ApiError::new(ErrorCode::INSUFFICIENT_FUNDS).details(ErrorDetails::Funds(FundsDetails {
        currency_id: currency_id.to_owned(),
        balance,
        required,
    }))
}

/// Debits a balance (the owner); never below zero.
pub fn withdraw(
    state: &PlayerState,
    catalog: &Catalog,
    currency_id: &str,
    amount: Amount,
    world: &mut World<'_>,
) -> Result<Outcome<Reply>, ApiError> {
    known_currency(catalog, currency_id)?;
    let balance = state.balance(currency_id);
    if balance < amount.get() {
        return Err(insufficient_funds(currency_id, balance, amount.get()));
    }
    let balance_after = balance - amount.get();
    let parts = move_currency(state, currency_id, TransactionKind::Withdrawal, -amount.get(), balance_after, world);
    let reply = Reply::Transaction(TransactionReply { transaction: parts.0.clone(), balance: balance_after });
    Ok(with_ledger(reply, parts))
}

/// The catalog entry with the player's progress.
pub fn achievement_view(state: &PlayerState, def: &crate::catalog::AchievementDef) -> Achievement {
    let unlocked_at = state.achievements.get(&def.id).copied();
    Achievement {
        id: def.id.clone(),
        name: def.name.clone(),
        description: def.description.clone(),
        condition: def.condition,
        progress: Progress {
            current: state.condition_value(def.condition.kind).min(def.condition.threshold.max(1)),
            target: def.condition.threshold,
        },
        unlocked: unlocked_at.is_some(),
        unlocked_at,
    }
}

/// Unlocks an achievement whose condition holds.
pub fn unlock_achievement(
    state: &PlayerState,
    catalog: &Catalog,
    achievement_id: &str,
    world: &mut World<'_>,
) -> Result<Outcome<Reply>, ApiError> {
    let def = catalog.achievements.get(achievement_id).ok_or_else(|| ApiError::not_found("achievement"))?;
    if state.achievements.contains_key(achievement_id) {
        return Err(ApiError::new(ErrorCode::ALREADY_UNLOCKED));
    }
    let current = state.condition_value(def.condition.kind);
    if current < def.condition.threshold {
        return Err(ApiError::with_message(
            ErrorCode::CONDITIONS_NOT_MET,
            format!("{} is {current}, needs {}", def.condition.kind.as_str(), def.condition.threshold),
        )
        .details(ErrorDetails::Progress(ProgressDetails { current, required: def.condition.threshold })));
    }
    let data = AchievementUnlocked { user_id: state.user_id, achievement_id: def.id.clone(), unlocked_at: world.now };
    let mut after = state.clone();
    after.achievements.insert(def.id.clone(), world.now);
    Ok(Outcome::new(Reply::Achievement(AchievementReply { achievement: achievement_view(&after, def) }))
        .effect(Effect::InsertPlayerAchievement {
            user_id: state.user_id,
            achievement_id: def.id.clone(),
            at: world.now,
        })
        .event(player_event(state, EventData::AchievementUnlocked(data))))
}

/// The catalog entry with the player's ownership.
pub fn cosmetic_view(state: &PlayerState, def: &crate::catalog::CosmeticDef) -> Cosmetic {
    let unlocked_at = state.cosmetics.get(&def.id).copied();
    Cosmetic {
        id: def.id.clone(),
        name: def.name.clone(),
        price: def.price.clone(),
        required_achievement: def.required_achievement.clone(),
        owned: unlocked_at.is_some(),
        unlocked_at,
    }
}

/// Unlocks a cosmetic: the achievement check and the payment commit together or not at all.
pub fn unlock_cosmetic(
    state: &PlayerState,
    catalog: &Catalog,
    cosmetic_id: &str,
    world: &mut World<'_>,
) -> Result<Outcome<Reply>, ApiError> {
    let def = catalog.cosmetics.get(cosmetic_id).ok_or_else(|| ApiError::not_found("cosmetic"))?;
    if state.cosmetics.contains_key(cosmetic_id) {
        return Err(ApiError::new(ErrorCode::ALREADY_UNLOCKED));
    }
    if let Some(required) = &def.required_achievement
        && !state.achievements.contains_key(required)
    {
        {
            return Err(ApiError::with_message(
                ErrorCode::ACHIEVEMENT_REQUIRED,
                format!("needs achievement {required}"),
            )
            .details(ErrorDetails::Achievement(AchievementDetails { achievement_id: required.clone() })));
        }
    }
    let mut outcome = Outcome::new(());
    let mut transaction = None;
    if let Some(price) = &def.price {
        let balance = state.balance(&price.currency_id);
        if balance < price.amount {
            return Err(insufficient_funds(&price.currency_id, balance, price.amount));
        }
        let (txn, effects, events) = move_currency(
            state,
            &price.currency_id,
            TransactionKind::Purchase,
            -price.amount,
            balance - price.amount,
            world,
        );
        outcome.effects.extend(effects);
        outcome.events.extend(events);
        transaction = Some(txn);
    }
    let data = CosmeticUnlocked {
        user_id: state.user_id,
        cosmetic_id: def.id.clone(),
        price: def.price.clone(),
        unlocked_at: world.now,
    };
    let mut after = state.clone();
    after.cosmetics.insert(def.id.clone(), world.now);
    let reply = Reply::Cosmetic(CosmeticReply { cosmetic: cosmetic_view(&after, def), transaction });
    outcome.effects.push(Effect::InsertPlayerCosmetic {
        user_id: state.user_id,
        cosmetic_id: def.id.clone(),
        at: world.now,
    });
    outcome.events.push(player_event(state, EventData::CosmeticUnlocked(data)));
    Ok(Outcome { effects: outcome.effects, events: outcome.events, reply })
}

#[cfg(test)]
mod tests;
