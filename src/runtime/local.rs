//! Local runtime: the program runs on this host, on a PTY opened with
//! `pty-process`, in its own session and process group, with a clean
//! environment.
//!
//! Must not block the tokio runtime: reads and writes are async, and the
//! exit status comes from a task waiting on the child.

use std::os::unix::process::ExitStatusExt;

use nix::sys::signal::{self, Signal as NixSignal};
use nix::unistd::Pid;
use tokio::sync::oneshot;

use super::{Control, Process, Signal, SpawnError, SpawnSpec};
use crate::session::Size;

struct LocalControl {
    resize_fd: std::os::fd::OwnedFd,
    process_group: Option<Pid>,
}

/// Starts `spec` on a fresh PTY.
pub fn spawn(spec: &SpawnSpec) -> Result<Process, SpawnError> {
    let program = spec.command.first().cloned().unwrap_or_default();
    std::fs::metadata(&spec.cwd).map_err(|source| SpawnError::Cwd {
        path: spec.cwd.clone(),
        source,
    })?;
    let (pty, pts) = pty_process::open().map_err(SpawnError::Pty)?;
    pty.resize(pty_size(spec.size)).map_err(SpawnError::Pty)?;
    let command = pty_process::Command::new(&program)
        .args(&spec.command[1..])
        .current_dir(&spec.cwd)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)));
    let mut child = command.spawn(pts).map_err(|e| SpawnError::Start {
        program: program.clone(),
        source: e,
    })?;
    let process_group = child.id().map(|id| Pid::from_raw(id as i32));
    let (exit_tx, exit_rx) = oneshot::channel();
    tokio::spawn(async move {
        let status = match child.wait().await {
            Ok(status) => status
                .code()
                .or_else(|| status.signal().map(|s| 128 + s))
                .unwrap_or(1),
            Err(error) => {
                tracing::warn!(%error, "waiting for a session program failed");
                1
            }
        };
        let _ = exit_tx.send(status);
    });
    // A second handle on the PTY, used only to resize it.
    let resize_fd = std::os::fd::AsFd::as_fd(&pty)
        .try_clone_to_owned()
        .map_err(SpawnError::PtyHandle)?;
    let (output, input) = pty.into_split();
    Ok(Process {
        output: Box::new(output),
        input: Box::new(input),
        control: Box::new(LocalControl {
            resize_fd,
            process_group,
        }),
        exit: exit_rx,
    })
}

fn pty_size(size: Size) -> pty_process::Size {
    pty_process::Size::new(size.rows, size.cols)
}

impl Control for LocalControl {
    fn resize(&mut self, size: Size) -> std::io::Result<()> {
        let winsize = rustix::termios::Winsize {
            ws_row: size.rows,
            ws_col: size.cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        rustix::termios::tcsetwinsize(&self.resize_fd, winsize).map_err(Into::into)
    }

    fn signal(&mut self, which: Signal) -> std::io::Result<()> {
        let Some(group) = self.process_group else {
            return Ok(());
        };
        let signal = match which {
            Signal::Hangup => NixSignal::SIGHUP,
            Signal::Kill => NixSignal::SIGKILL,
        };
        // The program leads its own session: signal its whole group, so
        // children it started go too.
        match signal::killpg(group, signal) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
            Err(errno) => Err(errno.into()),
        }
    }
}
