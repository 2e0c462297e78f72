//! Where a session's program runs. A runtime starts a program on a PTY and
//! hands back a [`Process`]: its output, its input, and a small control
//! surface (resize, signal, exit status). The hub drives a `Process` and
//! never knows which runtime made it.
//!
//! [`Runtime`] is the one chosen at start (`runtime.kind`): the local PTY
//! runtime (`local`, optionally as each user's OS account) or each user's
//! Docker container (`docker`). Callers ask it where a user's programs run
//! ([`Runtime::account_for`]) and to start one ([`Runtime::spawn`]).
//!
//! Must not know about clients, screens or the database.

pub mod docker;
pub mod local;

use std::path::PathBuf;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::oneshot;

use crate::session::Size;
use crate::session::launch::HostAccount;

/// What to start.
#[derive(Debug, Clone)]
pub struct SpawnSpec {
    /// Program and arguments; never empty.
    pub command: Vec<String>,
    pub cwd: PathBuf,
    /// The complete environment of the program.
    pub env: Vec<(String, String)>,
    pub size: Size,
}

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
}

impl Runtime {
    /// The name recorded in a session's `runtime` column.
    pub fn kind(&self) -> &'static str {
        match self {
            Runtime::Local(_) => "local",
            Runtime::Docker(_) => "docker",
        }
    }

    /// The account `owner`'s programs run as: user name, home and shell as
    /// seen by the program.
    pub fn account_for(&self, owner: &Owner) -> Result<HostAccount, SpawnError> {
        match self {
            Runtime::Local(local) => local.account_for(owner),
            Runtime::Docker(docker) => Ok(docker.account_for(owner)),
        }
    }

    /// Whether paths in [`HostAccount::home`] are on this host (and can be
    /// checked before starting).
    pub fn paths_are_local(&self) -> bool {
        matches!(self, Runtime::Local(_))
    }

    /// The server is stopping: end what runs outside this process (users'
    /// containers). Local programs end with their hubs.
    pub async fn shutdown(&self) {
        if let Runtime::Docker(docker) = self {
            docker.shutdown().await;
        }
    }

    /// Starts `spec` for `owner`. Docker may take seconds (creating the
    /// container): call it from the requesting task, never from an actor
    /// others wait on.
    pub async fn spawn(&self, owner: &Owner, spec: SpawnSpec) -> Result<Process, SpawnError> {
        match self {
            Runtime::Local(local) => local.spawn(owner, &spec),
            Runtime::Docker(docker) => Ok(docker.spawn(owner, spec).await?),
        }
    }
}

/// Signals the hub sends to a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Hangup,
    Kill,
}

/// Controls a running program: implemented by each runtime.
pub trait Control: Send {
    fn resize(&mut self, size: Size) -> std::io::Result<()>;
    fn signal(&mut self, signal: Signal) -> std::io::Result<()>;
}

/// A started program.
pub struct Process {
    pub output: Box<dyn AsyncRead + Send + Unpin>,
    pub input: Box<dyn AsyncWrite + Send + Unpin>,
    pub control: Box<dyn Control>,
    /// Resolves with the exit status once the program ended (128 + signal
    /// number when a signal ended it, as shells report it).
    pub exit: oneshot::Receiver<i32>,
}
