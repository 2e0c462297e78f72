//! The session's screen and its attached clients, as a pure state machine:
//! program output, attaches, detaches, resizes and write acknowledgements
//! go in; bytes for each client, answers for the program and PTY size
//! changes come out.
//!
//! A client of the PTY's size that keeps up gets the program's raw bytes.
//! A client of another size, or one that fell behind, gets paints of the
//! screen (the top-left part that fits), one at a time: the next is made
//! only once the previous one was written, so a slow client gets fewer,
//! larger updates and never holds the program up. Before such a view, the
//! scrollback lines that scrolled off since the client's terminal last
//! saw the screen go into that terminal's history (`owed`), so its
//! history holds every line in order all the same.
//!
//! Owns no I/O: no channels, no PTY, no clock. The hub's task
//! (`hub_task.rs`, with `hub_task/delivery.rs`) drives it.

use std::collections::BTreeMap;

use bytes::Bytes;

mod owed;
mod views;

use super::render::Painted;
use super::terminal::{HistoryMark, Terminal};
use crate::wire::{ClientId, Role, Size, SizePolicy};

/// Bytes for one client. When `ack` is set the client's writer reports back
/// once they are written, which lets the next paint go out.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub client: ClientId,
    pub bytes: Bytes,
    pub ack: bool,
    /// For the program's raw bytes: where the scrollback stood when the
    /// first of them was written, which is where the client's terminal
    /// stays if they cannot be delivered.
    pub history_from: Option<HistoryMark>,
}

impl Delivery {
    /// Bytes that are not the program's raw output.
    pub fn view(client: ClientId, bytes: Bytes, ack: bool) -> Delivery {
        Delivery {
            client,
            bytes,
            ack,
            history_from: None,
        }
    }
}

enum Feed {
    /// Gets the program's bytes as they come.
    Raw {
        /// Attached while the alternate screen was up: the client never saw
        /// the main screen, so it is repainted when the program leaves.
        main_screen_unseen: bool,
        /// Where this client starts in the output held for an open
        /// synchronized frame (it attached after the rest was held).
        held_from: usize,
        /// Where the scrollback stood at the start of the bytes it has not
        /// been sent yet.
        seen: HistoryMark,
    },
    /// Attached (or restarted) while a synchronized frame was open: gets
    /// its first view, with `scrollback` lines, once the frame closes or is
    /// given up on, so it never starts from half a frame.
    Waiting { scrollback: usize },
    /// Gets paints; at most one unacknowledged at a time.
    Paint {
        painted: Option<Painted>,
        in_flight: bool,
        dirty: bool,
        /// The scrollback lines up to here are in its terminal's history.
        seen: HistoryMark,
    },
}

struct Client {
    role: Role,
    size: Size,
    feed: Feed,
    /// Order of the last attach or resize, for the `latest` size policy.
    last_sized: u64,
}

impl Client {
    /// Sends an exact snapshot, after which the client gets raw bytes.
    fn go_raw(&mut self, id: ClientId, view: RawStart, snapshot: Vec<u8>, out: &mut Vec<Delivery>) {
        let RawStart {
            alternate,
            held_len,
            seen,
        } = view;
        self.feed = Feed::Raw {
            main_screen_unseen: alternate,
            held_from: held_len,
            seen,
        };
        out.push(Delivery::view(id, snapshot.into(), false));
    }
}

/// Where a client's raw stream starts: the screen it was shown, and how much
/// held output that view already contains.
#[derive(Clone, Copy)]
struct RawStart {
    alternate: bool,
    held_len: usize,
    /// The scrollback lines the client's terminal holds up to.
    seen: HistoryMark,
}

/// Output held for an open synchronized frame beyond this is let through:
/// real frames are far smaller.
const MAX_HELD_BYTES: usize = 1 << 20;

pub struct ClientTable {
    terminal: Terminal,
    /// Output held back from raw clients while a synchronized frame is open.
    held: Vec<u8>,
    clients: BTreeMap<ClientId, Client>,
    policy: SizePolicy,
    attach_scrollback: usize,
    /// The most bytes of owed scrollback lines sent with one view.
    catch_up_bytes: usize,
    sizing_counter: u64,
    /// A copy of what each output passes on (queries and clipboard writes
    /// removed), kept while someone `watch`es without a terminal.
    copy: Option<Vec<u8>>,
}

impl ClientTable {
    /// A table for a terminal of `size`; a view sends at most
    /// `catch_up_bytes` of owed scrollback lines (the newest).
    pub fn new(
        size: Size,
        (scrollback_lines, attach_scrollback): (usize, usize),
        policy: SizePolicy,
        catch_up_bytes: usize,
    ) -> Self {
        ClientTable {
            terminal: Terminal::new(size, scrollback_lines),
            held: Vec::new(),
            clients: BTreeMap::new(),
            policy,
            attach_scrollback,
            catch_up_bytes,
            sizing_counter: 0,
            copy: None,
        }
    }

    /// Starts (or stops) keeping a copy of what each output passes on.
    pub fn keep_copy(&mut self, keep: bool) {
        if keep != self.copy.is_some() {
            self.copy = keep.then(Vec::new);
        }
    }

    /// What the outputs passed on since the last call, when kept.
    pub fn take_copy(&mut self) -> Vec<u8> {
        self.copy.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Gives back memory kept for output to come (see
    /// [`Terminal::release_spare_memory`]): for a session gone quiet.
    pub fn release_spare_memory(&mut self) {
        self.terminal.release_spare_memory();
        if self.held.is_empty() {
            self.held = Vec::new();
        }
    }

    pub fn terminal(&self) -> &Terminal {
        &self.terminal
    }

    pub fn terminal_mut(&mut self) -> &mut Terminal {
        &mut self.terminal
    }

    pub fn pty_size(&self) -> Size {
        self.terminal.size()
    }

    pub fn len(&self) -> usize {
        self.clients.len()
    }

    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    pub fn role(&self, id: ClientId) -> Option<Role> {
        self.clients.get(&id).map(|c| c.role)
    }

    pub fn count(&self, role: Role) -> usize {
        self.clients.values().filter(|c| c.role == role).count()
    }

    /// A client's terminal size.
    pub fn client_size(&self, id: ClientId) -> Option<Size> {
        self.clients.get(&id).map(|c| c.size)
    }

    /// Sends every client a fresh view, as after a resize: something was
    /// drawn over their screens (the paused notice).
    pub fn refresh_all(&mut self, out: &mut Vec<Delivery>) {
        let ids: Vec<ClientId> = self.clients.keys().copied().collect();
        for id in ids {
            self.start_client(id, 0, out);
        }
    }

    /// True while a synchronized-output frame is open: clients are sent
    /// nothing until it closes, so they never see half a frame.
    pub fn holding(&self) -> bool {
        self.terminal.sync_frame().is_some()
    }

    fn raw_start(&self) -> RawStart {
        RawStart {
            alternate: self.terminal.alternate_screen(),
            held_len: self.held.len(),
            seen: self.terminal.history_mark(),
        }
    }

    /// Processes program output; `replies` gets answers to its queries.
    pub fn output(&mut self, chunk: &[u8], out: &mut Vec<Delivery>, replies: &mut Vec<u8>) {
        let exits = self.terminal.alternate_exits();
        let start = self.held.len();
        self.terminal.process(chunk, &mut self.held, replies);
        if let Some(copy) = &mut self.copy {
            copy.extend_from_slice(&self.held[start..]);
        }
        let closed_at = self.terminal.take_frame_closed_at();
        if self.terminal.alternate_exits() != exits {
            self.repaint_unseen_main_screens();
        }
        if self.holding() && self.held.len() > MAX_HELD_BYTES {
            self.terminal.give_up_sync_frame();
        }
        for client in self.clients.values_mut() {
            if let Feed::Paint { dirty, .. } = &mut client.feed {
                *dirty = true;
            }
        }
        if !self.holding() {
            self.release(out);
        } else if let Some((end, mark)) = closed_at {
            self.release_closed_frame(end, mark, out);
        }
    }

    /// A frame closed and the next one opened in the same output: raw
    /// clients get what was held up to the close at once, as when a frame
    /// closes at the end of the output; the rest stays held. (Paint
    /// clients and those waiting for a first view wait for the open one.)
    fn release_closed_frame(&mut self, end: usize, mark: HistoryMark, out: &mut Vec<Delivery>) {
        let end = end.min(self.held.len());
        let shared = Bytes::copy_from_slice(&self.held[..end]);
        self.held.drain(..end);
        for (id, client) in &mut self.clients {
            if let Feed::Raw {
                held_from, seen, ..
            } = &mut client.feed
            {
                let from = (*held_from).min(end);
                *held_from = held_from.saturating_sub(end);
                if from < end {
                    out.push(Delivery {
                        client: *id,
                        bytes: shared.slice(from..),
                        ack: false,
                        history_from: Some(*seen),
                    });
                    *seen = mark;
                }
            }
        }
    }

    /// The program kept a synchronized frame open past `sync_timeout`:
    /// send what it drew so far, and stop holding that frame (its output
    /// flows; a frame the program opens after it is held again).
    pub fn give_up_sync_frame(&mut self, out: &mut Vec<Delivery>) {
        if self.holding() {
            self.terminal.give_up_sync_frame();
            self.release(out);
        }
    }

    /// Sends held output to raw clients and paints the others.
    fn release(&mut self, out: &mut Vec<Delivery>) {
        let shared = Bytes::from(std::mem::take(&mut self.held));
        let mark = self.terminal.history_mark();
        let ids: Vec<ClientId> = self.clients.keys().copied().collect();
        for id in ids {
            let client = self.clients.get_mut(&id).expect("id from keys");
            match &mut client.feed {
                Feed::Raw {
                    held_from, seen, ..
                } => {
                    let from = std::mem::take(held_from).min(shared.len());
                    if from < shared.len() {
                        out.push(Delivery {
                            client: id,
                            bytes: shared.slice(from..),
                            ack: false,
                            history_from: Some(*seen),
                        });
                        *seen = mark;
                    }
                }
                Feed::Paint { .. } => self.paint_if_ready(id, out),
                Feed::Waiting { scrollback } => {
                    let scrollback = *scrollback;
                    self.start_client(id, scrollback, out);
                }
            }
        }
    }

    /// Clients that attached on the alternate screen never saw the main
    /// screen the program just returned to: they are painted afresh.
    fn repaint_unseen_main_screens(&mut self) {
        for client in self.clients.values_mut() {
            if let Feed::Raw {
                main_screen_unseen: true,
                seen,
                ..
            } = client.feed
            {
                client.feed = Feed::Paint {
                    painted: None,
                    in_flight: false,
                    dirty: true,
                    seen,
                };
            }
        }
    }

    /// Attaches a client and returns what it must be sent first. The PTY
    /// size may change as a result; see [`ClientTable::pty_size`].
    pub fn attach(&mut self, id: ClientId, role: Role, size: Size, out: &mut Vec<Delivery>) {
        self.sizing_counter += 1;
        let client = Client {
            role,
            size,
            feed: Feed::Raw {
                main_screen_unseen: false,
                held_from: 0,
                seen: self.terminal.history_mark(),
            },
            last_sized: self.sizing_counter,
        };
        self.clients.insert(id, client);
        if !self.apply_size_policy(out) {
            self.start_client(id, self.attach_scrollback, out);
        }
    }

    /// Changes a client's role (a writer whose write access was taken
    /// away becomes an observer); the PTY size may change as a result.
    pub fn set_role(&mut self, id: ClientId, role: Role, out: &mut Vec<Delivery>) {
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        if client.role == role {
            return;
        }
        client.role = role;
        self.apply_size_policy(out);
    }

    /// Removes a client; the PTY size may change as a result.
    pub fn detach(&mut self, id: ClientId, out: &mut Vec<Delivery>) {
        if self.clients.remove(&id).is_some() {
            self.apply_size_policy(out);
        }
    }

    /// Forgets every client (the program ended); the PTY keeps its size.
    pub fn detach_all(&mut self) {
        self.clients.clear();
    }

    /// A client's terminal changed size.
    pub fn resize(&mut self, id: ClientId, size: Size, out: &mut Vec<Delivery>) {
        self.sizing_counter += 1;
        let counter = self.sizing_counter;
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        if client.size == size {
            return;
        }
        client.size = size;
        client.last_sized = counter;
        if !self.apply_size_policy(out) {
            self.start_client(id, 0, out);
        }
    }

    /// Chooses the PTY size from the attached writers. Returns true if it
    /// changed, in which case every client was restarted at the new size.
    fn apply_size_policy(&mut self, out: &mut Vec<Delivery>) -> bool {
        let writers = self.clients.values().filter(|c| c.role == Role::Writer);
        let wanted = match self.policy {
            SizePolicy::Smallest => writers.map(|c| c.size).reduce(|a, b| Size {
                rows: a.rows.min(b.rows),
                cols: a.cols.min(b.cols),
            }),
            SizePolicy::Largest => writers.map(|c| c.size).reduce(|a, b| Size {
                rows: a.rows.max(b.rows),
                cols: a.cols.max(b.cols),
            }),
            SizePolicy::Latest => writers.max_by_key(|c| c.last_sized).map(|c| c.size),
        };
        let Some(wanted) = wanted.filter(|w| *w != self.pty_size()) else {
            return false;
        };
        self.terminal.resize(wanted);
        let ids: Vec<ClientId> = self.clients.keys().copied().collect();
        for id in ids {
            self.start_client(id, 0, out);
        }
        true
    }
}
