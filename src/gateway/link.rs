//! The session link: the gateway's one task per session, behind the
//! session's [`LinkHandle`]. While the program runs, the hub lives in the
//! session host and the link speaks to it over the host's control
//! connection; once the program has exited, the link carries the final
//! screen off into an engine hub of its own (no program) and asks that
//! one, through its `HubHandle`, as any other caller would.
//!
//! It owns what the gateway keeps about a session beyond the host: the
//! last status the host reported (so `ls` never waits on a host), the
//! database record of exits, restarts and activity, the `exit` audit event
//! and the metrics the host counted.
//!
//! Must not wait on a host: requests go out with `try_send` and replies
//! come back as events; attaching and watching open connections of their
//! own in tasks.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::attachment::Attachment;

use super::records::RecordWriter;
use crate::audit::{AuditEvent, Auditor};
use crate::clock::unix_now;
use crate::engine::Changes;
use crate::engine::hub::{AttachError, ClientMessage, HubGone, HubHandle};
use crate::engine::hub_task::{HubIdentity, HubStart, start_hub};
use crate::gateway::host_connection::{self, HostConnection, HostReader};
use crate::store::Store;
use crate::wire::control::ControlError;

use crate::wire::FinalScreen;
use crate::wire::protocol::{self, FromHost, ToHost};
use crate::wire::{HubSettings, HubStatus, Role, ScreenPreview, Size};

mod control;

/// Commands waiting for the link.
const COMMAND_QUEUE: usize = 256;
/// Control messages queued for a host, and events from it.
const CONTROL_QUEUE: usize = 64;
/// Times an attach the host could not take is passed on to the link again,
/// and how long after each.
const ATTACH_PASSES: u8 = 20;
const ATTACH_PASS_DELAY: Duration = Duration::from_millis(50);
/// How often the activity time is written to the database, at most.
const ACTIVITY_PERSIST_INTERVAL: Duration = Duration::from_secs(15);

/// What every link of this gateway shares.
#[derive(Clone)]
pub struct LinkContext {
    pub store: Store,
    /// Writes exits, restarts and activity, so the link never waits on
    /// the database.
    pub records: RecordWriter,
    pub audit: Auditor,
    /// Bumped when anything `ls` shows changes.
    pub changes: Changes,
    /// For the hub that shows an exited session.
    pub settings: HubSettings,
}

/// How a link starts.
pub enum LinkStart {
    /// A host runs the session.
    Host { connection: Box<HostConnection> },
    /// The session has exited; `seed` is its last screen when known.
    Exited {
        status: Option<i32>,
        last_active: i64,
        seed: Option<FinalScreen>,
    },
}

/// Starts the link of one session.
pub fn start_link(context: LinkContext, identity: HubIdentity, start: LinkStart) -> LinkHandle {
    let (tx, commands) = mpsc::channel(COMMAND_QUEUE);
    let (screen, screen_changes) = watch::channel(0);
    let mut link = Link {
        context,
        identity,
        screen,
        state: State::Starting,
        persisted_activity: None,
        counted: Counted::default(),
        me: tx.downgrade(),
        first_status: None,
    };
    match start {
        LinkStart::Host { connection } => {
            link.first_status = Some(connection.status.clone());
            link.state = State::Host(Host::new(*connection, tx.downgrade()));
        }
        LinkStart::Exited {
            status,
            last_active,
            seed,
        } => link.show_exited(status, last_active, seed),
    }
    tokio::spawn(link.run(commands));
    LinkHandle {
        tx,
        screen: screen_changes,
    }
}

/// What a link is asked: the questions a transport has about a session,
/// and the restart only the gateway does.
enum Command {
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
    /// A session host started by the caller (runtimes may take seconds,
    /// which the link must not wait for) to run the exited session again.
    /// Killed if a program already runs.
    Restart {
        host: Box<HostConnection>,
        reply: oneshot::Sender<()>,
    },
}

/// Talks to one session's link. Cheap to clone.
#[derive(Clone)]
pub struct LinkHandle {
    tx: mpsc::Sender<Command>,
    screen: watch::Receiver<u64>,
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

struct Link {
    context: LinkContext,
    identity: HubIdentity,
    /// Bumped when the host says the screen changed (for previews).
    screen: watch::Sender<u64>,
    state: State,
    /// When the activity time was last written to the database.
    persisted_activity: Option<Instant>,
    /// What the host's counters stood at when last added to the metrics.
    counted: Counted,
    /// The link's own commands (weak: the link still ends when every
    /// handle is gone).
    me: mpsc::WeakSender<Command>,
    /// A host's first status, read when it was connected: handled like
    /// every later one (an exit during the gateway's absence included).
    first_status: Option<HubStatus>,
}

#[derive(Default)]
struct Counted {
    screen_sync_switches: u64,
    recording_failures: u64,
}

enum State {
    /// Only while `start_link` sets the first real state.
    Starting,
    Host(Host),
    /// The program exited: a hub in this process shows its last screen.
    Exited(HubHandle),
}

/// A running host, through its control connection.
struct Host {
    socket: PathBuf,
    to_host: mpsc::Sender<ToHost>,
    events: mpsc::Receiver<FromHost>,
    /// The last status the host reported.
    status: HubStatus,
    pending: HashMap<u64, Pending>,
    next_request: u64,
    /// The program exited and its final screen has been asked for.
    carrying_off: bool,
    /// The user's container lease, for Docker: held while the host runs.
    _lease: Option<Box<dyn Send + Sync>>,
    /// The link's own commands, for an attach passed on again.
    link: mpsc::WeakSender<Command>,
}

/// A request waiting for the host's reply.
enum Pending {
    Capture(oneshot::Sender<String>),
    Preview(oneshot::Sender<ScreenPreview>),
    FinalScreen(oneshot::Sender<FinalScreen>),
    Applied(oneshot::Sender<()>),
    /// The final screen, for the link itself to keep.
    CarryOff,
}

enum Event {
    Command(Option<Command>),
    Host(Option<FromHost>),
}

impl Host {
    fn new(connection: HostConnection, link: mpsc::WeakSender<Command>) -> Host {
        let (to_host, queue) = mpsc::channel(CONTROL_QUEUE);
        let (events_tx, events) = mpsc::channel(CONTROL_QUEUE);
        tokio::spawn(protocol::write_queued(connection.writer, queue));
        tokio::spawn(read_control(connection.reader, events_tx));
        Host {
            socket: connection.socket,
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
    fn send(&self, message: ToHost) -> bool {
        match self.to_host.try_send(message) {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(socket = %self.socket.display(), %error, "session host not reading; message dropped");
                false
            }
        }
    }

    /// Sends a request; its reply settles `pending`. A request that cannot
    /// be sent is dropped, which its asker sees as the session gone.
    fn request(&mut self, pending: Pending, make: impl FnOnce(u64) -> ToHost) {
        let request = self.next_request;
        self.next_request += 1;
        if self.send(make(request)) {
            self.pending.insert(request, pending);
        }
    }
}

impl Link {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        loop {
            if let Some(status) = self.first_status.take() {
                self.on_status(status);
            }
            let event = match &mut self.state {
                State::Host(host) => tokio::select! {
                    command = commands.recv() => Event::Command(command),
                    event = host.events.recv() => Event::Host(event),
                },
                _ => Event::Command(commands.recv().await),
            };
            let carry_on = match event {
                Event::Command(None) => false,
                Event::Command(Some(command)) => self.command(command),
                Event::Host(Some(event)) => {
                    self.host_event(event);
                    true
                }
                Event::Host(None) => {
                    self.host_lost();
                    true
                }
            };
            if !carry_on {
                break;
            }
        }
        tracing::debug!(session = %self.identity.label, "session link stopped");
    }

    /// Serves one command; false when the link should stop.
    fn command(&mut self, command: Command) -> bool {
        match &mut self.state {
            State::Host(host) => {
                let carry_on = serve_by_host(host, command, &self.context.changes);
                if !carry_on {
                    // Killed: the host ends the program and itself.
                    self.state = State::Starting;
                }
                carry_on
            }
            State::Exited(hub) => match command {
                Command::Restart { host, reply } => {
                    self.restarted(*host);
                    let _ = reply.send(());
                    true
                }
                Command::Kill => {
                    let hub = hub.clone();
                    tokio::spawn(async move {
                        let _ = hub.kill().await;
                    });
                    false
                }
                other => {
                    ask_exited_hub(hub.clone(), other);
                    true
                }
            },
            State::Starting => false,
        }
    }

    fn host_event(&mut self, event: FromHost) {
        let State::Host(host) = &mut self.state else {
            return;
        };
        match event {
            FromHost::Status(status) => self.on_status(status),
            FromHost::ScreenChanged => self.screen.send_modify(|n| *n = n.wrapping_add(1)),
            FromHost::Captured { request, text } => {
                if let Some(Pending::Capture(reply)) = host.pending.remove(&request) {
                    let _ = reply.send(text);
                }
            }
            FromHost::Preview { request, preview } => {
                if let Some(Pending::Preview(reply)) = host.pending.remove(&request) {
                    let _ = reply.send(preview);
                }
            }
            FromHost::Applied { request } => {
                if let Some(Pending::Applied(reply)) = host.pending.remove(&request) {
                    let _ = reply.send(());
                }
            }
            FromHost::FinalScreen { request, screen } => match host.pending.remove(&request) {
                Some(Pending::FinalScreen(reply)) => {
                    let _ = reply.send(screen);
                }
                Some(Pending::CarryOff) => self.carry_off(screen),
                _ => {}
            },
        }
    }

    fn on_status(&mut self, status: HubStatus) {
        self.count_metrics(&status);
        self.persist_activity(status.last_active);
        let State::Host(host) = &mut self.state else {
            return;
        };
        if host.status != status {
            self.context.changes.notify();
        }
        let exited = !status.running && !host.carrying_off;
        host.status = status;
        if exited {
            host.carrying_off = true;
            host.request(Pending::CarryOff, |request| ToHost::FinalScreen { request });
            let code = host.status.exit_status;
            self.record_exit(code);
        }
    }

    /// Adds what the host counted since last time to the gateway's metrics.
    fn count_metrics(&mut self, status: &HubStatus) {
        let switches = status
            .screen_sync_switches
            .saturating_sub(self.counted.screen_sync_switches);
        let failures = status
            .recording_failures
            .saturating_sub(self.counted.recording_failures);
        if switches > 0 {
            metrics::counter!(crate::metrics::SCREEN_SYNC_SWITCHES).increment(switches);
        }
        if failures > 0 {
            metrics::counter!(crate::metrics::RECORDING_FAILURES).increment(failures);
        }
        self.counted.screen_sync_switches = status.screen_sync_switches;
        self.counted.recording_failures = status.recording_failures;
    }

    /// Writes the activity time to the database, at most every
    /// [`ACTIVITY_PERSIST_INTERVAL`].
    fn persist_activity(&mut self, last_active: i64) {
        let State::Host(host) = &self.state else {
            return;
        };
        if host.status.last_active == last_active
            || self
                .persisted_activity
                .is_some_and(|at| at.elapsed() < ACTIVITY_PERSIST_INTERVAL)
        {
            return;
        }
        self.persisted_activity = Some(Instant::now());
        self.context.records.touched(self.identity.id, last_active);
    }

    fn record_exit(&self, status: Option<i32>) {
        let label = &self.identity.label;
        let text = status.map_or("unknown".to_string(), |s| s.to_string());
        self.context.audit.record_now(
            AuditEvent::new(None, "exit")
                .session(label.clone())
                .detail(format!("status {text}")),
        );
        let at = unix_now();
        self.context
            .records
            .exited(self.identity.id, label, status, at);
    }

    /// The host's final screen arrived: show it from here, let the host go.
    fn carry_off(&mut self, screen: FinalScreen) {
        let State::Host(host) = &self.state else {
            return;
        };
        host.send(ToHost::Shutdown);
        let (status, last_active) = (host.status.exit_status, unix_now());
        self.show_exited(status, last_active, Some(screen));
        self.context.changes.notify();
        self.screen.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The host vanished (killed from outside, or the machine is going
    /// down): the session has exited with an unknown status, its screen lost.
    fn host_lost(&mut self) {
        let State::Host(host) = &self.state else {
            return;
        };
        tracing::warn!(session = %self.identity.label, "session host went away");
        let recorded = host.carrying_off;
        let status = host.status.exit_status;
        if !recorded {
            self.record_exit(None);
        }
        self.show_exited(status, unix_now(), None);
        self.context.changes.notify();
    }

    fn show_exited(&mut self, status: Option<i32>, last_active: i64, seed: Option<FinalScreen>) {
        let start = HubStart {
            process: None,
            exit_status: status,
            last_active,
            seed,
        };
        let hub = start_hub(
            self.identity.clone(),
            self.context.settings.clone(),
            self.context.changes.clone(),
            start,
        );
        self.state = State::Exited(hub);
    }

    /// `restart`: the caller started a new host for this exited session.
    fn restarted(&mut self, connection: HostConnection) {
        self.first_status = Some(connection.status.clone());
        self.state = State::Host(Host::new(connection, self.me.clone()));
        self.counted = Counted::default();
        self.context.changes.notify();
        self.screen.send_modify(|n| *n = n.wrapping_add(1));
        let at = unix_now();
        self.context
            .records
            .running(self.identity.id, &self.identity.label, at);
    }
}

/// Serves a command while a host runs the session; false once it is
/// killed.
fn serve_by_host(host: &mut Host, command: Command, changes: &Changes) -> bool {
    match command {
        Command::Attach {
            who,
            role,
            size,
            upgradable,
            passed_on,
            reply,
        } => {
            let (socket, link) = (host.socket.clone(), host.link.clone());
            tokio::spawn(async move {
                let attached =
                    super::attachment::attach(&socket, &who, (role, upgradable), size).await;
                // The host may have just carried its exited session off to
                // this link: ask the link again, which shows it from here.
                let link = link.upgrade().filter(|_| {
                    matches!(attached, Err(AttachError::Gone)) && passed_on < ATTACH_PASSES
                });
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
        Command::Watch { who, reply } => {
            let socket = host.socket.clone();
            tokio::spawn(async move {
                if let Ok(messages) = host_connection::watch(&socket, &who).await {
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

/// Serves a command from the engine hub that shows an exited session: in
/// a task of its own, so the link never waits on the hub.
fn ask_exited_hub(hub: HubHandle, command: Command) {
    tokio::spawn(async move {
        match command {
            Command::Attach {
                who,
                role,
                size,
                upgradable,
                reply,
                ..
            } => {
                let attached = hub.attach_with(&who, role, size, upgradable).await;
                let _ = reply.send(attached.map(Attachment::exited));
            }
            Command::Watch { who, reply } => {
                if let Ok(messages) = hub.watch(&who).await {
                    let _ = reply.send(messages);
                }
            }
            Command::Send(bytes) => {
                let _ = hub.send_input(bytes).await;
            }
            Command::Capture {
                scrollback,
                ansi,
                reply,
            } => {
                if let Ok(text) = hub.capture(scrollback, ansi).await {
                    let _ = reply.send(text);
                }
            }
            Command::Status(reply) => {
                if let Ok(status) = hub.status().await {
                    let _ = reply.send(status);
                }
            }
            Command::AccessChanged {
                user,
                allowed,
                reply,
            } => {
                if hub.access_changed(&user, allowed).await.is_ok() {
                    let _ = reply.send(());
                }
            }
            Command::Preview(reply) => {
                if let Ok(preview) = hub.preview().await {
                    let _ = reply.send(preview);
                }
            }
            Command::FinalScreen(reply) => {
                if let Ok(screen) = hub.final_screen().await {
                    let _ = reply.send(screen);
                }
            }
            Command::Hangup => {
                let _ = hub.hang_up().await;
            }
            Command::Shutdown => {
                let _ = hub.shut_down().await;
            }
            Command::Pause { reply, .. } | Command::Signal { reply, .. } => {
                let _ = reply.send(Err(ControlError::Exited));
            }
            // Served by the link itself.
            Command::Kill | Command::Restart { .. } => {}
        }
    });
}

/// Tells a host to end its program and itself.
pub async fn kill_host(connection: HostConnection) {
    let mut writer = connection.writer;
    let _ = protocol::send(&mut writer, &ToHost::Kill).await;
}

async fn read_control(mut reader: HostReader, events: mpsc::Sender<FromHost>) {
    while let Ok(event) = protocol::receive::<FromHost, _>(&mut reader).await {
        if events.send(event).await.is_err() {
            return;
        }
    }
}
