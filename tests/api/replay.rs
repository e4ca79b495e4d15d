//! The replay check against the real server: after a mixed workload over every service, the
//! state rebuilt from the events stored in PostgreSQL equals what the actors hold, for every
//! player (balances, inventory, achievements, cosmetics, stats, preferences, founder number,
//! current game), the waitlist (every entry, in order, with its live position), the season
//! board (ranks and scores) and every lobby (host, status, members in order).

use crate::helpers::*;
use crate::sockets::*;
use pzo_actors::leaderboard::BoardState;
use pzo_actors::player::PlayerState;
use pzo_actors::replay;
use pzo_actors::waitlist::{WaitlistConfig, WaitlistState};
use pzo_protocol::{EventData, Timestamp, UserId};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

/// Every stored event in `seq` order, each decoded (an undecodable one fails the test).
async fn stored_events(app: &TestApp) -> Vec<(EventData, Timestamp)> {
    let (client, connection) =
        tokio_postgres::connect(&app.database_url, tokio_postgres::NoTls).await.expect("the test database answers");
    tokio::spawn(connection);
    let rows = client
        .query("SELECT seq, type, payload::text, created_at FROM events ORDER BY seq", &[])
        .await
        .expect("events");
    let mut last_seq = 0;
    rows.iter()
        .map(|row| {
            let (seq, kind, payload): (i64, &str, &str) = (row.get(0), row.get(1), row.get(2));
            assert_eq!(seq, last_seq + 1, "seq is gapless");
            last_seq = seq;
            let data = EventData::decode_json(kind, payload)
                .unwrap_or_else(|| panic!("unknown event type {kind}"))
                .unwrap_or_else(|e| panic!("event {seq} ({kind}) does not decode: {e}"));
            (data, row.get(3))
        })
        .collect()
}

/// Every player folded from every event (`PlayerState::apply` ignores other players' events).
fn replayed_players(events: &[(EventData, Timestamp)]) -> HashMap<UserId, PlayerState> {
    let mut players: HashMap<UserId, PlayerState> = HashMap::new();
    for (event, at) in events {
        if let EventData::UserRegistered(e) = event {
            // The email is not in the events (personal data stays in its table); it is not compared.
            players.insert(e.user_id, PlayerState::new(e.user_id, String::new(), e.display_name.clone(), *at));
        }
        for state in players.values_mut() {
            state.apply(event);
        }
    }
    players
}

/// The parts of a player the actor answers `players.inspect` with, from a replayed state.
fn expected_inspect(state: &PlayerState) -> Value {
    json!({
        "balances": state.balances.iter().filter(|(_, b)| **b != 0).collect::<BTreeMap<_, _>>(),
        "inventory": state.inventory.clone(),
        "achievements": state.achievements.keys().collect::<Vec<_>>(),
        "cosmetics": state.cosmetics.keys().collect::<Vec<_>>(),
        "stats": state.stats,
        "current_game": state.current_game,
        "preferences": state.preferences,
        "founder_number": state.founder_number,
    })
}

/// The same parts out of a live `players.inspect` reply.
fn live_inspect(reply: &Value) -> Value {
    let pairs = |list: &Value, key: &str, value: &str| -> BTreeMap<String, i64> {
        list.as_array()
            .into_iter()
            .flatten()
            .filter(|row| row[value].as_i64() != Some(0))
            .map(|row| (row[key].as_str().unwrap_or_default().to_owned(), row[value].as_i64().unwrap_or_default()))
            .collect()
    };
    json!({
        "balances": pairs(&reply["balances"], "currency_id", "balance"),
        "inventory": pairs(&reply["inventory"], "item_id", "quantity"),
        "achievements": reply["achievements"],
        "cosmetics": reply["cosmetics"],
        "stats": reply["stats"],
        "current_game": reply["current_game"],
        "preferences": reply["user"]["preferences"],
        "founder_number": reply["user"]["season0"]["founder_number"],
    })
}

struct Workload {
    players: Vec<Player>,
    games: Vec<String>,
}

/// The data of a successful answer.
fn ok(what: &str, (status, body): (u16, Value)) -> Value {
    assert!((200..300).contains(&status), "{what}: {status} {body}");
    body["data"].clone()
}

/// Registrations, waitlist joins (one by referral, one removed, some left waiting), admissions,
/// lobbies created, joined, left, started, finished and closed, deposits, withdrawals, items,
/// achievements, cosmetics, preferences, a leaderboard reset and more scores after it.
async fn mixed_workload(app: &TestApp) -> Workload {
    let mut players = Vec::new();
    let mut entries = Vec::new();
    for n in 0..8 {
        let player = app.register(&format!("Replay{n}")).await;
        let referral = entries.first().map(|(_, code): &(String, String)| json!({"referral_code": code}));
        let data = ok("join", app.post("/waitlist", Some(&player.token), referral.unwrap_or(json!({}))).await);
        entries.push((
            data["entry"]["id"].as_str().unwrap_or_default().to_owned(),
            data["entry"]["referral_code"].as_str().unwrap_or_default().to_owned(),
        ));
        players.push(player);
    }
    ok("admit", app.admin_post("/waitlist/status", json!({"admit": 5})).await);
    ok(
        "remove",
        app.call(reqwest::Method::DELETE, &format!("/waitlist/{}", entries[7].0), Some(ADMIN_TOKEN), None).await,
    );
    let admitted: Vec<&Player> = {
        let mut admitted = Vec::new();
        for player in &players {
            let (_, body) = app.get("/waitlist/status", Some(&player.token)).await;
            if body["data"]["entry"]["status"] == "admitted" {
                admitted.push(player);
            }
        }
        admitted
    };
    assert_eq!(admitted.len(), 5);

    for (n, player) in admitted.iter().enumerate() {
        let amount = 1_000 + 100 * n as i64;
        ok("deposit", app.deposit(player, "gold", amount).await);
        ok("deposit gems", app.deposit(player, "gems", 80).await);
        let withdraw = json!({"currency_id": "gold", "amount": 30 + n as i64});
        ok("withdraw", app.post("/currency/withdraw", Some(&player.token), withdraw).await);
        let add = json!({"user_id": player.id, "item_id": "potion", "quantity": 5 + n as i64});
        ok("add item", app.admin_post("/inventory/add", add).await);
        let remove = json!({"item_id": "potion", "quantity": 2});
        ok("remove item", app.post("/inventory/remove", Some(&player.token), remove).await);
    }
    let sword = json!({"user_id": admitted[0].id, "item_id": "sword_basic", "quantity": 1});
    ok("add sword", app.admin_post("/inventory/add", sword).await);
    let prefs = json!({"preferences": {"music_volume": 25, "locale": "fr"}});
    ok(
        "preferences",
        app.call(reqwest::Method::PATCH, &format!("/users/{}", admitted[1].id), Some(&admitted[1].token), Some(prefs))
            .await,
    );

    // Lobby A: three play and finish; lobby B: a host leaves (migration), then it closes empty;
    // lobby C: stays open with two members.
    let mut games = Vec::new();
    let create = |name: &str| json!({"name": name, "max_players": 4});
    let game_a = ok("create A", app.post("/games", Some(&admitted[0].token), create("A")).await);
    let a = game_a["game"]["id"].as_str().unwrap_or_default().to_owned();
    for player in &admitted[1..3] {
        ok("join A", app.post("/games/join", Some(&player.token), json!({"game_id": a})).await);
    }
    ok("start A", app.post("/games/start", Some(&admitted[0].token), json!({"game_id": a})).await);
    let results = json!({"game_id": a, "results": [
        {"user_id": admitted[0].id, "score": 1500}, {"user_id": admitted[1].id, "score": 700},
        {"user_id": admitted[2].id, "score": 900}]});
    ok("finish A", app.admin_post("/games/finish", results).await);
    games.push(a);

    let game_b = ok("create B", app.post("/games", Some(&admitted[3].token), create("B")).await);
    let b = game_b["game"]["id"].as_str().unwrap_or_default().to_owned();
    ok("join B", app.post("/games/join", Some(&admitted[4].token), json!({"game_id": b})).await);
    ok("leave B host", app.post("/games/leave", Some(&admitted[3].token), json!({"game_id": b})).await);
    ok("close B", app.admin_post("/games/close", json!({"game_id": b})).await);
    games.push(b);

    for (n, player) in admitted.iter().take(3).enumerate() {
        ok(
            "first_game",
            app.post("/achievements/unlock", Some(&player.token), json!({"achievement_id": "first_game"})).await,
        );
        if n == 0 {
            for achievement in ["high_scorer", "founder"] {
                let body = json!({"achievement_id": achievement});
                ok(achievement, app.post("/achievements/unlock", Some(&player.token), body).await);
            }
            for cosmetic in ["golden_helm", "neon_trail", "founder_cape"] {
                let body = json!({"cosmetic_id": cosmetic});
                ok(cosmetic, app.post("/cosmetics/unlock", Some(&player.token), body).await);
            }
        }
    }

    // A reset archives season 1; one more finished game scores on season 2.
    ok("reset", app.admin_post("/leaderboard/reset", json!({"leaderboard_id": "season0"})).await);
    let game_d = ok("create D", app.post("/games", Some(&admitted[3].token), create("D")).await);
    let d = game_d["game"]["id"].as_str().unwrap_or_default().to_owned();
    ok("join D", app.post("/games/join", Some(&admitted[4].token), json!({"game_id": d})).await);
    ok("start D", app.post("/games/start", Some(&admitted[3].token), json!({"game_id": d})).await);
    let results = json!({"game_id": d, "results": [{"user_id": admitted[3].id, "score": 40}, {"user_id": admitted[4].id, "score": 60}]});
    ok("finish D", app.admin_post("/games/finish", results).await);
    games.push(d);

    let game_c = ok("create C", app.post("/games", Some(&admitted[1].token), create("C")).await);
    let c = game_c["game"]["id"].as_str().unwrap_or_default().to_owned();
    ok("join C", app.post("/games/join", Some(&admitted[2].token), json!({"game_id": c})).await);
    games.push(c);

    Workload { players, games }
}

#[actix_web::test]
async fn state_rebuilt_from_stored_events_equals_the_actors() {
    let app = spawn_app().await;
    let workload = mixed_workload(&app).await;
    let events = stored_events(&app).await;
    assert!(events.len() > 60, "the workload stored its events ({})", events.len());

    // Players: the live actor (activated, or activated now from its tables) against the fold.
    let replayed = replayed_players(&events);
    let mut admin = connect_to(&app, "/admin/ws", "pzo.v1.json").await;
    let (reply, _) = request(&mut admin, 1, "auth", json!({"token": ADMIN_TOKEN})).await;
    assert_eq!(reply["ok"], true, "{reply}");
    for (n, player) in workload.players.iter().enumerate() {
        let id: UserId = player.id.parse().expect("a user id");
        let (reply, _) = request(&mut admin, 10 + n as u32, "players.inspect", json!({"user_id": player.id})).await;
        assert_eq!(reply["ok"], true, "{reply}");
        assert_eq!(live_inspect(&reply["data"]), expected_inspect(&replayed[&id]), "player {} differs", player.id);
    }

    // The waitlist: every entry in join order, with status, founder number and live position.
    let config = pzo_server::config::Config::from_env().expect("test configuration");
    let mut waitlist =
        WaitlistState::new(WaitlistConfig { founder_cap: config.founder_cap, referral_boost: config.referral_boost });
    for (event, _) in &events {
        waitlist.apply(event);
    }
    let rebuilt: Vec<Value> = waitlist
        .join_order
        .iter()
        .filter_map(|id| waitlist.entries.get(id))
        .map(|entry| serde_json::to_value(waitlist.view(entry)).expect("an entry serializes"))
        .collect();
    let (_, body) = app.get("/waitlist?limit=200", Some(ADMIN_TOKEN)).await;
    assert_eq!(body["data"]["entries"], Value::Array(rebuilt), "the waitlist differs");

    // The season board: ranks and scores of the current season.
    let board = replay::board(events.iter().map(|(event, at)| (event, *at)), |season| {
        BoardState::new("season0".to_owned(), "Season 0".to_owned(), season)
    });
    let rebuilt: Vec<Value> = board
        .page(0, board.ranking.len())
        .into_iter()
        .map(|row| json!({"rank": row.rank, "user_id": row.user_id, "score": row.score}))
        .collect();
    let (_, body) = app.get("/leaderboard/season0?limit=200", Some(&workload.players[0].token)).await;
    assert_eq!(body["data"]["season"], board.season, "{body}");
    let live: Vec<Value> = body["data"]["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|row| json!({"rank": row["rank"], "user_id": row["user_id"], "score": row["score"]}))
        .collect();
    assert_eq!(live, rebuilt, "the board differs");
    assert_eq!(live.len(), 2, "season 2 holds the game finished after the reset");

    // Lobbies: host, status and members in order.
    let lobbies = replay::lobbies(events.iter().map(|(event, _)| event)).expect("every game event has its game");
    for game in &workload.games {
        let rebuilt = &lobbies[&game.parse().expect("a game id")];
        let (_, body) = app.get(&format!("/games/{game}"), Some(&workload.players[0].token)).await;
        let live = &body["data"]["game"];
        let members: Vec<Value> =
            live["players"].as_array().into_iter().flatten().map(|p| p["user_id"].clone()).collect();
        assert_eq!(live["host_id"], json!(rebuilt.host), "host of {game}");
        assert_eq!(live["status"], json!(rebuilt.status), "status of {game}");
        assert_eq!(Value::Array(members), json!(rebuilt.members), "members of {game}");
    }
}
