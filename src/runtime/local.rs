//! Local runtime: the program runs on this host, on a PTY opened with
//! `pty-process`, in its own session and process group, with a clean
//! environment: as the server's OS user, or (`runtime.local.os_users`, the
//! server running as root) as the OS account named like the session's
//! owner, with that account's uid, gid, supplementary groups, home and
//! shell.
//!
//! Must not block the tokio runtime: reads and writes are async, and the
//! exit status comes from a task waiting on the child.

use std::os::unix::process::ExitStatusExt;
use std::sync::atomic::{AtomicU64, Ordering};

use nix::sys::signal::{self, Signal as NixSignal};
use nix::unistd::Pid;
use tokio::sync::oneshot;

use super::{Control, Owner, Process, Signal, SpawnError, SpawnSpec};
use crate::runtime::account::HostAccount;
use crate::wire::Size;
use crate::wire::launch::{Credentials, LocalProgram};

/// `PATH` for programs run as an OS account: the server's own `PATH` may
/// hold root's directories.
const OS_USER_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// The local runtime's settings. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LocalRuntime {
    /// Programs run as the server's own account unless `os_users`.
    pub host: HostAccount,
    pub os_users: bool,
}

impl LocalRuntime {
    pub fn account_for(&self, owner: &Owner) -> Result<HostAccount, SpawnError> {
        if !self.os_users {
            return Ok(self.host.clone());
        }
        let user = os_user(&owner.name)?;
        Ok(HostAccount {
            user: user.name.clone(),
            home: user.dir.clone(),
            shell: user.shell.to_string_lossy().into_owned(),
        })
    }

    /// Resolves what starting `spec` for `owner` takes, for a session
    /// host to start it.
    pub fn program(&self, owner: &Owner, spec: &SpawnSpec) -> Result<LocalProgram, SpawnError> {
        let credentials = self.credentials_for(owner)?;
        let mut spec = spec.clone();
        if credentials.is_some() {
            spec.env.retain(|(key, _)| key != "PATH");
            spec.env.push(("PATH".into(), OS_USER_PATH.into()));
        }
        Ok(LocalProgram {
            spec,
            credentials,
            open_files: child_open_files_limit(),
        })
    }

    /// The ids `owner`'s programs run with: `None` for the server's own
    /// (without `os_users`).
    pub fn credentials_for(&self, owner: &Owner) -> Result<Option<Credentials>, SpawnError> {
        if !self.os_users {
            return Ok(None);
        }
        let user = os_user(&owner.name)?;
        let name =
            std::ffi::CString::new(user.name.clone()).map_err(|_| SpawnError::NoOsAccount {
                user: owner.name.clone(),
            })?;
        let groups =
            nix::unistd::getgrouplist(&name, user.gid).map_err(|source| SpawnError::OsAccount {
                user: owner.name.clone(),
                source,
            })?;
        Ok(Some(Credentials {
            uid: user.uid.as_raw(),
            gid: user.gid.as_raw(),
            groups: groups.into_iter().map(|g| g.as_raw()).collect(),
        }))
    }
}

/// The OS account named `name`, from the system's user database.
fn os_user(name: &str) -> Result<nix::unistd::User, SpawnError> {
    match nix::unistd::User::from_name(name) {
        Ok(Some(user)) => Ok(user),
        Ok(None) => Err(SpawnError::NoOsAccount { user: name.into() }),
        Err(source) => Err(SpawnError::OsAccount {
            user: name.into(),
            source,
        }),
    }
}

struct LocalControl {
    resize_fd: std::os::fd::OwnedFd,
    process_group: Option<Pid>,
}

/// Starts `spec` on a fresh PTY as the server's own OS user.
pub fn spawn(spec: &SpawnSpec) -> Result<Process, SpawnError> {
    spawn_with(spec, None, child_open_files_limit())
}

/// Starts a resolved program (in the session host).
pub fn start_program(program: &LocalProgram) -> Result<Process, SpawnError> {
    spawn_with(
        &program.spec,
        program.credentials.clone(),
        program.open_files,
    )
}

fn spawn_with(
    spec: &SpawnSpec,
    credentials: Option<Credentials>,
    open_files: Option<(u64, u64)>,
) -> Result<Process, SpawnError> {
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
    let command = prepare_child(command, credentials, open_files);
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
        pid: process_group.map(|pid| pid.as_raw() as u32),
    })
}

/// The open-files limit the server started with (soft, hard), before it
/// lifted its own; programs get it back. Zero: unchanged.
static CHILD_OPEN_FILES: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// Every connection and every session's PTY is a file descriptor: lift the
/// soft limit on open files to the hard one (often 1024 → 500k), so a
/// busy server does not run out long before the machine does. Programs
/// started in sessions get the original limit back.
pub fn raise_open_files_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => {
            if let Err(error) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
                tracing::warn!(%error, soft, hard, "cannot raise the open files limit");
            } else {
                set_child_open_files_limit(soft, hard);
            }
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "cannot read the open files limit"),
    }
}

/// Records the open-files limit programs should run with: the server's
/// own limit as it was before the server lifted it.
pub fn set_child_open_files_limit(soft: u64, hard: u64) {
    CHILD_OPEN_FILES[0].store(soft, Ordering::Relaxed);
    CHILD_OPEN_FILES[1].store(hard, Ordering::Relaxed);
}

fn child_open_files_limit() -> Option<(u64, u64)> {
    let soft = CHILD_OPEN_FILES[0].load(Ordering::Relaxed);
    let hard = CHILD_OPEN_FILES[1].load(Ordering::Relaxed);
    (soft != 0).then_some((soft, hard))
}

/// Sets up the child just before it runs the program: the open-files
/// limit goes back to what the server started with, and with
/// `credentials` the child drops to that account: the terminal is given to
/// it (as `login` does), then the supplementary groups, gid and uid are
/// set, in that order (each step needs the privileges the next one drops).
fn prepare_child(
    command: pty_process::Command,
    credentials: Option<Credentials>,
    open_files: Option<(u64, u64)>,
) -> pty_process::Command {
    let (soft, hard) = open_files.unwrap_or((0, 0));
    let credentials = credentials.map(|c| {
        (
            nix::unistd::Uid::from_raw(c.uid),
            nix::unistd::Gid::from_raw(c.gid),
            c.groups
                .into_iter()
                .map(nix::unistd::Gid::from_raw)
                .collect::<Vec<_>>(),
        )
    });
    // Safety: the closure runs in the forked child before exec and calls
    // only async-signal-safe functions (sigaction, sigprocmask, setrlimit,
    // fchown, setgroups, setgid, setuid), with everything it uses
    // allocated before the fork.
    unsafe {
        command.pre_exec(move || {
            default_signals();
            if soft != 0 {
                nix::sys::resource::setrlimit(
                    nix::sys::resource::Resource::RLIMIT_NOFILE,
                    soft,
                    hard,
                )?;
            }
            if let Some((uid, gid, groups)) = &credentials {
                // Safety: fd 0 is the PTY here, set up by pty-process.
                let terminal = std::os::fd::BorrowedFd::borrow_raw(0);
                nix::unistd::fchown(terminal, Some(*uid), Some(*gid))?;
                nix::unistd::setgroups(groups)?;
                nix::unistd::setgid(*gid)?;
                nix::unistd::setuid(*uid)?;
            }
            Ok(())
        })
    }
}

/// Every signal back to its default action and none blocked, as a login
/// gives them: a server started under `nohup` (SIGHUP ignored, which
/// exec keeps) must not start programs that `kill` cannot hang up and
/// whose shells cannot trap SIGHUP.
///
/// # Safety
///
/// Only for a forked child before exec: it changes the process's signal
/// dispositions.
unsafe fn default_signals() {
    use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, Signal, signal, sigprocmask};
    for which in Signal::iterator() {
        if which != Signal::SIGKILL && which != Signal::SIGSTOP {
            // Safety: SIG_DFL installs no handler.
            let _ = unsafe { signal(which, SigHandler::SigDfl) };
        }
    }
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
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
        let signal: NixSignal = which.to_system();
        // The program leads its own session: signal its whole group, so
        // children it started go too.
        match signal::killpg(group, signal) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
            Err(errno) => Err(errno.into()),
        }
    }
}
