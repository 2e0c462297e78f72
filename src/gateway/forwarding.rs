//! Forwarding (SPEC section 11): an SSH client attached to one session
//! hears, as an OSC 9 desktop notification written to its own terminal,
//! when another session its user may write to starts wanting attention.
//! The notice goes through the session host, which writes it where the
//! attached program's output stands between escape sequences and
//! characters, so the program's screen is never disturbed.
//!
//! Owns the choice of who hears of what and the notice's bytes. Must not
//! write to a client itself (the host places the notice) or wait on
//! anything the transport waits on: it runs in a task of its own, ended
//! when the client detaches.

use bytes::Bytes;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

use super::attachment::Notices;
use super::attention::AttentionRaised;
use super::{App, Registry, SessionEntry};
use crate::gateway::access::access_of;
use crate::store::User;

/// Starts forwarding other sessions' attention to a client attached to
/// `attached`, when `notify.forward` is on and the session's host takes
/// notices; the caller aborts the task when the client detaches.
pub async fn start(
    app: &App,
    user: &User,
    attached: &SessionEntry,
    notices: Notices,
) -> Option<JoinHandle<()>> {
    if !app.config.notify.forward {
        return None;
    }
    let status = attached.link.status().await.ok()?;
    if !status.attention_commands {
        return None;
    }
    let mut events = app.attention.subscribe();
    let (registry, user, attached) = (app.registry.clone(), user.clone(), attached.record.id);
    Some(tokio::spawn(async move {
        loop {
            let event = match events.recv().await {
                Ok(event) => event,
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "attention notices missed by a slow client");
                    continue;
                }
                Err(RecvError::Closed) => return,
            };
            if event.session != attached
                && may_write(&registry, &user, &event).await
                && notices.send(notice_bytes(&event)).await.is_err()
            {
                return;
            }
        }
    }))
}

/// Whether `user` may write to the session of `event`.
async fn may_write(registry: &Registry, user: &User, event: &AttentionRaised) -> bool {
    let Some(entry) = registry.find(&event.owner, &event.name).await else {
        return false;
    };
    entry.record.id == event.session && access_of(user, &entry).is_some_and(|a| a.can_write())
}

/// `OSC 9 ; OWNER/NAME: MESSAGE BEL` (the message is cleaned: no control
/// character can end the sequence early).
pub fn notice_bytes(event: &AttentionRaised) -> Bytes {
    Bytes::from(format!("\x1b]9;{}\x07", event.text()))
}
