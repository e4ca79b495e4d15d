//! Game lobbies over HTTP: create, join races, start, leave, finish and the leaderboard.

use crate::helpers::*;
use serde_json::json;
use std::time::Duration;

#[actix_web::test]
async fn fifty_concurrent_joins_seat_exactly_seven() {
    let app = spawn_app().await;
    let host = app.admitted("Host").await;
    let (status, body) = app.post("/games", Some(&host.token), json!({"name": "race", "max_players": 8})).await;
    assert_eq!(status, 201, "{body}");
    let game_id = body["data"]["game"]["id"].as_str().expect("game id").to_owned();
    let mut joiners = Vec::new();
    for i in 0..50 {
        joiners.push(app.admitted(&format!("J{i}")).await);
    }
    let joins = joiners.iter().map(|p| app.post("/games/join", Some(&p.token), json!({"game_id": game_id})));
    let results = futures_util::future::join_all(joins).await;
    let seated = results.iter().filter(|(s, _)| *s == 200).count();
    let full = results.iter().filter(|(s, b)| *s == 409 && code(b) == "GAME_FULL").count();
    assert_eq!((seated, full), (7, 43));
    let (_, body) = app.get(&format!("/games/{game_id}"), Some(&host.token)).await;
    assert_eq!(body["data"]["game"]["players"].as_array().map(Vec::len), Some(8));
}

#[actix_web::test]
async fn game_lifecycle_and_edge_cases() {
    let app = spawn_app().await;
    let host = app.admitted("Host").await;
    let guest = app.admitted("Guest").await;
    let (_, body) = app.post("/games", Some(&host.token), json!({"name": "duel", "max_players": 2})).await;
    let game_id = body["data"]["game"]["id"].as_str().expect("game id").to_owned();
    let (status, body) = app.post("/games", Some(&host.token), json!({"name": "again", "max_players": 2})).await;
    assert_eq!((status, code(&body)), (409, "ALREADY_IN_GAME"));
    let (status, body) = app.post("/games/start", Some(&host.token), json!({"game_id": game_id})).await;
    assert_eq!((status, code(&body)), (409, "NOT_ENOUGH_PLAYERS"));
    let (status, body) = app.post("/games/join", Some(&guest.token), json!({"game_id": game_id})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.post("/games/start", Some(&guest.token), json!({"game_id": game_id})).await;
    assert_eq!((status, code(&body)), (403, "NOT_HOST"));
    let (status, body) = app.post("/games/start", Some(&host.token), json!({"game_id": game_id})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["game"]["status"], "started");
    let late = app.admitted("Late").await;
    let (status, body) = app.post("/games/join", Some(&late.token), json!({"game_id": game_id})).await;
    assert_eq!((status, code(&body)), (409, "GAME_NOT_OPEN"));
    let (status, body) = app.post("/games/leave", Some(&late.token), json!({"game_id": game_id})).await;
    assert_eq!((status, code(&body)), (409, "NOT_IN_GAME"));
    let nowhere = json!({"game_id": uuid::Uuid::new_v4()});
    let (status, body) = app.post("/games/leave", Some(&late.token), nowhere).await;
    assert_eq!((status, code(&body)), (404, "NOT_FOUND"), "leaving a game that does not exist: {body}");
    let results = json!({"game_id": game_id, "results": [{"user_id": host.id, "score": 1500}, {"user_id": guest.id, "score": 700}]});
    let (status, body) = app.post("/games/finish", Some(&host.token), results.clone()).await;
    assert_eq!((status, code(&body)), (403, "FORBIDDEN"));
    let (status, body) = app.admin_post("/games/finish", results.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["game"]["status"], "finished");
    // A service retrying the same finish gets the finished game again; other results are refused.
    let (status, again) = app.admin_post("/games/finish", results).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["data"], body["data"], "the retry answers the same game");
    let other =
        json!({"game_id": game_id, "results": [{"user_id": host.id, "score": 1}, {"user_id": guest.id, "score": 2}]});
    let (status, refused) = app.admin_post("/games/finish", other).await;
    assert_eq!((status, code(&refused)), (409, "GAME_NOT_OPEN"), "{refused}");
    let (_, board) = app.get("/leaderboard/season0?around=me", Some(&guest.token)).await;
    assert_eq!(board["data"]["me"]["rank"], 2, "{board}");
    assert_eq!(board["data"]["entries"][0]["score"], 1500);
    let (status, body) =
        app.post("/achievements/unlock", Some(&host.token), json!({"achievement_id": "high_scorer"})).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) =
        app.post("/achievements/unlock", Some(&host.token), json!({"achievement_id": "first_game"})).await;
    assert_eq!(status, 200);
    let (status, body) = app.post("/games", Some(&host.token), json!({"name": "next", "max_players": 70})).await;
    assert_eq!((status, code(&body)), (422, "VALIDATION_FAILED"));
}

#[actix_web::test]
async fn host_passes_on_leave_and_empty_lobby_closes() {
    let app = spawn_app().await;
    let host = app.admitted("Host").await;
    let guest = app.admitted("Guest").await;
    let (_, body) = app.post("/games", Some(&host.token), json!({"name": "pass", "max_players": 4})).await;
    let game_id = body["data"]["game"]["id"].as_str().expect("game id").to_owned();
    app.post("/games/join", Some(&guest.token), json!({"game_id": game_id})).await;
    let (status, body) = app.post("/games/leave", Some(&host.token), json!({"game_id": game_id})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["game"]["host_id"], guest.id.as_str());
    let (_, body) = app.post("/games/leave", Some(&guest.token), json!({"game_id": game_id})).await;
    assert_eq!(body["data"]["game"]["status"], "closed");
    // Closing a closed game answers it unchanged.
    let (status, closed) = app.admin_post("/games/close", json!({"game_id": game_id})).await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["data"]["game"]["status"], "closed");
    assert_eq!(closed["data"]["game"]["finished_at"], body["data"]["game"]["finished_at"], "nothing changed");
}

/// A board answers pages from its committed state while a game's scores wait on the journal:
/// with the events table locked, a finish cannot commit, yet reads of the board go on; once
/// the lock goes, the finish lands and the board shows it.
#[actix_web::test]
async fn board_reads_do_not_wait_behind_a_finish_in_flight() {
    let app = std::sync::Arc::new(spawn_app().await);
    let host = app.admitted("Host").await;
    let guest = app.admitted("Guest").await;
    let (_, body) = app.post("/games", Some(&host.token), json!({"name": "locked", "max_players": 2})).await;
    let game = body["data"]["game"]["id"].as_str().expect("game id").to_owned();
    app.post("/games/join", Some(&guest.token), json!({"game_id": game})).await;
    let (status, body) = app.post("/games/start", Some(&host.token), json!({"game_id": game})).await;
    assert_eq!(status, 200, "{body}");

    let lock = EventWriteLock::hold(&app).await;
    let finishing = {
        let (app, game, host) = (app.clone(), game.clone(), host.id.clone());
        tokio::spawn(async move {
            let results = json!({"game_id": game, "results": [{"user_id": host, "score": 77}]});
            app.admin_post("/games/finish", results).await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!finishing.is_finished(), "the finish waits for the locked table");
    for _ in 0..5 {
        let read = app.get("/leaderboard/season0?limit=10", Some(&guest.token));
        let (status, body) = tokio::time::timeout(Duration::from_secs(5), read).await.expect("the read is answered");
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["entries"], json!([]), "only committed scores are shown: {body}");
    }
    lock.release().await;
    let (status, body) = finishing.await.expect("the finish task");
    assert_eq!(status, 200, "{body}");
    let (_, body) = app.get("/leaderboard/season0?limit=10", Some(&guest.token)).await;
    assert_eq!(body["data"]["entries"][0]["score"], 77, "{body}");
}

/// Joins that queue while a lobby's commit is in flight are decided in order and committed
/// together: one transaction seats the ones that fit, the rest are refused `GAME_FULL`.
#[actix_web::test]
async fn queued_joins_commit_as_one_group() {
    let app = std::sync::Arc::new(spawn_app().await);
    let host = app.admitted("Host").await;
    let mut joiners = Vec::new();
    for n in 0..6 {
        joiners.push(app.admitted(&format!("Joiner{n}")).await);
    }
    let (_, body) = app.post("/games", Some(&host.token), json!({"name": "grouped", "max_players": 4})).await;
    let game = body["data"]["game"]["id"].as_str().expect("game id").to_owned();
    // Every joiner's actor is live before the lock, so the joins reach the lobby while it waits.
    for joiner in &joiners {
        let (status, body) = app.get("/currency/gold", Some(&joiner.token)).await;
        assert_eq!(status, 200, "{body}");
    }

    let lock = EventWriteLock::hold(&app).await;
    let join = |player: &Player| {
        let (app, game, token) = (app.clone(), game.clone(), player.token.clone());
        tokio::spawn(async move { app.post("/games/join", Some(&token), json!({"game_id": game})).await })
    };
    let first = join(&joiners[0]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let queued: Vec<_> = joiners[1..].iter().map(join).collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    lock.release().await;

    let (status, body) = first.await.expect("the first join");
    assert_eq!(status, 200, "{body}");
    let mut seated = 0;
    let mut full = 0;
    for task in queued {
        let (status, body) = task.await.expect("a queued join");
        match status {
            200 => seated += 1,
            _ => {
                assert_eq!(code(&body), "GAME_FULL", "{body}");
                full += 1;
            }
        }
    }
    assert_eq!((seated, full), (2, 3), "two seats were left after the first joiner");
    let (_, body) = app.get(&format!("/games/{game}"), Some(&host.token)).await;
    assert_eq!(body["data"]["game"]["player_count"], 4, "{body}");

    let rows = lock
        .client
        .query(
            "SELECT count(*), count(DISTINCT created_at) FROM events WHERE type = 'GAME_JOINED' AND game_id = $1::text::uuid",
            &[&game],
        )
        .await
        .expect("join events");
    let (joins, commands): (i64, i64) = (rows[0].get(0), rows[0].get(1));
    // The host's own join (with the game's creation), the first joiner alone, then the two
    // queued seats in one command: joined one by one, they would carry four timestamps.
    assert_eq!((joins, commands), (4, 3), "the queued seats commit as one command");
}

/// The board keeps up to four game commits in the journal at once; finished games that queue
/// behind those go in together: one command carries the games (their players share none) and
/// their board rows.
#[actix_web::test]
async fn finishes_pipeline_then_queued_ones_commit_as_one_group() {
    let app = std::sync::Arc::new(spawn_app().await);
    let mut games = Vec::new();
    for n in 0..6 {
        let host = app.admitted(&format!("Host{n}")).await;
        let guest = app.admitted(&format!("Guest{n}")).await;
        let (_, body) = app.post("/games", Some(&host.token), json!({"name": "finish", "max_players": 2})).await;
        let game = body["data"]["game"]["id"].as_str().expect("game id").to_owned();
        app.post("/games/join", Some(&guest.token), json!({"game_id": game})).await;
        let (status, body) = app.post("/games/start", Some(&host.token), json!({"game_id": game})).await;
        assert_eq!(status, 200, "{body}");
        games.push((game, host, guest));
    }
    let lock = EventWriteLock::hold(&app).await;
    let finish = |n: usize| {
        let app = app.clone();
        let (game, host, guest) = games[n].clone();
        let score = 10 * (n as i64 + 1);
        tokio::spawn(async move {
            let results = json!({"game_id": game, "results": [
                {"user_id": host.id, "score": score}, {"user_id": guest.id, "score": score + 1}]});
            app.admin_post("/games/finish", results).await
        })
    };
    // One at a time, the first four each start their own commit: the board has room for them
    // in flight, so none waits for another's acknowledgement.
    let mut tasks = Vec::new();
    for n in 0..4 {
        tasks.push(finish(n));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(tasks.iter().all(|t| !t.is_finished()), "the finishes wait for the locked table");
    // The next two find four commits in flight and queue, then go in as one.
    tasks.extend([finish(4), finish(5)]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    lock.release().await;
    for task in tasks {
        let (status, body) = task.await.expect("a finish");
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["game"]["status"], "finished", "{body}");
    }
    let (_, body) = app.get("/leaderboard/season0?limit=20", Some(&games[0].1.token)).await;
    let scores: Vec<i64> =
        body["data"]["entries"].as_array().into_iter().flatten().filter_map(|e| e["score"].as_i64()).collect();
    assert_eq!(scores, [61, 60, 51, 50, 41, 40, 31, 30, 21, 20, 11, 10], "{body}");
    let row = lock
        .client
        .query_one("SELECT count(*), count(DISTINCT created_at) FROM events WHERE type = 'GAME_FINISHED'", &[])
        .await
        .expect("finish events");
    let (finished, commands): (i64, i64) = (row.get(0), row.get(1));
    assert_eq!((finished, commands), (6, 5), "four pipelined finishes alone, then the two queued ones in one command");
    // The games' rows, written as one multi-row statement per kind per batch: every member's
    // score and leave time, one completed game each, and the board rows.
    let row = lock
        .client
        .query_one(
            "SELECT (SELECT count(*) FROM game_players WHERE score IS NOT NULL AND left_at IS NOT NULL),
                    (SELECT sum(games_completed)::bigint FROM player_stats),
                    (SELECT sum(best_score)::bigint FROM player_stats),
                    (SELECT sum(score)::bigint FROM player_scores)",
            &[],
        )
        .await
        .expect("game rows");
    let (scored, completed, best, board): (i64, i64, i64, i64) = (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!((scored, completed, best, board), (12, 12, 426, 426), "every member's rows are stored once");
}

/// SPEC 2.3: every mutating operation takes an idempotency key; a retry with the same key gets
/// the first answer and changes nothing, the same key with another payload is refused.
#[actix_web::test]
async fn keyed_retries_of_player_commands_get_the_first_answer() {
    let app = spawn_app().await;
    let host = app.register("Host").await;
    // Waitlist join: the retry answers the first entry (201), not ALREADY_ON_WAITLIST.
    let join = json!({"idempotency_key": "wl-1"});
    let (s1, first) = app.post("/waitlist", Some(&host.token), join.clone()).await;
    let (s2, again) = app.post("/waitlist", Some(&host.token), join).await;
    assert_eq!((s1, s2), (201, 201), "{first} {again}");
    assert_eq!(first["data"], again["data"]);
    let entry = first["data"]["entry"]["id"].as_str().expect("entry").to_owned();
    app.admin_post("/waitlist/status", json!({"entry_id": entry, "status": "admitted"})).await;
    let guest = app.admitted("Guest").await;

    // Create: one game however often it is retried.
    let create = json!({"name": "keyed", "max_players": 4, "idempotency_key": "create-1"});
    let (s1, first) = app.post("/games", Some(&host.token), create.clone()).await;
    let (s2, again) = app.post("/games", Some(&host.token), create).await;
    assert_eq!((s1, s2), (201, 201), "{first} {again}");
    assert_eq!(first["data"], again["data"], "the retry answers the first game");
    let game_id = first["data"]["game"]["id"].as_str().expect("game id").to_owned();
    let (_, games) = app.get("/games?status=open", Some(&host.token)).await;
    assert_eq!(games["data"]["games"].as_array().map(Vec::len), Some(1), "one game: {games}");
    let other = json!({"name": "other", "max_players": 4, "idempotency_key": "create-1"});
    let (status, body) = app.post("/games", Some(&host.token), other).await;
    assert_eq!((status, code(&body)), (422, "IDEMPOTENCY_KEY_REUSED"), "{body}");

    // Join and start: the retries answer the first game view, not ALREADY_IN_GAME / GAME_NOT_OPEN.
    let join = json!({"game_id": game_id, "idempotency_key": "join-1"});
    let (s1, first) = app.post("/games/join", Some(&guest.token), join.clone()).await;
    let (s2, again) = app.post("/games/join", Some(&guest.token), join).await;
    assert_eq!((s1, s2), (200, 200), "{first} {again}");
    assert_eq!(first["data"], again["data"]);
    let start = json!({"game_id": game_id, "idempotency_key": "start-1"});
    let (s1, first) = app.post("/games/start", Some(&host.token), start.clone()).await;
    let (s2, again) = app.post("/games/start", Some(&host.token), start).await;
    assert_eq!((s1, s2), (200, 200), "{first} {again}");
    assert_eq!(first["data"]["game"]["status"], "started");
    assert_eq!(first["data"], again["data"]);

    // Leave: the retry answers the first leave, not NOT_IN_GAME.
    let leave = json!({"game_id": game_id, "idempotency_key": "leave-1"});
    let (s1, first) = app.post("/games/leave", Some(&guest.token), leave.clone()).await;
    let (s2, again) = app.post("/games/leave", Some(&guest.token), leave).await;
    assert_eq!((s1, s2), (200, 200), "{first} {again}");
    assert_eq!(first["data"], again["data"]);
    let (_, game) = app.get(&format!("/games/{game_id}"), Some(&host.token)).await;
    assert_eq!(game["data"]["game"]["players"].as_array().map(Vec::len), Some(1), "{game}");

    // Preferences and achievements, on the player actor's own commit.
    let results = json!({"game_id": game_id, "results": [{"user_id": host.id, "score": 10}]});
    let (status, body) = app.admin_post("/games/finish", results).await;
    assert_eq!(status, 200, "{body}");
    let unlock = json!({"achievement_id": "first_game", "idempotency_key": "ach-1"});
    let (s1, first) = app.post("/achievements/unlock", Some(&host.token), unlock.clone()).await;
    let (s2, again) = app.post("/achievements/unlock", Some(&host.token), unlock).await;
    assert_eq!((s1, s2), (200, 200), "{first} {again}");
    assert_eq!(first["data"], again["data"]);
    let (status, body) =
        app.post("/achievements/unlock", Some(&host.token), json!({"achievement_id": "first_game"})).await;
    assert_eq!((status, code(&body)), (409, "ALREADY_UNLOCKED"), "without the key: {body}");
    let path = format!("/users/{}", host.id);
    let patch = json!({"preferences": {"music_volume": 40}, "idempotency_key": "prefs-1"});
    let (s1, first) = app.call(reqwest::Method::PATCH, &path, Some(&host.token), Some(patch.clone())).await;
    assert_eq!(first["data"]["user"]["preferences"]["music_volume"], 40, "{first}");
    let (status, _) = app
        .call(reqwest::Method::PATCH, &path, Some(&host.token), Some(json!({"preferences": {"music_volume": 70}})))
        .await;
    assert_eq!(status, 200);
    let (s2, again) = app.call(reqwest::Method::PATCH, &path, Some(&host.token), Some(patch)).await;
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(first["data"], again["data"], "the retry answers the first update");
    let (_, me) = app.get(&path, Some(&host.token)).await;
    assert_eq!(me["data"]["user"]["preferences"]["music_volume"], 70, "the retry changed nothing: {me}");
}
