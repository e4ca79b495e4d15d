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

#[actix_web::test]
async fn referrals_move_the_referrer_up_and_history_is_kept() {
    let app = spawn_app_with(|c| c.referral_boost = 2).await;
    let mut players = Vec::new();
    for i in 0..4 {
        let player = app.register(&format!("R{i}")).await;
        app.post("/waitlist", Some(&player.token), json!({})).await;
        players.push(player);
    }
    let (_, body) = app.get("/waitlist/status", Some(&players[3].token)).await;
    assert_eq!(body["data"]["position"], 4);
    let referral = body["data"]["entry"]["referral_code"].as_str().expect("code").to_owned();
    let newcomer = app.register("Newcomer").await;
    let (status, body) = app.post("/waitlist", Some(&newcomer.token), json!({"referral_code": referral})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["data"]["entry"]["position"], 5);
    let (_, body) = app.get("/waitlist/status", Some(&players[3].token)).await;
    assert_eq!(body["data"]["position"], 2, "the referrer moved up two places");
    let (status, body) =
        app.post("/waitlist", Some(&app.register("Bad").await.token), json!({"referral_code": "nope"})).await;
    assert_eq!((status, code(&body)), (422, "VALIDATION_FAILED"));
    let entry = body_entry(&app, &players[0]).await;
    app.admin_post("/waitlist/status", json!({"admit": 1})).await;
    let (client, connection) =
        tokio_postgres::connect(&app.database_url, tokio_postgres::NoTls).await.expect("a database connection");
    tokio::spawn(connection);
    let rows = client
        .query("SELECT from_status, to_status, reason FROM waitlist_status WHERE entry_id = $1 ORDER BY id", &[&entry])
        .await
        .expect("history");
    let history: Vec<(Option<String>, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(history, vec![(None, "waiting".to_owned()), (Some("waiting".to_owned()), "admitted".to_owned())]);
}

async fn body_entry(app: &TestApp, player: &Player) -> uuid::Uuid {
    let (_, body) = app.get("/waitlist/status", Some(&player.token)).await;
    body["data"]["entry"]["id"].as_str().and_then(|s| s.parse().ok()).expect("entry id")
}

#[actix_web::test]
async fn a_restarted_server_rebuilds_the_same_queue_and_ranks() {
    let app = spawn_app().await;
    let mut players = Vec::new();
    for i in 0..3 {
        let player = app.admitted(&format!("P{i}")).await;
        players.push(player);
    }
    let waiting = app.register("Waiting").await;
    app.post("/waitlist", Some(&waiting.token), json!({})).await;
    let (_, body) =
        app.post("/games", Some(&players[0].token), json!({"name": "before restart", "max_players": 4})).await;
    let game_id = body["data"]["game"]["id"].as_str().expect("game").to_owned();
    for p in &players[1..] {
        app.post("/games/join", Some(&p.token), json!({"game_id": game_id})).await;
    }
    let results: Vec<_> = players.iter().zip([10, 30, 20]).map(|(p, s)| json!({"user_id": p.id, "score": s})).collect();
    app.admin_post("/games/finish", json!({"game_id": game_id, "results": results})).await;
    let (_, before) = app.get("/leaderboard/season0", Some(&players[0].token)).await;
    let (_, queue_before) = app.get("/waitlist/status", Some(&waiting.token)).await;

    // Let the first server's coalesced leaderboard update land before the second one starts.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let restarted = spawn_app_on(app.database_url.clone(), |_| {}).await;
    let (_, after) = restarted.get("/leaderboard/season0", Some(&players[0].token)).await;
    assert_eq!(before["data"]["entries"], after["data"]["entries"]);
    let (_, queue_after) = restarted.get("/waitlist/status", Some(&waiting.token)).await;
    assert_eq!(queue_before["data"]["position"], queue_after["data"]["position"]);
    assert_eq!(queue_after["data"]["admitted_count"], 3);
    let (_, stats) = restarted.get("/achievements/first_game", Some(&players[1].token)).await;
    assert_eq!(stats["data"]["achievement"]["progress"]["current"], 1, "{stats}");
}

/// Joins that queue while the waitlist's commit is in flight are decided in order and committed
/// as one command: each gets its own place, a repeated join is refused, and their
/// `WAITLIST_ADDED` events share one commit.
#[actix_web::test]
async fn queued_joins_commit_as_one_group() {
    let app = std::sync::Arc::new(spawn_app().await);
    let mut players = Vec::new();
    for n in 0..4 {
        players.push(app.register(&format!("Rush{n}")).await);
    }
    let lock = EventWriteLock::hold(&app).await;
    let join = |player: &Player| {
        let (app, token) = (app.clone(), player.token.clone());
        tokio::spawn(async move { app.post("/waitlist", Some(&token), json!({})).await })
    };
    let first = join(&players[0]);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // Three others, and the first player again: decided after the first one lands.
    let queued: Vec<_> = [&players[1], &players[2], &players[3], &players[0]].into_iter().map(join).collect();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    lock.release().await;

    let (status, body) = first.await.expect("the first join");
    assert_eq!((status, body["data"]["entry"]["position"].as_u64()), (201, Some(1)), "{body}");
    let mut positions = Vec::new();
    let mut refused = Vec::new();
    for task in queued {
        let (status, body) = task.await.expect("a queued join");
        match status {
            201 => positions.push(body["data"]["entry"]["position"].as_u64().expect("a position")),
            _ => refused.push(code(&body).to_owned()),
        }
    }
    // The requests race to the actor, so their order among themselves is the arrival order.
    positions.sort_unstable();
    assert_eq!(positions, [2, 3, 4], "each queued join gets its own place");
    assert_eq!(refused, ["ALREADY_ON_WAITLIST"], "the repeated join is refused");
    let row = lock
        .client
        .query_one("SELECT count(*), count(DISTINCT created_at) FROM events WHERE type = 'WAITLIST_ADDED'", &[])
        .await
        .expect("join events");
    let (joins, commands): (i64, i64) = (row.get(0), row.get(1));
    assert_eq!((joins, commands), (4, 2), "the first join alone, then the three queued ones in one command");
}
