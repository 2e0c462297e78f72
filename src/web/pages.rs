//! The HTML routes: `/` (your sessions), `/s/OWNER/NAME` (the terminal),
//! `/login?token=` (a one-time sign-in link becomes a cookie), `/g/TOKEN`
//! (a guest link becomes a guest cookie), `POST /logout` (signs this
//! browser out), `/healthz`, and the 404 page.
//!
//! Must not serve a session's bytes: the page's script gets them from the
//! WebSocket bridge, which checks access again.

use std::sync::Arc;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::auth::{self, GUEST_COOKIE, Refusal, USER_COOKIE};
use super::dashboard;
use super::html;
use super::security;
use crate::audit::AuditEvent;
use crate::clock::unix_now as now;
use crate::gateway::App;
use crate::gateway::access::access_of;
use crate::store::{NewToken, SessionId, TokenKind};

#[derive(Debug, Deserialize)]
pub struct WatchQuery {
    pub watch: Option<String>,
}

/// Whether a query flag (`?watch=1`, `?ansi=1`) is set.
pub fn flag_set(value: Option<&str>) -> bool {
    matches!(value, Some("1" | "true" | "yes" | "on"))
}

fn page(status: StatusCode, body: String) -> Response {
    (status, Html(body)).into_response()
}

fn sign_in_page() -> Response {
    page(
        StatusCode::UNAUTHORIZED,
        html::message(
            "Not signed in",
            "Sign in by opening the URL that `ssh HOST link NAME` prints.",
        ),
    )
}

fn failure(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "web page failed");
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        html::message(
            "Something went wrong",
            "The server could not answer; try again.",
        ),
    )
}

/// `GET /`: the dashboard of the sessions the signed-in user can see.
pub async fn index(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let signed = match auth::signed_in(&app, &headers).await {
        Ok(Some(signed)) => signed,
        Ok(None) => return sign_in_page(),
        Err(error) => return failure(error),
    };
    let mut cards = Vec::new();
    for entry in app.registry.list().await {
        let Some(access) = access_of(&signed.user, &entry) else {
            continue;
        };
        let Ok(status) = entry.link.status().await else {
            continue;
        };
        cards.push(dashboard::Card {
            owner: entry.record.owner.clone(),
            name: entry.record.name.clone(),
            state: status.state().into(),
            access: access.name().into(),
            clients: status.participants.len(),
        });
    }
    let presets: Vec<String> = app.config.presets.iter().map(|p| p.name.clone()).collect();
    page(
        StatusCode::OK,
        dashboard::index(&signed.user.name, signed.user.is_admin, &presets, &cards),
    )
}

/// `GET /s/OWNER/NAME[?watch=1]`: the terminal page.
pub async fn terminal(
    State(app): State<Arc<App>>,
    Path((owner, name)): Path<(String, String)>,
    Query(query): Query<WatchQuery>,
    headers: HeaderMap,
) -> Response {
    match auth::viewer_of(&app, &headers, &owner, &name).await {
        Ok((entry, viewer)) => {
            // A chosen `?watch=1` and a guest watch for good; a user reading
            // for want of access may be given write access while attached.
            let guest = matches!(viewer, auth::Viewer::Guest(_));
            let watch = flag_set(query.watch.as_deref()) || guest;
            page(StatusCode::OK, html::terminal(&entry.label(), watch))
        }
        Err(Refusal::Unauthenticated) => sign_in_page(),
        Err(refusal @ Refusal::NotFound(_)) => page(
            StatusCode::NOT_FOUND,
            html::message("No such session", &refusal.to_string()),
        ),
        Err(Refusal::Store(error)) => failure(error),
    }
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    token: Option<String>,
}

/// `GET /login?token=…`: uses a one-time sign-in link, sets the sign-in
/// cookie and sends the browser on to the session.
pub async fn login(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<LoginQuery>,
) -> Response {
    let refused = || {
        page(
            StatusCode::UNAUTHORIZED,
            html::message(
                "This sign-in link does not work",
                "It has expired or was already used. Get a new one with `ssh HOST link NAME`.",
            ),
        )
    };
    let Some(secret) = query.token.filter(|t| !t.is_empty() && t.len() <= 128) else {
        return refused();
    };
    let token = match app
        .store
        .use_token_once(TokenKind::Login, &secret, now())
        .await
    {
        Ok(Some(token)) => token,
        Ok(None) => {
            tracing::info!(%peer, "sign-in link refused");
            let event = AuditEvent::new(None, "sign-in-refused").detail(format!(
                "web: expired, used or unknown sign-in link from {peer}"
            ));
            app.audit.record(event).await;
            return refused();
        }
        Err(error) => return failure(error),
    };
    let ttl = app.config.web.session_ttl.as_secs() as i64;
    let cookie = NewToken {
        kind: TokenKind::Cookie,
        user: token.user.id,
        session: None,
        expires_at: now() + ttl,
    };
    let minted = match app.store.create_token(cookie).await {
        Ok(minted) => minted,
        Err(error) => return failure(error),
    };
    tracing::info!(user = %token.user.name, %peer, "signed in by link");
    let event = AuditEvent::new(Some(&token.user.name), "sign-in")
        .detail(format!("web link {} from {peer}", token.id));
    app.audit.record(event).await;
    let target = match token.session {
        Some(id) => session_path(&app, id).await.unwrap_or_else(|| "/".into()),
        None => "/".into(),
    };
    let cookie = auth::set_cookie(&app, USER_COOKIE, &minted.secret, ttl);
    redirect(&target, cookie)
}

/// `GET /g/TOKEN`: a guest link; sets the guest cookie and opens the
/// session read-only.
pub async fn guest(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(secret): Path<String>,
) -> Response {
    let refused = || {
        page(
            StatusCode::UNAUTHORIZED,
            html::message(
                "This guest link does not work",
                "It has expired or was revoked. Ask for a new one.",
            ),
        )
    };
    if secret.is_empty() || secret.len() > 128 {
        return refused();
    }
    let token = match app.store.use_token(TokenKind::Guest, &secret, now()).await {
        Ok(Some(token)) => token,
        Ok(None) => return refused(),
        Err(error) => return failure(error),
    };
    let path = match token.session {
        Some(id) => session_path(&app, id).await,
        None => None,
    };
    let Some(path) = path else {
        return refused();
    };
    let event = AuditEvent::new(None, "sign-in")
        .session(path.trim_start_matches("/s/"))
        .detail(format!("guest link {} from {peer}", token.id));
    app.audit.record(event).await;
    let cookie = auth::set_cookie(&app, GUEST_COOKIE, &secret, token.expires_at - now());
    redirect(&format!("{path}?watch=1"), cookie)
}

/// `POST /logout`: signs this browser out. Its sign-in cookie's token is
/// revoked (so its open terminals close as well) and both cookies are
/// cleared; a guest link itself stays live for whoever else holds it.
pub async fn logout(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if !security::form_from_our_pages(&app, &headers) {
        return page(
            StatusCode::FORBIDDEN,
            html::message("Not signed out", "The request came from another site."),
        );
    }
    if let Some(secret) = auth::cookie(&headers, USER_COOKIE)
        && let Err(error) = end_sign_in(&app, secret, peer).await
    {
        return failure(error);
    }
    let mut response = page(
        StatusCode::OK,
        html::message(
            "Signed out",
            "This browser is signed out. Open a URL from `ssh HOST link NAME` to sign in again.",
        ),
    );
    for name in [USER_COOKIE, GUEST_COOKIE] {
        let cleared = auth::set_cookie(&app, name, "", 0);
        response.headers_mut().append(header::SET_COOKIE, cleared);
    }
    response
}

/// Revokes the sign-in cookie `secret` if it is live, and has open
/// WebSockets it admitted check again (and close).
async fn end_sign_in(
    app: &App,
    secret: &str,
    peer: SocketAddr,
) -> Result<(), crate::store::StoreError> {
    let Some(token) = app
        .store
        .use_token(TokenKind::Cookie, secret, now())
        .await?
    else {
        return Ok(());
    };
    app.store
        .revoke_token(token.user.id, token.id, &[TokenKind::Cookie], now())
        .await?;
    app.revocations.notify();
    tracing::info!(user = %token.user.name, %peer, "signed out");
    let event =
        AuditEvent::new(Some(&token.user.name), "sign-out").detail(format!("web from {peer}"));
    app.audit.record(event).await;
    Ok(())
}

/// `/s/OWNER/NAME` of a session, if it still exists.
async fn session_path(app: &App, id: SessionId) -> Option<String> {
    let record = app.store.session_by_id(id).await.ok()??;
    Some(format!("/s/{}/{}", record.owner, record.name))
}

fn redirect(target: &str, cookie: axum::http::HeaderValue) -> Response {
    let mut response = (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, target.to_string())],
    )
        .into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
}

/// `GET /healthz`: 200 while the database answers.
pub async fn healthz(State(app): State<Arc<App>>) -> Response {
    match app.store.user_count().await {
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(error) => {
            tracing::warn!(%error, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

/// Anything else: a 404 page.
pub async fn not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        html::message("Not found", "There is nothing at this address."),
    )
}
