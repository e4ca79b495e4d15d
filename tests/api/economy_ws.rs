//! The economy over the socket: every economy edge case answers its code in a reply frame, and
//! each change pushes its events to the player's socket.

use crate::helpers::*;
use crate::sockets::*;
use serde_json::{Value, json};
use std::time::Duration;

/// Sends a request and returns the reply plus the event types seen until then and shortly after.
async fn call(ws: &mut Ws, id: u32, op: &str, args: Value) -> (Value, Vec<String>) {
    let (reply, mut seen) = request(ws, id, op, args).await;
    while let Some(frame) = next_frame(ws, Duration::from_millis(200)).await {
        seen.push(frame);
    }
    let kinds = seen.iter().filter_map(|f| f["event"]["type"].as_str().map(str::to_owned)).collect();
    (reply, kinds)
}

fn error_code(reply: &Value) -> &str {
    reply["error"]["code"].as_str().unwrap_or("<ok>")
}

#[actix_web::test]
async fn economy_edge_cases_and_events_over_the_socket() {
    let app = spawn_app().await;
    let player = app.register("Socketeer").await;
    let mut ws = player_socket(&app, &player.token).await;
    app.deposit(&player, "gold", 600).await;
    app.admin_post("/inventory/add", json!({"user_id": player.id, "item_id": "potion", "quantity": 2})).await;
    // Drain the pushes of the admin grants.
    while next_frame(&mut ws, Duration::from_millis(300)).await.is_some() {}

    let (reply, events) =
        call(&mut ws, 2, "currency.withdraw", json!({"currency_id": "gold", "amount": 100, "idempotency_key": "w-1"}))
            .await;
    assert_eq!(reply["data"]["balance"], 500, "{reply}");
    assert!(
        events.contains(&"CURRENCY_WITHDRAWN".to_owned()) && events.contains(&"TRANSACTION_COMPLETED".to_owned()),
        "{events:?}"
    );
    let (retry, events) =
        call(&mut ws, 3, "currency.withdraw", json!({"currency_id": "gold", "amount": 100, "idempotency_key": "w-1"}))
            .await;
    assert_eq!(retry["data"], reply["data"], "a retry returns the first answer");
    assert!(events.is_empty(), "and emits nothing: {events:?}");
    let cases = [
        (
            "currency.withdraw",
            json!({"currency_id": "gold", "amount": 200, "idempotency_key": "w-1"}),
            "IDEMPOTENCY_KEY_REUSED",
        ),
        ("currency.withdraw", json!({"currency_id": "gold", "amount": 501}), "INSUFFICIENT_FUNDS"),
        ("currency.withdraw", json!({"currency_id": "gold", "amount": 0}), "AMOUNT_OUT_OF_RANGE"),
        ("currency.withdraw", json!({"currency_id": "gold", "amount": "ten"}), "BAD_REQUEST"),
        ("inventory.remove", json!({"item_id": "potion", "quantity": 3}), "INSUFFICIENT_QUANTITY"),
        ("inventory.remove", json!({"item_id": "sword_basic", "quantity": 1}), "ITEM_NOT_IN_INVENTORY"),
        ("achievements.unlock", json!({"achievement_id": "veteran"}), "CONDITIONS_NOT_MET"),
        ("cosmetics.unlock", json!({"cosmetic_id": "neon_trail"}), "ACHIEVEMENT_REQUIRED"),
        ("cosmetics.unlock", json!({"cosmetic_id": "nope"}), "NOT_FOUND"),
        ("inventory.add", json!({"user_id": player.id, "item_id": "potion", "quantity": 1}), "FORBIDDEN"),
    ];
    for (n, (op, args, code)) in cases.into_iter().enumerate() {
        let (reply, events) = call(&mut ws, 10 + n as u32, op, args).await;
        assert_eq!(error_code(&reply), code, "{op}: {reply}");
        assert!(events.is_empty(), "a refused {op} changes nothing and pushes nothing: {events:?}");
    }
    let (reply, events) = call(&mut ws, 30, "inventory.remove", json!({"item_id": "potion", "quantity": 1})).await;
    assert_eq!(reply["data"]["quantity"], 1, "{reply}");
    assert!(
        events.contains(&"ITEM_REMOVED".to_owned()) && events.contains(&"INVENTORY_UPDATED".to_owned()),
        "{events:?}"
    );
    let (reply, events) = call(&mut ws, 31, "cosmetics.unlock", json!({"cosmetic_id": "golden_helm"})).await;
    assert_eq!(reply["data"]["transaction"]["balance_after"], 0, "{reply}");
    for kind in ["COSMETIC_UNLOCKED", "CURRENCY_WITHDRAWN", "TRANSACTION_COMPLETED"] {
        assert!(events.contains(&kind.to_owned()), "{kind} in {events:?}");
    }
    let (reply, _) = call(&mut ws, 32, "cosmetics.unlock", json!({"cosmetic_id": "golden_helm"})).await;
    assert_eq!(error_code(&reply), "ALREADY_UNLOCKED");
    let (reply, _) = call(&mut ws, 33, "currency.get", json!({"currency_id": "gold"})).await;
    assert_eq!(reply["data"]["balance"], 0);
    let amounts: i64 =
        reply["data"]["transactions"].as_array().expect("ledger").iter().filter_map(|t| t["amount"].as_i64()).sum();
    assert_eq!(amounts, 0, "the ledger explains the balance");
}

#[actix_web::test]
async fn a_cosmetic_purchase_without_funds_over_the_socket_changes_nothing() {
    let app = spawn_app().await;
    let player = app.register("Broke").await;
    app.deposit(&player, "gold", 499).await;
    let mut ws = player_socket(&app, &player.token).await;
    while next_frame(&mut ws, Duration::from_millis(300)).await.is_some() {}
    let (reply, events) =
        call(&mut ws, 2, "cosmetics.unlock", json!({"cosmetic_id": "golden_helm", "idempotency_key": "c-1"})).await;
    assert_eq!(error_code(&reply), "INSUFFICIENT_FUNDS", "{reply}");
    assert_eq!(reply["error"]["details"]["balance"], 499);
    assert!(events.is_empty());
    let (reply, _) = call(&mut ws, 3, "cosmetics.get", json!({"id": "golden_helm"})).await;
    assert_eq!(reply["data"]["cosmetic"]["owned"], false);
    let (reply, _) = call(&mut ws, 4, "currency.list", json!({})).await;
    let gold =
        reply["data"]["balances"].as_array().expect("balances").iter().find(|b| b["currency_id"] == "gold").cloned();
    assert_eq!(gold.map(|g| g["balance"].clone()), Some(json!(499)), "nothing withdrawn");
}
