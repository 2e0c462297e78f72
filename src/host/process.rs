//! The session host process (`foyer session-host`): runs the sessions of
//! one owner, each with its program, its hub (an engine task on this
//! process's runtime) and its own socket, and outlives the gateway that
//! started it.
//!
//! It starts with one session's [`Launch`] on its standard input and
//! listens on its owner socket for more (`Open::Start`), so one process
//! carries all of a user's sessions: a process costs about a megabyte of
//! its own, a session a hub's worth (docs/architecture.md has the
//! numbers). It keeps reading every program's output whether or not a
//! gateway is connected: screens stay current and terminal queries are
//! answered while the gateway is down. It exits once its last session has
//! ended (killed, or exited and its final screen carried off).
//!
//! Must not read the configuration file or the database: everything it
//! needs is in the launches.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;
use tracing::Instrument;

use super::server;
use crate::clock::unix_now;
use crate::config::LogFormat;
use crate::engine::Changes;
use crate::engine::HubHandle;
use crate::engine::hub_task::{HubIdentity, HubStart, start_hub};
use crate::runtime::{Process, SpawnError};
use crate::transport::tls::TlsFiles;
use crate::wire::SessionId;
use crate::wire::launch::{Launch, Program, StartReply, owner_socket_path, socket_path};
use crate::wire::protocol::{self, Hello, Open, PROTOCOL_VERSION};

/// How long a new connection on the owner socket may take to ask.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a host started to listen for gateways (`--listen`) waits for
/// its first session before it gives up: the gateway that started it
/// died before asking.
const FIRST_SESSION_WAIT: Duration = Duration::from_secs(120);

/// A host that listens for gateways on other machines (`--listen`).
pub struct Listening {
    /// `ADDRESS:PORT` to listen on.
    pub address: String,
    pub tls: TlsFiles,
}

/// Runs a session host for `owner`'s sessions, with sockets in `hosts`
/// and its log appended to `log`. Started by a gateway on this machine
/// it reads its first session's launch on standard input; listening for
/// gateways elsewhere it starts with none and takes them all over TLS.
pub fn main(
    hosts: PathBuf,
    owner: i64,
    log: PathBuf,
    listening: Option<Listening>,
) -> anyhow::Result<()> {
    let first = match listening {
        Some(_) => None,
        None => match read_launch()? {
            Some(launch) => Some(launch),
            None => return Ok(()),
        },
    };
    let (level, json) = match &first {
        Some(launch) => (launch.log_level.as_str(), launch.log_json),
        None => ("info", false),
    };
    init_logging(&log, level, json);
    // One worker per core: several busy sessions of one user must not
    // take turns on one thread.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the session host's runtime")?;
    match (first, listening) {
        (_, Some(listening)) => runtime.block_on(run_listening(listening, hosts, owner)),
        (Some(first), None) => runtime.block_on(run(first, hosts, owner)),
        (None, None) => {}
    }
    Ok(())
}

/// The launch on standard input; `None` (said to the gateway) when it
/// cannot be read.
fn read_launch() -> anyhow::Result<Option<Launch>> {
    let mut body = Vec::new();
    std::io::stdin()
        .read_to_end(&mut body)
        .context("cannot read the launch")?;
    match rmp_serde::from_slice(&body) {
        Ok(launch) => Ok(Some(launch)),
        Err(error) => {
            say(&format!(
                "error: the session host cannot read its launch: {error}"
            ));
            Ok(None)
        }
    }
}

/// A request to start a session, from the owner socket, with where to
/// answer it.
type StartRequest = (Launch, protocol::Writer<tokio::net::unix::OwnedWriteHalf>);

async fn run(first: Launch, hosts: PathBuf, owner: i64) {
    let owner_socket = owner_socket_path(&hosts, owner);
    let listener = match listen(&owner_socket) {
        Ok(listener) => listener,
        Err(error) => {
            say(&format!(
                "error: cannot listen on {}: {error}",
                owner_socket.display()
            ));
            return;
        }
    };
    let (ended_tx, ended) = mpsc::channel::<()>(16);
    let started = match start_session(first, &hosts, ended_tx.clone()).await {
        Ok(started) => started,
        Err(error) => {
            let _ = std::fs::remove_file(&owner_socket);
            say(&format!("error: {error}"));
            return;
        }
    };
    if !say("ready") {
        starter_gone(&started).await;
    }
    detach_standard_streams();
    tracing::info!(owner, pid = std::process::id(), "session host started");
    let sessions = Sessions {
        hosts,
        owner,
        ended_tx,
        ended,
        running: 1,
        first_wait: None,
    };
    sessions.serve_owner_socket(listener).await;
    let _ = std::fs::remove_file(&owner_socket);
    tracing::info!(owner, "session host stopped: no sessions left");
}

/// A host listening for gateways on other machines: its sockets as on
/// one machine, and the TLS door to them; says `listening ADDRESS` on
/// standard output once it is open.
async fn run_listening(listening: Listening, hosts: PathBuf, owner: i64) {
    let opened = async {
        std::fs::create_dir_all(&hosts)
            .with_context(|| format!("cannot create {}", hosts.display()))?;
        std::fs::set_permissions(&hosts, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot restrict {}", hosts.display()))?;
        let acceptor = listening.tls.acceptor()?;
        let tcp = tokio::net::TcpListener::bind(&listening.address)
            .await
            .with_context(|| format!("cannot listen on {}", listening.address))?;
        let owner_socket = owner_socket_path(&hosts, owner);
        let listener = listen(&owner_socket)
            .with_context(|| format!("cannot listen on {}", owner_socket.display()))?;
        Ok::<_, anyhow::Error>((acceptor, tcp, listener))
    };
    let (acceptor, tcp, listener) = match opened.await {
        Ok(opened) => opened,
        Err(error) => {
            tracing::error!("{error:#}");
            say(&format!("error: {error:#}"));
            return;
        }
    };
    let address = tcp
        .local_addr()
        .map_or_else(|_| listening.address.clone(), |a| a.to_string());
    tokio::spawn(super::remote::serve(tcp, acceptor, hosts.clone(), owner));
    say(&format!("listening {address}"));
    tracing::info!(owner, pid = std::process::id(), %address, "session host listening for gateways");
    let (ended_tx, ended) = mpsc::channel::<()>(16);
    let sessions = Sessions {
        hosts: hosts.clone(),
        owner,
        ended_tx,
        ended,
        running: 0,
        first_wait: Some(FIRST_SESSION_WAIT),
    };
    sessions.serve_owner_socket(listener).await;
    let _ = std::fs::remove_file(owner_socket_path(&hosts, owner));
    tracing::info!(owner, "session host stopped: no sessions left");
}

/// The sessions of this host and its owner socket's requests: the host
/// stops when none is left.
struct Sessions {
    hosts: PathBuf,
    owner: i64,
    ended_tx: mpsc::Sender<()>,
    ended: mpsc::Receiver<()>,
    /// Sessions running or being started, and owner-socket connections
    /// not yet read: the host stops at zero, so a gateway it has greeted
    /// is never left without an answer by a host that exits.
    running: usize,
    /// A host that starts with no session waits this long for its first.
    first_wait: Option<Duration>,
}

impl Sessions {
    async fn serve_owner_socket(mut self, listener: UnixListener) {
        let owner = self.owner;
        let (requests_tx, mut requests) = mpsc::channel::<StartRequest>(16);
        let first_deadline = tokio::time::sleep(self.first_wait.unwrap_or(Duration::MAX));
        tokio::pin!(first_deadline);
        let mut waiting_for_first = self.first_wait.is_some();
        loop {
            tokio::select! {
                Some((launch, writer)) = requests.recv() => {
                    waiting_for_first = false;
                    tokio::spawn(start_requested(launch, self.hosts.clone(), self.ended_tx.clone(), writer));
                }
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        if let Some(why) = super::peer::refusal(&stream) {
                            tracing::warn!(owner, %why, "refused a connection to the owner socket");
                            continue;
                        }
                        self.running += 1;
                        let (requests, ended) = (requests_tx.clone(), self.ended_tx.clone());
                        tokio::spawn(read_start_request(stream, owner, requests, ended));
                    }
                    Err(error) => {
                        tracing::warn!(%error, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                Some(()) = self.ended.recv() => {
                    self.running -= 1;
                    if self.running == 0 && !waiting_for_first {
                        break;
                    }
                }
                () = &mut first_deadline, if waiting_for_first && self.running == 0 => {
                    tracing::warn!(owner, "no session was started here in time; stopping");
                    break;
                }
            }
        }
    }
}

/// Greets a connection on the owner socket and passes on its request; a
/// connection that asks for none counts as `ended` (it was counted as a
/// session when accepted).
async fn read_start_request(
    stream: UnixStream,
    owner: i64,
    requests: mpsc::Sender<StartRequest>,
    ended: mpsc::Sender<()>,
) {
    let (read, write) = stream.into_split();
    let (mut reader, mut writer) = (protocol::reader(read), protocol::writer(write));
    let asked = async {
        protocol::send(&mut writer, &hello(0, None)).await?;
        protocol::receive::<Open, _>(&mut reader).await
    };
    match tokio::time::timeout(OPEN_TIMEOUT, asked).await {
        Ok(Ok(Open::Start(launch))) => {
            if requests.send((*launch, writer)).await.is_ok() {
                return;
            }
        }
        Ok(Ok(Open::Run(command))) => {
            let reply = crate::runtime::as_user::run_here(*command).await;
            let _ = protocol::send(&mut writer, &reply).await;
        }
        Ok(Ok(_)) => tracing::debug!(owner, "an owner socket connection asked for something else"),
        Ok(Err(error)) => tracing::debug!(owner, %error, "a start request could not be read"),
        Err(_) => tracing::debug!(owner, "a start request did not come in time"),
    }
    let _ = ended.send(()).await;
}

/// Starts a requested session and answers whether it runs.
async fn start_requested(
    launch: Launch,
    hosts: PathBuf,
    ended: mpsc::Sender<()>,
    mut writer: protocol::Writer<tokio::net::unix::OwnedWriteHalf>,
) {
    let (reply, started) = match start_session(launch, &hosts, ended.clone()).await {
        Ok(started) => (StartReply::Ready, Some(started)),
        Err(error) => {
            let _ = ended.send(()).await;
            (StartReply::Failed(error.to_string()), None)
        }
    };
    let told = protocol::send(&mut writer, &reply).await.is_ok();
    if let (false, Some(started)) = (told, started) {
        starter_gone(&started).await;
    }
}

/// The gateway that asked for a session went away before it could hear
/// that it runs (killed mid-`new`): no gateway knows of it, and one that
/// started since may already have found no socket and recorded it as
/// exited, so left running it would be a program no session lists and
/// no `restart` can replace. It is ended like a killed session; its
/// record says exited once a gateway looks (tests/faults_hosts.rs).
async fn starter_gone(started: &Started) {
    tracing::warn!(session = %started.label, "the gateway that asked for this session went away before hearing it started; ending it");
    let _ = started.hub.kill().await;
}

/// A session that started here: its hub, and its label for the log.
struct Started {
    hub: HubHandle,
    label: String,
}

/// Why a session could not start here.
#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error("cannot listen on {path}: {source}")]
    Listen {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Program(#[from] SpawnError),
}

/// Listens on the session's socket, starts its program and its hub, and
/// serves it in a task that reports on `ended` when the session is over.
async fn start_session(
    launch: Launch,
    hosts: &Path,
    ended: mpsc::Sender<()>,
) -> Result<Started, StartError> {
    let socket = socket_path(hosts, launch.session_id);
    let listener = listen(&socket).map_err(|source| StartError::Listen {
        path: socket.clone(),
        source,
    })?;
    let process = match start_program(&launch.program).await {
        Ok(process) => process,
        Err(error) => {
            let _ = std::fs::remove_file(&socket);
            return Err(error.into());
        }
    };
    let label = launch.label.clone();
    let hello = hello(launch.session_id, process.pid);
    let changes = Changes::new();
    let identity = HubIdentity {
        id: SessionId(launch.session_id),
        label: label.clone(),
    };
    let start = HubStart {
        process: Some(process),
        exit_status: None,
        last_active: unix_now(),
        seed: launch.seed,
    };
    tracing::info!(session = %label, pid = ?hello.program_pid, "session started");
    let hub = start_hub(identity, launch.settings, changes.clone(), start);
    // The server's lines about this session's connections name it.
    let span = tracing::info_span!("session", session = %label);
    let started = Started {
        hub: hub.clone(),
        label: label.clone(),
    };
    tokio::spawn(async move {
        server::serve(listener, hub, changes, hello)
            .instrument(span)
            .await;
        let _ = std::fs::remove_file(&socket);
        tracing::info!(session = %label, "session ended");
        let _ = ended.send(()).await;
    });
    Ok(started)
}

fn hello(session_id: i64, program_pid: Option<u32>) -> Hello {
    Hello {
        protocol: PROTOCOL_VERSION,
        foyer_version: env!("CARGO_PKG_VERSION").to_string(),
        session_id,
        host_pid: std::process::id(),
        program_pid,
    }
}

async fn start_program(program: &Program) -> Result<Process, SpawnError> {
    match program {
        Program::Local(local) => crate::runtime::local::start_program(local),
        Program::DockerExec(exec) => Ok(crate::runtime::docker::start_exec(exec).await?),
    }
}

/// Listens on `socket` (replacing a dead host's leftover), mode 0600.
fn listen(socket: &Path) -> std::io::Result<UnixListener> {
    match std::fs::remove_file(socket) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    let listener = UnixListener::bind(socket)?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// The one line the gateway that started us waits for; false when it
/// could not be written (nobody reads: that gateway is gone).
fn say(line: &str) -> bool {
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{line}").is_ok() && stdout.flush().is_ok()
}

/// The gateway that started us may go: standard streams must not be
/// pipes to it (a write to a closed pipe would fail or kill).
fn detach_standard_streams() {
    let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    else {
        return;
    };
    let _ = nix::unistd::dup2_stdin(&null);
    let _ = nix::unistd::dup2_stdout(&null);
    let _ = nix::unistd::dup2_stderr(&null);
}

/// Logs go to the shared hosts log, each line naming its session, in the
/// gateway's format (`crate::logging`).
fn init_logging(log: &Path, level: &str, json: bool) {
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    else {
        return;
    };
    let format = if json {
        LogFormat::Json
    } else {
        LogFormat::Text
    };
    // A host has no one to tell: without a log it runs on silent.
    let _ = crate::logging::init_file(file, format, level);
    log_panics();
}

/// A panic goes to the hosts log (its standard error is /dev/null once
/// the gateway that started it may have gone), then as the default hook
/// would have it.
fn log_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        let thread = thread.name().unwrap_or("unnamed");
        tracing::error!(panic = %info, thread, "panic");
        default(info);
    }));
}
