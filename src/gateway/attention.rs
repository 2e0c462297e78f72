//! The gateway's stream of "this session started wanting attention"
//! events (SPEC section 11): the session links publish one each time a
//! session's attention goes from clear to set; whoever tells people
//! (SSH forwarding, webhooks, the browser's events) subscribes.
//!
//! Owns only the channel. It must not decide who may hear of a session:
//! each subscriber checks its own person's access. A subscriber that
//! falls behind loses the oldest events (a notice is worth less than the
//! byte path), never slows a link.

use tokio::sync::broadcast;

use crate::wire::SessionId;

/// Events held for a subscriber that has not read them yet.
const EVENTS_HELD: usize = 256;

/// A session started wanting attention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttentionRaised {
    pub session: SessionId,
    pub owner: String,
    pub name: String,
    /// The cleaned message; `None` for a bell.
    pub message: Option<String>,
    /// When it was raised (Unix seconds).
    pub since: i64,
}

impl AttentionRaised {
    /// `OWNER/NAME`.
    pub fn label(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    /// One readable line: `OWNER/NAME: MESSAGE`, or for a bell
    /// `OWNER/NAME wants attention`.
    pub fn text(&self) -> String {
        match &self.message {
            Some(message) => format!("{}: {message}", self.label()),
            None => format!("{} wants attention", self.label()),
        }
    }
}

/// The sending side, shared by every link; cheap to clone.
#[derive(Clone)]
pub struct AttentionEvents {
    tx: broadcast::Sender<AttentionRaised>,
}

impl AttentionEvents {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(EVENTS_HELD);
        AttentionEvents { tx }
    }

    /// Tells every subscriber; never waits (nobody listening is fine).
    pub fn publish(&self, event: AttentionRaised) {
        let _ = self.tx.send(event);
    }

    /// Events published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<AttentionRaised> {
        self.tx.subscribe()
    }
}

impl Default for AttentionEvents {
    fn default() -> Self {
        AttentionEvents::new()
    }
}
