//! The WebSocket bridge: a browser attached to a session's hub, the same
//! way an SSH client is (ssh/attach.rs), over another transport. One task
//! writes the hub's messages to the socket and reports each one written
//! (the hub's back-pressure: a browser that stops reading gets coalesced
//! screen updates, never an unbounded queue); the upgrade's own task
//! reads the browser's frames (bytes for the program, JSON resizes) and
//! watches for participant changes and for guest links ending.
//!
//! Must not write to the socket from anywhere but the writer task, or
//! let one browser's bad input reach anyone else: bad frames close that
//! browser's connection with a clear code.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use futures_util::stream::SplitStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;

use writer::{CLOSE_WAIT, Notices, send, send_close, write_messages};

use super::auth::{self, Viewer};
use super::error::ApiError;
use super::pages::{WatchQuery, flag_set};
use super::protocol::{self, ClientText, ServerText, close};
use super::security;
use crate::clock::unix_now as now;
use crate::engine::hub::AttachError;
use crate::gateway::App;
use crate::gateway::SessionEntry;
use crate::gateway::attach::{self as gateway_attach, AttachRequest, Client, Transport, role_for};
use crate::gateway::manage;
use crate::metrics as metric;
use crate::wire::Role;
use crate::wire::Size;
use crate::wire::control::parse_signal;

/// How long the server waits for the browser's first resize before
/// attaching at the default size.
const FIRST_MESSAGE_WAIT: Duration = Duration::from_secs(2);
mod writer;

/// The size used until the browser says its own.
const DEFAULT_SIZE: Size = Size { rows: 24, cols: 80 };

type Stream = SplitStream<WebSocket>;

/// `GET /ws/OWNER/NAME[?watch=1]`: checks the origin and the viewer, then
/// upgrades.
pub async fn upgrade(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((owner, name)): Path<(String, String)>,
    Query(query): Query<WatchQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !security::same_origin(&app, &headers) {
        tracing::info!(session = %format!("{owner}/{name}"), "cross-origin WebSocket refused");
        return ApiError::new(StatusCode::FORBIDDEN, "cross-origin WebSocket refused")
            .into_response();
    }
    let (entry, viewer) = match auth::viewer_of(&app, &headers, &owner, &name).await {
        Ok(found) => found,
        Err(refusal) => return ApiError::from(refusal).into_response(),
    };
    let watching = flag_set(query.watch.as_deref());
    // A user reading for want of access (not by choice, not a guest)
    // becomes a writer in place when `share --write` gives it.
    let may_upgrade = matches!(viewer, Viewer::User { .. });
    let (role, upgradable) = role_for(viewer.can_write(), watching, may_upgrade);
    ws.max_message_size(protocol::MAX_MESSAGE_BYTES)
        .max_frame_size(protocol::MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| attached(app, entry, viewer, (role, upgradable), peer, socket))
}

/// One browser attached to one session, its log lines naming its user,
/// address and session.
async fn attached(
    app: Arc<App>,
    entry: SessionEntry,
    viewer: Viewer,
    (role, upgradable): (Role, bool),
    peer: SocketAddr,
    socket: WebSocket,
) {
    metrics::counter!(metric::WEBSOCKET_CONNECTIONS).increment(1);
    let span =
        tracing::info_span!("websocket", user = %viewer.name(), %peer, session = %entry.label());
    run(app, entry, viewer, (role, upgradable, peer), socket)
        .instrument(span)
        .await;
}

/// What to do after a frame from the browser.
enum Flow {
    Continue,
    /// Close the connection with this code and reason.
    Close(u16, String),
    /// The browser left.
    End,
}

/// One browser attached to one session, until either side ends it.
async fn run(
    app: Arc<App>,
    entry: SessionEntry,
    viewer: Viewer,
    (role, upgradable, peer): (Role, bool, SocketAddr),
    socket: WebSocket,
) {
    let label = entry.label();
    let (mut sink, mut stream) = socket.split();
    let Some((size, early)) = first_size(&mut stream).await else {
        return;
    };
    let hello = ServerText::Hello {
        session: label.clone(),
        access: protocol::access_word(role),
    };
    if send(&mut sink, Message::Text(hello.to_json().into()))
        .await
        .is_err()
    {
        return;
    }
    let request = AttachRequest {
        who: viewer.name(),
        transport: Transport::Web,
        peer,
        role,
        upgradable,
        size,
    };
    let mut client = match gateway_attach::attach(&app, &entry, request).await {
        Ok(client) => client,
        Err(AttachError::Full { limit }) => {
            let reason = format!("{limit} clients attached, the most allowed");
            let _ = send_close(&mut sink, close::FULL, &reason).await;
            return;
        }
        Err(AttachError::Gone) => {
            let _ = send_close(&mut sink, close::KILLED, "the session has ended").await;
            return;
        }
        Err(AttachError::Unreachable) => {
            let reason = "its machine cannot be reached just now";
            let _ = send_close(&mut sink, close::FULL, reason).await;
            return;
        }
    };
    let Some(feed) = client.take_feed() else {
        client.finish("the session has ended").await;
        return;
    };
    tracing::info!(user = %viewer.name(), session = %label, role = ?role, "attached by WebSocket");
    let (people_tx, people_rx) = watch::channel(None);
    let (access_tx, access_rx) = watch::channel(role);
    let (close_tx, close_rx) = mpsc::channel(1);
    let writer = tokio::spawn(write_messages(
        sink,
        feed,
        Notices {
            people: people_rx,
            access: access_rx,
        },
        close_rx,
        label.clone(),
    ));
    let mut bridge = Bridge {
        app,
        entry,
        viewer,
        client,
        people: people_tx,
        access: access_tx,
    };
    if let Some(frame) = early
        && let Flow::Close(code, reason) = bridge.frame(frame).await
    {
        let how = format!("closed: {reason}");
        finish(close_tx, writer, code, reason).await;
        bridge.client.finish(&how).await;
        return;
    }
    bridge.read(stream, writer, close_tx).await;
    tracing::info!(session = %label, "WebSocket detached");
}

/// Waits briefly for the browser's first message: a resize gives the
/// size to attach at; anything else is handled once attached.
async fn first_size(stream: &mut Stream) -> Option<(Size, Option<Message>)> {
    match tokio::time::timeout(FIRST_MESSAGE_WAIT, stream.next()).await {
        Err(_) => Some((DEFAULT_SIZE, None)),
        Ok(None) | Ok(Some(Err(_))) => None,
        Ok(Some(Ok(Message::Text(text)))) => match ClientText::parse(&text) {
            Ok(Some(ClientText::Resize { cols, rows })) => {
                Some((ClientText::size(cols, rows).unwrap_or(DEFAULT_SIZE), None))
            }
            _ => Some((DEFAULT_SIZE, Some(Message::Text(text)))),
        },
        Ok(Some(Ok(other))) => Some((DEFAULT_SIZE, Some(other))),
    }
}

/// The reading side of one attached browser.
struct Bridge {
    app: Arc<App>,
    entry: SessionEntry,
    viewer: Viewer,
    client: Client,
    people: watch::Sender<Option<String>>,
    /// This browser's role as the hub has it: its input is passed on only
    /// while a writer, and the writer tells the browser when `share`
    /// changes it.
    access: watch::Sender<Role>,
}

impl Bridge {
    /// Reads frames until the browser leaves, the writer ends, or the
    /// token that admitted the viewer ends (revoked, signed out, or a
    /// guest link's expiry).
    async fn read(
        mut self,
        mut stream: Stream,
        mut writer: JoinHandle<()>,
        close_tx: mpsc::Sender<(u16, String)>,
    ) {
        let mut changes = self.app.registry.changes();
        let mut revocations = self.app.revocations.subscribe();
        let guest_expires_at = match &self.viewer {
            Viewer::Guest(guest) => Some(guest.expires_at),
            Viewer::User { .. } => None,
        };
        let expiry = guest_expires_at.map_or(Duration::MAX, |at| {
            Duration::from_secs((at - now()).max(0) as u64)
        });
        let expired = tokio::time::sleep(expiry.min(Duration::from_secs(400 * 86_400)));
        tokio::pin!(expired);
        self.publish_participants().await;
        let flow = loop {
            let flow = tokio::select! {
                _ = &mut writer => break Flow::End,
                frame = stream.next() => match frame {
                    None => Flow::End,
                    Some(Err(error)) => too_big_or_gone(&error),
                    Some(Ok(frame)) => self.frame(frame).await,
                },
                changed = changes.changed() => {
                    if changed.is_ok() {
                        self.publish_participants().await;
                    }
                    Flow::Continue
                }
                _ = revocations.changed() => self.check_admission().await,
                _ = &mut expired, if guest_expires_at.is_some() => {
                    Flow::Close(close::REVOKED, "the guest link expired".into())
                }
            };
            match flow {
                Flow::Continue => {}
                other => break other,
            }
        };
        let how = if let Flow::Close(code, reason) = flow {
            tracing::info!(session = %self.entry.label(), code, %reason, "closing WebSocket");
            let how = format!("closed: {reason}");
            finish(close_tx, writer, code, reason).await;
            how
        } else {
            writer.abort();
            "closed".to_string()
        };
        self.client.finish(&how).await;
    }

    /// Handles one frame from the browser.
    async fn frame(&mut self, frame: Message) -> Flow {
        match frame {
            Message::Binary(bytes) => {
                metrics::counter!(metric::INPUT_BYTES, "transport" => "websocket")
                    .increment(bytes.len() as u64);
                let writing = *self.access.borrow() == Role::Writer;
                if writing && self.client.attachment.input(bytes).await.is_err() {
                    return Flow::End;
                }
                Flow::Continue
            }
            Message::Text(text) => match ClientText::parse(&text) {
                Ok(Some(ClientText::Resize { cols, rows })) => {
                    if let Some(size) = ClientText::size(cols, rows)
                        && self.client.attachment.resize(size).await.is_err()
                    {
                        return Flow::End;
                    }
                    Flow::Continue
                }
                Ok(Some(ClientText::Signal { signal })) => self.signal(&signal).await,
                Ok(None) => Flow::Continue,
                Err(error) => Flow::Close(close::MALFORMED, format!("malformed message: {error}")),
            },
            Message::Close(_) => Flow::End,
            Message::Ping(_) | Message::Pong(_) => Flow::Continue,
        }
    }

    /// A signal message: passed to the program's process group for a
    /// writer (audited), ignored for anyone else and for a name that is
    /// not a signal.
    async fn signal(&mut self, name: &str) -> Flow {
        if *self.access.borrow() != Role::Writer {
            tracing::debug!("a reader's signal message ignored");
            return Flow::Continue;
        }
        let signal = match parse_signal(name) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::debug!(%error, "a signal message ignored");
                return Flow::Continue;
            }
        };
        let (app, who) = (&self.app, self.viewer.name());
        if let Err(error) = manage::signal(app, who, &self.entry, signal, Transport::Web).await {
            tracing::debug!(%error, "a signal message not delivered");
        }
        Flow::Continue
    }

    /// Sends the participants to the browser if they changed, and this
    /// browser's role if `share` changed it.
    async fn publish_participants(&mut self) {
        let Ok(status) = self.entry.link.status().await else {
            return;
        };
        let me = Some(self.client.attachment.id.0);
        if let Some(mine) = status.participants.iter().find(|p| p.client == me) {
            self.access.send_if_modified(|role| {
                let changed = *role != mine.role;
                *role = mine.role;
                changed
            });
        }
        let text = ServerText::participants(&status.participants).to_json();
        self.people.send_if_modified(|shown| {
            if shown.as_deref() == Some(text.as_str()) {
                return false;
            }
            *shown = Some(text);
            true
        });
    }

    /// After a token was revoked somewhere: is the one that admitted this
    /// viewer still live?
    async fn check_admission(&self) -> Flow {
        match self
            .app
            .store
            .token_is_live(self.viewer.admitted_by(), now())
            .await
        {
            Ok(true) => Flow::Continue,
            Ok(false) => {
                let reason = match self.viewer {
                    Viewer::Guest(_) => "the guest link was revoked",
                    Viewer::User { .. } => "signed out",
                };
                Flow::Close(close::REVOKED, reason.into())
            }
            Err(error) => {
                tracing::warn!(%error, "cannot check the token that admitted a WebSocket");
                Flow::Continue
            }
        }
    }
}

/// A read error: a frame over the limit closes with 1009; anything else
/// means the browser is gone.
fn too_big_or_gone(error: &axum::Error) -> Flow {
    let text = error.to_string();
    if text.contains("too long") || text.contains("Space limit") || text.contains("too big") {
        Flow::Close(
            close::TOO_BIG,
            format!("message larger than {} bytes", protocol::MAX_MESSAGE_BYTES),
        )
    } else {
        Flow::End
    }
}

/// Asks the writer to close with `code` and waits (briefly) for it.
async fn finish(
    close_tx: mpsc::Sender<(u16, String)>,
    mut writer: JoinHandle<()>,
    code: u16,
    reason: String,
) {
    let _ = close_tx.try_send((code, reason));
    if tokio::time::timeout(CLOSE_WAIT, &mut writer).await.is_err() {
        writer.abort();
    }
}
