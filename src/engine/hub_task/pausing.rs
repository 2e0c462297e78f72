//! Pausing, resuming and signalling the program (SPEC §4): the hub stops
//! and continues the program's process group through its runtime's
//! control (as it hangs it up), keeps whether it is paused for `ls`, and
//! tells attached clients once, over the bottom row of their screen; on
//! resume every client gets a fresh view, which redraws that row.
//!
//! Must not wait: signals go through `Control`, which never blocks.

use nix::sys::signal::Signal as SystemSignal;

use super::Hub;
use crate::engine::clients::Delivery;
use crate::engine::program::Signal;
use crate::wire::ClientId;
use crate::wire::control::{ControlError, paused_notice};

impl Hub {
    /// Stops (`paused`) or continues the program's process group.
    pub(super) fn pause(&mut self, paused: bool) -> Result<(), ControlError> {
        let Some(running) = &mut self.running else {
            return Err(ControlError::Exited);
        };
        if self.paused == paused {
            return Err(if paused {
                ControlError::AlreadyPaused
            } else {
                ControlError::NotPaused
            });
        }
        let signal = if paused {
            Signal::Stop
        } else {
            Signal::Continue
        };
        running
            .control
            .signal(signal)
            .map_err(|error| ControlError::Failed(error.to_string()))?;
        self.paused = paused;
        tracing::info!(session = %self.identity.label, paused, "program paused or resumed");
        self.changes.notify();
        if paused {
            let clients: Vec<ClientId> = self.outboxes.keys().copied().collect();
            for client in clients {
                self.tell_paused(client);
            }
        } else {
            self.with_deliveries(|table, out| table.refresh_all(out));
        }
        Ok(())
    }

    /// Sends `signal` to the program's process group.
    pub(super) fn signal(&mut self, signal: SystemSignal) -> Result<(), ControlError> {
        let Some(running) = &mut self.running else {
            return Err(ControlError::Exited);
        };
        tracing::info!(session = %self.identity.label, ?signal, "signalling the program");
        running
            .control
            .signal(Signal::Deliver(signal))
            .map_err(|error| ControlError::Failed(error.to_string()))
    }

    /// Shows a client that the program is paused.
    pub(super) fn tell_paused(&mut self, client: ClientId) {
        let (Some(outbox), Some(size)) =
            (self.outboxes.get(&client), self.table.client_size(client))
        else {
            return;
        };
        // Your own session by NAME, anyone else's by OWNER/NAME, as the
        // exit notice says it.
        let label = &self.identity.label;
        let shown = match label.split_once('/') {
            Some((owner, name)) if owner == outbox.who.name => name,
            _ => label.as_str(),
        };
        let bytes = paused_notice(shown, size.rows).into();
        self.deliver(Delivery::view(client, bytes, false));
    }
}
