//! Change signals for what `ls` and the picker show, so a live view can
//! redraw when the data changes instead of polling on a timer.
//!
//! [`Changes`] is one counter for all sessions, bumped when a session is
//! created or removed, a client attaches or detaches, a program exits or
//! restarts, attention is set or cleared, or a session's activity time
//! moves to a new second. A hub's screen has its own signal (see
//! `HubHandle::screen_changes`), bumped on every output it shows.
//!
//! Must not carry data: a receiver learns only that something changed,
//! then asks the registry and the hubs, which stay the owners of the state.

use std::sync::Arc;

use tokio::sync::watch;

/// Bumped whenever the list of sessions or their shown status changes.
#[derive(Clone)]
pub struct Changes {
    counter: Arc<watch::Sender<u64>>,
}

impl Changes {
    pub fn new() -> Self {
        let (counter, _) = watch::channel(0);
        Changes {
            counter: Arc::new(counter),
        }
    }

    /// Tells every subscriber that something changed. Never waits.
    pub fn notify(&self) {
        self.counter.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver whose `changed()` resolves after the next `notify`.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.counter.subscribe()
    }
}

impl Default for Changes {
    fn default() -> Self {
        Changes::new()
    }
}

impl std::fmt::Debug for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Changes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_subscriber_sees_a_notification_made_after_it_subscribed() {
        let changes = Changes::new();
        let mut receiver = changes.subscribe();
        assert!(!receiver.has_changed().unwrap());
        changes.clone().notify();
        assert!(receiver.has_changed().unwrap());
        receiver.changed().await.unwrap();
        assert!(!receiver.has_changed().unwrap());
    }
}
