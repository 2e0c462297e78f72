//! `GET /api/events`: Server-Sent Events for the dashboard (SPEC §7). On
//! connect one `session` event (the `ls --json` object) per session the
//! user can see and one `ready` `{}` after them; then one `session` event each time one appears or
//! changes, `removed` `{owner, name}` when it goes or the user loses
//! access, and `screen` `{owner, name}` (at most every `SCREEN_EVERY` per
//! session) when its screen may have changed, so the page refetches the
//! preview.
//!
//! Must not send another user's unshared sessions (access is asked of
//! `gateway::access` on every look), hold a lock across an await, or
//! queue without bound: events are made lazily as the client reads them
//! (the stream is polled only when the connection can take more), so a
//! slow client holds nothing but its own task.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tokio::sync::watch;

use super::auth;
use super::error::ApiError;
use crate::gateway::access::access_of;
use crate::gateway::summary::session_json;
use crate::gateway::{App, LinkHandle};
use crate::store::{TokenId, User};

/// Least time between two `screen` events of one session.
const SCREEN_EVERY: Duration = Duration::from_millis(500);
/// Longest one session may take to answer its status before it is
/// skipped for this round.
const STATUS_TIMEOUT: Duration = Duration::from_secs(2);

/// `owner/name`.
type Key = (String, String);

/// `GET /api/events`.
pub async fn stream(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Response, ApiError> {
    let signed = auth::signed_in(&app, &headers)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(ApiError::unauthenticated)?;
    let mut changes = app.registry.changes();
    changes.mark_unchanged();
    let mut revocations = app.revocations.subscribe();
    revocations.mark_unchanged();
    let mut tick = tokio::time::interval(SCREEN_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut state = Events {
        app,
        token: signed.token,
        user: signed.user,
        changes,
        revocations,
        tick,
        sent: HashMap::new(),
        screens: HashMap::new(),
        pending: VecDeque::new(),
    };
    state.refresh().await;
    state
        .pending
        .push_back(Event::default().event("ready").data("{}"));
    let events = futures_util::stream::unfold(state, |mut state| async move {
        let event = state.next().await?;
        Some((Ok::<_, Infallible>(event), state))
    });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// One client's stream: what it was last sent.
struct Events {
    app: Arc<App>,
    /// The sign-in (cookie or bearer token) that opened the stream.
    token: TokenId,
    user: User,
    changes: watch::Receiver<u64>,
    revocations: watch::Receiver<u64>,
    tick: tokio::time::Interval,
    /// Each visible session's JSON as last sent (without `idle_seconds`,
    /// which changes every second; the page counts it from
    /// `last_active_at`).
    sent: HashMap<Key, serde_json::Value>,
    /// Each visible session's link and screen-change signal.
    screens: HashMap<Key, (LinkHandle, watch::Receiver<u64>)>,
    /// Events made but not yet read (at most a few per visible session).
    pending: VecDeque<Event>,
}

impl Events {
    /// The next event; `None` ends the stream (signed out, server ending).
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            tokio::select! {
                changed = self.changes.changed() => {
                    changed.ok()?;
                    self.refresh().await;
                }
                changed = self.revocations.changed() => {
                    changed.ok()?;
                    // Signed out or revoked: the stream ends (a store
                    // error keeps it, as the WebSocket bridge does).
                    let live = self.app.store.token_is_live(self.token, crate::clock::unix_now()).await;
                    if matches!(live, Ok(false)) {
                        return None;
                    }
                }
                _ = self.tick.tick() => self.screens_changed().await,
            }
        }
    }

    /// Compares the visible sessions with what was sent; queues the
    /// differences.
    async fn refresh(&mut self) {
        let mut now = HashMap::new();
        for entry in self.app.registry.list().await {
            let Some(access) = access_of(&self.user, &entry) else {
                continue;
            };
            let key = (entry.record.owner.clone(), entry.record.name.clone());
            let status = tokio::time::timeout(STATUS_TIMEOUT, entry.link.status()).await;
            let Ok(Ok(status)) = status else {
                // Keep what was sent rather than flicker it away.
                if let Some(old) = self.sent.get(&key) {
                    now.insert(key, old.clone());
                }
                continue;
            };
            let mut json = session_json(&entry, access, &status);
            let full = json.clone();
            if let Some(object) = json.as_object_mut() {
                object.remove("idle_seconds");
            }
            if self.sent.get(&key) != Some(&json) {
                self.pending.push_back(event("session", &full));
            }
            self.screens
                .entry(key.clone())
                .or_insert_with(|| (entry.link.clone(), entry.link.screen_changes()));
            now.insert(key, json);
        }
        for (owner, name) in self.sent.keys() {
            if !now.contains_key(&(owner.clone(), name.clone())) {
                let gone = serde_json::json!({ "owner": owner, "name": name });
                self.pending.push_back(event("removed", &gone));
            }
        }
        self.screens.retain(|key, _| now.contains_key(key));
        self.sent = now;
    }

    /// Queues a `screen` event for each session whose screen changed
    /// since the last tick. A host signals a change once per preview
    /// asked for (previews are pulled), so asking for one re-arms it.
    async fn screens_changed(&mut self) {
        for ((owner, name), (link, screen)) in &mut self.screens {
            if screen.has_changed().unwrap_or(false) {
                screen.mark_unchanged();
                let _ = tokio::time::timeout(STATUS_TIMEOUT, link.preview()).await;
                let which = serde_json::json!({ "owner": owner, "name": name });
                self.pending.push_back(event("screen", &which));
            }
        }
    }
}

fn event(kind: &str, data: &serde_json::Value) -> Event {
    Event::default().event(kind).data(data.to_string())
}
