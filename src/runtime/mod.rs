//! Where a session's program runs. A runtime starts a program on a PTY and
//! hands back a [`Process`]: its output, its input, and a small control
//! surface (resize, signal, exit status). The hub drives a `Process` and
//! never knows which runtime made it.
//!
//! Must not know about clients, screens or the database.

pub mod local;

use std::path::PathBuf;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::oneshot;

use crate::session::Size;

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
