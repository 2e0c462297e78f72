//! Bytes for one client's terminal only (a notification forwarded from
//! another session), put into its outbox at a point of the program's
//! output where they cannot change what the program draws: outside any
//! escape sequence and between characters. Until the output reaches such
//! a point, they wait.
//!
//! The program's clipboard writes (`OSC 52`) travel the same way, to the
//! clients of the person who typed last.
//!
//! Owns the waiting notices and who typed last. Must not count them as the program's output
//! (they are not on its screen) or switch a client to screen sync for
//! them: a notice that does not fit in a client's budget is dropped.

use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::Hub;
use crate::engine::hub::ClientMessage;
use crate::wire::ClientId;

/// Notices waiting for a safe point, at most; older ones are dropped.
const WAITING_NOTICES: usize = 16;

impl Hub {
    /// A notice for `client`: written now if the output stands at a safe
    /// point, else once it does.
    pub(super) fn notice(&mut self, client: ClientId, bytes: Bytes) {
        if self.notices.len() >= WAITING_NOTICES {
            self.notices.remove(0);
        }
        self.notices.push((client, bytes));
        self.deliver_notices();
    }

    /// Remembers whose input the program received last.
    pub(super) fn note_typer(&mut self, client: ClientId) {
        if let Some(outbox) = self.outboxes.get(&client)
            && self.last_typer.as_deref() != Some(outbox.who.name.as_str())
        {
            self.last_typer = Some(outbox.who.name.clone());
        }
    }

    /// The program's clipboard writes go to the clients of the person who
    /// typed last (SPEC section 11), never to anyone else; with nobody
    /// having typed, to nobody.
    pub(super) fn route_clipboard(&mut self) {
        let writes = self.table.terminal_mut().take_clipboard();
        if writes.is_empty() {
            return;
        }
        let Some(person) = &self.last_typer else {
            tracing::debug!(session = %self.identity.label, "clipboard write before anyone typed; dropped");
            return;
        };
        let theirs: Vec<ClientId> = self
            .outboxes
            .iter()
            .filter(|(_, outbox)| outbox.who.name == *person)
            .map(|(id, _)| *id)
            .collect();
        for write in writes {
            let write = Bytes::from(write);
            for client in &theirs {
                self.notice(*client, write.clone());
            }
        }
    }

    /// Writes the waiting notices if the program's output stands between
    /// sequences and characters.
    pub(super) fn deliver_notices(&mut self) {
        if self.notices.is_empty() || !self.table.terminal().at_safe_point() {
            return;
        }
        for (client, bytes) in std::mem::take(&mut self.notices) {
            self.deliver_notice(client, bytes);
        }
    }

    fn deliver_notice(&mut self, client: ClientId, bytes: Bytes) {
        let Some(outbox) = self.outboxes.get(&client) else {
            return;
        };
        let queued = outbox.queued_bytes.load(Ordering::Acquire);
        // Two slots stay free: the marker that brings a lagging client
        // back needs one.
        if queued + bytes.len() > self.settings.client_buffer || outbox.tx.capacity() <= 2 {
            tracing::debug!(session = %self.identity.label, "client busy; notice dropped");
            return;
        }
        outbox.queued_bytes.fetch_add(bytes.len(), Ordering::AcqRel);
        let len = bytes.len();
        let message = ClientMessage::Output { bytes, ack: false };
        if outbox.tx.try_send(message).is_err() {
            outbox.queued_bytes.fetch_sub(len, Ordering::AcqRel);
        }
    }
}
