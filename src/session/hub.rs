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
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, watch};

use serde::{Deserialize, Serialize};

use super::clients::{ClientId, Role};
use super::control::ControlError;
use super::terminal::Size;
use crate::config::SizePolicy;
use crate::session_host::connect;
use crate::session_host::connect::{HostConnection, HostReader};
use crate::session_host::protocol::{self, FinalScreen, FromClient};

/// Settings a hub needs from the configuration. Plain data: the gateway
/// sends them to the session host that runs the hub.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HubSettings {
    pub scrollback_lines: usize,
    pub attach_scrollback: usize,
    pub size_policy: SizePolicy,
    pub client_buffer: usize,
    pub kill_grace: Duration,
    /// Longest a synchronized-output frame is held back from clients.
    pub sync_timeout: Duration,
    /// Most clients attached at once (`sessions.max_clients`); 0: no limit.
    pub max_clients: usize,
    /// The recording file (`sessions.record`), as the hub sees it, or
    /// `None` to not record.
    pub recording: Option<std::path::PathBuf>,
}

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

/// A running session's state, as `ls` and the metrics show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubStatus {
    pub running: bool,
    /// Set once the program ended; `None` while running or when unknown
    /// (the program died with an earlier server).
    pub exit_status: Option<i32>,
    pub writers: usize,
    pub observers: usize,
    pub attention: bool,
    pub last_active: i64,
    pub size: Size,
    /// Who is attached, in the order they attached.
    pub participants: Vec<Participant>,
    /// The program's process id while it runs.
    #[serde(default)]
    pub program_pid: Option<u32>,
    /// Clients switched to screen sync since the hub started.
    #[serde(default)]
    pub screen_sync_switches: u64,
    /// Recordings stopped by a write error since the hub started.
    #[serde(default)]
    pub recording_failures: u64,
    /// Whether the program is paused (`pause`); `None` from a host of a
    /// build before pausing, which cannot pause.
    #[serde(default)]
    pub paused: Option<bool>,
}

impl HubStatus {
    /// The state `ls`, the picker and the API show: `running`, `paused` or
    /// `exited`.
    pub fn state(&self) -> &'static str {
        match (self.running, self.paused) {
            (true, Some(true)) => "paused",
            (true, _) => "running",
            (false, _) => "exited",
        }
    }
}

/// One attached client, as others see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    /// The user's name.
    pub name: String,
    pub role: Role,
    /// The attached client's id in its hub, so a client can find its own
    /// role (it changes in place with `share`); `None` from a host of a
    /// build before it was sent.
    #[serde(default)]
    pub client: Option<u64>,
}

/// The current screen of a session, for a preview.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScreenPreview {
    pub size: Size,
    /// The visible screen as escape sequences that draw it on a blank
    /// terminal of `size`.
    #[serde(with = "serde_bytes")]
    pub contents: Vec<u8>,
}

pub(super) enum Command {
    Attach {
        who: String,
        role: Role,
        size: Size,
        /// Read-only only for want of write access: made a writer at once
        /// if the user is given it.
        upgradable: bool,
        /// Times the session's link has passed this attach on again (a host
        /// that had just carried its exited session off).
        passed_on: u8,
        reply: oneshot::Sender<Result<Attachment, AttachError>>,
    },
    Watch {
        who: String,
        reply: oneshot::Sender<mpsc::Receiver<ClientMessage>>,
    },
    Detach(ClientId),
    Input(ClientId, Bytes),
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
    /// A session host started by the caller (runtimes may take seconds,
    /// which nobody must wait for) to run the exited session again; only
    /// the gateway's link takes it. Killed if a program already runs.
    Restart {
        host: Box<HostConnection>,
        reply: oneshot::Sender<()>,
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

    /// Runs the exited session again in `host` (started with the screen
    /// [`HubHandle::final_screen`] gave). If a program already runs, the
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

    /// Sends `signal` to the program's process group (`signal`).
    pub async fn signal(&self, signal: nix::sys::signal::Signal) -> Result<(), ControlError> {
        self.ask(|reply| Command::Signal { signal, reply })
            .await
            .map_err(|_| ControlError::Gone)?
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

    /// Resolves once the hub (or the session's link) has stopped.
    pub async fn closed(&self) {
        self.tx.closed().await
    }

    /// A handle on a hub run by another task than `start_hub`'s: the
    /// session's link in the gateway, which serves the same commands.
    pub(super) fn new(tx: mpsc::Sender<Command>, screen: watch::Receiver<u64>) -> HubHandle {
        HubHandle { tx, screen }
    }
}

/// One client's attachment: its messages and its way back to the hub.
/// Dropping it detaches the client.
pub struct Attachment {
    pub id: ClientId,
    pub role: Role,
    /// Taken by the task that writes to the client.
    pub messages: Option<Messages>,
    pub(super) link: ClientLink,
}

/// What an attached client is sent, in order: from its outbox in a hub in
/// this process, or read straight off its connection to a session host
/// (no task between the socket and the client's writer).
pub struct Messages {
    source: MessageSource,
}

enum MessageSource {
    Outbox(mpsc::Receiver<ClientMessage>),
    Host {
        reader: HostReader,
        /// The last message (an exit, a kill, a revoke) has been handed out.
        ended: bool,
    },
}

impl Messages {
    pub(crate) fn from_outbox(outbox: mpsc::Receiver<ClientMessage>) -> Messages {
        Messages {
            source: MessageSource::Outbox(outbox),
        }
    }

    fn from_host(reader: HostReader) -> Messages {
        Messages {
            source: MessageSource::Host {
                reader,
                ended: false,
            },
        }
    }

    /// The next message; `None` once there are no more. Cancel-safe (a
    /// partly read frame stays buffered). A host that vanishes without a
    /// word shows as the program having exited, status unknown.
    pub async fn recv(&mut self) -> Option<ClientMessage> {
        let (reader, ended) = match &mut self.source {
            MessageSource::Outbox(outbox) => return outbox.recv().await,
            MessageSource::Host { reader, ended } => (reader, ended),
        };
        while !*ended {
            let message = match protocol::receive_to_client(reader).await {
                Ok(message) => message,
                Err(_) => {
                    *ended = true;
                    return Some(ClientMessage::Exited { status: None });
                }
            };
            if let Some(message) = connect::from_host(message) {
                *ended = matches!(
                    message,
                    ClientMessage::Exited { .. } | ClientMessage::Closed | ClientMessage::Revoked
                );
                return Some(message);
            }
        }
        None
    }

    /// A message already waiting, without waiting for one (from a hub in
    /// this process only).
    pub fn try_recv(&mut self) -> Option<ClientMessage> {
        match &mut self.source {
            MessageSource::Outbox(outbox) => outbox.try_recv().ok(),
            MessageSource::Host { .. } => None,
        }
    }
}

/// Where an attached client's input and receipts go: a hub in this
/// process, or the connection to a session host that runs it.
#[derive(Clone)]
pub(crate) enum ClientLink {
    Local {
        queued_bytes: Arc<AtomicUsize>,
        hub: HubHandle,
    },
    /// The connection closes when the last sender (this attachment's and
    /// its receipts') is dropped, which detaches the client.
    Remote { to_host: mpsc::Sender<FromClient> },
}

impl Attachment {
    /// An attachment to a hub in another process, reached through
    /// `to_host`.
    pub(crate) fn remote(
        id: ClientId,
        role: Role,
        messages: HostReader,
        to_host: mpsc::Sender<FromClient>,
    ) -> Attachment {
        Attachment {
            id,
            role,
            messages: Some(Messages::from_host(messages)),
            link: ClientLink::Remote { to_host },
        }
    }

    pub async fn input(&self, bytes: Bytes) -> Result<(), HubGone> {
        match &self.link {
            ClientLink::Local { hub, .. } => hub.tx.send(Command::Input(self.id, bytes)).await,
            ClientLink::Remote { to_host, .. } => {
                return to_host
                    .send(FromClient::Input(bytes.to_vec()))
                    .await
                    .map_err(|_| HubGone);
            }
        }
        .map_err(|_| HubGone)
    }

    pub async fn resize(&self, size: Size) -> Result<(), HubGone> {
        match &self.link {
            ClientLink::Local { hub, .. } => hub.tx.send(Command::Resize(self.id, size)).await,
            ClientLink::Remote { to_host, .. } => {
                return to_host
                    .send(FromClient::Resize(size))
                    .await
                    .map_err(|_| HubGone);
            }
        }
        .map_err(|_| HubGone)
    }

    /// Something for the task that writes this client's messages to report
    /// them written with.
    pub fn receipts(&self) -> Receipts {
        Receipts {
            id: self.id,
            link: self.link.clone(),
            unreported: 0,
        }
    }
}

/// Below this many bytes written, receipts to a session host wait: a
/// keystroke's echo then goes to the client without a receipt written
/// (and the host woken) before it. Far below `sessions.client_buffer`'s
/// default, so a client is not taken for slow for want of them.
const RECEIPT_BATCH: usize = 16 * 1024;
/// How long a waiting receipt waits for more output before it is sent
/// anyway (the writer's [`Receipts::unreported`] branch).
pub const RECEIPT_DELAY: Duration = Duration::from_millis(2);

/// Reports a client's messages as written: frees their bytes from the
/// outbox budget, and acknowledges those that asked for it.
#[derive(Clone)]
pub struct Receipts {
    id: ClientId,
    link: ClientLink,
    /// Bytes written to a remote client and not yet reported to its host.
    unreported: usize,
}

impl Receipts {
    pub async fn written(&mut self, message: &ClientMessage) -> Result<(), HubGone> {
        let (len, ack) = match message {
            ClientMessage::Output { bytes, ack } => (bytes.len(), *ack),
            ClientMessage::Marker => (0, true),
            _ => return Ok(()),
        };
        self.written_bytes(len, ack).await
    }

    /// Reports `len` bytes written, acknowledged if `ack`. To a session
    /// host, a small unacknowledged amount waits for more (see
    /// [`RECEIPT_BATCH`]); the writer sends it after [`RECEIPT_DELAY`]
    /// with [`Receipts::report_unreported`].
    pub async fn written_bytes(&mut self, len: usize, ack: bool) -> Result<(), HubGone> {
        match &self.link {
            ClientLink::Local { queued_bytes, hub } => {
                queued_bytes.fetch_sub(len, Ordering::AcqRel);
                if ack {
                    hub.tx
                        .send(Command::Written(self.id))
                        .await
                        .map_err(|_| HubGone)?;
                }
                Ok(())
            }
            ClientLink::Remote { .. } => {
                self.unreported = self.unreported.saturating_add(len);
                if ack || self.unreported >= RECEIPT_BATCH {
                    self.report(ack).await
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Whether bytes written wait to be reported.
    pub fn unreported(&self) -> bool {
        self.unreported > 0
    }

    /// Reports the bytes written that wait to be.
    pub async fn report_unreported(&mut self) -> Result<(), HubGone> {
        if self.unreported == 0 {
            return Ok(());
        }
        self.report(false).await
    }

    async fn report(&mut self, ack: bool) -> Result<(), HubGone> {
        let ClientLink::Remote { to_host } = &self.link else {
            return Ok(());
        };
        let bytes = std::mem::take(&mut self.unreported) as u64;
        to_host
            .send(FromClient::Written { bytes, ack })
            .await
            .map_err(|_| HubGone)
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        let ClientLink::Local { hub, .. } = &self.link else {
            // Dropping the closer ends the connection, which detaches.
            return;
        };
        let command = Command::Detach(self.id);
        if let Err(mpsc::error::TrySendError::Full(command)) = hub.tx.try_send(command) {
            let tx = hub.tx.clone();
            tokio::spawn(async move {
                let _ = tx.send(command).await;
            });
        }
    }
}
