//! The session link: the gateway's one task per session, behind the
//! session's [`HubHandle`]. While the program runs, the hub lives in the
//! session host and the link speaks to it over the host's control
//! connection; once the program has exited, the link carries the final
//! screen off into a hub of its own (no program) and shows that one.
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

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::Changes;
use super::hub::{AttachError, Command, HubHandle, HubSettings, HubStatus, ScreenPreview};
use super::hub_task::{HubIdentity, HubStart, start_hub};
use super::unix_now;
use crate::audit::{AuditEvent, Auditor};
use crate::session_host::connect::{self, HostConnection, HostReader};
use crate::session_host::protocol::{self, FinalScreen, FromHost, ToHost};
use crate::store::Store;

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
pub fn start_link(context: LinkContext, identity: HubIdentity, start: LinkStart) -> HubHandle {
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
    HubHandle::new(tx, screen_changes)
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
                self.on_status(status).await;
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
                Event::Command(Some(command)) => self.command(command).await,
                Event::Host(Some(event)) => {
                    self.host_event(event).await;
                    true
                }
                Event::Host(None) => {
                    self.host_lost().await;
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
    async fn command(&mut self, command: Command) -> bool {
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
                    self.restarted(*host).await;
                    let _ = reply.send(());
                    true
                }
                Command::Kill => {
                    let _ = hub.tx.send(Command::Kill).await;
                    false
                }
                other => hub.tx.send(other).await.is_ok(),
            },
            State::Starting => false,
        }
    }

    async fn host_event(&mut self, event: FromHost) {
        let State::Host(host) = &mut self.state else {
            return;
        };
        match event {
            FromHost::Status(status) => self.on_status(status).await,
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

    async fn on_status(&mut self, status: HubStatus) {
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
            self.record_exit(code).await;
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
        let (store, id) = (self.context.store.clone(), self.identity.id);
        tokio::spawn(async move {
            if let Err(error) = store.touch(id, last_active).await {
                tracing::warn!(%error, "cannot record session activity");
            }
        });
    }

    async fn record_exit(&self, status: Option<i32>) {
        let label = &self.identity.label;
        let text = status.map_or("unknown".to_string(), |s| s.to_string());
        self.context.audit.record_now(
            AuditEvent::new(None, "exit")
                .session(label.clone())
                .detail(format!("status {text}")),
        );
        if let Err(error) = self
            .context
            .store
            .set_exited(self.identity.id, status, unix_now())
            .await
        {
            tracing::error!(session = %label, %error, "cannot record exit");
        }
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
    async fn host_lost(&mut self) {
        let State::Host(host) = &self.state else {
            return;
        };
        tracing::warn!(session = %self.identity.label, "session host went away");
        let recorded = host.carrying_off;
        let status = host.status.exit_status;
        if !recorded {
            self.record_exit(None).await;
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
    async fn restarted(&mut self, connection: HostConnection) {
        self.first_status = Some(connection.status.clone());
        self.state = State::Host(Host::new(connection, self.me.clone()));
        self.counted = Counted::default();
        self.context.changes.notify();
        self.screen.send_modify(|n| *n = n.wrapping_add(1));
        if let Err(error) = self
            .context
            .store
            .set_running(self.identity.id, unix_now())
            .await
        {
            tracing::error!(session = %self.identity.label, %error, "cannot record restart");
        }
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
                let attached = connect::attach(&socket, &who, (role, upgradable), size).await;
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
                if let Ok(messages) = connect::watch(&socket, &who).await {
                    let _ = reply.send(messages);
                }
            });
        }
        // A remote client's input, resizes and receipts go over its own
        // connection, never through here.
        Command::Detach(_) | Command::Input(..) | Command::Resize(..) | Command::Written(_) => {}
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
