//! A running session's host as its link sees it: the control connection
//! (requests out with `try_send`, replies matched by number), and how
//! each link command is served while the host runs the program; then
//! letting it go once the exited session's last screen is kept.
//!
//! Must not wait on the host: a request that cannot be queued is dropped
//! (its asker sees the session gone); attaches and watches open their
//! own connections in tasks.

use crate::transport::HostAddress;
use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::handle::Command;
use crate::engine::Changes;
use crate::engine::hub::AttachError;
use crate::gateway::attachment::attach;
use crate::gateway::host_connection::{self, HostConnection, HostReader};
use crate::wire::protocol::{self, FromHost, ToHost};
use crate::wire::{FinalScreen, HubStatus, ScreenPreview};

/// Control messages queued for a host, and events from it.
const CONTROL_QUEUE: usize = 64;
/// Times an attach the host could not take is passed on to the link again,
/// and how long after each.
const ATTACH_PASSES: u8 = 20;
const ATTACH_PASS_DELAY: Duration = Duration::from_millis(50);
/// How long a host let go after its exit still has to answer what it was
/// asked before (it answers in order, then closes).
const LET_GO_PATIENCE: Duration = Duration::from_secs(5);

/// A running host, through its control connection.
pub(super) struct Host {
    pub(super) address: HostAddress,
    /// The swarm service of a remote host (whose books a lease decides).
    pub(super) service: Option<String>,
    /// The program exited while another gateway kept the books: recorded
    /// and carried off here only if this gateway takes them over.
    pub(super) exit_pending: bool,
    pub(super) to_host: mpsc::Sender<ToHost>,
    /// Boxed: a queue keeps a block of 32 slots, and a status held
    /// inline made that block about 5 KiB for every session.
    pub(super) events: mpsc::Receiver<Box<FromHost>>,
    /// The last status the host reported.
    pub(super) status: HubStatus,
    pub(super) pending: HashMap<u64, Pending>,
    pub(super) next_request: u64,
    /// The program exited and its final screen has been asked for.
    pub(super) carrying_off: bool,
    /// The user's container lease, for Docker: held while the host runs.
    pub(super) _lease: Option<Box<dyn Send + Sync>>,
    /// The link's own commands, for an attach passed on again.
    pub(super) link: mpsc::WeakSender<Command>,
}

/// A request waiting for the host's reply.
pub(super) enum Pending {
    Capture(oneshot::Sender<String>),
    Preview(oneshot::Sender<ScreenPreview>),
    FinalScreen(oneshot::Sender<FinalScreen>),
    Applied(oneshot::Sender<()>),
    /// `Applied` answers a control request that could have been refused.
    Controlled(oneshot::Sender<Result<(), crate::wire::control::ControlError>>),
    /// The final screen, for the link itself to keep.
    CarryOff,
}

impl Host {
    pub(super) fn new(connection: HostConnection, link: mpsc::WeakSender<Command>) -> Host {
        let (to_host, queue) = mpsc::channel(CONTROL_QUEUE);
        let (events_tx, events) = mpsc::channel(CONTROL_QUEUE);
        tokio::spawn(protocol::write_queued(connection.writer, queue));
        tokio::spawn(read_control(connection.reader, events_tx));
        Host {
            address: connection.address,
            service: connection.task.map(|task| task.service),
            exit_pending: false,
            to_host,
            events,
            // Until the first status is handled (`Link::run`), what the
            // link shows is the host's word, not a guess.
            status: connection.status.clone(),
            pending: HashMap::new(),
            next_request: 0,
            carrying_off: false,
            _lease: connection.lease,
            link,
        }
    }

    /// Queues a message for the host without waiting; false if it could
    /// not be queued (a host that stopped reading).
    pub(super) fn send(&self, message: ToHost) -> bool {
        match self.to_host.try_send(message) {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(host = %self.address, %error, "session host not reading; message dropped");
                false
            }
        }
    }

    /// Sends a request; its reply settles `pending`. A request that cannot
    /// be sent is dropped, which its asker sees as the session gone.
    pub(super) fn request(&mut self, pending: Pending, make: impl FnOnce(u64) -> ToHost) {
        let request = self.next_request;
        self.next_request += 1;
        if self.send(make(request)) {
            self.pending.insert(request, pending);
        }
    }

    /// Passes a reply to whoever asked for it; gives back the final
    /// screen the link asked to keep (`Pending::CarryOff`). Events that
    /// are not replies are left to the link.
    pub(super) fn settle(&mut self, event: FromHost) -> Option<FinalScreen> {
        match event {
            FromHost::Captured { request, text } => {
                if let Some(Pending::Capture(reply)) = self.pending.remove(&request) {
                    let _ = reply.send(text);
                }
            }
            FromHost::Preview { request, preview } => {
                if let Some(Pending::Preview(reply)) = self.pending.remove(&request) {
                    let _ = reply.send(preview);
                }
            }
            FromHost::Applied { request } => match self.pending.remove(&request) {
                Some(Pending::Applied(reply)) => {
                    let _ = reply.send(());
                }
                Some(Pending::Controlled(reply)) => {
                    let _ = reply.send(Ok(()));
                }
                _ => {}
            },
            FromHost::FinalScreen { request, screen } => match self.pending.remove(&request) {
                Some(Pending::FinalScreen(reply)) => {
                    let _ = reply.send(screen);
                }
                Some(Pending::CarryOff) => return Some(screen),
                _ => {}
            },
            FromHost::Status(_) | FromHost::ScreenChanged => {}
        }
        None
    }
}

/// Lets a host go once its exited session's last screen is kept here: it
/// is told to end, and the requests it was sent before (a `capture` asked
/// as the program exited) still get its answers, which it gives in order
/// before it closes. Never waits: the answers are read in a task.
pub(super) fn let_go(mut host: Box<Host>) {
    host.send(ToHost::Shutdown);
    if host.pending.is_empty() {
        return;
    }
    tokio::spawn(async move {
        let answers = async {
            while let Some(event) = host.events.recv().await {
                let _ = host.settle(*event);
                if host.pending.is_empty() {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(LET_GO_PATIENCE, answers).await;
    });
}

/// Serves a command while a host runs the session; false once it is
/// killed.
pub(super) fn serve_by_host(host: &mut Host, command: Command, changes: &Changes) -> bool {
    match command {
        // A late word of a reconnecting task: this host already answers.
        Command::Reconnected(_) | Command::HostGone | Command::ExitedScreen { .. } => {}
        command @ Command::Attach { .. } => attach_by_host(host, command),
        Command::Watch { who, reply } => {
            let address = host.address.clone();
            tokio::spawn(async move {
                if let Ok(messages) = host_connection::watch(&address, &who).await {
                    let _ = reply.send(messages);
                }
            });
        }
        Command::Send(bytes) => {
            host.send(ToHost::Send {
                bytes: bytes.to_vec(),
            });
        }
        Command::Capture {
            scrollback,
            ansi,
            reply,
        } => host.request(Pending::Capture(reply), |request| ToHost::Capture {
            request,
            scrollback,
            ansi,
        }),
        Command::Status(reply) => {
            let _ = reply.send(host.status.clone());
        }
        Command::AccessChanged {
            user,
            allowed,
            reply,
        } => host.request(Pending::Applied(reply), |request| ToHost::AccessChanged {
            request,
            user,
            allowed,
        }),
        Command::Preview(reply) => host.request(Pending::Preview(reply), |request| {
            ToHost::Preview { request }
        }),
        Command::FinalScreen(reply) => host.request(Pending::FinalScreen(reply), |request| {
            ToHost::FinalScreen { request }
        }),
        Command::Kill => {
            host.send(ToHost::Kill);
            return false;
        }
        Command::Hangup => {
            host.send(ToHost::Hangup);
        }
        Command::Pause { paused, reply } => {
            let _ = reply.send(host.pause(paused, changes));
        }
        Command::Signal { signal, reply } => {
            let _ = reply.send(host.signal(signal));
        }
        Command::Notify { message, reply } => host.notify(message, reply),
        Command::Ack { user, reply } => host.ack(user, reply),
        // `serve --stop-sessions`: the host ends once the program has,
        // without waiting for a gateway to carry its screen off.
        Command::Shutdown => {
            host.send(ToHost::Shutdown);
        }
        Command::Restart {
            host: started,
            reply,
        } => {
            // A program already runs: the new host is not needed.
            tokio::spawn(kill_host(*started));
            let _ = reply.send(());
        }
    }
    true
}

/// Attaches a client through its own connection to the host, in a task.
/// The host may have just carried its exited session off to this link:
/// then the attach is passed on to the link again, which shows it from
/// here.
fn attach_by_host(host: &Host, command: Command) {
    let Command::Attach {
        who,
        role,
        size,
        upgradable,
        passed_on,
        reply,
    } = command
    else {
        return;
    };
    let (address, link) = (host.address.clone(), host.link.clone());
    tokio::spawn(async move {
        let attached = attach(&address, &who, (role, upgradable), size).await;
        let link = link
            .upgrade()
            .filter(|_| matches!(attached, Err(AttachError::Gone)) && passed_on < ATTACH_PASSES);
        let Some(link) = link else {
            let _ = reply.send(attached);
            return;
        };
        tokio::time::sleep(ATTACH_PASS_DELAY).await;
        let again = Command::Attach {
            who,
            role,
            size,
            upgradable,
            passed_on: passed_on + 1,
            reply,
        };
        let _ = link.send(again).await;
    });
}

/// Tells a host to end its program and itself.
pub async fn kill_host(connection: HostConnection) {
    let mut writer = connection.writer;
    let _ = protocol::send(&mut writer, &ToHost::Kill).await;
}

pub(super) async fn read_control(mut reader: HostReader, events: mpsc::Sender<Box<FromHost>>) {
    while let Ok(event) = protocol::receive::<Box<FromHost>, _>(&mut reader).await {
        if events.send(event).await.is_err() {
            return;
        }
    }
}
