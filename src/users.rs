//! The User service's write paths: registration and login (argon2id on the blocking pool),
//! and bearer-token authentication.

use crate::actors::{commit_error, mailbox_error};
use crate::app::App;
use crate::auth::{self, Caller};
use crate::store;
use pzo_actors::effect::{Effect, EventDraft};
use pzo_protocol::event::{UserLoggedIn, UserRegistered};
use pzo_protocol::model::{Preferences, UserProfile};
use pzo_protocol::reply::AuthReply;
use pzo_protocol::validate::{DisplayName, Email, Password};
use pzo_protocol::{ApiError, ErrorCode, EventData, Reply};
use std::sync::Arc;

fn invalid_credentials() -> ApiError {
    ApiError::new(ErrorCode::INVALID_CREDENTIALS)
}

fn expiry(app: &App) -> pzo_protocol::Timestamp {
    app.now() + chrono::Duration::from_std(app.config.token_ttl).unwrap_or(chrono::Duration::days(7))
}

pub async fn register(app: &Arc<App>, email: Email, password: Password, name: DisplayName) -> Result<Reply, ApiError> {
    // A cheap pre-check spares the hashing cost; the unique index decides races.
    if store::credentials(&app.pool, &email.normalized()).await.map_err(|_| mailbox_error())?.is_some() {
        return Err(ApiError::new(ErrorCode::EMAIL_TAKEN));
    }
    let hash = auth::hash_password(password.expose().to_owned(), app.config.argon2_memory_kib).await.map_err(|e| {
        tracing::error!(error = %e, "password hashing failed");
        mailbox_error()
    })?;
    let (user_id, now, token) = (uuid::Uuid::new_v4(), app.now(), auth::new_token());
    let (expires_at, token_hash) = (expiry(app), auth::token_hash(&token));
    let effects = vec![
        Effect::InsertUser {
            id: user_id,
            email: email.as_str().to_owned(),
            password_hash: hash,
            display_name: name.as_str().to_owned(),
            created_at: now,
        },
        Effect::SetPreferences { user_id, preferences: Preferences::default(), at: now },
        Effect::InsertSession { token_hash: token_hash.clone(), user_id, created_at: now, expires_at },
    ];
    let event = EventData::UserRegistered(UserRegistered { user_id, display_name: name.as_str().to_owned() });
    let events = vec![EventDraft::for_player(user_id, "user", event)];
    app.journal.commit(effects, events, now, Some(user_id)).await.map_err(commit_error)?;
    app.sessions.insert(&token_hash, user_id, expires_at);
    let user = UserProfile {
        id: user_id,
        display_name: name.into_string(),
        created_at: now,
        email: Some(email.as_str().to_owned()),
        preferences: Some(Preferences::default()),
        season0: None,
    };
    Ok(Reply::Auth(AuthReply { user, token, expires_at }))
}

pub async fn login(app: &Arc<App>, email: &str, password: &str) -> Result<Reply, ApiError> {
    let found = store::credentials(&app.pool, &email.trim().to_lowercase()).await.map_err(|_| mailbox_error())?;
    // Unknown emails verify against a dummy hash so both failures take the same time.
    let (user_id, hash) = found.clone().unwrap_or((uuid::Uuid::nil(), auth::DUMMY_HASH.to_owned()));
    let valid = auth::verify_password(password.to_owned(), hash, app.config.argon2_memory_kib).await;
    if found.is_none() || !valid {
        return Err(invalid_credentials());
    }
    let (now, token) = (app.now(), auth::new_token());
    let (expires_at, token_hash) = (expiry(app), auth::token_hash(&token));
    let effects = vec![Effect::InsertSession { token_hash: token_hash.clone(), user_id, created_at: now, expires_at }];
    let events = vec![EventDraft::for_player(user_id, "user", EventData::UserLoggedIn(UserLoggedIn { user_id }))];
    app.journal.commit(effects, events, now, Some(user_id)).await.map_err(commit_error)?;
    app.sessions.insert(&token_hash, user_id, expires_at);
    let Reply::User(profile) =
        crate::actors::player::ask(app, user_id, crate::actors::player::PlayerCommand::Profile { full: true }, None)
            .await?
    else {
        return Err(mailbox_error());
    };
    Ok(Reply::Auth(AuthReply { user: profile.user, token, expires_at }))
}

/// Who a bearer token belongs to: the admin, a player, or nobody (`UNAUTHENTICATED`).
pub async fn authenticate(app: &App, token: Option<&str>) -> Result<Caller, ApiError> {
    let Some(token) = token.filter(|t| !t.is_empty()) else { return Ok(Caller::Anonymous) };
    if auth::token_eq(token, &app.admin_token) {
        return Ok(Caller::Admin);
    }
    let token_hash = auth::token_hash(token);
    let session = match app.sessions.get(&token_hash) {
        Some(cached) => Some(cached),
        None => {
            let stored = store::session_user(&app.pool, &token_hash).await.map_err(|_| mailbox_error())?;
            if let Some((user_id, expires_at)) = stored {
                app.sessions.insert(&token_hash, user_id, expires_at);
            }
            stored
        }
    };
    match session {
        Some((user_id, expires_at)) if expires_at > app.now() => Ok(Caller::Player(user_id)),
        _ => Err(ApiError::new(ErrorCode::UNAUTHENTICATED)),
    }
}
