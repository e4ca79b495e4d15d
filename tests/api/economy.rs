//! Inventory, currency, achievements and cosmetics over HTTP, with the ledger's edge cases.

use crate::helpers::*;
use serde_json::json;

#[actix_web::test]
async fn concurrent_withdrawals_never_overdraw() {
    let app = spawn_app().await;
    let player = app.register("Saver").await;
    let (status, body) = app.deposit(&player, "gold", 500).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["transaction"]["balance_after"], 500);
    let withdrawals = (0..100)
        .map(|_| app.post("/currency/withdraw", Some(&player.token), json!({"currency_id": "gold", "amount": 10})));
    let results = futures_util::future::join_all(withdrawals).await;
    let ok = results.iter().filter(|(s, _)| *s == 200).count();
    let refused = results.iter().filter(|(s, b)| *s == 409 && code(b) == "INSUFFICIENT_FUNDS").count();
    assert_eq!((ok, refused), (50, 50));
    let (_, body) = app.get("/currency/gold?limit=200", Some(&player.token)).await;
    assert_eq!(body["data"]["balance"], 0);
    let sum: i64 = body["data"]["transactions"]
        .as_array()
        .expect("ledger")
        .iter()
        .map(|t| t["amount"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(sum, 0, "the ledger sums to the balance");
}

#[actix_web::test]
async fn idempotent_deposit_applies_once() {
    let app = spawn_app().await;
    let player = app.register("Retry").await;
    let body = json!({"user_id": player.id, "currency_id": "gems", "amount": 7, "idempotency_key": "k-1"});
    let (s1, first) = app.admin_post("/currency/deposit", body.clone()).await;
    let (s2, second) = app.admin_post("/currency/deposit", body).await;
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(first["data"], second["data"], "a retry returns the first answer");
    let reused = json!({"user_id": player.id, "currency_id": "gems", "amount": 8, "idempotency_key": "k-1"});
    let (status, answer) = app.admin_post("/currency/deposit", reused).await;
    assert_eq!((status, code(&answer)), (422, "IDEMPOTENCY_KEY_REUSED"));
    let (_, balances) = app.get("/currency", Some(&player.token)).await;
    let gems =
        balances["data"]["balances"].as_array().expect("balances").iter().find(|b| b["currency_id"] == "gems").cloned();
    assert_eq!(gems.map(|g| g["balance"].clone()), Some(json!(7)));
}

#[actix_web::test]
async fn amounts_and_balances_stay_in_range() {
    let app = spawn_app().await;
    let player = app.register("Range").await;
    for amount in [json!(0), json!(-5), json!(1_000_000_000_001_i64), json!(1e30)] {
        let (status, body) = app
            .admin_post("/currency/deposit", json!({"user_id": player.id, "currency_id": "gold", "amount": amount}))
            .await;
        assert_eq!((status, code(&body)), (422, "AMOUNT_OUT_OF_RANGE"), "{amount}");
    }
    for _ in 0..9007 {
        let (status, _) = app.deposit(&player, "gold", 1_000_000_000_000).await;
        if status != 200 {
            break;
        }
    }
    let (status, body) = app.deposit(&player, "gold", 1_000_000_000_000).await;
    assert_eq!((status, code(&body)), (422, "AMOUNT_OUT_OF_RANGE"), "a balance past 2^53-1 is refused");
    let (status, body) =
        app.post("/currency/withdraw", Some(&player.token), json!({"currency_id": "nope", "amount": 1})).await;
    assert_eq!((status, code(&body)), (404, "NOT_FOUND"));
}

#[actix_web::test]
async fn inventory_add_remove_and_edge_cases() {
    let app = spawn_app().await;
    let player = app.register("Holder").await;
    let (status, body) =
        app.admin_post("/inventory/add", json!({"user_id": player.id, "item_id": "potion", "quantity": 3})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        app.post("/inventory/remove", Some(&player.token), json!({"item_id": "potion", "quantity": 5})).await;
    assert_eq!((status, code(&body)), (409, "INSUFFICIENT_QUANTITY"));
    let (status, body) =
        app.post("/inventory/remove", Some(&player.token), json!({"item_id": "sword_basic", "quantity": 1})).await;
    assert_eq!((status, code(&body)), (409, "ITEM_NOT_IN_INVENTORY"));
    let (status, _) =
        app.post("/inventory/remove", Some(&player.token), json!({"item_id": "potion", "quantity": 2})).await;
    assert_eq!(status, 200);
    let (_, body) = app.get("/inventory/potion", Some(&player.token)).await;
    assert_eq!(body["data"]["quantity"], 1);
    let (status, body) = app
        .post("/inventory/add", Some(&player.token), json!({"user_id": player.id, "item_id": "potion", "quantity": 1}))
        .await;
    assert_eq!((status, code(&body)), (403, "FORBIDDEN"));
}

#[actix_web::test]
async fn cosmetics_and_achievements() {
    let app = spawn_app().await;
    let player = app.register("Shopper").await;
    let (status, body) =
        app.post("/cosmetics/unlock", Some(&player.token), json!({"cosmetic_id": "golden_helm"})).await;
    assert_eq!((status, code(&body)), (409, "INSUFFICIENT_FUNDS"));
    let (_, body) = app.get("/cosmetics/golden_helm", Some(&player.token)).await;
    assert_eq!(body["data"]["cosmetic"]["owned"], false, "nothing unlocked");
    let (status, body) = app.post("/cosmetics/unlock", Some(&player.token), json!({"cosmetic_id": "neon_trail"})).await;
    assert_eq!((status, code(&body)), (409, "ACHIEVEMENT_REQUIRED"));
    let (status, body) =
        app.post("/achievements/unlock", Some(&player.token), json!({"achievement_id": "first_game"})).await;
    assert_eq!((status, code(&body)), (409, "CONDITIONS_NOT_MET"));
    assert_eq!(body["error"]["details"]["required"], 1);
    app.deposit(&player, "gold", 600).await;
    let (status, body) =
        app.post("/cosmetics/unlock", Some(&player.token), json!({"cosmetic_id": "golden_helm"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["transaction"]["balance_after"], 100);
    let (status, body) =
        app.post("/cosmetics/unlock", Some(&player.token), json!({"cosmetic_id": "golden_helm"})).await;
    assert_eq!((status, code(&body)), (409, "ALREADY_UNLOCKED"));
    let (_, body) = app.get("/achievements", Some(&player.token)).await;
    assert_eq!(body["data"]["achievements"].as_array().map(Vec::len), Some(4));
}
