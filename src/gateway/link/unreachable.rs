//! A session whose host runs on a machine this gateway cannot reach just
//! now (SPEC 13): shown `unreachable` with the host's last status, while
//! a task tries to connect again every [`RETRY`]. When the host answers,
//! the link goes back to it (the same program, the same screen); when the
//! host is gone for good (nothing listens on its node any more, the host
//! does not know the session, or the swarm says its task has ended), the
//! session has exited, status unknown.
//!
//! Must not record anything: the link does, if it keeps the books.

use std::time::Duration;

use tokio::sync::mpsc;

use super::handle::Command;
use super::{Host, Link, State};
use crate::clock::unix_now;
use crate::engine::hub::AttachError;
use crate::gateway::books::Keeper;
use crate::gateway::host_connection::HostConnection;
use crate::runtime::swarm::HostTask;
use crate::runtime::swarm::{SwarmRuntime, TaskWhere};
use crate::store::{SessionId, Store};
use crate::transport::HostAddress;
use crate::wire::control::ControlError;
use crate::wire::protocol::ProtocolError;
use crate::wire::{FinalScreen, HubStatus, Size};

/// How often an unreachable host is tried again.
const RETRY: Duration = Duration::from_secs(2);

/// What a link keeps of a host it cannot reach.
pub(super) struct Unreachable {
    pub(super) service: Option<String>,
    /// The host's last status, marked unreachable.
    pub(super) status: HubStatus,
}

impl Unreachable {
    pub(super) fn new(service: Option<String>, mut status: HubStatus) -> Unreachable {
        status.unreachable = true;
        status.writers = 0;
        status.observers = 0;
        status.participants.clear();
        Unreachable { service, status }
    }
}

impl Link {
    /// Serves a command while the host cannot be reached; false once the
    /// session is killed.
    pub(super) fn command_unreachable(&mut self, command: Command) -> bool {
        let State::Unreachable(state) = &self.state else {
            return true;
        };
        match command {
            Command::Reconnected(connection) => {
                tracing::info!(session = %self.identity.label, "session host reachable again");
                let mut connection = *connection;
                connection.task = state.service.clone().map(|service| HostTask {
                    address: String::new(),
                    service,
                });
                self.first_status = Some(connection.status.clone());
                self.state = State::Host(Box::new(Host::new(connection, self.me.clone())));
                self.context.changes.notify();
            }
            Command::HostGone => {
                let service = state.service.clone();
                if let Keeper::Mine(fence) = self.context.books.keeper(service.as_deref()) {
                    self.record_exit(None, fence);
                }
                self.show_exited(None, unix_now(), None);
                self.context.changes.notify();
            }
            // The program cannot be reached to end it: the session goes,
            // and its host with its task when the node is back (a swarm
            // task whose service is removed).
            Command::Kill => return false,
            other => serve_unreachable(state, other),
        }
        true
    }
}

/// Serves a command while the host cannot be reached: its status, and a
/// refusal for everything that needs the host.
pub(super) fn serve_unreachable(state: &Unreachable, command: Command) {
    match command {
        Command::Status(reply) => {
            let _ = reply.send(state.status.clone());
        }
        Command::Attach { reply, .. } => {
            let _ = reply.send(Err(AttachError::Unreachable));
        }
        Command::Pause { reply, .. }
        | Command::Signal { reply, .. }
        | Command::Notify { reply, .. }
        | Command::Ack { reply, .. } => {
            let _ = reply.send(Err(ControlError::Unreachable));
        }
        // Everything else waits on the host: its asker hears the session
        // is gone for now (the reply is dropped).
        _ => {}
    }
}

/// Connects to `address` again every [`RETRY`] until the host answers
/// (then [`Command::Reconnected`]) or is gone for good
/// ([`Command::HostGone`]); stops when the link has gone.
pub(super) fn reconnect(
    address: HostAddress,
    service: Option<String>,
    swarm: Option<SwarmRuntime>,
    link: mpsc::WeakSender<Command>,
) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(RETRY).await;
            let Some(to_link) = link.upgrade() else {
                return;
            };
            let word = match HostConnection::connect(&address).await {
                Ok(connection) => Command::Reconnected(Box::new(connection)),
                Err(error) if gone_for_good(&error, service.as_deref(), swarm.as_ref()).await => {
                    tracing::info!(host = %address, %error, "an unreachable session host is gone for good");
                    Command::HostGone
                }
                Err(_) => continue,
            };
            let _ = to_link.send(word).await;
            return;
        }
    });
}

/// How long a gateway waits for the keeper of a host's books to store an
/// exited session's last screen.
const SCREEN_WAIT: Duration = Duration::from_secs(10);

/// Reads the last screen of session `id`, which another gateway carried
/// off and stores, for the link to show ([`Command::ExitedScreen`]).
pub(super) fn load_exited_screen(
    store: &Store,
    id: SessionId,
    status: Option<i32>,
    link: mpsc::WeakSender<Command>,
) {
    let store = store.clone();
    tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + SCREEN_WAIT;
        let screen = loop {
            match store.exited_screen(id).await {
                Ok(Some(screen)) => break screen,
                _ if tokio::time::Instant::now() >= deadline => return,
                _ => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        };
        let screen = FinalScreen {
            size: Size {
                rows: screen.rows,
                cols: screen.cols,
            },
            snapshot: screen.snapshot,
        };
        if let Some(link) = link.upgrade() {
            let _ = link.send(Command::ExitedScreen { screen, status }).await;
        }
    });
}

/// Whether a failed connection means the host will not come back: its
/// node answers but nothing listens (the task's container has ended), the
/// host does not know the session, or the swarm says the task ended.
async fn gone_for_good(
    error: &ProtocolError,
    service: Option<&str>,
    swarm: Option<&SwarmRuntime>,
) -> bool {
    if let ProtocolError::Io(io) = error
        && matches!(
            io.kind(),
            std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound
        )
    {
        return true;
    }
    match (service, swarm) {
        (Some(service), Some(swarm)) => {
            matches!(swarm.locate(service).await, Ok(TaskWhere::Gone(_)))
        }
        _ => false,
    }
}
