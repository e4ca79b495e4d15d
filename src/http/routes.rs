//! The HTTP routes of SPEC section 5: each turns its path, query and body into a typed
//! `Request` and hands it to the one dispatch.

use super::{HttpLimits, parse_json, parse_query, read_body, serve};
use crate::app::App;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use pzo_protocol::request::*;
use pzo_protocol::{ApiError, Request};
use serde::Deserialize;
use std::sync::Arc;

type AppData = web::Data<Arc<App>>;
type Limits = web::Data<HttpLimits>;

fn path_uuid(req: &HttpRequest, name: &str) -> Result<uuid::Uuid, ApiError> {
    let raw = req.match_info().get(name).unwrap_or_default();
    uuid::Uuid::parse_str(raw).map_err(|_| ApiError::not_found("resource"))
}

fn path_slug(req: &HttpRequest, name: &str) -> String {
    req.match_info().get(name).unwrap_or_default().to_owned()
}

/// Declares a route handler: `name, "METHOD /path", status, |req, body, caller| -> Request`.
macro_rules! route {
    ($name:ident, $op:literal, $status:expr, |$req:ident, $body:ident, $caller:ident| $build:expr) => {
        pub async fn $name(app: AppData, limits: Limits, $req: HttpRequest, payload: web::Payload) -> HttpResponse {
            let body = read_body(payload).await;
            let req2 = $req.clone();
            serve(app, limits, req2, $op, $status, move |$caller| {
                let $body = body?;
                let _ = (&$body, &$caller);
                $build
            })
            .await
        }
    };
}

route!(register, "POST /users/register", StatusCode::CREATED, |req, body, caller| Ok(Request::UsersRegister(
    parse_json(&body)?
)));
route!(login, "POST /users/login", StatusCode::OK, |req, body, caller| Ok(Request::UsersLogin(parse_json(&body)?)));
route!(users_list, "GET /users", StatusCode::OK, |req, body, caller| Ok(Request::UsersList(parse_query(&req)?)));
route!(users_get, "GET /users/{id}", StatusCode::OK, |req, body, caller| Ok(Request::UsersGet(IdArgs {
    id: path_uuid(&req, "id")?
})));

#[derive(Deserialize)]
struct PreferencesBody {
    preferences: PreferencesPatch,
    #[serde(default)]
    idempotency_key: Option<String>,
}

/// The contract lists "bad preferences" under `VALIDATION_FAILED`: a preference of the wrong type
/// or an unknown one answers 422 like an out-of-range volume; a body that is not
/// `{"preferences": {...}}` stays a `BAD_REQUEST`.
fn parse_preferences(body: &[u8]) -> Result<PreferencesBody, ApiError> {
    match serde_json::from_slice::<PreferencesBody>(body) {
        Ok(parsed) => Ok(parsed),
        Err(error) if preferences_are_the_fault(body) => Err(ApiError::validation("preferences", &error.to_string())),
        // Not that shape (or empty): the usual BAD_REQUEST.
        Err(_) => parse_json(body),
    }
}

route!(users_patch, "PATCH /users/{id}", StatusCode::OK, |req, body, caller| {
    let id = path_uuid(&req, "id")?;
    let parsed = parse_preferences(&body)?;
    Ok(Request::UsersUpdatePreferences(UpdatePreferencesArgs {
        id: Some(id),
        preferences: parsed.preferences,
        idempotency_key: parsed.idempotency_key,
    }))
});

route!(waitlist_join, "POST /waitlist", StatusCode::CREATED, |req, body, caller| Ok(Request::WaitlistJoin(
    parse_json(&body)?
)));
route!(waitlist_list, "GET /waitlist", StatusCode::OK, |req, body, caller| Ok(Request::WaitlistList(parse_query(
    &req
)?)));
route!(waitlist_get, "GET /waitlist/{id}", StatusCode::OK, |req, body, caller| Ok(Request::WaitlistGet(IdArgs {
    id: path_uuid(&req, "id")?
})));
route!(waitlist_remove, "DELETE /waitlist/{id}", StatusCode::OK, |req, body, caller| Ok(Request::WaitlistRemove(
    IdArgs { id: path_uuid(&req, "id")? }
)));
route!(waitlist_status, "GET /waitlist/status", StatusCode::OK, |req, body, caller| Ok(Request::WaitlistStatus(
    NoArgs {}
)));

/// `{admit: n}` admits a wave; `{entry_id, status}` sets one entry.
#[derive(Deserialize)]
struct WaitlistStatusBody {
    #[serde(default)]
    admit: Option<i64>,
    #[serde(default)]
    entry_id: Option<uuid::Uuid>,
    #[serde(default)]
    status: Option<pzo_protocol::model::WaitlistStatus>,
}

route!(waitlist_set, "POST /waitlist/status", StatusCode::OK, |req, body, caller| {
    let parsed: WaitlistStatusBody = parse_json(&body)?;
    match parsed {
        WaitlistStatusBody { admit: Some(count), entry_id: None, status: None } => {
            Ok(Request::WaitlistAdmit(AdmitArgs { count }))
        }
        WaitlistStatusBody { admit: None, entry_id: Some(entry_id), status: Some(status) } => {
            Ok(Request::WaitlistSetStatus(SetEntryStatusArgs { entry_id, status }))
        }
        _ => Err(ApiError::validation("body", "send either {admit: n} or {entry_id, status}")),
    }
});

route!(games_list, "GET /games", StatusCode::OK, |req, body, caller| Ok(Request::GamesList(parse_query(&req)?)));
route!(games_create, "POST /games", StatusCode::CREATED, |req, body, caller| Ok(Request::GamesCreate(parse_json(
    &body
)?)));
route!(games_get, "GET /games/{id}", StatusCode::OK, |req, body, caller| Ok(Request::GamesGet(IdArgs {
    id: path_uuid(&req, "id")?
})));
route!(games_join, "POST /games/join", StatusCode::OK, |req, body, caller| Ok(Request::GamesJoin(parse_json(&body)?)));
route!(games_leave, "POST /games/leave", StatusCode::OK, |req, body, caller| Ok(Request::GamesLeave(parse_json(
    &body
)?)));
route!(games_start, "POST /games/start", StatusCode::OK, |req, body, caller| Ok(Request::GamesStart(parse_json(
    &body
)?)));
route!(games_finish, "POST /games/finish", StatusCode::OK, |req, body, caller| Ok(Request::GamesFinish(parse_json(
    &body
)?)));
route!(games_close, "POST /games/close", StatusCode::OK, |req, body, caller| Ok(Request::GamesClose(parse_json(
    &body
)?)));

route!(inventory_list, "GET /inventory", StatusCode::OK, |req, body, caller| Ok(Request::InventoryList(parse_query(
    &req
)?)));
route!(inventory_get, "GET /inventory/{item_id}", StatusCode::OK, |req, body, caller| {
    let owner: OwnerArgs = parse_query(&req)?;
    Ok(Request::InventoryGet(ItemIdArgs { item_id: path_slug(&req, "item_id"), user_id: owner.user_id }))
});
route!(inventory_add, "POST /inventory/add", StatusCode::OK, |req, body, caller| Ok(Request::InventoryAdd(
    parse_json(&body)?
)));
route!(inventory_remove, "POST /inventory/remove", StatusCode::OK, |req, body, caller| Ok(Request::InventoryRemove(
    parse_json(&body)?
)));

route!(currency_list, "GET /currency", StatusCode::OK, |req, body, caller| Ok(Request::CurrencyList(parse_query(
    &req
)?)));

#[derive(Deserialize, Default)]
#[serde(default)]
struct CurrencyQuery {
    user_id: Option<uuid::Uuid>,
    limit: Option<i64>,
    cursor: Option<String>,
}

route!(currency_get, "GET /currency/{currency_id}", StatusCode::OK, |req, body, caller| {
    let q: CurrencyQuery = parse_query(&req)?;
    Ok(Request::CurrencyGet(CurrencyGetArgs {
        currency_id: path_slug(&req, "currency_id"),
        user_id: q.user_id,
        limit: q.limit,
        cursor: q.cursor,
    }))
});
route!(currency_deposit, "POST /currency/deposit", StatusCode::OK, |req, body, caller| Ok(Request::CurrencyDeposit(
    parse_json(&body)?
)));
route!(currency_withdraw, "POST /currency/withdraw", StatusCode::OK, |req, body, caller| Ok(
    Request::CurrencyWithdraw(parse_json(&body)?)
));

route!(leaderboard_list, "GET /leaderboard", StatusCode::OK, |req, body, caller| Ok(Request::LeaderboardList(
    NoArgs {}
)));

#[derive(Deserialize, Default)]
#[serde(default)]
struct LeaderboardQuery {
    limit: Option<i64>,
    cursor: Option<String>,
    around: Option<String>,
    season: Option<u32>,
}

route!(leaderboard_get, "GET /leaderboard/{id}", StatusCode::OK, |req, body, caller| {
    let q: LeaderboardQuery = parse_query(&req)?;
    Ok(Request::LeaderboardGet(LeaderboardGetArgs {
        id: path_slug(&req, "id"),
        limit: q.limit,
        cursor: q.cursor,
        around: q.around,
        season: q.season,
    }))
});
route!(leaderboard_reset, "POST /leaderboard/reset", StatusCode::OK, |req, body, caller| Ok(
    Request::LeaderboardReset(parse_json(&body)?)
));

route!(achievements_list, "GET /achievements", StatusCode::OK, |req, body, caller| Ok(Request::AchievementsList(
    NoArgs {}
)));
route!(achievements_get, "GET /achievements/{id}", StatusCode::OK, |req, body, caller| Ok(Request::AchievementsGet(
    SlugArgs { id: path_slug(&req, "id") }
)));
route!(achievements_unlock, "POST /achievements/unlock", StatusCode::OK, |req, body, caller| Ok(
    Request::AchievementsUnlock(parse_json(&body)?)
));
route!(cosmetics_list, "GET /cosmetics", StatusCode::OK, |req, body, caller| Ok(Request::CosmeticsList(NoArgs {})));
route!(cosmetics_get, "GET /cosmetics/{id}", StatusCode::OK, |req, body, caller| Ok(Request::CosmeticsGet(SlugArgs {
    id: path_slug(&req, "id")
})));
route!(cosmetics_unlock, "POST /cosmetics/unlock", StatusCode::OK, |req, body, caller| Ok(Request::CosmeticsUnlock(
    parse_json(&body)?
)));

#[derive(Deserialize, Default)]
#[serde(default)]
struct EventsQuery {
    since_seq: u64,
}

route!(events_since, "GET /events", StatusCode::OK, |req, body, caller| {
    let q: EventsQuery = parse_query(&req)?;
    Ok(Request::EventsResume(ResumeArgs { since_seq: q.since_seq }))
});

/// Mounts every API route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/users/register", web::post().to(register))
        .route("/users/login", web::post().to(login))
        .route("/users", web::get().to(users_list))
        .route("/users/{id}", web::get().to(users_get))
        .route("/users/{id}", web::patch().to(users_patch))
        .route("/waitlist", web::post().to(waitlist_join))
        .route("/waitlist", web::get().to(waitlist_list))
        .route("/waitlist/status", web::get().to(waitlist_status))
        .route("/waitlist/status", web::post().to(waitlist_set))
        .route("/waitlist/{id}", web::get().to(waitlist_get))
        .route("/waitlist/{id}", web::delete().to(waitlist_remove))
        .route("/games", web::get().to(games_list))
        .route("/games", web::post().to(games_create))
        .route("/games/join", web::post().to(games_join))
        .route("/games/leave", web::post().to(games_leave))
        .route("/games/start", web::post().to(games_start))
        .route("/games/finish", web::post().to(games_finish))
        .route("/games/close", web::post().to(games_close))
        .route("/games/{id}", web::get().to(games_get))
        .route("/inventory", web::get().to(inventory_list))
        .route("/inventory/add", web::post().to(inventory_add))
        .route("/inventory/remove", web::post().to(inventory_remove))
        .route("/inventory/{item_id}", web::get().to(inventory_get))
        .route("/currency", web::get().to(currency_list))
        .route("/currency/deposit", web::post().to(currency_deposit))
        .route("/currency/withdraw", web::post().to(currency_withdraw))
        .route("/currency/{currency_id}", web::get().to(currency_get))
        .route("/leaderboard", web::get().to(leaderboard_list))
        .route("/leaderboard/reset", web::post().to(leaderboard_reset))
        .route("/leaderboard/{id}", web::get().to(leaderboard_get))
        .route("/achievements", web::get().to(achievements_list))
        .route("/achievements/unlock", web::post().to(achievements_unlock))
        .route("/achievements/{id}", web::get().to(achievements_get))
        .route("/cosmetics", web::get().to(cosmetics_list))
        .route("/cosmetics/unlock", web::post().to(cosmetics_unlock))
        .route("/cosmetics/{id}", web::get().to(cosmetics_get))
        .route("/events", web::get().to(events_since));
}
