//! The admin console socket: every admin op, live stats, the event tail, and refusals.

use crate::helpers::*;
use crate::sockets::*;
use serde_json::json;
use std::time::Duration;

async fn admin_socket(app: &TestApp) -> Ws {
    let mut ws = connect_to(app, "/admin/ws", "pzo.v1.json").await;
    let (reply, _) = request(&mut ws, 1, "auth", json!({"token": ADMIN_TOKEN})).await;
    assert_eq!(reply["data"]["role"], "admin", "{reply}");
    ws
}

#[actix_web::test]
async fn admin_socket_refuses_player_and_bad_tokens() {
    let app = spawn_app().await;
    let player = app.register("Mallory").await;
    for token in [player.token.as_str(), "wrong-token"] {
        let mut ws = connect_to(&app, "/admin/ws", "pzo.v1.json").await;
        let (reply, _) = request(&mut ws, 1, "auth", json!({"token": token})).await;
        assert_eq!(reply["ok"], false, "{reply}");
        assert!(closed_within(&mut ws, Duration::from_secs(5)).await, "a refused admin socket is closed");
    }
    let mut ws = player_socket(&app, &player.token).await;
    let (reply, _) = request(&mut ws, 2, "waitlist.admit", json!({"count": 1})).await;
    assert_eq!(reply["error"]["code"], "FORBIDDEN", "players cannot run admin ops");
    // The operator's token is not taken from the URL (it would land in access logs).
    let mut ws = connect_to(&app, &format!("/admin/ws?token={ADMIN_TOKEN}"), "pzo.v1.json").await;
    let (reply, _) = request(&mut ws, 3, "ping", json!({})).await;
    assert_eq!(reply["error"]["code"], "UNAUTHENTICATED", "{reply}");
}

#[actix_web::test]
async fn admin_ops_over_the_socket() {
    let app = spawn_app().await;
    let mut admin = admin_socket(&app).await;
    let (reply, _) = request(&mut admin, 2, "stats.subscribe", json!({})).await;
    assert!(reply["data"]["sockets"].is_number(), "{reply}");
    let (reply, _) = request(&mut admin, 3, "events.tail", json!({"types": ["SEASON0_JOINED"]})).await;
    assert_eq!(reply["ok"], true);
    let (reply, _) = request(&mut admin, 4, "waitlist.admit", json!({"count": 0})).await;
    assert_eq!(reply["error"]["code"], "VALIDATION_FAILED", "bad input is refused");
    let (reply, _) = request(&mut admin, 5, "players.kick", json!({"user_id": "not-a-uuid"})).await;
    assert_eq!(reply["error"]["code"], "BAD_REQUEST");

    let player = app.register("Wave").await;
    app.post("/waitlist", Some(&player.token), json!({})).await;
    let (reply, seen) = request(&mut admin, 6, "waitlist.admit", json!({"count": 5})).await;
    assert_eq!(reply["data"]["count"], 1, "{reply}");
    // Events are pushed right after the commit, so this one may arrive before the reply.
    let joined = match event_in(&seen, "SEASON0_JOINED") {
        Some(event) => event,
        None => {
            event_of(&mut admin, "SEASON0_JOINED", Duration::from_secs(5)).await.expect("the tail shows the admission")
        }
    };
    assert_eq!(joined["data"]["user_id"], player.id.as_str());
    assert_eq!(joined["data"]["founder_number"], 1);

    let (reply, _) = request(&mut admin, 7, "players.inspect", json!({"user_id": player.id})).await;
    assert_eq!(reply["data"]["user"]["id"], player.id.as_str(), "{reply}");

    let (_, body) = app.post("/games", Some(&player.token), json!({"name": "to close", "max_players": 4})).await;
    let game_id = body["data"]["game"]["id"].as_str().expect("game").to_owned();
    let (reply, _) = request(&mut admin, 8, "games.close", json!({"game_id": game_id})).await;
    assert_eq!(reply["data"]["game"]["status"], "closed", "{reply}");
    let (status, _) = app.post("/games", Some(&player.token), json!({"name": "after close", "max_players": 4})).await;
    assert_eq!(status, 201, "a closed game frees its members");

    let (reply, _) = request(&mut admin, 9, "leaderboard.reset", json!({"leaderboard_id": "season0"})).await;
    assert_eq!(reply["data"]["archived_season"], 1, "{reply}");

    let mut victim = player_socket(&app, &player.token).await;
    let (reply, _) = request(&mut admin, 10, "players.kick", json!({"user_id": player.id, "reason": "test"})).await;
    assert_eq!(reply["data"]["sockets_closed"], 1, "{reply}");
    assert!(closed_within(&mut victim, Duration::from_secs(5)).await, "a kicked socket is closed");

    // A stats push arrives within a couple of seconds of subscribing.
    let mut pushed = false;
    while let Some(frame) = next_frame(&mut admin, Duration::from_secs(3)).await {
        if frame["re"] == 2 {
            pushed = true;
            break;
        }
    }
    assert!(pushed, "stats are pushed every second");
}

/// Capacity-aware admission: with every SLO far from its objective on a quiet server, waves go in
/// every interval until nobody waits; each wave and each change of decision is an `ADMIN_ACTION`
/// on the tail, and the stats carry the settings and the latest decision.
#[actix_web::test]
async fn auto_admission_admits_waves_while_the_slos_have_headroom() {
    let app = spawn_app().await;
    let mut admin = admin_socket(&app).await;
    let waiting = 5;
    for n in 0..waiting {
        let player = app.register(&format!("Auto{n}")).await;
        let (status, body) = app.post("/waitlist", Some(&player.token), json!({})).await;
        assert_eq!(status, 201, "{body}");
    }
    let (reply, _) = request(&mut admin, 2, "waitlist.auto", json!({"enabled": true, "wave": 0})).await;
    assert_eq!(reply["error"]["code"], "VALIDATION_FAILED", "{reply}");
    let (reply, _) = request(&mut admin, 3, "waitlist.auto", json!({})).await;
    assert_eq!(reply["data"]["enabled"], false, "a refused setting changed nothing: {reply}");
    let (reply, _) = request(&mut admin, 4, "events.tail", json!({"types": ["ADMIN_ACTION"]})).await;
    assert_eq!(reply["ok"], true);

    let (reply, _) =
        request(&mut admin, 5, "waitlist.auto", json!({"enabled": true, "wave": 2, "interval_ms": 100})).await;
    assert_eq!((reply["data"]["enabled"].as_bool(), reply["data"]["wave"].as_u64()), (Some(true), Some(2)), "{reply}");
    // Three waves (2 + 2 + 1) and then idle: wait for the idle decision on the tail.
    let mut decisions = Vec::new();
    while let Some(event) = event_of(&mut admin, "ADMIN_ACTION", Duration::from_secs(10)).await {
        if event["data"]["action"] == "auto_admission" {
            let target = event["data"]["target"].as_str().unwrap_or_default().to_owned();
            decisions.push(target.clone());
            if target == "idle" {
                break;
            }
        }
    }
    assert_eq!(decisions, ["admit 2", "admit 2", "admit 1", "idle"], "decisions on the tail");

    let (_, body) = app.get("/waitlist/status", Some(ADMIN_TOKEN)).await;
    assert_eq!(body["data"]["waiting_count"], 0, "{body}");
    assert_eq!(body["data"]["admitted_count"], waiting, "{body}");
    let (reply, _) = request(&mut admin, 6, "stats.subscribe", json!({})).await;
    let auto = &reply["data"]["auto_admission"];
    assert_eq!((auto["waves_admitted"].as_u64(), auto["players_admitted"].as_u64()), (Some(3), Some(5)), "{reply}");
    assert_eq!(auto["last_decision"]["action"], "idle", "{reply}");

    let (reply, _) = request(&mut admin, 7, "waitlist.auto", json!({"enabled": false})).await;
    assert_eq!(reply["data"]["enabled"], false, "{reply}");
    let player = app.register("Mallory").await;
    let mut ws = player_socket(&app, &player.token).await;
    let (reply, _) = request(&mut ws, 1, "waitlist.auto", json!({"enabled": true})).await;
    assert_eq!(reply["error"]["code"], "FORBIDDEN", "players cannot turn admission on");
}

/// Live player actors, from the admin stats snapshot.
async fn live_player_actors(admin: &mut Ws, id: u32) -> u64 {
    let (reply, _) = request(admin, id, "stats.subscribe", json!({})).await;
    let actors = reply["data"]["actors"].as_array().expect("actors").clone();
    let player = actors.iter().find(|a| a["kind"] == "player").expect("player actors");
    player["live"].as_u64().expect("a count")
}

#[actix_web::test]
async fn an_idle_socket_activates_no_actor_and_a_wave_warms_its_online_players() {
    let app = spawn_app().await;
    let mut admin = admin_socket(&app).await;
    let online = app.register("Online").await;
    let offline = app.register("Offline").await;
    for player in [&online, &offline] {
        let (status, body) = app.post("/waitlist", Some(&player.token), json!({})).await;
        assert_eq!(status, 201, "{body}");
    }
    let mut socket = player_socket(&app, &online.token).await;
    assert_eq!(live_player_actors(&mut admin, 2).await, 0, "an authenticated, idle socket loads no player");
    let (reply, _) = request(&mut admin, 3, "waitlist.admit", json!({"count": 2})).await;
    assert_eq!(reply["data"]["count"], 2, "{reply}");
    assert_eq!(live_player_actors(&mut admin, 4).await, 1, "the wave warmed its player with a socket, only");
    // The warmed actor serves the player's commands with the admission applied.
    let (reply, _) = request(&mut socket, 5, "users.get", json!({"id": online.id})).await;
    assert_eq!(reply["data"]["user"]["season0"]["founder_number"], 1, "{reply}");
}
