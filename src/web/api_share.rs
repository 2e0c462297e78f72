//! The JSON API's sharing endpoints (SPEC §7, as the picker and the
//! `share`, `unshare` and `link --guest` verbs): `POST
//! /api/sessions/OWNER/NAME/shares` `{user, write}`, `DELETE
//! /api/sessions/OWNER/NAME/shares/USER`, and `POST
//! /api/sessions/OWNER/NAME/links` `{guest: true, ttl?}` answering the
//! guest link's URL. Owner or admin only.
//!
//! Must not change a grant or mint a link itself: `gateway::sharing` does,
//! for every transport.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::api_caller::{json_body, user, visible};
use super::error::ApiError;
use crate::gateway::access::may_manage;
use crate::gateway::sharing::{self, ShareError};
use crate::gateway::{App, SessionEntry};
use crate::store::{Grant, User};

/// A guest link works this long unless the request says otherwise.
const GUEST_TTL: Duration = Duration::from_secs(60 * 60);
/// The longest guest link the API makes.
const MAX_TTL: Duration = Duration::from_secs(30 * 24 * 60 * 60);

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/sessions/{owner}/{name}/shares", post(share))
        .route("/sessions/{owner}/{name}/shares/{user}", delete(unshare))
        .route("/sessions/{owner}/{name}/links", post(link))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShareBody {
    user: String,
    #[serde(default)]
    write: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkBody {
    guest: bool,
    /// As `--ttl`: `30m`, `2h`, `1d`.
    ttl: Option<String>,
}

/// The session, if the caller may manage it (owner or admin).
async fn managed(
    app: &App,
    headers: &HeaderMap,
    (owner, name): (&str, &str),
    verb: &str,
) -> Result<(User, SessionEntry), ApiError> {
    let user = user(app, headers, true).await?;
    let (entry, access) = visible(app, &user, owner, name).await?;
    if !may_manage(&user, access) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("only the owner may {verb} {}", entry.label()),
        ));
    }
    Ok((user, entry))
}

fn share_error(error: ShareError) -> ApiError {
    let status = match &error {
        ShareError::NoSuchUser(_) | ShareError::Owner(..) => StatusCode::BAD_REQUEST,
        ShareError::NoGrant(..) | ShareError::Gone(_) => StatusCode::NOT_FOUND,
        ShareError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    ApiError::new(status, error.to_string())
}

/// `POST …/shares` `{user, write}`: gives `user` read (or write) access.
async fn share(
    State(app): State<Arc<App>>,
    Path((owner, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let body: ShareBody = json_body(body)?;
    let (actor, entry) = managed(&app, &headers, (&owner, &name), "share").await?;
    let grant = if body.write {
        Grant::Write
    } else {
        Grant::Read
    };
    let message = sharing::change_grant(&app, &actor, &entry, &body.user, Some(grant))
        .await
        .map_err(share_error)?;
    Ok(Json(serde_json::json!({ "message": message })).into_response())
}

/// `DELETE …/shares/USER`: takes `USER`'s grant away.
async fn unshare(
    State(app): State<Arc<App>>,
    Path((owner, name, grantee)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (actor, entry) = managed(&app, &headers, (&owner, &name), "unshare").await?;
    let message = sharing::change_grant(&app, &actor, &entry, &grantee, None)
        .await
        .map_err(share_error)?;
    Ok(Json(serde_json::json!({ "message": message })).into_response())
}

/// `POST …/links` `{guest: true, ttl?}`: a read-only guest link; `201`
/// `{url, id, expires_in}`.
async fn link(
    State(app): State<Arc<App>>,
    Path((owner, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let body: LinkBody = json_body(body)?;
    if !body.guest {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "only guest links are made here (sign-in links come from `ssh HOST link`)",
        ));
    }
    let ttl = match body.ttl.as_deref() {
        None => GUEST_TTL,
        Some(text) => humantime::parse_duration(text)
            .ok()
            .filter(|ttl| !ttl.is_zero() && *ttl <= MAX_TTL)
            .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "bad ttl"))?,
    };
    let (actor, entry) = managed(&app, &headers, (&owner, &name), "make a guest link to").await?;
    let link = sharing::make_link(&app, &actor, &entry, true, ttl)
        .await
        .map_err(ApiError::internal)?;
    let json = serde_json::json!({
        "url": link.url,
        "id": link.id.0,
        "expires_in": ttl.as_secs(),
    });
    Ok((StatusCode::CREATED, Json(json)).into_response())
}
