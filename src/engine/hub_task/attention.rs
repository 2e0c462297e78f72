//! The session's want of attention (SPEC section 11): raised by the
//! program's bell or notification while no writer is attached, or by
//! `notify` whoever is attached; cleared by a writer attaching, by `ack`,
//! or by the program ending. A newer notification replaces the message
//! and keeps the first time.
//!
//! Owns the hub's attention fields. It must not tell anyone but the
//! status (the gateway's link audits and spreads what it sees there).

use super::Hub;
use crate::clock::unix_now;
use crate::engine::notification;
use crate::engine::terminal::Raised;
use crate::wire::control::ControlError;
use crate::wire::{AttentionCleared, Role};

/// A session wanting attention.
#[derive(Debug, Clone, Default)]
pub(super) struct Attention {
    /// What it wants attention for, while it does.
    pub(super) wanted: Option<Wanted>,
    /// Times it started wanting attention.
    pub(super) raised: u64,
    /// How it was cleared last.
    pub(super) cleared: Option<AttentionCleared>,
}

#[derive(Debug, Clone)]
pub(super) struct Wanted {
    pub(super) message: Option<String>,
    pub(super) since: i64,
}

impl Hub {
    /// The program rang the bell or wrote a notification: it marks the
    /// session unless a writer is attached (that writer sees it).
    pub(super) fn program_wants_attention(&mut self, raised: Raised) {
        if self.table.count(Role::Writer) == 0 {
            self.raise_attention(raised.message);
        }
    }

    /// `notify`: marks the session whoever is attached, while its
    /// program runs (its end clears the mark).
    pub(super) fn notify_running(&mut self, message: &str) -> Result<(), ControlError> {
        if self.running.is_none() {
            return Err(ControlError::Exited);
        }
        self.raise_attention(notification::clean(message.as_bytes()));
        Ok(())
    }

    fn raise_attention(&mut self, message: Option<String>) {
        let attention = &mut self.attention;
        match &mut attention.wanted {
            Some(wanted) => {
                if message.is_none() || wanted.message == message {
                    return;
                }
                wanted.message = message;
            }
            None => {
                attention.raised += 1;
                attention.wanted = Some(Wanted {
                    message,
                    since: unix_now(),
                });
            }
        }
        self.changes.notify();
    }

    /// Clears the mark; true if there was one.
    pub(super) fn clear_attention(&mut self, how: AttentionCleared) -> bool {
        if self.attention.wanted.take().is_none() {
            return false;
        }
        self.attention.cleared = Some(how);
        self.changes.notify();
        true
    }

    /// Whether the session wants attention now.
    pub(super) fn wants_attention(&self) -> bool {
        self.attention.wanted.is_some()
    }
}
