//! Who calls the JSON API and which session they name: the signed-in
//! user (by cookie, or bearer token), with the same-origin check for
//! writes by cookie, and the session if that user may see (or write to)
//! it, and a request body read as JSON. Shared by `api` and `api_share`.
//!
//! Must not decide access itself (`gateway::access` does).

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};

use super::auth::{self, Proof, Refusal};
use super::error::ApiError;
use super::security;
use crate::gateway::App;
use crate::gateway::SessionEntry;
use crate::gateway::access::access_of;
use crate::store::User;

/// The signed-in user; for writes by cookie, only from the same origin.
pub async fn user(app: &App, headers: &HeaderMap, writes: bool) -> Result<User, ApiError> {
    let signed = auth::signed_in(app, headers)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(ApiError::unauthenticated)?;
    if writes && signed.proof == Proof::Cookie && !security::same_origin(app, headers) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "cross-origin request refused",
        ));
    }
    Ok(signed.user)
}

/// The session `owner/name` if `user` may see it.
pub async fn visible(
    app: &App,
    user: &User,
    owner: &str,
    name: &str,
) -> Result<(SessionEntry, crate::gateway::access::Access), ApiError> {
    let not_found = || {
        ApiError::from(Refusal::NotFound(crate::gateway::names::printable(
            &format!("{owner}/{name}"),
        )))
    };
    let entry = app.registry.find(owner, name).await.ok_or_else(not_found)?;
    let access = access_of(user, &entry).ok_or_else(not_found)?;
    Ok((entry, access))
}

/// The session `owner/name` if `user` may write to it.
pub async fn writable(
    app: &App,
    user: &User,
    (owner, name): (&str, &str),
    verb: &str,
) -> Result<SessionEntry, ApiError> {
    let (entry, access) = visible(app, user, owner, name).await?;
    if !access.can_write() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("you may not {verb} {}", entry.label()),
        ));
    }
    Ok(entry)
}

/// A request's body read as JSON: the body's own refusal (too large),
/// or 400 with serde's reason.
pub fn json_body<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<T, ApiError> {
    let body =
        body.map_err(|rejection| ApiError::new(rejection.status(), rejection.body_text()))?;
    serde_json::from_slice(&body).map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("bad request body: {error}"),
        )
    })
}
