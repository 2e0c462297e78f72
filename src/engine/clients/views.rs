//! What each client is sent next: a fresh view (an exact snapshot, or a
//! paint for a client of another size), the next paint once the last was
//! written, and, before a view, the scrollback lines the client's terminal
//! missed (`owed`), a page at a time. Part of `ClientTable`.
//!
//! Must not do I/O: deliveries go into `out`.

use super::owed;
use super::{ClientTable, Delivery, Feed};
use crate::engine::render;
use crate::engine::terminal::HistoryMark;
use crate::wire::{ClientId, Size};

impl ClientTable {
    /// The client's writer wrote the last delivery that asked for an ack.
    pub fn acked(&mut self, id: ClientId, out: &mut Vec<Delivery>) {
        let pty_size = self.pty_size();
        let holding = self.holding();
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        let Feed::Paint {
            in_flight,
            dirty,
            seen,
            ..
        } = &mut client.feed
        else {
            return;
        };
        *in_flight = false;
        if holding {
            // The next view goes out when the frame closes.
        } else if client.size == pty_size {
            // Caught up at the PTY's size: back to raw bytes, after the
            // lines it missed and one exact snapshot, so the stream
            // continues from a known state.
            let seen = *seen;
            self.catch_up_to_raw(id, seen, out);
        } else if *dirty {
            self.paint_if_ready(id, out);
        }
    }

    /// Sends a client of the PTY's size the lines it is owed since `seen`
    /// and an exact snapshot; it gets raw bytes from there. Owed more than
    /// a page, it gets a page and stays painted until the last.
    fn catch_up_to_raw(&mut self, id: ClientId, seen: HistoryMark, out: &mut Vec<Delivery>) {
        let size = self.pty_size();
        let page = owed::page(&self.terminal, seen, size.cols, self.catch_up_bytes);
        if page.more {
            self.send_history_page(id, size, page, out);
            return;
        }
        let bytes = render::caught_up_snapshot(&self.terminal, &page.lines);
        let mut start = self.raw_start();
        start.seen = page.seen_after;
        if let Some(client) = self.clients.get_mut(&id) {
            client.go_raw(id, start, bytes, out);
        }
    }

    /// A page of owed history alone; the client's view follows the pages.
    fn send_history_page(
        &mut self,
        id: ClientId,
        viewport: Size,
        page: owed::Owed,
        out: &mut Vec<Delivery>,
    ) {
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        let mut bytes = Vec::new();
        render::history_page(&page.lines, viewport, &mut bytes);
        client.feed = Feed::Paint {
            painted: None,
            in_flight: true,
            dirty: true,
            seen: page.seen_after,
        };
        out.push(Delivery::view(id, bytes.into(), true));
    }

    /// The client could not take the delivery that started at `from` (its
    /// raw bytes) or another: it gets paints from now on, starting after
    /// the `ack` the hub queued for it, with the lines its terminal missed.
    pub fn fell_behind(&mut self, id: ClientId, from: Option<HistoryMark>) {
        let now = self.terminal.history_mark();
        if let Some(client) = self.clients.get_mut(&id) {
            let seen = match (&client.feed, from) {
                (Feed::Paint { seen, .. }, _) => *seen,
                (Feed::Raw { .. }, Some(from)) => from,
                _ => now,
            };
            client.feed = Feed::Paint {
                painted: None,
                in_flight: true,
                dirty: true,
                seen,
            };
        }
    }

    /// Sends a client a fresh view and picks its feed for the current size.
    /// A client still waiting for an acknowledgement (a paint or marker not
    /// yet written) gets its fresh view when that comes instead: views
    /// queued behind it would pile up in its outbox with every resize.
    pub(super) fn start_client(
        &mut self,
        id: ClientId,
        scrollback: usize,
        out: &mut Vec<Delivery>,
    ) {
        let pty_size = self.pty_size();
        let start = self.raw_start();
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        if let Feed::Paint {
            painted,
            in_flight: true,
            dirty,
            ..
        } = &mut client.feed
        {
            *painted = None;
            *dirty = true;
            return;
        }
        if self.terminal.sync_frame().is_some() {
            client.feed = Feed::Waiting { scrollback };
            return;
        }
        let size = client.size;
        if size == pty_size {
            let bytes = render::exact_snapshot(&mut self.terminal, scrollback);
            client.go_raw(id, start, bytes, out);
        } else {
            let mut bytes = Vec::new();
            let painted = render::fresh_paint(&mut self.terminal, size, scrollback, &mut bytes);
            client.feed = Feed::Paint {
                painted: Some(painted),
                in_flight: true,
                dirty: false,
                seen: start.seen,
            };
            out.push(Delivery::view(id, bytes.into(), true));
        }
    }

    pub(super) fn paint_if_ready(&mut self, id: ClientId, out: &mut Vec<Delivery>) {
        if self.holding() {
            return;
        }
        let Some(client) = self.clients.get(&id) else {
            return;
        };
        let Feed::Paint {
            in_flight: false,
            dirty: true,
            seen,
            ..
        } = client.feed
        else {
            return;
        };
        let size = client.size;
        let width = size.cols.min(self.pty_size().cols);
        let page = owed::page(&self.terminal, seen, width, self.catch_up_bytes);
        if page.more {
            self.send_history_page(id, size, page, out);
            return;
        }
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        let Feed::Paint {
            painted,
            in_flight,
            dirty,
            seen,
        } = &mut client.feed
        else {
            return;
        };
        let mut bytes = Vec::new();
        let fresh = if page.lines.is_empty() {
            render::paint(&self.terminal, size, painted.as_ref(), &mut bytes)
        } else {
            render::caught_up_paint(&self.terminal, size, &page.lines, &mut bytes)
        };
        *painted = Some(fresh);
        *in_flight = true;
        *dirty = false;
        *seen = page.seen_after;
        out.push(Delivery::view(id, bytes.into(), true));
    }
}
