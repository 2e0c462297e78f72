//! Short commands run as a user inside that user's container (the file
//! view and uploads): a non-TTY exec with its stdin fed and closed, its
//! stdout kept up to a limit, and its exit code read from the engine.
//! The container is leased for the command, so an idle one is started.
//!
//! Must not leave a command running once its caller gave up: a command
//! still running when its stream is dropped ends when its stdin and
//! stdout close under it (the commands used read stdin to its end or not
//! at all, and write little).

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::engine::{DockerError, classify, connect};
use super::{DockerRuntime, user_container};
use crate::runtime::Owner;
use crate::runtime::user_command::{HELPER_PATH, UserCommand, UserOutput};

/// Polls of the exec's exit code after its stream ended, 20 ms apart.
const EXIT_POLLS: usize = 50;

impl DockerRuntime {
    /// Runs `command` as `owner` in `owner`'s container (the caller
    /// bounds how long it may take).
    pub async fn run_as(
        &self,
        owner: &Owner,
        command: UserCommand,
    ) -> Result<UserOutput, DockerError> {
        let user = user_container(&self.settings, owner)?;
        let _lease = self.containers.acquire(user.clone()).await?;
        run_exec(&self.settings.host, &user.container, command).await
    }
}

async fn run_exec(
    host: &str,
    container: &str,
    command: UserCommand,
) -> Result<UserOutput, DockerError> {
    let docker = connect(host)?;
    let options = CreateExecOptions {
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        tty: Some(false),
        env: Some(vec![
            format!("PATH={HELPER_PATH}"),
            "LC_ALL=C.UTF-8".to_string(),
        ]),
        cmd: Some(command.argv.clone()),
        working_dir: Some("/".to_string()),
        ..Default::default()
    };
    let created = docker
        .create_exec(container, options)
        .await
        .map_err(|error| classify(host, "create a helper exec", error))?;
    let started = docker
        .start_exec(&created.id, None::<StartExecOptions>)
        .await
        .map_err(|error| classify(host, "start a helper exec", error))?;
    let StartExecResults::Attached {
        mut output,
        mut input,
    } = started
    else {
        return Err(DockerError::Failed {
            action: "start a helper exec".into(),
            detail: "the engine did not attach it".into(),
        });
    };
    let stdin = command.stdin.clone();
    let feed = async move {
        let _ = input.write_all(&stdin).await;
        let _ = input.shutdown().await;
    };
    let collect = async {
        let mut kept = UserOutput::default();
        while let Some(item) = output.next().await {
            match item {
                Ok(LogOutput::StdOut { message }) => keep(&mut kept, &message, &command),
                Ok(LogOutput::StdErr { message }) => {
                    kept.stderr.push_str(&String::from_utf8_lossy(&message));
                }
                Ok(_) => {}
                Err(error) => return Err(classify(host, "read a helper exec", error)),
            }
            if kept.truncated {
                break;
            }
        }
        Ok(kept)
    };
    let ((), collected) = tokio::join!(feed, collect);
    let mut kept = collected?;
    if kept.truncated {
        // The rest is not wanted; the exec ends when its stdout closes.
        return Ok(kept);
    }
    kept.status = exit_code(&docker, host, &created.id).await?;
    Ok(kept)
}

/// Keeps stdout up to the command's limit.
fn keep(kept: &mut UserOutput, message: &[u8], command: &UserCommand) {
    let room = command.output_limit.saturating_sub(kept.stdout.len());
    if message.len() > room {
        kept.stdout.extend_from_slice(&message[..room]);
        kept.truncated = true;
    } else {
        kept.stdout.extend_from_slice(message);
    }
}

/// The exec's exit code, once the engine has it.
async fn exit_code(docker: &bollard::Docker, host: &str, id: &str) -> Result<i32, DockerError> {
    for _ in 0..EXIT_POLLS {
        let inspected = docker
            .inspect_exec(id)
            .await
            .map_err(|error| classify(host, "inspect a helper exec", error))?;
        if inspected.running != Some(true)
            && let Some(code) = inspected.exit_code
        {
            return Ok(i32::try_from(code).unwrap_or(1));
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    Err(DockerError::Failed {
        action: "read a helper exec's exit code".into(),
        detail: "it did not end".into(),
    })
}
