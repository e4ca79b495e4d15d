//! Waitlist and admission over HTTP: positions, waves, founders and edge cases.

use crate::helpers::*;
use serde_json::json;

#[actix_web::test]
async fn join_positions_and_admission_waves() {
    let app = spawn_app_with(|c| c.founder_cap = 2).await;
    let mut players = Vec::new();
    for i in 0..4 {
        let player = app.register(&format!("W{i}")).await;
        let (status, body) = app.post("/waitlist", Some(&player.token), json!({})).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["data"]["entry"]["position"], i + 1);
        assert_eq!(body["data"]["entry"]["status"], "waiting");
        players.push(player);
    }
    let (status, body) = app.post("/waitlist", Some(&players[0].token), json!({})).await;
    assert_eq!((status, code(&body)), (409, "ALREADY_ON_WAITLIST"));
    let (status, body) = app.post("/games", Some(&players[0].token), json!({"name": "early", "max_players": 4})).await;
    assert_eq!((status, code(&body)), (403, "NOT_ADMITTED"));
    let (status, body) = app.admin_post("/waitlist/status", json!({"admit": 3})).await;
    assert_eq!(status, 200, "{body}");
    let founders: Vec<_> =
        body["data"]["admitted"].as_array().expect("admitted").iter().map(|e| e["founder_number"].clone()).collect();
    assert_eq!(founders, vec![json!(1), json!(2), json!(null)]);
    let (_, body) = app.get("/waitlist/status", Some(&players[3].token)).await;
    assert_eq!(body["data"]["position"], 1);
    assert_eq!(body["data"]["admitted_count"], 3);
    let (_, body) = app.get(&format!("/users/{}", players[0].id), Some(&players[0].token)).await;
    assert_eq!(body["data"]["user"]["season0"]["founder_number"], 1);
    let (status, body) =
        app.post("/achievements/unlock", Some(&players[0].token), json!({"achievement_id": "founder"})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.post("/waitlist/status", Some(&players[0].token), json!({"admit": 1})).await;
    assert_eq!((status, code(&body)), (403, "FORBIDDEN"));
    let (status, body) = app.get("/waitlist?status=waiting", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["entries"].as_array().map(Vec::len), Some(1));
}

#[actix_web::test]
async fn removal_is_refused_in_an_active_game() {
    let app = spawn_app().await;
    let player = app.admitted("Host").await;
    let (_, body) = app.get("/waitlist/status", Some(&player.token)).await;
    let entry = body["data"]["entry"]["id"].as_str().expect("entry").to_owned();
    let (status, _) = app.post("/games", Some(&player.token), json!({"name": "g", "max_players": 2})).await;
    assert_eq!(status, 201);
    let (status, body) =
        app.call(reqwest::Method::DELETE, &format!("/waitlist/{entry}"), Some(&player.token), None).await;
    assert_eq!((status, code(&body)), (409, "IN_ACTIVE_GAME"));
    let other = app.register("Other").await;
    let (status, body) = app.get(&format!("/waitlist/{entry}"), Some(&other.token)).await;
    assert_eq!((status, code(&body)), (403, "FORBIDDEN"));
}
