//! A link's part in keeping its session's books (SPEC 13): whether this
//! gateway records the session's exit, activity and final screen (the
//! holder of its host's lease, `gateway::books`), doing so when it takes
//! the books over, and recording where a new host runs.
//!
//! Must not take or renew leases (`gateway::books` does).

use tokio::time::Instant;

use super::host::Pending;
use super::{Link, State};
use crate::gateway::books::Keeper;
use crate::gateway::host_connection::HostConnection;
use crate::store::SessionHost;
use crate::store::notices::{Change, Notice};
use crate::wire::protocol::ToHost;

impl Link {
    /// The program exited: if this gateway keeps the host's books, the
    /// exit is recorded and the final screen carried off; otherwise that
    /// waits until it takes them over (the keeper does it meanwhile).
    pub(super) fn exited_if_mine(&mut self) {
        let State::Host(host) = &mut self.state else {
            return;
        };
        if !host.exit_pending {
            return;
        }
        let Keeper::Mine(fence) = self.context.books.keeper(host.service.as_deref()) else {
            return;
        };
        host.exit_pending = false;
        host.carrying_off = true;
        host.request(Pending::CarryOff, |request| ToHost::FinalScreen { request });
        let code = host.status.exit_status;
        self.record_exit(code, fence);
    }

    /// The leases held changed: if this gateway now keeps this host's
    /// books, it records what happened while nobody did (the last
    /// activity, an exit).
    pub(super) fn took_over_books(&mut self) {
        let State::Host(host) = &self.state else {
            return;
        };
        let last_active = host.status.last_active;
        if let Keeper::Mine(fence) = self.keeper() {
            self.persisted_activity = Some(Instant::now());
            self.context
                .records
                .touched(self.identity.id, last_active, fence);
        }
        self.exited_if_mine();
    }

    /// The keeper of this session's books: this gateway (with the fence
    /// to write under) or another.
    pub(super) fn keeper(&self) -> Keeper {
        let service = match &self.state {
            State::Host(host) => host.service.as_deref(),
            _ => None,
        };
        self.context.books.keeper(service)
    }

    /// Records where a newly started host runs, so any gateway finds it.
    pub(super) fn record_placement(&self, connection: &HostConnection) {
        let host = connection.task.as_ref().map(|task| SessionHost {
            service: task.service.clone(),
            address: task.address.clone(),
        });
        let then = Notice {
            from: self.context.gateway.to_string(),
            change: Change::Session(self.identity.id.0),
        };
        self.context.records.placed(self.identity.id, host, then);
    }
}
