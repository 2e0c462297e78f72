//! The hub: one task per session that owns the running program, the
//! session's terminal state and its client table. Everything else talks to
//! it through [`HubHandle`] commands; it is the only writer of that state.
//!
//! The PTY is read whenever the program writes, whether or not anyone is
//! attached, and a client never slows it: deliveries go into each client's
//! bounded outbox without waiting, and a client whose outbox is full is
//! switched to screen paints. Input to the program goes through a bounded
//! queue to a writer task, so a program that stops reading its input
//! cannot stall the hub either.
//!
//! Must not hold any lock, know any transport, or wait on a client.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, watch};

use crate::wire::FinalScreen;
use crate::wire::control::ControlError;
use crate::wire::{ClientId, HubStatus, Role, ScreenPreview, Size};

/// What a client's front end receives.
#[derive(Debug)]
pub enum ClientMessage {
    /// Bytes to write; report them with [`Receipts::written`] once written.
    Output { bytes: Bytes, ack: bool },
    /// Nothing to write, but report it with [`Receipts::written`].
    Marker,
    /// The program ended; the client has been detached.
    Exited { status: Option<i32> },
    /// The session was removed (killed) while attached.
    Closed,
    /// The user's access to the session was taken away; the client has
    /// been detached.
    Revoked,
}

pub(super) enum Command {
    Attach {
        who: String,
        role: Role,
        size: Size,
        /// Read-only only for want of write access: made a writer at once
        /// if the user is given it.
        upgradable: bool,
        reply: oneshot::Sender<Result<Attachment, AttachError>>,
    },
    Watch {
        who: String,
        reply: oneshot::Sender<mpsc::Receiver<ClientMessage>>,
    },
    Detach(ClientId),
    Input(ClientId, Bytes),
    /// Bytes for one client's terminal only, between the program's
    /// escape sequences.
    Notice(ClientId, Bytes),
    Send(Bytes),
    Resize(ClientId, Size),
    Written(ClientId),
    Capture {
        scrollback: usize,
        ansi: bool,
        reply: oneshot::Sender<String>,
    },
    Status(oneshot::Sender<HubStatus>),
    /// A user's access changed: `None` detaches their clients, `Observer`
    /// makes their writers observers.
    AccessChanged {
        user: String,
        allowed: Option<Role>,
        /// Answered once the change is queued in the hub: input that
        /// arrives after it is judged by the new access.
        reply: oneshot::Sender<()>,
    },
    Preview(oneshot::Sender<ScreenPreview>),
    /// The screen with its whole scrollback, to carry it elsewhere (to the
    /// gateway when the program exited, or into a restarted session).
    FinalScreen(oneshot::Sender<FinalScreen>),
    /// Ends the program (hangup, then kill) and removes the session.
    Kill,
    /// Ends the program (hangup, then kill); the session stays, exited.
    Hangup,
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
    /// The hub's screen has been carried off: stop once the program is gone.
    Shutdown,
    /// Marks the session as wanting attention (`notify`).
    Notify {
        message: String,
        reply: oneshot::Sender<Result<(), ControlError>>,
    },
    /// Clears the attention mark as `user` (`ack`); true if it was set.
    Ack {
        user: String,
        reply: oneshot::Sender<bool>,
    },
}

/// Talks to one session's hub. Cheap to clone.
#[derive(Clone)]
pub struct HubHandle {
    pub(super) tx: mpsc::Sender<Command>,
    pub(super) screen: watch::Receiver<u64>,
}

/// Why an attach did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttachError {
    #[error("the session has ended")]
    Gone,
    #[error("the session has {limit} clients attached, the most sessions.max_clients allows")]
    Full { limit: usize },
    /// Its host runs on a machine this gateway cannot reach just now.
    #[error(
        "the session's machine cannot be reached just now (state unreachable): try again when it is back"
    )]
    Unreachable,
}

/// The hub has stopped (the session was removed).
#[derive(Debug, thiserror::Error)]
#[error("the session has ended")]
pub struct HubGone;

impl HubHandle {
    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, HubGone> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(make(reply)).await.map_err(|_| HubGone)?;
        answer.await.map_err(|_| HubGone)
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

    /// [`HubHandle::attach`]; an `upgradable` observer (one that asked to
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
        self.tx
            .send(Command::Send(bytes))
            .await
            .map_err(|_| HubGone)
    }

    /// Ends the program (hangup, then kill after the grace period) and
    /// stops the hub once it is gone.
    pub async fn kill(&self) -> Result<(), HubGone> {
        self.tx.send(Command::Kill).await.map_err(|_| HubGone)
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

    /// Sends `signal` to the program's process group (`signal`).
    pub async fn signal(&self, signal: nix::sys::signal::Signal) -> Result<(), ControlError> {
        self.ask(|reply| Command::Signal { signal, reply })
            .await
            .map_err(|_| ControlError::Gone)?
    }

    /// Marks the session as wanting attention with `message` (cleaned
    /// here); refused once the program has exited.
    pub async fn notify(&self, message: String) -> Result<(), ControlError> {
        self.ask(|reply| Command::Notify { message, reply })
            .await
            .map_err(|_| ControlError::Gone)?
    }

    /// Clears the attention mark as `user`; true if it was set.
    pub async fn ack(&self, user: String) -> Result<bool, HubGone> {
        self.ask(|reply| Command::Ack { user, reply }).await
    }

    /// Ends the program, keeping the session (it shows as exited).
    pub async fn hang_up(&self) -> Result<(), HubGone> {
        self.tx.send(Command::Hangup).await.map_err(|_| HubGone)
    }

    /// The final screen has been carried off: the hub stops once no
    /// program runs.
    pub async fn shut_down(&self) -> Result<(), HubGone> {
        self.tx.send(Command::Shutdown).await.map_err(|_| HubGone)
    }

    /// Resolves once the hub has stopped.
    pub async fn closed(&self) {
        self.tx.closed().await
    }
}

/// One client's attachment to a hub in this process: its messages and
/// its way back to the hub. Dropping it detaches the client.
pub struct Attachment {
    pub id: ClientId,
    pub role: Role,
    /// Taken by the task that writes to the client.
    pub messages: Option<Messages>,
    pub(super) link: ClientLink,
}

/// What an attached client is sent, in order, from its outbox.
pub struct Messages {
    outbox: mpsc::Receiver<ClientMessage>,
}

impl Messages {
    pub(crate) fn from_outbox(outbox: mpsc::Receiver<ClientMessage>) -> Messages {
        Messages { outbox }
    }

    /// The next message; `None` once there are no more. Cancel-safe.
    pub async fn recv(&mut self) -> Option<ClientMessage> {
        self.outbox.recv().await
    }

    /// A message already waiting, without waiting for one.
    pub fn try_recv(&mut self) -> Option<ClientMessage> {
        self.outbox.try_recv().ok()
    }
}

/// Where an attached client's input and receipts go: its hub, and the
/// outbox budget the hub shares with it.
#[derive(Clone)]
pub(crate) struct ClientLink {
    pub(crate) queued_bytes: Arc<AtomicUsize>,
    pub(crate) hub: HubHandle,
}

impl Attachment {
    pub async fn input(&self, bytes: Bytes) -> Result<(), HubGone> {
        self.link
            .hub
            .tx
            .send(Command::Input(self.id, bytes))
            .await
            .map_err(|_| HubGone)
    }

    /// Bytes for this client's terminal only (a forwarded notification):
    /// written at the first point of the program's output that is outside
    /// any escape sequence and between characters.
    pub async fn notice(&self, bytes: Bytes) -> Result<(), HubGone> {
        self.link
            .hub
            .tx
            .send(Command::Notice(self.id, bytes))
            .await
            .map_err(|_| HubGone)
    }

    pub async fn resize(&self, size: Size) -> Result<(), HubGone> {
        self.link
            .hub
            .tx
            .send(Command::Resize(self.id, size))
            .await
            .map_err(|_| HubGone)
    }

    /// Something for the task that writes this client's messages to report
    /// them written with.
    pub fn receipts(&self) -> Receipts {
        Receipts {
            id: self.id,
            link: self.link.clone(),
        }
    }
}

/// Reports a client's messages as written: frees their bytes from the
/// outbox budget, and acknowledges those that asked for it.
#[derive(Clone)]
pub struct Receipts {
    id: ClientId,
    link: ClientLink,
}

impl Receipts {
    /// Reports `len` bytes written, acknowledged if `ack`.
    pub async fn written_bytes(&mut self, len: usize, ack: bool) -> Result<(), HubGone> {
        self.link.queued_bytes.fetch_sub(len, Ordering::AcqRel);
        if ack {
            self.link
                .hub
                .tx
                .send(Command::Written(self.id))
                .await
                .map_err(|_| HubGone)?;
        }
        Ok(())
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        let command = Command::Detach(self.id);
        let tx = &self.link.hub.tx;
        if let Err(mpsc::error::TrySendError::Full(command)) = tx.try_send(command) {
            let tx = tx.clone();
            tokio::spawn(async move {
                let _ = tx.send(command).await;
            });
        }
    }
}
