//! Where a session's program runs. A runtime starts a program on a PTY and
//! hands back a [`Process`]: its output, its input, and a small control
//! surface (resize, signal, exit status). The hub drives a `Process` and
//! never knows which runtime made it.
//!
//! [`Runtime`] is the one chosen at start (`runtime.kind`): the local PTY
//! runtime (`local`, optionally as each user's OS account) or each user's
//! Docker container (`docker`), or, with `[cluster]`, a session host
//! task of a Docker Swarm (`swarm`). Callers ask it where a user's programs run
//! ([`Runtime::account_for`]) and what to start for one
//! ([`Runtime::program`]: a resolved local program, or an exec created in
//! the user's container), which the session host then starts
//! (`local::start_program`, `docker::start_exec`) and hands to the engine
//! as a `Process` (`engine::program`).
//!
//! Must not know about clients, screens or the database.

pub mod account;
pub mod as_user;
pub mod docker;
pub mod local;
pub mod swarm;
pub mod user_command;

use std::path::PathBuf;

pub use crate::engine::program::{Control, Process, Signal};
use crate::runtime::account::HostAccount;
use crate::wire::launch::Program;
pub use crate::wire::launch::SpawnSpec;

#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("cannot start `{program}`: {source}")]
    Start {
        program: String,
        source: pty_process::Error,
    },
    #[error("cannot open a PTY: {0}")]
    Pty(pty_process::Error),
    #[error("cannot open a PTY: {0}")]
    PtyHandle(std::io::Error),
    #[error("working directory {path} is not usable: {source}")]
    Cwd {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("there is no OS account named {user} on this host")]
    NoOsAccount { user: String },
    #[error("cannot read the OS account {user}: {source}")]
    OsAccount { user: String, source: nix::Error },
    #[error(transparent)]
    Docker(#[from] docker::DockerError),
    /// The session host did not start (its words, or why it could not).
    #[error("{0}")]
    Host(String),
}

/// Whose program is started: the session's owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// The foyer user id (the Docker runtime derives the uid from it).
    pub id: i64,
    pub name: String,
}

/// The runtime sessions start in, chosen once at server start. Cheap to
/// clone.
#[derive(Clone)]
pub enum Runtime {
    Local(local::LocalRuntime),
    Docker(docker::DockerRuntime),
    /// Session hosts as swarm tasks; programs run inside them.
    Swarm(swarm::SwarmRuntime),
}

impl Runtime {
    /// The name recorded in a session's `runtime` column.
    pub fn kind(&self) -> &'static str {
        match self {
            Runtime::Local(_) => "local",
            Runtime::Docker(_) => "docker",
            Runtime::Swarm(_) => "swarm",
        }
    }

    /// The account `owner`'s programs run as: user name, home and shell as
    /// seen by the program.
    pub fn account_for(&self, owner: &Owner) -> Result<HostAccount, SpawnError> {
        match self {
            Runtime::Local(local) => local.account_for(owner),
            Runtime::Docker(docker) => Ok(docker.account_for(owner)),
            Runtime::Swarm(swarm) => Ok(swarm.account_for(owner)),
        }
    }

    /// Whether paths in [`HostAccount::home`] are on this host (and can be
    /// checked before starting).
    pub fn paths_are_local(&self) -> bool {
        matches!(self, Runtime::Local(_))
    }

    /// `serve --stop-sessions`: stop what runs outside the session hosts
    /// (users' containers), after the sessions were hung up.
    pub async fn shutdown(&self) {
        if let Runtime::Docker(docker) = self {
            docker.shutdown().await;
        }
    }

    /// What a session host runs for `spec` and `owner`, and what must be
    /// held while it runs. Docker may take seconds (creating the container
    /// and the exec): call it from the requesting task, never from an actor
    /// others wait on.
    pub async fn program(
        &self,
        owner: &Owner,
        spec: SpawnSpec,
    ) -> Result<(Program, Option<Box<dyn Send + Sync>>), SpawnError> {
        match self {
            Runtime::Local(local) => Ok((Program::Local(local.program(owner, &spec)?), None)),
            Runtime::Docker(docker) => {
                let (exec, lease) = docker.prepare(owner, spec).await?;
                Ok((Program::DockerExec(exec), Some(Box::new(lease))))
            }
            Runtime::Swarm(swarm) => Ok((Program::Local(swarm.program(spec)), None)),
        }
    }

    /// What must be held for a session of `owner`'s that an earlier
    /// gateway started and this one adopts.
    pub async fn adopt(&self, owner: &Owner) -> Option<Box<dyn Send + Sync>> {
        match self {
            Runtime::Local(_) | Runtime::Swarm(_) => None,
            Runtime::Docker(docker) => match docker.lease_for(owner).await {
                Ok(lease) => Some(Box::new(lease)),
                Err(error) => {
                    tracing::warn!(user = %owner.name, %error, "cannot lease the container of an adopted session");
                    None
                }
            },
        }
    }
}
