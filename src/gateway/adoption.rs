//! What a starting gateway finds: each session recorded as running is
//! adopted (its host outlived the last gateway), shown as exited when its
//! host is gone (recorded so) or does not answer (never taken for gone),
//! and a host no session is recorded for is killed.
//!
//! Must not start anything: hosts are only connected to, or killed.

use super::hosting::HostStarter;
use super::link::{LinkContext, LinkStart, kill_host};
use crate::clock::unix_now;
use crate::gateway::host_connection::HostConnection;
use crate::runtime::Owner;
use crate::runtime::Runtime;
use crate::runtime::swarm::{HostTask, TaskWhere};
use crate::store::SessionHost;
use crate::store::{SessionRecord, SessionState};
use crate::transport::{HostAddress, Route};
use crate::wire::launch::{session_of_socket, socket_path};
use crate::wire::protocol::ProtocolError;

/// How a recorded session carries on: its host adopted, or exited.
pub(super) async fn adopt(
    context: &LinkContext,
    starter: &HostStarter,
    record: &SessionRecord,
) -> LinkStart {
    let exited = |status| LinkStart::Exited {
        status,
        last_active: record.last_active_at,
        seed: None,
    };
    if record.state == SessionState::Exited {
        if record.host.is_some() {
            // Its host was remote: the gateway that kept the books stored
            // the last screen for every gateway.
            return LinkStart::Exited {
                status: record.exit_status,
                last_active: record.last_active_at,
                seed: stored_screen(context, record).await,
            };
        }
        return exited(record.exit_status);
    }
    let label = format!("{}/{}", record.owner, record.name);
    if let Some(host) = &record.host {
        return adopt_remote(context, starter, record, host, &label).await;
    }
    let socket = socket_path(&starter.hosts, record.id.0);
    match connect_for_adoption(&HostAddress::Local(socket.clone())).await {
        Ok(mut connection) => {
            tracing::info!(session = %label, pid = ?connection.hello.program_pid, "session adopted");
            let owner = Owner {
                id: record.owner_id.0,
                name: record.owner.clone(),
            };
            connection.lease = starter.runtime.adopt(&owner).await;
            LinkStart::Host {
                connection: Box::new(connection),
            }
        }
        Err(error @ ProtocolError::Version { .. }) => {
            // Never kill what we do not understand: a gateway that serves
            // this host's protocol adopts it later.
            tracing::warn!(session = %label, %error, "cannot serve this session's host; it keeps running, shown as exited");
            exited(None)
        }
        Err(error) if !host_is_gone(&error) => {
            // Alive but not answering (a machine under heavy load, a
            // stopped host): never take it for gone; the next start asks
            // again.
            tracing::warn!(session = %label, %error, "session's host does not answer; shown as exited until the next start");
            exited(None)
        }
        Err(error) => {
            tracing::info!(session = %label, %error, "session's host is gone; marked exited");
            let _ = std::fs::remove_file(&socket);
            if let Err(error) = context.store.set_exited(record.id, None, unix_now()).await {
                tracing::error!(session = %label, %error, "cannot record exit");
            }
            exited(None)
        }
    }
}

/// Adopts a session whose host is a swarm task. Whether a host that does
/// not answer is gone is the swarm's word (its task ended), never a
/// refused connection's: a node cut off from this gateway still runs it.
async fn adopt_remote(
    context: &LinkContext,
    starter: &HostStarter,
    record: &SessionRecord,
    host: &SessionHost,
    label: &str,
) -> LinkStart {
    let exited = |status| LinkStart::Exited {
        status,
        last_active: record.last_active_at,
        seed: None,
    };
    let Runtime::Swarm(swarm) = &starter.runtime else {
        tracing::warn!(session = %label, service = %host.service, "the session's host is a swarm task, but [cluster] is off; shown as exited");
        return exited(None);
    };
    let address = swarm.address(&host.address, Route::Session(record.id.0));
    let error = match connect_for_adoption(&address).await {
        Ok(mut connection) => {
            tracing::info!(session = %label, host = %address, pid = ?connection.hello.program_pid, "session adopted");
            connection.task = Some(HostTask {
                service: host.service.clone(),
                address: host.address.clone(),
            });
            return LinkStart::Host {
                connection: Box::new(connection),
            };
        }
        Err(error) => error,
    };
    match swarm.locate(&host.service).await {
        Ok(TaskWhere::Gone(why)) => {
            tracing::info!(session = %label, %error, %why, "session's host task is gone; marked exited");
            if let Err(error) = context.store.set_exited(record.id, None, unix_now()).await {
                tracing::error!(session = %label, %error, "cannot record exit");
            }
            exited(None)
        }
        Ok(_) | Err(_) => {
            // Cut off, not gone: shown unreachable and tried again.
            tracing::warn!(session = %label, %error, "session's host task cannot be reached");
            LinkStart::Unreachable {
                address,
                service: host.service.clone(),
                last_active: record.last_active_at,
            }
        }
    }
}

/// Connects to a host for adoption. One try: every session's is made at
/// once, and a host that does not answer in time would otherwise hold up
/// the whole start.
async fn connect_for_adoption(address: &HostAddress) -> Result<HostConnection, ProtocolError> {
    HostConnection::connect(address).await
}

/// Whether a failed connection means nobody listens on the socket any
/// more (the host died, or the machine restarted).
fn host_is_gone(error: &ProtocolError) -> bool {
    match error {
        ProtocolError::Io(error) => matches!(
            error.kind(),
            std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
        ),
        ProtocolError::Closed => true,
        _ => false,
    }
}

/// Kills the hosts in the hosts directory that no recorded session owns
/// (a session deleted while its gateway was down), and removes dead
/// hosts' sockets.
pub(super) async fn kill_unrecorded_hosts(starter: &HostStarter, records: &[SessionRecord]) {
    let Ok(entries) = std::fs::read_dir(&starter.hosts) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(id) = session_of_socket(&path) else {
            continue;
        };
        if records.iter().any(|r| r.id.0 == id) {
            continue;
        }
        match HostConnection::connect(&HostAddress::Local(path.clone())).await {
            Ok(connection) => {
                tracing::warn!(
                    session = id,
                    "killing a session host no session is recorded for"
                );
                kill_host(connection).await;
            }
            Err(ProtocolError::Version { .. }) => {}
            Err(_) => {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

/// An exited session's last screen, as stored by the keeper of its host's
/// books, if it was.
async fn stored_screen(
    context: &LinkContext,
    record: &SessionRecord,
) -> Option<crate::wire::FinalScreen> {
    let screen = context.store.exited_screen(record.id).await.ok()??;
    Some(crate::wire::FinalScreen {
        size: crate::wire::Size {
            rows: screen.rows,
            cols: screen.cols,
        },
        snapshot: screen.snapshot,
    })
}
