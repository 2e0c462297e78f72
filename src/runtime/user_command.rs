//! A short command to run as a session owner's account, and what it left
//! (`as_user` runs it on this host, `docker::helper` in a container).
//!
//! Must not run anything itself.

use std::time::Duration;

use bytes::Bytes;

/// `PATH` for these commands, on this host and in containers.
pub(crate) const HELPER_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// A command to run as the owner's account.
#[derive(Debug, Clone)]
pub struct UserCommand {
    pub argv: Vec<String>,
    /// Written to the command's stdin, which is then closed.
    pub stdin: Bytes,
    /// Stdout beyond this many bytes is not kept (and `truncated` says so).
    pub output_limit: usize,
    /// The command is killed after this long.
    pub timeout: Duration,
}

/// What a finished command left.
#[derive(Debug, Clone, Default)]
pub struct UserOutput {
    /// The exit status; 128 + N for a signal.
    pub status: i32,
    pub stdout: Vec<u8>,
    /// Whether stdout went past the limit (the rest was not read).
    pub truncated: bool,
    pub stderr: String,
}
