//! Live behaviour: leaderboard subscriptions, the disconnect grace period, resume by seq.

use crate::helpers::*;
use crate::sockets::*;
use serde_json::json;
use std::time::Duration;

async fn finished_game(app: &TestApp, scores: &[(&Player, i64)]) {
    let (host, _) = scores[0];
    let (_, body) = app.post("/games", Some(&host.token), json!({"name": "scored", "max_players": 8})).await;
    let game_id = body["data"]["game"]["id"].as_str().expect("game").to_owned();
    for (player, _) in &scores[1..] {
        let (status, body) = app.post("/games/join", Some(&player.token), json!({"game_id": game_id})).await;
        assert_eq!(status, 200, "{body}");
    }
    app.post("/games/start", Some(&host.token), json!({"game_id": game_id})).await;
    let results: Vec<_> = scores.iter().map(|(p, s)| json!({"user_id": p.id, "score": s})).collect();
    let (status, body) = app.admin_post("/games/finish", json!({"game_id": game_id, "results": results})).await;
    assert_eq!(status, 200, "{body}");
}

#[actix_web::test]
async fn leaderboard_updates_are_pushed_to_subscribers_and_reset_archives() {
    let app = spawn_app().await;
    let (a, b) = (app.admitted("Alpha").await, app.admitted("Beta").await);
    let mut watcher = player_socket(&app, &a.token).await;
    let (reply, _) = request(&mut watcher, 2, "leaderboard.subscribe", json!({"id": "season0"})).await;
    assert_eq!(reply["data"]["subscribed"], true, "{reply}");
    finished_game(&app, &[(&a, 300), (&b, 900)]).await;
    let update = event_of(&mut watcher, "LEADERBOARD_UPDATED", Duration::from_secs(5)).await.expect("an update");
    let entries = update["data"]["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 2, "both scores in one coalesced update: {update}");
    assert_eq!(entries[0]["score"], 900);
    let (_, body) = app.get("/leaderboard/season0?limit=1", Some(&a.token)).await;
    assert_eq!(body["data"]["entries"][0]["rank"], 1);
    assert!(body["data"]["next_cursor"].is_string(), "{body}");
    let cursor = body["data"]["next_cursor"].as_str().expect("cursor").to_owned();
    let (_, body) = app.get(&format!("/leaderboard/season0?limit=1&cursor={cursor}"), Some(&a.token)).await;
    assert_eq!(body["data"]["entries"][0]["rank"], 2, "{body}");
    assert!(body["data"]["next_cursor"].is_null(), "the second of two rows ends the board: {body}");
    app.admin_post("/leaderboard/reset", json!({"leaderboard_id": "season0"})).await;
    let reset = event_of(&mut watcher, "LEADERBOARD_RESET", Duration::from_secs(5)).await.expect("a reset event");
    assert_eq!(reset["data"]["season"], 2);
    let (_, body) = app.get("/leaderboard/season0", Some(&a.token)).await;
    assert_eq!(body["data"]["entries"].as_array().map(Vec::len), Some(0));
    let (_, body) = app.get("/leaderboard/season0?season=1", Some(&a.token)).await;
    assert_eq!(body["data"]["entries"][0]["score"], 900, "the archived season stays readable: {body}");
    let (_, body) = app.get("/leaderboard/season0?season=1&limit=1", Some(&a.token)).await;
    assert!(body["data"]["next_cursor"].is_string(), "one of two archived rows: {body}");
    let (_, body) = app.get("/leaderboard/season0?season=1&limit=2", Some(&a.token)).await;
    assert!(body["data"]["next_cursor"].is_null(), "both archived rows, nothing after: {body}");
}

#[actix_web::test]
async fn a_dropped_member_keeps_the_seat_for_the_grace_period_only() {
    let app = spawn_app().await;
    let (host, guest) = (app.admitted("Host").await, app.admitted("Guest").await);
    let (_, body) = app.post("/games", Some(&host.token), json!({"name": "grace", "max_players": 4})).await;
    let game_id = body["data"]["game"]["id"].as_str().expect("game").to_owned();
    app.post("/games/join", Some(&guest.token), json!({"game_id": game_id})).await;
    let mut host_ws = player_socket(&app, &host.token).await;
    // The guest drops and comes back within the grace period (2 s in tests): still a member.
    drop(player_socket(&app, &guest.token).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _back = player_socket(&app, &guest.token).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (_, body) = app.get(&format!("/games/{game_id}"), Some(&host.token)).await;
    assert_eq!(body["data"]["game"]["player_count"], 2, "{body}");
    drop(_back);
    let left =
        event_of(&mut host_ws, "GAME_LEFT", Duration::from_secs(8)).await.expect("the member leaves after the grace");
    assert_eq!(left["data"]["user_id"], guest.id.as_str());
    assert_eq!(left["data"]["reason"], "disconnected");
}

#[actix_web::test]
async fn resume_after_reconnect_misses_nothing() {
    let app = spawn_app().await;
    let player = app.register("Resumer").await;
    let mut ws = player_socket(&app, &player.token).await;
    let (reply, _) = request(&mut ws, 2, "ping", json!({})).await;
    assert!(reply["data"]["server_time_ms"].is_number());
    drop(ws);
    let (_, body) = app.get("/events?since_seq=0", Some(&player.token)).await;
    let last = body["data"]["next_seq"].as_u64().expect("next seq");
    for amount in [1, 2, 3] {
        app.deposit(&player, "gold", amount).await;
    }
    let mut ws = player_socket(&app, &player.token).await;
    let (reply, _) = request(&mut ws, 2, "events.resume", json!({"since_seq": last})).await;
    let events = reply["data"]["events"].as_array().expect("events").clone();
    let deposits: Vec<_> =
        events.iter().filter(|e| e["type"] == "CURRENCY_DEPOSITED").map(|e| e["data"]["amount"].clone()).collect();
    assert_eq!(deposits, vec![json!(1), json!(2), json!(3)], "{reply}");
    let seqs: Vec<u64> = events.iter().filter_map(|e| e["seq"].as_u64()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in seq order");
}

/// Reads `ws` until an event of `kind` about `user_id` arrives; returns the (seq, type) of every
/// event seen up to and including it.
async fn events_until(ws: &mut Ws, kind: &str, user_id: &str) -> Vec<(u64, String)> {
    let mut seen = Vec::new();
    loop {
        let frame = next_frame(ws, Duration::from_secs(10)).await.expect("the event arrives");
        let event = &frame["event"];
        if let (Some(seq), Some(kind)) = (event["seq"].as_u64(), event["type"].as_str()) {
            seen.push((seq, kind.to_owned()));
        }
        if event["type"] == kind && event["data"]["user_id"] == user_id {
            return seen;
        }
    }
}

/// What `GET /events` (the same store as `events.resume`) gives `player` after `since`.
async fn resumed(app: &TestApp, player: &Player, since: u64) -> Vec<(u64, String)> {
    let (status, body) = app.get(&format!("/events?since_seq={since}"), Some(&player.token)).await;
    assert_eq!(status, 200, "{body}");
    body["data"]["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| (e["seq"].as_u64().expect("seq"), e["type"].as_str().expect("type").to_owned()))
        .collect()
}

/// Resuming gives what a connected socket got: a game's events only while the player was in
/// it, not the lobby's earlier events nor those after the player left.
#[actix_web::test]
async fn resume_gives_a_game_s_events_only_while_the_player_was_in_it() {
    let app = spawn_app().await;
    let (ann, bob, cid) = (app.admitted("Ann").await, app.admitted("Bob").await, app.admitted("Cid").await);
    let mut live_ann = connect_to(&app, "/ws", "pzo.v1.json").await;
    let (reply, _) = request(&mut live_ann, 1, "auth", json!({"token": ann.token})).await;
    let since = reply["data"]["last_seq"].as_u64().expect("last seq");
    let mut live_cid = player_socket(&app, &cid.token).await;

    let (_, body) = app.post("/games", Some(&bob.token), json!({"name": "drop-in", "max_players": 8})).await;
    let game_id = body["data"]["game"]["id"].as_str().expect("game").to_owned();
    let (status, body) = app.post("/games/join", Some(&ann.token), json!({"game_id": game_id})).await;
    assert_eq!(status, 200, "{body}");
    app.deposit(&ann, "gold", 5).await;
    let grant = json!({"user_id": cid.id, "item_id": "potion", "quantity": 1});
    assert_eq!(app.admin_post("/inventory/add", grant).await.0, 200);
    let (status, body) = app.post("/games/leave", Some(&ann.token), json!({"game_id": game_id})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.post("/games/join", Some(&cid.token), json!({"game_id": game_id})).await;
    assert_eq!(status, 200, "{body}");

    let ann_live = events_until(&mut live_ann, "GAME_LEFT", &ann.id).await;
    let cid_live = events_until(&mut live_cid, "GAME_JOINED", &cid.id).await;
    let kinds = |events: &[(u64, String)]| events.iter().map(|(_, kind)| kind.clone()).collect::<Vec<_>>();
    assert_eq!(
        kinds(&ann_live),
        ["GAME_JOINED", "CURRENCY_DEPOSITED", "TRANSACTION_COMPLETED", "GAME_LEFT"],
        "what Ann's connected socket got"
    );
    assert_eq!(kinds(&cid_live), ["ITEM_ADDED", "INVENTORY_UPDATED", "GAME_JOINED"], "what Cid's socket got");
    assert_eq!(resumed(&app, &ann, since).await, ann_live, "Ann resumes what she was sent, nothing else");
    assert_eq!(resumed(&app, &cid, since).await, cid_live, "Cid resumes what he was sent, nothing else");
}

#[actix_web::test]
async fn equal_scores_rank_the_earlier_first() {
    let app = spawn_app().await;
    let (a, b, c, d) =
        (app.admitted("Early").await, app.admitted("Late").await, app.admitted("Xo").await, app.admitted("Yo").await);
    finished_game(&app, &[(&a, 500), (&c, 1)]).await;
    finished_game(&app, &[(&b, 500), (&d, 2)]).await;
    let (_, body) = app.get("/leaderboard/season0", Some(&b.token)).await;
    let top: Vec<_> =
        body["data"]["entries"].as_array().expect("entries").iter().take(2).map(|e| e["user_id"].clone()).collect();
    assert_eq!(top, vec![json!(a.id), json!(b.id)], "the earlier 500 ranks first: {body}");
    assert_eq!(body["data"]["my_rank"], 2);
}

#[actix_web::test]
async fn two_waves_at_once_never_reuse_a_founder_number_and_players_hear_of_it() {
    let app = spawn_app().await;
    let mut players = Vec::new();
    for i in 0..6 {
        let player = app.register(&format!("Wave{i}")).await;
        app.post("/waitlist", Some(&player.token), json!({})).await;
        players.push(player);
    }
    let mut first = player_socket(&app, &players[0].token).await;
    let (one, two) = futures_util::join!(
        app.admin_post("/waitlist/status", json!({"admit": 3})),
        app.admin_post("/waitlist/status", json!({"admit": 3}))
    );
    assert_eq!((one.0, two.0), (200, 200));
    let mut founders: Vec<i64> = [one.1, two.1]
        .iter()
        .flat_map(|b| b["data"]["admitted"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e["founder_number"].as_i64())
        .collect();
    founders.sort_unstable();
    assert_eq!(founders, vec![1, 2, 3, 4, 5, 6]);
    let joined = event_of(&mut first, "SEASON0_JOINED", Duration::from_secs(5)).await.expect("pushed to the player");
    assert_eq!(joined["data"]["founder_number"], 1);
}

#[actix_web::test]
async fn hidden_players_keep_their_score_but_are_listed_anonymously() {
    let app = spawn_app().await;
    let (shy, viewer) = (app.admitted("Shy").await, app.admitted("Viewer").await);
    finished_game(&app, &[(&shy, 800), (&viewer, 100)]).await;
    let first_row = |body: serde_json::Value| {
        let first = &body["data"]["entries"][0];
        (first["score"].clone(), first["display_name"].clone(), first["user_id"].clone())
    };
    // Named first: the server now knows (and keeps in memory) the name and visibility.
    let (_, body) = app.get("/leaderboard/season0", Some(&viewer.token)).await;
    assert_eq!(first_row(body), (json!(800), json!("Shy"), json!(shy.id)));

    let profile = format!("/users/{}", shy.id);
    let set_shown = |shown: bool| {
        let patch = json!({"preferences": {"show_on_leaderboard": shown}});
        app.call(reqwest::Method::PATCH, &profile, Some(&shy.token), Some(patch))
    };
    assert_eq!(set_shown(false).await.0, 200);
    let (_, body) = app.get("/leaderboard/season0", Some(&viewer.token)).await;
    assert_eq!(first_row(body), (json!(800), json!("anonymous"), json!(null)), "hidden right after the change");
    let (_, own) = app.get("/leaderboard/season0", Some(&shy.token)).await;
    assert_eq!(own["data"]["entries"][0]["user_id"], shy.id.as_str(), "players see their own row");

    assert_eq!(set_shown(true).await.0, 200);
    let (_, body) = app.get("/leaderboard/season0", Some(&viewer.token)).await;
    assert_eq!(first_row(body), (json!(800), json!("Shy"), json!(shy.id)), "named again once shown");
}

#[actix_web::test]
async fn every_member_sees_each_join_in_order_and_relays_skip_the_sender() {
    let app = spawn_app().await;
    let mut players = Vec::new();
    for i in 0..4 {
        players.push(app.admitted(&format!("Member{i}")).await);
    }
    let mut sockets = Vec::new();
    for player in &players {
        sockets.push(player_socket(&app, &player.token).await);
    }
    // Frames read while waiting for a reply are kept: events can arrive before the reply.
    let mut early: Vec<Vec<serde_json::Value>> = vec![Vec::new(); sockets.len()];
    let (reply, seen) = request(&mut sockets[0], 2, "games.create", json!({"name": "order", "max_players": 8})).await;
    early[0].extend(seen);
    let game_id = reply["data"]["game"]["id"].as_str().expect("game").to_owned();
    for (i, socket) in sockets.iter_mut().enumerate().skip(1) {
        let (reply, seen) = request(socket, 2, "games.join", json!({"game_id": game_id})).await;
        assert_eq!(reply["data"]["game"]["player_count"], i + 1, "{reply}");
        early[i].extend(seen);
    }
    // Every member saw the joins from its own onward, in join order, with no gap in seq.
    for (i, socket) in sockets.iter_mut().enumerate() {
        let mut seen: Vec<(serde_json::Value, u64)> = early[i]
            .iter()
            .filter(|f| f["event"]["type"] == "GAME_JOINED")
            .map(|f| (f["event"]["data"]["user_id"].clone(), f["event"]["seq"].as_u64().unwrap_or(0)))
            .collect();
        while seen.len() < players.len() - i {
            let event = event_of(socket, "GAME_JOINED", Duration::from_secs(5)).await.expect("a join event");
            seen.push((event["data"]["user_id"].clone(), event["seq"].as_u64().expect("seq")));
        }
        let users: Vec<_> = seen.iter().map(|(u, _)| u.clone()).collect();
        let expected: Vec<_> = players[i..].iter().map(|p| json!(p.id)).collect();
        assert_eq!(users, expected, "member {i} saw the joins in order");
        assert!(seen.windows(2).all(|w| w[0].1 < w[1].1), "seq increases");
    }
    let (reply, _) = request(&mut sockets[1], 3, "games.send", json!({"game_id": game_id, "payload": [1, 2, 3]})).await;
    assert_eq!(reply["data"]["delivered"], 3, "{reply}");
    for (i, socket) in sockets.iter_mut().enumerate() {
        let relay = next_frame(socket, Duration::from_millis(if i == 1 { 500 } else { 5000 })).await;
        if i == 1 {
            assert!(relay.is_none(), "the sender gets no copy: {relay:?}");
        } else {
            let relay = relay.expect("a relay");
            assert_eq!(relay["relay"]["payload"], json!([1, 2, 3]));
            assert_eq!(relay["relay"]["from"], players[1].id.as_str());
        }
    }
}
