//! The session's screen and its attached clients, as a pure state machine:
//! program output, attaches, detaches, resizes and write acknowledgements
//! go in; bytes for each client, answers for the program and PTY size
//! changes come out.
//!
//! A client of the PTY's size that keeps up gets the program's raw bytes.
//! A client of another size, or one that fell behind, gets paints of the
//! screen (the top-left part that fits), one at a time: the next is made
//! only once the previous one was written, so a slow client gets fewer,
//! larger updates and never holds the program up.
//!
//! Owns no I/O: no channels, no PTY, no clock. `hub.rs` drives it.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::render::{self, Painted};
use super::terminal::{Size, Terminal};
use crate::config::SizePolicy;

/// Identifies one attached client within its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ClientId(pub u64);

/// What an attached client may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Types into the program and takes part in sizing it.
    Writer,
    /// Only watches.
    Observer,
}

/// Bytes for one client. When `ack` is set the client's writer reports back
/// once they are written, which lets the next paint go out.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub client: ClientId,
    pub bytes: Bytes,
    pub ack: bool,
}

enum Feed {
    /// Gets the program's bytes as they come.
    Raw {
        /// Attached while the alternate screen was up: the client never saw
        /// the main screen, so it is repainted when the program leaves.
        main_screen_unseen: bool,
    },
    /// Gets paints; at most one unacknowledged at a time.
    Paint {
        painted: Option<Painted>,
        in_flight: bool,
        dirty: bool,
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
    fn go_raw(
        &mut self,
        id: ClientId,
        alternate: bool,
        snapshot: Vec<u8>,
        out: &mut Vec<Delivery>,
    ) {
        self.feed = Feed::Raw {
            main_screen_unseen: alternate,
        };
        out.push(Delivery {
            client: id,
            bytes: snapshot.into(),
            ack: false,
        });
    }
}

pub struct ClientTable {
    terminal: Terminal,
    clients: BTreeMap<ClientId, Client>,
    policy: SizePolicy,
    attach_scrollback: usize,
    sizing_counter: u64,
    pass_through: Vec<u8>,
}

impl ClientTable {
    pub fn new(
        size: Size,
        scrollback_lines: usize,
        attach_scrollback: usize,
        policy: SizePolicy,
    ) -> Self {
        ClientTable {
            terminal: Terminal::new(size, scrollback_lines),
            clients: BTreeMap::new(),
            policy,
            attach_scrollback,
            sizing_counter: 0,
            pass_through: Vec::new(),
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

    /// Processes program output; `replies` gets answers to its queries.
    pub fn output(&mut self, chunk: &[u8], out: &mut Vec<Delivery>, replies: &mut Vec<u8>) {
        let was_alternate = self.terminal.screen().alternate_screen();
        self.pass_through.clear();
        self.terminal
            .process(chunk, &mut self.pass_through, replies);
        let left_alternate = was_alternate && !self.terminal.screen().alternate_screen();
        let raw =
            (!self.pass_through.is_empty()).then(|| Bytes::copy_from_slice(&self.pass_through));
        let ids: Vec<ClientId> = self.clients.keys().copied().collect();
        for id in ids {
            let client = self.clients.get_mut(&id).expect("id from keys");
            match &mut client.feed {
                Feed::Raw { main_screen_unseen } => {
                    if let Some(bytes) = &raw {
                        out.push(Delivery {
                            client: id,
                            bytes: bytes.clone(),
                            ack: false,
                        });
                    }
                    if left_alternate && std::mem::take(main_screen_unseen) {
                        let snapshot = render::exact_snapshot(&mut self.terminal, 0);
                        out.push(Delivery {
                            client: id,
                            bytes: snapshot.into(),
                            ack: false,
                        });
                    }
                }
                Feed::Paint { dirty, .. } => {
                    *dirty = true;
                    self.paint_if_ready(id, out);
                }
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
            },
            last_sized: self.sizing_counter,
        };
        self.clients.insert(id, client);
        if !self.apply_size_policy(out) {
            self.start_client(id, self.attach_scrollback, out);
        }
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

    /// The client's writer wrote the last delivery that asked for an ack.
    pub fn acked(&mut self, id: ClientId, out: &mut Vec<Delivery>) {
        let pty_size = self.pty_size();
        let alternate = self.terminal.screen().alternate_screen();
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        if let Feed::Paint {
            in_flight, dirty, ..
        } = &mut client.feed
        {
            *in_flight = false;
            // Caught up at the PTY's size: back to raw bytes, after one
            // exact snapshot so the stream continues from a known state.
            if client.size == pty_size {
                let bytes = render::exact_snapshot(&mut self.terminal, 0);
                client.go_raw(id, alternate, bytes, out);
            } else if *dirty {
                self.paint_if_ready(id, out);
            }
        }
    }

    /// The client could not take more bytes: it gets paints from now on,
    /// starting after the `ack` the hub queued for it.
    pub fn fell_behind(&mut self, id: ClientId) {
        if let Some(client) = self.clients.get_mut(&id) {
            client.feed = Feed::Paint {
                painted: None,
                in_flight: true,
                dirty: true,
            };
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

    /// Sends a client a fresh view and picks its feed for the current size.
    fn start_client(&mut self, id: ClientId, scrollback: usize, out: &mut Vec<Delivery>) {
        let pty_size = self.pty_size();
        let alternate = self.terminal.screen().alternate_screen();
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        let size = client.size;
        if size == pty_size {
            let bytes = render::exact_snapshot(&mut self.terminal, scrollback);
            client.go_raw(id, alternate, bytes, out);
        } else {
            let mut bytes = Vec::new();
            let painted = render::fresh_paint(&mut self.terminal, size, scrollback, &mut bytes);
            client.feed = Feed::Paint {
                painted: Some(painted),
                in_flight: true,
                dirty: false,
            };
            out.push(Delivery {
                client: id,
                bytes: bytes.into(),
                ack: true,
            });
        }
    }

    fn paint_if_ready(&mut self, id: ClientId, out: &mut Vec<Delivery>) {
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        let size = client.size;
        let Feed::Paint {
            painted,
            in_flight,
            dirty,
        } = &mut client.feed
        else {
            return;
        };
        if *in_flight || !*dirty {
            return;
        }
        let mut bytes = Vec::new();
        let fresh = render::paint(&self.terminal, size, painted.as_ref(), &mut bytes);
        *painted = Some(fresh);
        *in_flight = true;
        *dirty = false;
        out.push(Delivery {
            client: id,
            bytes: bytes.into(),
            ack: true,
        });
    }
}
