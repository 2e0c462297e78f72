//! The session host process (`foyer session-host`): reads its [`Launch`],
//! listens on its socket, starts the program, runs the session's hub on a
//! single-threaded runtime and serves the gateway until the session ends.
//!
//! It keeps reading the program's output whether or not a gateway is
//! connected: the screen stays current and terminal queries are answered
//! while the gateway is down. It exits when the session is killed, or once
//! its program has exited and a gateway has carried the final screen off.
//!
//! Must not read the configuration file or the database: everything it
//! needs is in the launch.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use tokio::net::UnixListener;

use super::launch::{Launch, Program};
use super::protocol::{Hello, PROTOCOL_VERSION};
use super::server;
use crate::runtime::{Process, SpawnError};
use crate::session::Changes;
use crate::session::hub_task::{HubIdentity, HubStart, start_hub};
use crate::session::unix_now;
use crate::store::SessionId;

/// Runs a session host: `socket` to listen on, `log` to append to.
pub fn main(socket: PathBuf, log: PathBuf) -> anyhow::Result<()> {
    let mut body = Vec::new();
    std::io::stdin()
        .read_to_end(&mut body)
        .context("cannot read the launch")?;
    let launch: Launch = match rmp_serde::from_slice(&body) {
        Ok(launch) => launch,
        Err(error) => {
            say(&format!(
                "error: the session host cannot read its launch: {error}"
            ));
            return Ok(());
        }
    };
    init_logging(&log, &launch);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the session host's runtime")?;
    runtime.block_on(run(launch, socket));
    Ok(())
}

async fn run(launch: Launch, socket: PathBuf) {
    let label = launch.label.clone();
    let listener = match listen(&socket) {
        Ok(listener) => listener,
        Err(error) => {
            say(&format!(
                "error: cannot listen on {}: {error}",
                socket.display()
            ));
            return;
        }
    };
    let process = match start_program(&launch.program).await {
        Ok(process) => process,
        Err(error) => {
            let _ = std::fs::remove_file(&socket);
            say(&format!("error: {error}"));
            return;
        }
    };
    let hello = Hello {
        protocol: PROTOCOL_VERSION,
        foyer_version: env!("CARGO_PKG_VERSION").to_string(),
        session_id: launch.session_id,
        host_pid: std::process::id(),
        program_pid: process.pid,
    };
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
    let hub = start_hub(identity, launch.settings, changes.clone(), start);
    say("ready");
    detach_standard_streams();
    tracing::info!(session = %label, pid = ?hello.program_pid, "session host started");
    server::serve(listener, hub, changes, hello).await;
    let _ = std::fs::remove_file(&socket);
    tracing::info!(session = %label, "session host stopped");
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

/// The one line the gateway waits for.
fn say(line: &str) {
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
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

/// Logs go to the shared hosts log, each line naming the session.
fn init_logging(log: &Path, launch: &Launch) {
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    else {
        return;
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&launch.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file));
    if launch.log_json {
        builder.json().init();
    } else {
        builder.init();
    }
}
