//! One session as a TTY exec in its user's container, made to look like a
//! local PTY program ([`Process`]): output from the attached stream
//! (`attach.rs`), input to it, resize through the exec's resize call, signals by a second exec
//! that signals the session's process group, and the exit status from
//! inspecting the exec once its stream ends.
//!
//! The session's program is started through `sh`, which writes its pid
//! (the leader of the exec's session and process group, as with a local
//! PTY) to a file in the container's `/tmp` before it `exec`s the program:
//! that is how the signalling exec finds the group, without needing the
//! engine's host pid namespace.
//!
//! Must not block the hub: `Control` calls only hand work to a task.
//! When the exec ends abnormally (the container stopped, the engine went
//! away) a one-line reason is written to the output before it closes.

use bollard::Docker;
use bollard::exec::{CreateExecOptions, ResizeExecOptions, StartExecOptions};
use bollard::query_parameters::InspectContainerOptions;
use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{mpsc, oneshot, watch};

use super::attach;
use super::engine::{DockerError, classify, connect, is_running};
use super::{DockerSettings, UserContainer};
use crate::runtime::{Control, Process, Signal, SpawnSpec};
use crate::wire::Size;
use crate::wire::launch::ExecStart;

/// Output chunks buffered between the exec's stream and the hub.
const OUTPUT_QUEUE: usize = 32;
/// Signals waiting to be delivered (the hub sends at most two per run).
const SIGNAL_QUEUE: usize = 4;
/// Bytes read from the engine per chunk at most.
const OUTPUT_CHUNK: usize = 64 * 1024;
/// How long the exit code may take to appear after the stream ended.
const EXIT_POLLS: usize = 40;
/// How often a container that seems to run after its exec died of a
/// signal is asked again.
const CONTAINER_POLLS: usize = 10;
const EXIT_POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);
/// Tries of the exec's first resize, [`EXIT_POLL_INTERVAL`] apart.
const FIRST_RESIZE_TRIES: usize = 40;
/// `PATH` inside users' containers (Debian's default for users).
const CONTAINER_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// What the exec's helpers need to reach it.
#[derive(Clone)]
struct ExecRef {
    docker: Docker,
    host: String,
    container: String,
    id: String,
    /// Where the program's pid is written inside the container, when the
    /// program is started through `sh` for it (see [`signals_from_here`]).
    pid_file: Option<String>,
}

/// Creates the exec for `spec` (the session host starts it).
pub(super) async fn create(
    settings: &DockerSettings,
    user: &UserContainer,
    spec: SpawnSpec,
) -> Result<ExecStart, DockerError> {
    let docker = connect(&settings.host)?;
    let (cmd, pid_file) = if signals_from_here(&docker, &user.container).await {
        (spec.command.clone(), None)
    } else {
        let pid_file = format!("/tmp/.foyer-exec-{:016x}", rand::random::<u64>());
        (wrapped_command(&pid_file, &spec.command), Some(pid_file))
    };
    let options = CreateExecOptions {
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        tty: Some(true),
        env: Some(environment(&spec)),
        cmd: Some(cmd),
        working_dir: Some(spec.cwd.display().to_string()),
        ..Default::default()
    };
    let created = docker
        .create_exec(&user.container, options)
        .await
        .map_err(|error| classify(&settings.host, "create the session's exec", error))?;
    Ok(ExecStart {
        engine: settings.host.clone(),
        container: user.container.clone(),
        exec_id: created.id,
        pid_file,
        size: spec.size,
    })
}

/// Starts a created exec and drives it as a [`Process`] (in the host).
pub async fn start(start: &ExecStart) -> Result<Process, DockerError> {
    let exec = ExecRef {
        docker: connect(&start.engine)?,
        host: start.engine.clone(),
        container: start.container.clone(),
        id: start.exec_id.clone(),
        pid_file: start.pid_file.clone(),
    };
    let (output, input) = attach::start_attached(&exec.host, &exec.id).await?;
    first_resize(&exec, start.size).await;
    let (chunks_tx, chunks_rx) = mpsc::channel(OUTPUT_QUEUE);
    let (exit_tx, exit_rx) = oneshot::channel();
    tokio::spawn(pump(output, chunks_tx, exec.clone(), exit_tx));
    let (size_tx, size_rx) = watch::channel(start.size);
    let (signal_tx, signal_rx) = mpsc::channel(SIGNAL_QUEUE);
    tokio::spawn(control_task(exec, size_rx, signal_rx));
    Ok(Process {
        output: Box::new(output_reader(chunks_rx)),
        input: Box::new(input),
        control: Box::new(ExecControl {
            size: size_tx,
            signals: signal_tx,
        }),
        exit: exit_rx,
        pid: None,
    })
}

/// The spec's environment as `KEY=VALUE`, with the container's `PATH`.
fn environment(spec: &SpawnSpec) -> Vec<String> {
    spec.env
        .iter()
        .filter(|(key, _)| key != "PATH")
        .map(|(key, value)| format!("{key}={value}"))
        .chain(std::iter::once(format!("PATH={CONTAINER_PATH}")))
        .collect()
}

/// `sh -c 'echo $$ > PIDFILE; exec "$@"' sh PROGRAM ARGS…`
fn wrapped_command(pid_file: &str, command: &[String]) -> Vec<String> {
    let script = format!("echo $$ > {pid_file} 2>/dev/null; exec \"$@\"");
    let mut wrapped = vec!["/bin/sh".into(), "-c".into(), script, "sh".into()];
    wrapped.extend(command.iter().cloned());
    wrapped
}

/// The output as an `AsyncRead`, from the pump's bounded queue.
fn output_reader(chunks: mpsc::Receiver<Bytes>) -> impl tokio::io::AsyncRead + Send + Unpin {
    let stream = futures_util::stream::unfold(chunks, |mut chunks| async move {
        let chunk = chunks.recv().await?;
        Some((Ok::<_, std::io::Error>(chunk), chunks))
    });
    tokio_util::io::StreamReader::new(Box::pin(stream))
}

/// Moves the exec's output to the hub until it ends, then reports the exit
/// status (and why, if the exec did not simply exit).
async fn pump(
    mut output: impl AsyncRead + Unpin,
    chunks: mpsc::Sender<Bytes>,
    exec: ExecRef,
    exit: oneshot::Sender<i32>,
) {
    let mut stream_error = None;
    let mut buffer = vec![0u8; OUTPUT_CHUNK];
    loop {
        match output.read(&mut buffer).await {
            Ok(0) => break,
            // A hub that went away stops reading: keep draining until
            // the program ends.
            Ok(n) => drop(chunks.send(Bytes::copy_from_slice(&buffer[..n])).await),
            Err(error) => {
                stream_error = Some(error.to_string());
                break;
            }
        }
    }
    let (status, reason) = exit_status(&exec, stream_error).await;
    if let Some(reason) = &reason {
        tracing::warn!(container = %exec.container, %reason, "session's exec ended abnormally");
        let line = format!("\r\n[foyer: {reason}]\r\n");
        let _ = chunks.send(Bytes::from(line)).await;
    }
    drop(chunks);
    let _ = exit.send(status);
}

/// The exec's exit status and, when it did not end by itself, why.
async fn exit_status(exec: &ExecRef, stream_error: Option<String>) -> (i32, Option<String>) {
    let mut code = None;
    let mut inspect_error = None;
    for _ in 0..EXIT_POLLS {
        match exec.docker.inspect_exec(&exec.id).await {
            Ok(found) if found.running != Some(true) => {
                code = found.exit_code;
                break;
            }
            Ok(_) => tokio::time::sleep(EXIT_POLL_INTERVAL).await,
            Err(error) => {
                inspect_error = Some(classify(&exec.host, "inspect the exec", error));
                break;
            }
        }
    }
    let status = code.and_then(|c| i32::try_from(c).ok());
    let suspicious = status.is_none_or(|s| s > 128);
    if !suspicious {
        return (status.unwrap_or(1), None);
    }
    let reason = match container_still_running(exec).await {
        Some(false) => Some(format!("the container {} stopped", exec.container)),
        None => Some(match inspect_error {
            Some(error) => error.to_string(),
            None => format!(
                "lost the Docker engine ({})",
                stream_error.unwrap_or_else(|| "no exit status".into())
            ),
        }),
        Some(true) if status.is_none() => Some("the exec's exit status is unknown".into()),
        Some(true) => None,
    };
    (status.unwrap_or(1), reason)
}

/// Whether the container runs, asked a few times: a container killed from
/// outside ends its execs a moment before it is seen as stopped.
async fn container_still_running(exec: &ExecRef) -> Option<bool> {
    let mut running = None;
    for _ in 0..CONTAINER_POLLS {
        running = is_running(&exec.host, &exec.container).await;
        if running != Some(true) {
            break;
        }
        tokio::time::sleep(EXIT_POLL_INTERVAL).await;
    }
    running
}

/// The hub's handle on the exec: hands sizes and signals to the control
/// task, never waiting.
struct ExecControl {
    size: watch::Sender<Size>,
    signals: mpsc::Sender<Signal>,
}

impl Control for ExecControl {
    fn resize(&mut self, size: Size) -> std::io::Result<()> {
        self.size.send_replace(size);
        Ok(())
    }

    fn signal(&mut self, signal: Signal) -> std::io::Result<()> {
        self.signals
            .try_send(signal)
            .map_err(|_| std::io::Error::other("too many signals pending"))
    }
}

/// Applies the latest size and delivers signals, in order, until the hub
/// drops its control (queued signals are still delivered).
async fn control_task(
    exec: ExecRef,
    mut sizes: watch::Receiver<Size>,
    mut signals: mpsc::Receiver<Signal>,
) {
    let mut sizes_open = true;
    loop {
        tokio::select! {
            biased;
            signal = signals.recv() => match signal {
                Some(signal) => send_signal(&exec, signal).await,
                None => break,
            },
            changed = sizes.changed(), if sizes_open => match changed {
                Ok(()) => {
                    let size = *sizes.borrow_and_update();
                    resize(&exec, size).await;
                }
                Err(_) => sizes_open = false,
            },
        }
    }
}

/// The exec's first size. The engine refuses a resize until the exec's
/// process runs, which may be a moment after its stream is attached (the
/// program would see a 0x0 terminal): asked again until it takes.
async fn first_resize(exec: &ExecRef, size: Size) {
    for _ in 0..FIRST_RESIZE_TRIES {
        let options = ResizeExecOptions {
            height: size.rows,
            width: size.cols,
        };
        if exec.docker.resize_exec(&exec.id, options).await.is_ok() {
            return;
        }
        tokio::time::sleep(EXIT_POLL_INTERVAL).await;
    }
    tracing::debug!(container = %exec.container, "the exec's first resize did not take");
}

async fn resize(exec: &ExecRef, size: Size) {
    let options = ResizeExecOptions {
        height: size.rows,
        width: size.cols,
    };
    if let Err(error) = exec.docker.resize_exec(&exec.id, options).await {
        tracing::debug!(container = %exec.container, %error, "resizing the exec failed");
    }
}

/// Whether this machine can signal the container's processes itself: as
/// root, in the engine's pid namespace (the container's first process is
/// seen here, in the container's cgroup). Then nothing but the user's
/// command runs from the image; otherwise the program is started through
/// the image's `sh`, which writes its pid, and signalled by a second exec.
async fn signals_from_here(docker: &Docker, container: &str) -> bool {
    if !nix::unistd::geteuid().is_root() {
        return false;
    }
    let Ok(found) = docker
        .inspect_container(container, None::<InspectContainerOptions>)
        .await
    else {
        return false;
    };
    let pid = found.state.and_then(|s| s.pid).unwrap_or(0);
    found.id.is_some_and(|id| pid > 0 && in_container(pid, &id))
}

/// Whether process `pid` (as this machine sees it) runs in container `id`.
fn in_container(pid: i64, id: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup")).is_ok_and(|cgroup| cgroup.contains(id))
}

/// Signals the program's process group: from here when the program's pid
/// is known here, else from a second exec in the container.
async fn send_signal(exec: &ExecRef, signal: Signal) {
    let name = signal.short_name();
    let Some(pid_file) = &exec.pid_file else {
        signal_from_here(exec, signal).await;
        return;
    };
    let script =
        format!("pid=$(cat {pid_file} 2>/dev/null) && kill -s {name} -- -$pid 2>/dev/null");
    let options = CreateExecOptions {
        cmd: Some(vec!["/bin/sh".to_string(), "-c".into(), script]),
        ..Default::default()
    };
    let result = async {
        let created = exec.docker.create_exec(&exec.container, options).await?;
        let detached = StartExecOptions {
            detach: true,
            ..Default::default()
        };
        exec.docker.start_exec(&created.id, Some(detached)).await?;
        Ok::<(), bollard::errors::Error>(())
    }
    .await;
    if let Err(error) = result {
        tracing::debug!(container = %exec.container, %error, signal = name, "signalling the exec failed");
    }
}

/// Signals the exec's program by the pid the engine reports for it (this
/// machine's view), after checking it still runs in the container.
async fn signal_from_here(exec: &ExecRef, signal: Signal) {
    let pid = match exec.docker.inspect_exec(&exec.id).await {
        Ok(found) => found.pid.unwrap_or(0),
        Err(error) => {
            tracing::debug!(container = %exec.container, %error, "cannot inspect the exec to signal it");
            return;
        }
    };
    let id = exec
        .docker
        .inspect_container(&exec.container, None::<InspectContainerOptions>)
        .await
        .ok()
        .and_then(|found| found.id);
    if !id.is_some_and(|id| pid > 0 && in_container(pid, &id)) {
        return;
    };
    let which = signal.to_system();
    let target = nix::unistd::Pid::from_raw(pid as i32);
    // The program leads its own process group (a TTY exec gets a session
    // of its own): the group, so its children go too; the process alone
    // if it is not a leader.
    if nix::sys::signal::killpg(target, which).is_err() {
        let _ = nix::sys::signal::kill(target, which);
    }
}
