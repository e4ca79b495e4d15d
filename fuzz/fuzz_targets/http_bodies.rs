//! Fuzz target: every HTTP request body type parses from arbitrary bytes without panicking, and
//! what parses goes through the edge validators (parse, don't validate) without panicking.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pzo_protocol::AmountInput;
use pzo_protocol::model::Preferences;
use pzo_protocol::request::*;
use pzo_protocol::validate::{Amount, DisplayName, Email, IdempotencyKey, Password, apply_preferences};

fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    serde_json::from_slice(bytes).ok()
}

fn amount(input: AmountInput) {
    if let Ok(amount) = Amount::parse(input) {
        assert!((1..=pzo_protocol::AMOUNT_MAX).contains(&amount.get()));
    }
}

fn key(raw: Option<&String>) {
    let _ = IdempotencyKey::parse(raw.map(String::as_str));
}

fuzz_target!(|bytes: &[u8]| {
    if let Some(a) = parse::<RegisterArgs>(bytes) {
        let _ = (Email::parse(&a.email).map(|e| e.normalized()), Password::parse(&a.password));
        let _ = DisplayName::parse(&a.display_name);
    }
    if let Some(a) = parse::<LoginArgs>(bytes) {
        let _ = Email::parse(&a.email);
    }
    let _ = parse::<CreateGameArgs>(bytes);
    if let Some(a) = parse::<DepositArgs>(bytes) {
        amount(a.amount);
        key(a.idempotency_key.as_ref());
    }
    if let Some(a) = parse::<WithdrawArgs>(bytes) {
        amount(a.amount);
        key(a.idempotency_key.as_ref());
    }
    if let Some(a) = parse::<AddItemArgs>(bytes) {
        amount(a.quantity);
        key(a.idempotency_key.as_ref());
    }
    if let Some(a) = parse::<RemoveItemArgs>(bytes) {
        amount(a.quantity);
        key(a.idempotency_key.as_ref());
    }
    let _ = parse::<FinishGameArgs>(bytes);
    if let Some(a) = parse::<UnlockCosmeticArgs>(bytes) {
        key(a.idempotency_key.as_ref());
    }
    if let Some(a) = parse::<WaitlistJoinArgs>(bytes) {
        key(a.idempotency_key.as_ref());
    }
    let _ = parse::<SendArgs>(bytes).map(|a| a.payload.len());
    if let Some(a) = parse::<UpdatePreferencesArgs>(bytes) {
        let _ = apply_preferences(&Preferences::default(), &a.preferences);
    }
    let _ = parse::<AdmitArgs>(bytes);
    let _ = parse::<SetEntryStatusArgs>(bytes);
    let _ = parse::<GameIdArgs>(bytes);
    let _ = parse::<LeaderboardIdArgs>(bytes);
    let _ = parse::<UnlockAchievementArgs>(bytes);
    if let Some(a) = parse::<AmountInput>(bytes) {
        amount(a);
    }
});
