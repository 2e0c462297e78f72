//! The JSON API (SPEC §7), by sign-in cookie or `Authorization: Bearer`
//! token: list and create sessions, show and kill one, read its screen,
//! raise and clear its attention mark; it routes `/api/events` (`events`),
//! the sharing endpoints (`api_share`) and files in and out (`api_files`)
//! too.
//! Errors are `{"error": "…"}` with 400, 401, 403, 404 or 409.
//!
//! Must not act for a cookie on a cross-origin write: POST and DELETE by
//! cookie need a same-origin request (bearer tokens are not sent by
//! browsers on their own, so they need no such check).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::api_caller::{json_body, user, visible, writable};
use super::auth::Refusal;
use super::error::ApiError;
use crate::gateway::App;
use crate::gateway::SessionEntry;
use crate::gateway::access::{access_of, may_manage};
use crate::gateway::create::{self, StartRequest};
use crate::gateway::summary::session_json;

/// Largest request body accepted.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// Most scrollback lines one screen request may ask for.
const MAX_SCROLLBACK: usize = 100_000;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/events", get(super::events::stream))
        .route("/sessions", get(list).post(create))
        .route("/sessions/{owner}/{name}", get(show).delete(kill))
        .route("/sessions/{owner}/{name}/screen", get(screen))
        .route("/sessions/{owner}/{name}/notify", post(notify))
        .route("/sessions/{owner}/{name}/ack", post(ack))
        .merge(super::api_share::routes())
        .merge(super::api_files::routes())
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such API endpoint") })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// `GET /api/sessions`: every session the user can see, as `ls --json`.
async fn list(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Response, ApiError> {
    let user = user(&app, &headers, false).await?;
    let mut items = Vec::new();
    for entry in app.registry.list().await {
        let Some(access) = access_of(&user, &entry) else {
            continue;
        };
        if let Ok(status) = entry.link.status().await {
            items.push(session_json(&entry, access, &status));
        }
    }
    Ok(Json(items).into_response())
}

/// The body of `POST /api/sessions`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    /// An array of words, or one string split as a shell would.
    command: Option<Command>,
    preset: Option<String>,
    /// Working directory, as `new -C`.
    dir: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Command {
    Words(Vec<String>),
    Line(String),
}

/// `POST /api/sessions` `{name, command?}`: creates a session (201).
async fn create(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let user = user(&app, &headers, true).await?;
    let body: CreateBody = json_body(body)?;
    let command = match body.command {
        None => Vec::new(),
        Some(Command::Words(words)) => words,
        Some(Command::Line(line)) => shell_words::split(&line).map_err(|error| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("cannot split the command: {error}"),
            )
        })?,
    };
    let request = StartRequest {
        name: body.name,
        dir: body.dir,
        preset: body.preset,
        command,
        term: None,
    };
    let entry = create::start(&app, &user, request).await?;
    let status = entry.link.status().await.map_err(ApiError::internal)?;
    let json = session_json(&entry, crate::gateway::access::Access::Owner, &status);
    let location = format!("/api/sessions/{}", entry.label());
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(json),
    )
        .into_response())
}

/// `GET /api/sessions/OWNER/NAME`: one session, with who is attached.
async fn show(
    State(app): State<Arc<App>>,
    Path((owner, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let user = user(&app, &headers, false).await?;
    let (entry, access) = visible(&app, &user, &owner, &name).await?;
    let status = entry
        .link
        .status()
        .await
        .map_err(|_| ApiError::from(Refusal::NotFound(entry.label())))?;
    let mut json = session_json(&entry, access, &status);
    json["participants"] = serde_json::json!(
        status
            .participants
            .iter()
            .map(|p| serde_json::json!({
                "name": p.name,
                "access": super::protocol::access_word(p.role),
            }))
            .collect::<Vec<_>>()
    );
    json["size"] = serde_json::json!({ "rows": status.size.rows, "cols": status.size.cols });
    Ok(Json(json).into_response())
}

/// `DELETE /api/sessions/OWNER/NAME`: kills it (owner or admin); 204.
async fn kill(
    State(app): State<Arc<App>>,
    Path((owner, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let user = user(&app, &headers, true).await?;
    let (entry, access) = visible(&app, &user, &owner, &name).await?;
    if !may_manage(&user, access) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("only the owner may kill {}", entry.label()),
        ));
    }
    crate::gateway::manage::kill(&app, &user.name, &entry).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
struct ScreenQuery {
    ansi: Option<String>,
    scrollback: Option<usize>,
}

/// `GET /api/sessions/OWNER/NAME/screen[?ansi=1][&scrollback=N]`: the
/// screen as `capture` prints it.
async fn screen(
    State(app): State<Arc<App>>,
    Path((owner, name)): Path<(String, String)>,
    query: Result<Query<ScreenQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let user = user(&app, &headers, false).await?;
    let Query(query) =
        query.map_err(|error| ApiError::new(StatusCode::BAD_REQUEST, error.body_text()))?;
    let (entry, _) = visible(&app, &user, &owner, &name).await?;
    let ansi = super::pages::flag_set(query.ansi.as_deref());
    let scrollback = query.scrollback.unwrap_or(0).min(MAX_SCROLLBACK);
    let text = entry
        .link
        .capture(scrollback, ansi)
        .await
        .map_err(|_| ApiError::from(Refusal::NotFound(entry.label())))?;
    let status = entry.link.status().await.map_err(ApiError::internal)?;
    Ok(Json(serde_json::json!({
        "session": entry.label(),
        "rows": status.size.rows,
        "cols": status.size.cols,
        "text": text,
    }))
    .into_response())
}

#[derive(Debug, Deserialize)]
struct NotifyBody {
    message: String,
}

fn refused(entry: &SessionEntry, error: crate::wire::control::ControlError) -> ApiError {
    use crate::wire::control::ControlError;
    match error {
        ControlError::Gone => ApiError::from(Refusal::NotFound(entry.label())),
        other => ApiError::new(
            StatusCode::CONFLICT,
            format!("session {} {other}", entry.label()),
        ),
    }
}

/// `POST /api/sessions/OWNER/NAME/notify` `{message}`: marks the session
/// as wanting attention (write access); answers the session.
async fn notify(
    State(app): State<Arc<App>>,
    Path((owner, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let user = user(&app, &headers, true).await?;
    let body: NotifyBody = json_body(body)?;
    let entry = writable(&app, &user, (&owner, &name), "notify").await?;
    let transport = crate::gateway::attach::Transport::Web;
    crate::gateway::manage::notify(&app, &user.name, &entry, &body.message, transport)
        .await
        .map_err(|error| refused(&entry, error))?;
    show(State(app), Path((owner, name)), headers).await
}

/// `POST /api/sessions/OWNER/NAME/ack`: clears its attention mark as the
/// user (write access); answers the session.
async fn ack(
    State(app): State<Arc<App>>,
    Path((owner, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let user = user(&app, &headers, true).await?;
    let entry = writable(&app, &user, (&owner, &name), "ack").await?;
    crate::gateway::manage::ack(&user.name, &entry)
        .await
        .map_err(|error| refused(&entry, error))?;
    show(State(app), Path((owner, name)), headers).await
}
