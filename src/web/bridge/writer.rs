//! The bridge's writer: the only task that writes to a browser's socket.
//! It writes the hub's messages in order and reports each one written
//! (the hub's back-pressure), sends participant updates and changes of
//! this browser's access (latest value only) and the final close frame.
//!
//! Must not wait on anything but the socket and its own inputs, and must
//! not let one write hang for ever: a browser that takes longer than
//! [`SEND_TIMEOUT`] for one message is dropped.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::SinkExt;
use futures_util::stream::SplitSink;
use tokio::sync::{mpsc, watch};

use super::super::protocol::{ServerText, access_word, close};
use crate::engine::ClientMessage;
use crate::gateway::attach::ClientFeed;
use crate::wire::Role;

/// A browser that takes longer than this to take one message is dropped.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a close frame may take to go out.
pub(super) const CLOSE_WAIT: Duration = Duration::from_secs(2);

pub(super) type Sink = SplitSink<WebSocket, Message>;

pub(super) async fn send(sink: &mut Sink, message: Message) -> Result<(), ()> {
    match tokio::time::timeout(SEND_TIMEOUT, sink.send(message)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

pub(super) async fn send_close(sink: &mut Sink, code: u16, reason: &str) -> Result<(), ()> {
    // A close reason is at most 123 bytes.
    let reason: String = reason.chars().take(100).collect();
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let result = tokio::time::timeout(CLOSE_WAIT, sink.send(Message::Close(Some(frame)))).await;
    matches!(result, Ok(Ok(()))).then_some(()).ok_or(())
}

/// What the bridge's reader tells the browser besides the hub's output,
/// latest value only.
pub(super) struct Notices {
    /// The participants message, once there is one.
    pub(super) people: watch::Receiver<Option<String>>,
    /// This browser's role: a change is told as an `access` message.
    pub(super) access: watch::Receiver<Role>,
}

/// Writes the hub's messages, participant and access updates and the
/// final close to the browser, in order; reports each hub message once
/// written.
pub(super) async fn write_messages(
    mut sink: Sink,
    mut feed: ClientFeed,
    notices: Notices,
    mut closing: mpsc::Receiver<(u16, String)>,
    label: String,
) {
    let Notices {
        mut people,
        mut access,
    } = notices;
    loop {
        tokio::select! {
            biased;
            request = closing.recv() => {
                if let Some((code, reason)) = request {
                    let _ = send_close(&mut sink, code, &reason).await;
                }
                return;
            }
            Ok(()) = people.changed() => {
                let text = people.borrow_and_update().clone();
                if let Some(text) = text
                    && send(&mut sink, Message::Text(text.into())).await.is_err()
                {
                    return;
                }
            }
            Ok(()) = access.changed() => {
                let access = ServerText::Access {
                    access: access_word(*access.borrow_and_update()),
                };
                if send(&mut sink, Message::Text(access.to_json().into())).await.is_err() {
                    return;
                }
            }
            message = feed.next() => {
                let Some(message) = message else {
                    let _ = send_close(&mut sink, close::KILLED, "the session was killed").await;
                    return;
                };
                if !deliver(&mut sink, &message, &label).await {
                    return;
                }
                if feed.written(&message).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Writes one hub message; false when the connection is over.
async fn deliver(sink: &mut Sink, message: &ClientMessage, label: &str) -> bool {
    match message {
        ClientMessage::Output { bytes, .. } => {
            send(sink, Message::Binary(bytes.clone())).await.is_ok()
        }
        ClientMessage::Marker => true,
        ClientMessage::Exited { status } => {
            let exit = ServerText::Exit { status: *status }.to_json();
            let _ = send(sink, Message::Text(exit.into())).await;
            let reason = format!("{label} exited");
            let _ = send_close(sink, close::EXITED, &reason).await;
            false
        }
        ClientMessage::Closed => {
            let _ = send_close(sink, close::KILLED, "the session was killed").await;
            false
        }
        ClientMessage::Revoked => {
            let reason = format!("your access to {label} was revoked");
            let _ = send_close(sink, close::REVOKED, &reason).await;
            false
        }
    }
}
