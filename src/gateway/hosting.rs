//! Starting a session's host, for a new session and for `restart`: asks
//! the runtime what to run (a resolved local program, or an exec created
//! in the user's container), builds the host's launch and starts it.
//!
//! Must not keep anything about the host it started: the session's link
//! owns the connection it returns.

use std::path::PathBuf;

use super::host_start;
use crate::engine::hub_task::HubIdentity;
use crate::engine::recording;
use crate::gateway::host_connection::HostConnection;
use crate::gateway::live::Live;
use crate::runtime::{Owner, Runtime, SpawnError, SpawnSpec};
use crate::wire::FinalScreen;
use crate::wire::HubSettings;
use crate::wire::launch::Launch;
use crate::wire::session::Recording;

/// Starts session hosts. Cheap to clone.
#[derive(Clone)]
pub struct HostStarter {
    pub runtime: Runtime,
    /// Where hosts' sockets live (`data/hosts`).
    pub hosts: PathBuf,
    pub settings: HubSettings,
    /// Where recordings go (`sessions.record`), or `None` to not record.
    pub recordings: Option<PathBuf>,
    pub log_level: String,
    pub log_json: bool,
    /// `sessions.max_clients` as last reloaded, for new sessions.
    pub live: Live,
}

impl HostStarter {
    /// Starts `spec` for `owner` as session `identity`, from `seed` (a
    /// restarted session's last screen).
    pub async fn start(
        &self,
        owner: &Owner,
        identity: &HubIdentity,
        spec: SpawnSpec,
        seed: Option<FinalScreen>,
    ) -> Result<HostConnection, SpawnError> {
        let mut spec = spec;
        if let Some(seed) = &seed {
            spec.size = seed.size;
        }
        let term = term_of(&spec);
        let (program, lease) = self.runtime.program(owner, spec).await?;
        let mut settings = self.settings.clone();
        settings.max_clients = self.live.borrow().max_clients;
        // The host runs in `/`: every path it gets is absolute.
        settings.recording = match self.recordings_directory() {
            Some(dir) => {
                let dir = std::path::absolute(&dir).map_err(|error| {
                    SpawnError::Host(format!("cannot resolve {}: {error}", dir.display()))
                })?;
                Some(Recording {
                    path: recording::path_for(&dir, &identity.label, identity.id.0),
                    term,
                })
            }
            None => None,
        };
        let launch = Launch {
            session_id: identity.id.0,
            label: identity.label.clone(),
            settings,
            program,
            seed,
            log_level: self.log_level.clone(),
            log_json: self.log_json,
        };
        let started = match &self.runtime {
            Runtime::Swarm(swarm) => host_start::start_on_swarm(swarm, owner, &launch).await,
            _ => host_start::start(&self.hosts, owner.id, &launch).await,
        };
        let mut connection = started.map_err(|error| SpawnError::Host(error.to_string()))?;
        connection.lease = lease;
        Ok(connection)
    }
}

impl HostStarter {
    /// Where the host writes recordings: the data directory's, or, in a
    /// swarm task, the task's own (docs/architecture.md "Many machines").
    fn recordings_directory(&self) -> Option<PathBuf> {
        let dir = self.recordings.clone()?;
        match &self.runtime {
            Runtime::Swarm(swarm) => swarm
                .records()
                .then(|| PathBuf::from(crate::runtime::swarm::TASK_RECORDINGS)),
            _ => Some(dir),
        }
    }
}

/// The `TERM` the program gets (what its recording's header names).
fn term_of(spec: &SpawnSpec) -> String {
    spec.env
        .iter()
        .rev()
        .find(|(key, _)| key == "TERM")
        .map(|(_, value)| value.clone())
        .unwrap_or_default()
}
