//! A session link's handle and its command set: the questions a transport
//! has about a session (attach, watch, capture, status, preview, access,
//! pause, signal, kill …) and the restart only the gateway does.
//!
//! Must not serve a command: the link does (`link.rs`, `host.rs`,
//! `exited.rs`).

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, watch};

use crate::engine::hub::{AttachError, ClientMessage, HubGone};
use crate::gateway::attachment::Attachment;
use crate::gateway::host_connection::HostConnection;
use crate::wire::control::ControlError;
use crate::wire::{FinalScreen, HubStatus, Role, ScreenPreview, Size};

/// What a link is asked: the questions a transport has about a session,
/// and the restart only the gateway does.
pub(super) enum Command {
    Attach {
        who: String,
        role: Role,
        size: Size,
        /// Read-only only for want of write access: made a writer at once
        /// if the user is given it.
        upgradable: bool,
        /// Times this attach has been passed on again (a host that had
        /// just carried its exited session off).
        passed_on: u8,
        reply: oneshot::Sender<Result<Attachment, AttachError>>,
    },
    Watch {
        who: String,
        reply: oneshot::Sender<mpsc::Receiver<ClientMessage>>,
    },
    Send(Bytes),
    Capture {
        scrollback: usize,
        ansi: bool,
        reply: oneshot::Sender<String>,
    },
    Status(oneshot::Sender<HubStatus>),
    AccessChanged {
        user: String,
        allowed: Option<Role>,
        reply: oneshot::Sender<()>,
    },
    Preview(oneshot::Sender<ScreenPreview>),
    FinalScreen(oneshot::Sender<FinalScreen>),
    Kill,
    Hangup,
    Shutdown,
    /// Stops (`paused`) or continues the program's process group.
    Pause {
        paused: bool,
        reply: oneshot::Sender<Result<(), ControlError>>,
    },
    /// Sends a signal to the program's process group.
    Signal {
        signal: nix::sys::signal::Signal,
        reply: oneshot::Sender<Result<(), ControlError>>,
    },
    /// Marks the session as wanting attention (`notify`).
    Notify {
        message: String,
        reply: oneshot::Sender<Result<(), ControlError>>,
    },
    /// Clears the attention mark as `user` (`ack`).
    Ack {
        user: String,
        reply: oneshot::Sender<Result<(), ControlError>>,
    },
    /// A session host started by the caller (runtimes may take seconds,
    /// which the link must not wait for) to run the exited session again.
    /// Killed if a program already runs.
    Restart {
        host: Box<HostConnection>,
        reply: oneshot::Sender<()>,
    },
    /// From the reconnecting task: the unreachable host answers again.
    Reconnected(Box<HostConnection>),
    /// From the reconnecting task: the unreachable host is gone for good.
    HostGone,
    /// The last screen of a session another gateway carried off.
    ExitedScreen {
        screen: FinalScreen,
        status: Option<i32>,
    },
}

/// Talks to one session's link. Cheap to clone.
#[derive(Clone)]
pub struct LinkHandle {
    pub(super) tx: mpsc::Sender<Command>,
    pub(super) screen: watch::Receiver<u64>,
}

impl LinkHandle {
    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, HubGone> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(make(reply)).await.map_err(|_| HubGone)?;
        answer.await.map_err(|_| HubGone)
    }

    async fn tell(&self, command: Command) -> Result<(), HubGone> {
        self.tx.send(command).await.map_err(|_| HubGone)
    }

    /// Attaches `who` (a user name, shown to others) with `role`.
    pub async fn attach(
        &self,
        who: &str,
        role: Role,
        size: Size,
    ) -> Result<Attachment, AttachError> {
        self.attach_with(who, role, size, false).await
    }

    /// [`LinkHandle::attach`]; an `upgradable` observer (one that asked to
    /// write but may not yet) becomes a writer when `who` is given write
    /// access while attached.
    pub async fn attach_with(
        &self,
        who: &str,
        role: Role,
        size: Size,
        upgradable: bool,
    ) -> Result<Attachment, AttachError> {
        let who = who.to_string();
        self.ask(|reply| Command::Attach {
            who,
            role,
            size,
            upgradable,
            passed_on: 0,
            reply,
        })
        .await
        .map_err(|_| AttachError::Gone)?
    }

    /// Applies a change of `user`'s access to their attached clients at
    /// once: `None` detaches them (they are told why), `Some(Observer)`
    /// stops their input reaching the program, `Some(Writer)` makes the
    /// clients that asked to write (not those that chose to watch) writers.
    pub async fn access_changed(&self, user: &str, allowed: Option<Role>) -> Result<(), HubGone> {
        let user = user.to_string();
        self.ask(|reply| Command::AccessChanged {
            user,
            allowed,
            reply,
        })
        .await
    }

    /// The current screen, for a preview.
    pub async fn preview(&self) -> Result<ScreenPreview, HubGone> {
        self.ask(Command::Preview).await
    }

    /// A receiver whose `changed()` resolves when the screen may have
    /// changed since it was last marked seen.
    pub fn screen_changes(&self) -> watch::Receiver<u64> {
        self.screen.clone()
    }

    /// The program's output bytes as they come, for `watch` without a PTY.
    pub async fn watch(&self, who: &str) -> Result<mpsc::Receiver<ClientMessage>, HubGone> {
        let who = who.to_string();
        self.ask(|reply| Command::Watch { who, reply }).await
    }

    pub async fn capture(&self, scrollback: usize, ansi: bool) -> Result<String, HubGone> {
        self.ask(|reply| Command::Capture {
            scrollback,
            ansi,
            reply,
        })
        .await
    }

    pub async fn status(&self) -> Result<HubStatus, HubGone> {
        self.ask(Command::Status).await
    }

    /// Types bytes into the program, as `send` does.
    pub async fn send_input(&self, bytes: Bytes) -> Result<(), HubGone> {
        self.tell(Command::Send(bytes)).await
    }

    /// Ends the program (hangup, then kill after the grace period) and
    /// removes the session.
    pub async fn kill(&self) -> Result<(), HubGone> {
        self.tell(Command::Kill).await
    }

    /// Runs the exited session again in `host` (started with the screen
    /// [`LinkHandle::final_screen`] gave). If a program already runs, the
    /// new host is killed.
    pub async fn restart(&self, host: HostConnection) -> Result<(), HubGone> {
        let host = Box::new(host);
        self.ask(|reply| Command::Restart { host, reply }).await
    }

    /// The screen with its whole scrollback, as escape sequences for a
    /// blank terminal of its size.
    pub async fn final_screen(&self) -> Result<FinalScreen, HubGone> {
        self.ask(Command::FinalScreen).await
    }

    /// Stops (`paused`) or continues the program's process group (`pause`,
    /// `resume`).
    pub async fn pause(&self, paused: bool) -> Result<(), ControlError> {
        self.ask(|reply| Command::Pause { paused, reply })
            .await
            .map_err(|_| ControlError::Gone)?
    }

    /// Marks the session as wanting attention with `message`; answered
    /// once `status` shows it. Refused once the program has exited.
    pub async fn notify(&self, message: String) -> Result<(), ControlError> {
        self.ask(|reply| Command::Notify { message, reply })
            .await
            .map_err(|_| ControlError::Gone)?
    }

    /// Clears the attention mark as `user`; answered once `status` shows
    /// it cleared.
    pub async fn ack(&self, user: String) -> Result<(), ControlError> {
        self.ask(|reply| Command::Ack { user, reply })
            .await
            .map_err(|_| ControlError::Gone)?
    }

    /// Sends `signal` to the program's process group (`signal`).
    pub async fn signal(&self, signal: nix::sys::signal::Signal) -> Result<(), ControlError> {
        self.ask(|reply| Command::Signal { signal, reply })
            .await
            .map_err(|_| ControlError::Gone)?
    }

    /// Ends the program, keeping the session (it shows as exited).
    pub async fn hang_up(&self) -> Result<(), HubGone> {
        self.tell(Command::Hangup).await
    }

    /// The host ends once the program has, without waiting for a gateway
    /// to carry its screen off (`serve --stop-sessions`).
    pub async fn shut_down(&self) -> Result<(), HubGone> {
        self.tell(Command::Shutdown).await
    }

    /// Resolves once the link has stopped.
    pub async fn closed(&self) {
        self.tx.closed().await
    }
}
