//! The hub's side facing clients: attaching, detaching, and putting bytes
//! into client outboxes without ever waiting on a client.
//!
//! Must not touch the program; a child of `hub_task`, it shares the `Hub`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::{Hub, OUTBOX_MESSAGES, Outbox};
use crate::engine::clients::{ClientTable, Delivery};
use crate::engine::hub::{Attachment, ClientLink, ClientMessage, Messages};
use crate::wire::Participant;
use crate::wire::Size;
use crate::wire::{AttentionCleared, ClientId, Role};

impl Hub {
    pub(super) fn with_deliveries(
        &mut self,
        act: impl FnOnce(&mut ClientTable, &mut Vec<Delivery>),
    ) {
        let mut deliveries = std::mem::take(&mut self.deliveries);
        let before = self.table.pty_size();
        act(&mut self.table, &mut deliveries);
        self.resize_program_if_changed(before);
        self.deliver_all(&mut deliveries);
        self.deliveries = deliveries;
        self.update_sync_deadline();
    }

    pub(super) fn resize_program_if_changed(&mut self, before: Size) {
        let after = self.table.pty_size();
        if after == before {
            return;
        }
        if let Some(running) = &mut self.running
            && let Err(error) = running.control.resize(after)
        {
            tracing::warn!(session = %self.identity.label, %error, "resizing the PTY failed");
        }
        if let Some(recorder) = &mut self.recorder {
            recorder.resize(after);
        }
    }

    pub(super) fn attach(
        &mut self,
        mut who: Participant,
        size: Size,
        upgradable: bool,
    ) -> Attachment {
        let role = who.role;
        let id = ClientId(self.next_client);
        self.next_client += 1;
        who.client = Some(id.0);
        let (tx, messages) = mpsc::channel(OUTBOX_MESSAGES);
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        if role == Role::Writer {
            let user = who.name.clone();
            self.clear_attention(AttentionCleared::Attached { user });
        }
        self.outboxes.insert(
            id,
            Outbox {
                tx,
                queued_bytes: queued_bytes.clone(),
                who,
                upgradable,
            },
        );
        self.with_deliveries(|table, out| table.attach(id, role, size, out));
        if self.paused {
            self.tell_paused(id);
        }
        self.changes.notify();
        if self.running.is_none() {
            // An exited session shows its last screen, then the exit.
            if let Some(outbox) = self.outboxes.remove(&id) {
                let _ = outbox.tx.try_send(ClientMessage::Exited {
                    status: self.exit_status,
                });
            }
            let mut ignored = Vec::new();
            self.table.detach(id, &mut ignored);
        }
        Attachment {
            id,
            role,
            messages: Some(Messages::from_outbox(messages)),
            link: ClientLink {
                queued_bytes,
                hub: self.handle.clone(),
            },
        }
    }

    /// Applies a change of `user`'s access to their attached clients.
    pub(super) fn access_changed(&mut self, user: &str, allowed: Option<Role>) {
        let theirs: Vec<ClientId> = self
            .outboxes
            .iter()
            .filter(|(_, outbox)| outbox.who.name == user)
            .map(|(id, _)| *id)
            .collect();
        if allowed.is_none() {
            self.watchers.retain(|(who, watcher)| {
                let keep = who != user;
                if !keep {
                    let _ = watcher.try_send(ClientMessage::Revoked);
                }
                keep
            });
        }
        for id in theirs {
            match allowed {
                None => {
                    if let Some(outbox) = self.outboxes.get(&id) {
                        let _ = outbox.tx.try_send(ClientMessage::Revoked);
                    }
                    self.detach(id);
                }
                Some(role) => self.set_role(id, role),
            }
        }
    }

    /// Makes a client a writer or an observer after a change of access: a
    /// writer made an observer may become a writer again; a client that
    /// chose to watch never does.
    fn set_role(&mut self, id: ClientId, role: Role) {
        let Some(outbox) = self.outboxes.get_mut(&id) else {
            return;
        };
        if outbox.who.role == role || (role == Role::Writer && !outbox.upgradable) {
            return;
        }
        outbox.upgradable = role == Role::Observer;
        outbox.who.role = role;
        self.with_deliveries(|table, out| table.set_role(id, role, out));
        self.changes.notify();
    }

    pub(super) fn detach(&mut self, id: ClientId) {
        if self.outboxes.remove(&id).is_some() {
            self.changes.notify();
        }
        self.with_deliveries(|table, out| table.detach(id, out));
    }

    pub(super) fn deliver_all(&mut self, deliveries: &mut Vec<Delivery>) {
        for delivery in deliveries.drain(..) {
            self.deliver(delivery);
        }
    }

    /// Puts bytes in a client's outbox without waiting. A client over its
    /// budget gets a marker instead and is switched to screen paints; the
    /// marker's acknowledgement brings it back with a fresh view. A client
    /// is never dropped for being slow.
    pub(super) fn deliver(&mut self, delivery: Delivery) {
        let Some(outbox) = self.outboxes.get(&delivery.client) else {
            return;
        };
        let len = delivery.bytes.len();
        let queued = outbox.queued_bytes.load(Ordering::Acquire);
        // One slot stays free for the marker that brings a lagging client back.
        let over_budget = queued + len > self.settings.client_buffer && !delivery.ack;
        if over_budget || outbox.tx.capacity() <= 1 {
            // With the last slot taken, a marker is already queued (nothing
            // else goes into it): its acknowledgement will do.
            if outbox.tx.try_send(ClientMessage::Marker).is_ok() {
                self.screen_sync_switches += 1;
            }
            self.table
                .fell_behind(delivery.client, delivery.history_from);
            return;
        }
        outbox.queued_bytes.fetch_add(len, Ordering::AcqRel);
        let message = ClientMessage::Output {
            bytes: delivery.bytes,
            ack: delivery.ack,
        };
        if outbox.tx.try_send(message).is_err() {
            // The client's front end went away; its Detach is on its way.
            outbox.queued_bytes.fetch_sub(len, Ordering::AcqRel);
        }
    }

    pub(super) fn deliver_to_watchers(&mut self, bytes: Bytes) {
        if self.watchers.is_empty() {
            return;
        }
        // A byte stream cannot be coalesced: a watcher that falls behind
        // is closed rather than allowed to hold memory.
        self.watchers.retain(|(_, watcher)| {
            watcher
                .try_send(ClientMessage::Output {
                    bytes: bytes.clone(),
                    ack: false,
                })
                .is_ok()
        });
    }
}
