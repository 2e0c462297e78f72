//! What the screen model reports back through its listener (the title,
//! the bell) and the timeout it is built with (none: foyer keeps
//! synchronized-output frames itself).
//!
//! Must not hold the listener's lock across anything but a field update.

use std::sync::{Arc, Mutex, PoisonError};

use alacritty_terminal::event::{Event, EventListener};
use alacritty_terminal::vte::ansi::Timeout;

/// What the model reports through its listener.
#[derive(Default)]
pub(super) struct Reports {
    pub(super) title: String,
    pub(super) attention: bool,
}

/// The model calls its listener through `&self`; only this terminal holds
/// the other end, and never across an await.
#[derive(Clone, Default)]
pub(super) struct Listener(Arc<Mutex<Reports>>);

impl Listener {
    pub(super) fn reports(&self) -> std::sync::MutexGuard<'_, Reports> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl EventListener for Listener {
    fn send_event(&self, event: Event) {
        match event {
            Event::Title(title) => {
                // Control characters in a title could inject sequences on
                // reattach.
                self.reports().title = title
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(512)
                    .collect();
            }
            Event::ResetTitle => self.reports().title.clear(),
            Event::Bell => self.reports().attention = true,
            // Queries never reach the model (the filter answers them).
            _ => {}
        }
    }
}

/// Synchronized output (DECSET 2026) is the hub's to hold, per client: the
/// model applies every byte at once, so the screen and the cursor a query
/// reads are always current. (Public for tests that model a client
/// terminal without synchronized-output support.)
#[derive(Default)]
pub struct NoSyncBuffering;

impl Timeout for NoSyncBuffering {
    fn set_timeout(&mut self, _: std::time::Duration) {}
    fn clear_timeout(&mut self) {}
    fn pending_timeout(&self) -> bool {
        false
    }
}
