//! What a session host is started with: the [`Launch`] (settings, the
//! program as the gateway resolved it, the screen to start from), the
//! host's answer, and where its sockets live. Plain data (serde).
//!
//! Must not import anything of foyer outside `wire`, or start anything.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::session::{FinalScreen, HubSettings, Size};

/// The log every host appends to, in the hosts directory.
pub const LOG_FILE: &str = "hosts.log";

/// A host's answer to `Open::Start`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum StartReply {
    Ready,
    /// Why the session could not start (the user sees it).
    Failed(String),
}

/// Everything a session host needs to run a session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Launch {
    pub session_id: i64,
    /// `OWNER/NAME`, for logs.
    pub label: String,
    pub settings: HubSettings,
    pub program: Program,
    /// The screen to start from: a restarted session's last one.
    pub seed: Option<FinalScreen>,
    /// `log.level` and `log.format = "json"`, for the host's log.
    pub log_level: String,
    pub log_json: bool,
}

/// A short command for a host to run as its programs' account (the file
/// view and uploads, for a host on another machine, where no exec
/// reaches): answered with a [`RunReply`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunCommand {
    pub argv: Vec<String>,
    #[serde(with = "serde_bytes")]
    pub stdin: Vec<u8>,
    pub output_limit: u64,
    pub timeout_ms: u64,
}

/// What a [`RunCommand`] left, or why it could not run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum RunReply {
    Done {
        status: i32,
        #[serde(with = "serde_bytes")]
        stdout: Vec<u8>,
        truncated: bool,
        stderr: String,
    },
    Failed(String),
}

/// The program a host runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Program {
    /// On a PTY on this machine.
    Local(LocalProgram),
    /// As a TTY exec the gateway created in the user's container.
    DockerExec(ExecStart),
}

/// The socket of session `id`'s host in `dir`.
pub fn socket_path(dir: &Path, id: i64) -> PathBuf {
    dir.join(format!("{id}.sock"))
}

/// The socket on which `owner`'s session host takes new sessions.
pub fn owner_socket_path(dir: &Path, owner: i64) -> PathBuf {
    dir.join(format!("owner-{owner}.sock"))
}

/// The session id a socket in the hosts directory belongs to.
pub fn session_of_socket(path: &Path) -> Option<i64> {
    let name = path.file_name()?.to_str()?;
    name.strip_suffix(".sock")?.parse().ok()
}

/// What to start.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpawnSpec {
    /// Program and arguments; never empty.
    pub command: Vec<String>,
    pub cwd: PathBuf,
    /// The complete environment of the program.
    pub env: Vec<(String, String)>,
    pub size: Size,
}

/// An OS account to switch to before the program starts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Credentials {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

/// A program to start on this host, as the session host receives it:
/// everything the gateway resolved (account, environment, limits).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LocalProgram {
    pub spec: SpawnSpec,
    /// The account to switch to (`runtime.local.os_users`).
    pub credentials: Option<Credentials>,
    /// The open-files limit (soft, hard) the program gets: the server's
    /// own before it lifted it.
    pub open_files: Option<(u64, u64)>,
}

/// An exec the gateway created, for the session host to start and drive.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecStart {
    /// The engine's address.
    pub engine: String,
    pub container: String,
    pub exec_id: String,
    /// Where the program's pid is written inside the container; `None`
    /// when the program runs as it is and is signalled from this machine.
    #[serde(default)]
    pub pid_file: Option<String>,
    pub size: Size,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_name_gives_back_its_session() {
        let dir = Path::new("/data/hosts");
        assert_eq!(session_of_socket(&socket_path(dir, 42)), Some(42));
        assert_eq!(session_of_socket(Path::new("/data/hosts/hosts.log")), None);
        assert_eq!(session_of_socket(&owner_socket_path(dir, 42)), None);
        assert_eq!(session_of_socket(Path::new("/data/hosts/x.sock")), None);
    }
}
