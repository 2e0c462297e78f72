//! How the gateway starts a session with a [`Launch`] (`wire::launch`):
//! in the running session host of its owner (one process carries all of
//! a user's sessions), asked on that host's owner socket; or, when
//! there is none of this very build, in a new host: `foyer session-host
//! --hosts DIR --owner ID --log PATH` run from this binary
//! (`/proc/self/exe`, so an upgraded binary on disk does not change what a
//! running gateway starts), in its own session and process group (a signal
//! to the gateway never reaches it), with the launch on its standard
//! input. A new host answers one line on its standard output, `ready` once
//! its sockets listen and the program runs, or `error: WHY`, then detaches
//! its standard streams.
//!
//! Sockets live in `data/hosts/` (mode 0700): one `ID.sock` (mode 0600)
//! per running session, one `owner-ID.sock` per host; every host appends
//! to `data/hosts/hosts.log`.
//!
//! Must not talk to a running session (that is `host_connection`'s and
//! `attachment`'s).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::host_connection::HostConnection;
use crate::runtime::Owner;
use crate::runtime::swarm::{HostTask, SwarmRuntime};
use crate::transport::{HostAddress, Route};
use crate::wire::launch::{LOG_FILE, Launch, StartReply, owner_socket_path, socket_path};
use crate::wire::protocol::{self, Hello, Open, PROTOCOL_VERSION, ProtocolError};

/// How long a host may take to start its program and listen. A Docker
/// exec is created before the host starts, so this is seconds at most.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a user's running host task may take to answer before a new
/// one is started instead (one ending with its last session never does).
const EXISTING_HOST_WAIT: Duration = Duration::from_secs(3);
/// How long a restart waits for the session's old host to let go of its
/// socket.
const RELEASE_WAIT: Duration = Duration::from_secs(3);
/// Longest path a Unix socket address holds (`sun_path`, less its NUL).
const MAX_SOCKET_PATH: usize = 107;

/// Why a session host did not start.
#[derive(Debug, thiserror::Error)]
pub enum HostStartError {
    #[error("cannot prepare the session hosts directory {path}: {source}")]
    Directory {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the session host socket {path} is longer than {MAX_SOCKET_PATH} bytes: use a shorter data.dir"
    )]
    PathTooLong { path: PathBuf },
    #[error("cannot start the session host: {0}")]
    Spawn(std::io::Error),
    /// The host's own words: the program could not be started.
    #[error("{0}")]
    Program(String),
    #[error("the session host did not start: {0}")]
    NotReady(String),
    #[error("cannot reach the session host: {0}")]
    Connect(#[from] ProtocolError),
    /// A host this server did not adopt (stopped, or of a protocol it
    /// does not serve) still runs the session: a second program must not
    /// start beside it.
    #[error(
        "its earlier session host{} still runs it and was not adopted (it did not answer, or \
         speaks another protocol): resume or end that process, then restart the server",
        pid.map(|pid| format!(" (pid {pid})")).unwrap_or_default()
    )]
    StillHeld { pid: Option<u32> },
}

/// Makes the hosts directory, only the server's user may enter it.
pub fn prepare_directory(dir: &Path) -> Result<(), HostStartError> {
    let failed = |source| HostStartError::Directory {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(failed)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(failed)
}

/// Starts `launch` for `owner` in its session host (a new one if none of
/// this build runs), with sockets in `dir`, and connects to the session.
pub async fn start(
    dir: &Path,
    owner: i64,
    launch: &Launch,
) -> Result<HostConnection, HostStartError> {
    prepare_directory(dir)?;
    let socket = checked_path(socket_path(dir, launch.session_id))?;
    let owner_socket = checked_path(owner_socket_path(dir, owner))?;
    wait_until_released(&socket).await?;
    match ask_running_host(&HostAddress::Local(owner_socket), launch).await? {
        Some(StartReply::Ready) => {
            return Ok(HostConnection::connect(&HostAddress::Local(socket.clone())).await?);
        }
        Some(StartReply::Failed(why)) => return Err(HostStartError::Program(why)),
        None => {}
    }
    let log = std::path::absolute(dir.join(LOG_FILE)).map_err(HostStartError::Spawn)?;
    start_new_host(dir, owner, &log, launch).await?;
    Ok(HostConnection::connect(&HostAddress::Local(socket.clone())).await?)
}

/// Starts `launch` for `owner` in their host task on the swarm (a new
/// task if none of this build runs), and connects to the session. A task
/// that has just started may not listen yet: it is asked again until
/// [`READY_TIMEOUT`].
pub async fn start_on_swarm(
    swarm: &SwarmRuntime,
    owner: &Owner,
    launch: &Launch,
) -> Result<HostConnection, HostStartError> {
    let swarm_error = |error: crate::runtime::swarm::SwarmError| not_ready(&error.to_string());
    let running = swarm.running_host(owner).await.map_err(swarm_error)?;
    // The user's running host, if it answers soon (it may be ending with
    // its last session); else a new one, given time to start listening.
    let mut started = None;
    if let Some(task) = running {
        started = ask_until(swarm, &task, launch, EXISTING_HOST_WAIT)
            .await?
            .then_some(task);
    }
    let task = match started {
        Some(task) => task,
        None => {
            let task = swarm.new_host(owner).await.map_err(swarm_error)?;
            if !ask_until(swarm, &task, launch, READY_TIMEOUT).await? {
                return Err(not_ready("its task does not answer"));
            }
            task
        }
    };
    let session = swarm.address(&task.address, Route::Session(launch.session_id));
    let mut connection = HostConnection::connect(&session).await?;
    connection.task = Some(task);
    Ok(connection)
}

/// Asks the host task to start `launch` until `patience` runs out: true
/// once it runs, false if the host never answered.
async fn ask_until(
    swarm: &SwarmRuntime,
    task: &HostTask,
    launch: &Launch,
    patience: Duration,
) -> Result<bool, HostStartError> {
    let owner_address = swarm.address(&task.address, Route::Owner);
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        match ask_running_host(&owner_address, launch).await? {
            Some(StartReply::Ready) => return Ok(true),
            Some(StartReply::Failed(why)) => return Err(HostStartError::Program(why)),
            None if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            None => return Ok(false),
        }
    }
}

/// Waits (briefly) for a session's socket to be let go: the host of a
/// session that just exited lets go of it as it ends, a host this server
/// did not adopt never does.
async fn wait_until_released(socket: &Path) -> Result<(), HostStartError> {
    let deadline = tokio::time::Instant::now() + RELEASE_WAIT;
    loop {
        let Some(pid) = holder_of(socket).await else {
            return Ok(());
        };
        if tokio::time::Instant::now() >= deadline {
            return Err(HostStartError::StillHeld { pid });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether a process still listens on a session's socket (a restarted
/// session whose old host this server did not adopt), and its pid when the
/// kernel tells it. A socket file nobody listens on is a dead host's
/// leftover, replaced by the new host.
async fn holder_of(socket: &Path) -> Option<Option<u32>> {
    let stream = tokio::net::UnixStream::connect(socket).await.ok()?;
    let pid = stream.peer_cred().ok().and_then(|cred| cred.pid());
    Some(pid.and_then(|pid| u32::try_from(pid).ok()))
}

/// An absolute socket path, checked to fit in a socket address.
fn checked_path(path: PathBuf) -> Result<PathBuf, HostStartError> {
    let path = std::path::absolute(path).map_err(HostStartError::Spawn)?;
    if path.as_os_str().len() > MAX_SOCKET_PATH {
        return Err(HostStartError::PathTooLong { path });
    }
    Ok(path)
}

/// Asks the owner's running host to start `launch`: `None` when there is
/// no host of this very build to ask (none runs, or an older one does).
pub(super) async fn ask_running_host(
    owner: &HostAddress,
    launch: &Launch,
) -> Result<Option<StartReply>, HostStartError> {
    let greeting = async {
        let stream = owner.connect().await?;
        let (read, write) = stream.into_split();
        let (mut reader, writer) = (protocol::reader(read), protocol::writer(write));
        let hello: Hello = protocol::receive(&mut reader).await?;
        Ok::<_, ProtocolError>((hello, reader, writer))
    };
    let Ok(Ok((hello, mut reader, mut writer))) =
        tokio::time::timeout(Duration::from_secs(2), greeting).await
    else {
        return Ok(None);
    };
    if hello.protocol != PROTOCOL_VERSION || hello.foyer_version != env!("CARGO_PKG_VERSION") {
        return Ok(None);
    }
    // A host that closes before it has the whole request cannot start it:
    // it was exiting (its last session had just ended), and a new host
    // is started instead.
    if protocol::send(&mut writer, &Open::Start(Box::new(launch.clone())))
        .await
        .is_err()
    {
        return Ok(None);
    }
    // From here the host may start the session: no second try elsewhere
    // unless it says nothing at all, or the program could run twice.
    let reply = protocol::receive::<StartReply, _>(&mut reader);
    match tokio::time::timeout(READY_TIMEOUT, reply).await {
        Ok(Ok(reply)) => Ok(Some(reply)),
        Ok(Err(error)) if host_dropped_the_request(&error) => Ok(None),
        Ok(Err(error)) => Err(not_ready(&error.to_string())),
        Err(_) => Err(not_ready("it did not answer in time")),
    }
}

/// Whether a host that closed the connection instead of answering had
/// not taken the request: closed without a word (it was exiting; a
/// program it had begun to start ends with it), or reset, which a Unix
/// socket does only when it closes with the request still unread.
fn host_dropped_the_request(error: &ProtocolError) -> bool {
    match error {
        ProtocolError::Closed => true,
        ProtocolError::Io(io) => io.kind() == std::io::ErrorKind::ConnectionReset,
        _ => false,
    }
}

/// Starts a new host for `owner` with `launch` as its first session.
async fn start_new_host(
    dir: &Path,
    owner: i64,
    log: &Path,
    launch: &Launch,
) -> Result<(), HostStartError> {
    let body = rmp_serde::to_vec_named(launch)
        .map_err(|e| HostStartError::Spawn(std::io::Error::other(e)))?;
    let dir = std::path::absolute(dir).map_err(HostStartError::Spawn)?;
    let mut child = host_command(&dir, owner, log)
        .spawn()
        .map_err(HostStartError::Spawn)?;
    let ready = async {
        let mut stdin = child.stdin.take().ok_or_else(|| not_ready("no stdin"))?;
        stdin
            .write_all(&body)
            .await
            .map_err(HostStartError::Spawn)?;
        drop(stdin);
        let stdout = child.stdout.take().ok_or_else(|| not_ready("no stdout"))?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .await
            .map_err(HostStartError::Spawn)?;
        answer(line.trim_end())
    };
    let outcome = tokio::time::timeout(READY_TIMEOUT, ready).await;
    // The host runs on after this; the task only reaps it when it exits.
    tokio::spawn(async move {
        let _ = child.wait().await;
    });
    outcome.unwrap_or_else(|_| Err(not_ready("it did not answer in time")))
}

/// `foyer session-host …` from this binary, in a session of its own.
fn host_command(dir: &Path, owner: i64, log: &Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new("/proc/self/exe");
    command
        .arg("session-host")
        .arg("--hosts")
        .arg(dir)
        .arg("--owner")
        .arg(owner.to_string())
        .arg("--log")
        .arg(log)
        .current_dir("/")
        // Only the server talks to a service manager (`Type=notify`).
        .env_remove("NOTIFY_SOCKET")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(false);
    // Safety: setsid is async-signal-safe and touches nothing allocated.
    unsafe {
        command.pre_exec(|| {
            nix::unistd::setsid()?;
            Ok(())
        });
    }
    command
}

/// The host's one line: `ready` or `error: WHY`.
fn answer(line: &str) -> Result<(), HostStartError> {
    if line == "ready" {
        return Ok(());
    }
    match line.strip_prefix("error: ") {
        Some(why) => Err(HostStartError::Program(why.to_string())),
        None if line.is_empty() => Err(not_ready("it exited without a word")),
        None => Err(not_ready(line)),
    }
}

fn not_ready(why: &str) -> HostStartError {
    HostStartError::NotReady(why.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hosts_answer_is_read_as_ready_or_its_reason() {
        assert!(answer("ready").is_ok());
        let error = answer("error: cannot start `nope`: not found").unwrap_err();
        assert_eq!(error.to_string(), "cannot start `nope`: not found");
        assert!(matches!(answer(""), Err(HostStartError::NotReady(_))));
    }
}
