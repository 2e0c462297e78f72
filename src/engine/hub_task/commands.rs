//! The hub's command dispatch: each [`Command`] from a `HubHandle` to the
//! method of the hub that serves it, with its reply.
//!
//! Must not hold logic of its own beyond the writer check on input: the
//! methods it calls do the work.

use super::Hub;
use crate::engine::hub::Command;
use crate::wire::{AttentionCleared, Role};

impl Hub {
    pub(super) fn handle(&mut self, command: Command) {
        match command {
            Command::Attach {
                who,
                role,
                size,
                upgradable,
                reply,
            } => {
                let _ = reply.send(self.attach_client(who, role, size, upgradable));
            }
            Command::Watch { who, reply } => {
                let _ = reply.send(self.watch(who));
            }
            Command::Detach(id) => self.detach(id),
            Command::Input(id, bytes) => {
                if self.table.role(id) == Some(Role::Writer) {
                    self.note_typer(id);
                    self.write_to_program(bytes);
                    self.note_activity();
                }
            }
            Command::Send(bytes) => {
                self.write_to_program(bytes);
                self.note_activity();
            }
            Command::Notice(id, bytes) => self.notice(id, bytes),
            Command::Resize(id, size) => {
                self.with_deliveries(|table, out| table.resize(id, size, out))
            }
            Command::Written(id) => self.with_deliveries(|table, out| table.acked(id, out)),
            Command::Capture {
                scrollback,
                ansi,
                reply,
            } => {
                let _ = reply.send(self.capture(scrollback, ansi));
            }
            Command::Status(reply) => {
                let _ = reply.send(self.status());
            }
            Command::Preview(reply) => {
                let _ = reply.send(self.preview());
            }
            Command::FinalScreen(reply) => {
                let _ = reply.send(self.final_screen());
            }
            Command::AccessChanged {
                user,
                allowed,
                reply,
            } => {
                self.access_changed(&user, allowed);
                let _ = reply.send(());
            }
            Command::Kill => self.kill(),
            Command::Hangup => self.hang_up(),
            Command::Pause { paused, reply } => {
                let _ = reply.send(self.pause(paused));
            }
            Command::Signal { signal, reply } => {
                let _ = reply.send(self.signal(signal));
            }
            Command::Shutdown => self.shutting_down = true,
            Command::Notify { message, reply } => {
                let _ = reply.send(self.notify_running(&message));
            }
            Command::Ack { user, reply } => {
                let _ = reply.send(self.clear_attention(AttentionCleared::Acknowledged { user }));
            }
        }
    }
}
