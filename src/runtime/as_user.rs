//! Short commands run as a session owner's account, where that owner's
//! programs run: on this host as the server's user or (`os_users`) the
//! owner's OS account, or inside the owner's Docker container through the
//! engine. The file view and uploads use them, so a file is read or
//! written with exactly the rights the owner's own shell has.
//!
//! Owns the local half (a child process with the account's uid, gid and
//! groups and a clean environment); `docker::helper` is the container's,
//! and `user_command` the command and its output.
//! Must not interpret what the command prints: callers do.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::user_command::HELPER_PATH;
pub use super::user_command::{UserCommand, UserOutput};
use super::{Owner, Runtime, SpawnError};
use crate::wire::launch::{Credentials, RunCommand, RunReply};

/// How much of a command's stderr is kept (for a log line).
const STDERR_KEPT: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum RunAsError {
    #[error(transparent)]
    Account(#[from] SpawnError),
    #[error("cannot run a helper command: {0}")]
    Start(std::io::Error),
    #[error("the helper command took longer than {0:?}")]
    TimedOut(Duration),
    #[error(transparent)]
    Docker(#[from] super::docker::DockerError),
    /// Where programs run in swarm tasks: commands go through the user's
    /// host task, and none runs (or answers) just now.
    #[error("{0}")]
    OnSwarm(String),
}

impl Runtime {
    /// Runs `command` as `owner`'s account, where `owner`'s programs run.
    pub async fn run_as(
        &self,
        owner: &Owner,
        command: UserCommand,
    ) -> Result<UserOutput, RunAsError> {
        match self {
            Runtime::Local(local) => {
                let credentials = local.credentials_for(owner)?;
                run_local(command, credentials).await
            }
            Runtime::Docker(docker) => {
                let timeout = command.timeout;
                tokio::time::timeout(timeout, docker.run_as(owner, command))
                    .await
                    .map_err(|_| RunAsError::TimedOut(timeout))?
                    .map_err(RunAsError::Docker)
            }
            Runtime::Swarm(swarm) => swarm.run_as(owner, command).await,
        }
    }
}

/// Runs a command a gateway on another machine asked for, here, as this
/// process's account (a session host in a swarm task, where users'
/// programs run as the task's account).
pub async fn run_here(command: RunCommand) -> RunReply {
    let command = UserCommand {
        argv: command.argv,
        stdin: command.stdin.into(),
        output_limit: usize::try_from(command.output_limit).unwrap_or(usize::MAX),
        timeout: Duration::from_millis(command.timeout_ms),
    };
    // `run_local` ends the command at its timeout.
    match run_local(command, None).await {
        Ok(output) => RunReply::Done {
            status: output.status,
            stdout: output.stdout,
            truncated: output.truncated,
            stderr: output.stderr,
        },
        Err(error) => RunReply::Failed(error.to_string()),
    }
}

/// Runs `command` on this host, as `credentials` when given.
async fn run_local(
    command: UserCommand,
    credentials: Option<Credentials>,
) -> Result<UserOutput, RunAsError> {
    let Some((program, args)) = command.argv.split_first() else {
        return Err(RunAsError::Start(std::io::Error::other("empty command")));
    };
    let mut child = tokio::process::Command::new(program);
    child
        .args(args)
        .env_clear()
        .env("PATH", HELPER_PATH)
        .env("LC_ALL", "C.UTF-8")
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(credentials) = credentials {
        drop_to(&mut child, credentials);
    }
    let mut child = child.spawn().map_err(RunAsError::Start)?;
    let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
    let work = async {
        let feed = async {
            if let Some(mut stdin) = stdin {
                // A command that does not read its input closes the pipe:
                // that is its business, not an error here.
                let _ = stdin.write_all(&command.stdin).await;
            }
        };
        let ((), (stdout, truncated), stderr) = tokio::join!(
            feed,
            read_limited(stdout, command.output_limit),
            read_limited(stderr, STDERR_KEPT),
        );
        if truncated {
            let _ = child.start_kill();
        }
        let status = child.wait().await.map_err(RunAsError::Start)?;
        Ok(UserOutput {
            status: exit_code(status),
            stdout,
            truncated,
            stderr: String::from_utf8_lossy(&stderr.0).into_owned(),
        })
    };
    tokio::time::timeout(command.timeout, work)
        .await
        .map_err(|_| RunAsError::TimedOut(command.timeout))?
}

/// Reads `reader` to its end or past `limit` bytes: (the first `limit`
/// bytes, whether there was more).
pub(crate) async fn read_limited(
    reader: Option<impl AsyncRead + Unpin>,
    limit: usize,
) -> (Vec<u8>, bool) {
    let Some(reader) = reader else {
        return (Vec::new(), false);
    };
    let mut kept = Vec::new();
    let mut limited = reader.take(limit as u64 + 1);
    let _ = limited.read_to_end(&mut kept).await;
    let truncated = kept.len() > limit;
    kept.truncate(limit);
    (kept, truncated)
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

/// Makes the child drop to `credentials` before it runs: groups, gid,
/// then uid (each step needs the privileges the next one drops).
fn drop_to(child: &mut tokio::process::Command, credentials: Credentials) {
    let uid = nix::unistd::Uid::from_raw(credentials.uid);
    let gid = nix::unistd::Gid::from_raw(credentials.gid);
    let groups: Vec<nix::unistd::Gid> = credentials
        .groups
        .into_iter()
        .map(nix::unistd::Gid::from_raw)
        .collect();
    // Safety: the closure runs in the forked child before exec and calls
    // only async-signal-safe functions (setgroups, setgid, setuid), with
    // everything it uses allocated before the fork.
    unsafe {
        child.pre_exec(move || {
            nix::unistd::setgroups(&groups)?;
            nix::unistd::setgid(gid)?;
            nix::unistd::setuid(uid)?;
            Ok(())
        });
    }
}
