//! The session link: the gateway's one task per session, behind the
//! session's [`LinkHandle`]. While the program runs, the hub lives in the
//! session host and the link speaks to it over the host's control
//! connection; once the program has exited, the link carries the final
//! screen off into an engine hub of its own (no program) and asks that
//! one, through its `HubHandle`, as any other caller would.
//!
//! It owns what the gateway keeps about a session beyond the host: the
//! last status the host reported (so `ls` never waits on a host), the
//! exits, restarts and activity it hands to the records' writer, the
//! `exit` audit event and the metrics the host counted. Its command set
//! is `handle.rs`'s; `host.rs` serves it while a host runs the program,
//! `exited.rs` once it has exited, `control.rs` pause and signal,
//! `attention.rs` notify, ack and what a change of attention sets off.
//!
//! Must not wait on a host or the database: requests go out with
//! `try_send` and replies come back as events; attaching and watching
//! open connections of their own in tasks; records are queued.

use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::records::RecordWriter;
use crate::audit::{AuditEvent, Auditor};
use crate::clock::unix_now;
use crate::engine::Changes;
use crate::engine::hub::HubHandle;
use crate::engine::hub_task::{HubIdentity, HubStart, start_hub};
use crate::gateway::attention::AttentionEvents;
use crate::gateway::books::{Books, Keeper};
use crate::gateway::host_connection::HostConnection;
use crate::runtime::swarm::SwarmRuntime;
use crate::store::Store;
use crate::store::leases::Fence;
use crate::store::leases::StoredScreen;
use crate::transport::HostAddress;
use unreachable::{Unreachable, load_exited_screen, reconnect};

use crate::wire::FinalScreen;
use crate::wire::protocol::FromHost;
use crate::wire::{HubSettings, HubStatus};

mod attention;
mod control;
mod exited;
mod handle;
mod host;
mod keeping;
mod unreachable;

use attention::attention_changed;
use exited::ask_exited_hub;
use handle::Command;
pub use handle::LinkHandle;
pub use host::kill_host;
use host::{Host, let_go, serve_by_host};

/// Commands waiting for the link.
const COMMAND_QUEUE: usize = 256;
/// How often the activity time is written to the database, at most.
const ACTIVITY_PERSIST_INTERVAL: Duration = Duration::from_secs(15);

/// What every link of this gateway shares.
#[derive(Clone)]
pub struct LinkContext {
    pub store: Store,
    /// This gateway's name among the gateways of a cluster (change
    /// notices say who sent them).
    pub gateway: std::sync::Arc<str>,
    /// Whose books each remote host is in.
    pub books: Books,
    /// The swarm, with `[cluster]`: asked whether an unreachable host's
    /// task has ended.
    pub swarm: Option<SwarmRuntime>,
    /// Writes exits, restarts and activity, so the link never waits on
    /// the database.
    pub records: RecordWriter,
    pub audit: Auditor,
    /// Bumped when anything `ls` shows changes.
    pub changes: Changes,
    /// For the hub that shows an exited session.
    pub settings: HubSettings,
    /// Where a session starting to want attention is told.
    pub attention: AttentionEvents,
}

/// How a link starts.
pub enum LinkStart {
    /// A host runs the session.
    Host { connection: Box<HostConnection> },
    /// The host is on a machine that cannot be reached (at adoption).
    Unreachable {
        address: HostAddress,
        service: String,
        last_active: i64,
    },
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
            link.state = State::Host(Box::new(Host::new(*connection, tx.downgrade())));
        }
        LinkStart::Exited {
            status,
            last_active,
            seed,
        } => link.show_exited(status, last_active, seed),
        LinkStart::Unreachable {
            address,
            service,
            last_active,
        } => {
            let swarm = link.context.swarm.clone();
            reconnect(address, Some(service.clone()), swarm, tx.downgrade());
            let status = HubStatus::unreachable_since(last_active);
            link.state = State::Unreachable(Box::new(Unreachable::new(Some(service), status)));
        }
    }
    tokio::spawn(link.run(commands));
    LinkHandle {
        tx,
        screen: screen_changes,
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
    Host(Box<Host>),
    /// The host runs on a machine that cannot be reached just now.
    Unreachable(Box<Unreachable>),
    /// The program exited: a hub in this process shows its last screen.
    Exited(HubHandle),
}

enum Event {
    Command(Option<Command>),
    Host(Option<Box<FromHost>>),
    /// The leases this gateway holds changed.
    Books,
}

impl Link {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut books = self.context.books.changes();
        loop {
            if let Some(status) = self.first_status.take() {
                self.on_status(status);
            }
            let event = match &mut self.state {
                State::Host(host) => tokio::select! {
                    command = commands.recv() => Event::Command(command),
                    event = host.events.recv() => Event::Host(event),
                    Ok(()) = books.changed(), if host.service.is_some() => Event::Books,
                },
                _ => Event::Command(commands.recv().await),
            };
            let carry_on = match event {
                Event::Command(None) => false,
                Event::Command(Some(command)) => self.command(command),
                Event::Host(Some(event)) => {
                    self.host_event(*event);
                    true
                }
                Event::Host(None) => {
                    self.host_lost();
                    true
                }
                Event::Books => {
                    self.took_over_books();
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
            State::Unreachable(_) => self.command_unreachable(command),
            State::Exited(hub) => match command {
                Command::ExitedScreen { screen, status } => {
                    let last_active = unix_now();
                    self.show_exited(status, last_active, Some(screen));
                    self.screen.send_modify(|n| *n = n.wrapping_add(1));
                    true
                }
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
            reply => {
                if let Some(screen) = host.settle(reply) {
                    self.carry_off(screen);
                }
            }
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
            let context = (&self.context.audit, &self.context.attention);
            attention_changed(&self.identity, context, &host.status, &status);
        }
        let exited = !status.running && !host.carrying_off;
        host.status = status;
        if exited {
            host.exit_pending = true;
            self.exited_if_mine();
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
        let Keeper::Mine(fence) = self.keeper() else {
            return;
        };
        self.persisted_activity = Some(Instant::now());
        self.context
            .records
            .touched(self.identity.id, last_active, fence);
    }

    fn record_exit(&self, status: Option<i32>, fence: Option<Fence>) {
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
            .exited(self.identity.id, label, (status, at), fence);
    }

    /// The host's final screen arrived: show it from here, let the host go.
    fn carry_off(&mut self, screen: FinalScreen) {
        let host = match std::mem::replace(&mut self.state, State::Starting) {
            State::Host(host) => host,
            other => {
                self.state = other;
                return;
            }
        };
        if let Keeper::Mine(Some(fence)) = self.context.books.keeper(host.service.as_deref()) {
            let stored = StoredScreen {
                rows: screen.size.rows,
                cols: screen.size.cols,
                snapshot: screen.snapshot.clone(),
            };
            self.context
                .records
                .exited_screen(self.identity.id, stored, fence);
        }
        let (status, last_active) = (host.status.exit_status, unix_now());
        let_go(host);
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
        if host.service.is_some() && host.status.running && !host.carrying_off {
            // On another machine: cut off, not gone, until shown otherwise.
            tracing::warn!(session = %self.identity.label, host = %host.address, "session host unreachable");
            let (address, service) = (host.address.clone(), host.service.clone());
            let status = host.status.clone();
            reconnect(
                address,
                service.clone(),
                self.context.swarm.clone(),
                self.me.clone(),
            );
            self.state = State::Unreachable(Box::new(Unreachable::new(service, status)));
            self.context.changes.notify();
            return;
        }
        if host.service.is_some() && !host.status.running {
            // Exited, and another gateway, keeping the books, carried the
            // last screen off: it is read from the database.
            let status = host.status.exit_status;
            self.show_exited(status, unix_now(), None);
            load_exited_screen(
                &self.context.store,
                self.identity.id,
                status,
                self.me.clone(),
            );
            self.context.changes.notify();
            return;
        }
        tracing::warn!(session = %self.identity.label, "session host went away");
        let recorded = host.carrying_off;
        let status = host.status.exit_status;
        if let (false, Keeper::Mine(fence)) = (recorded, self.keeper()) {
            self.record_exit(None, fence);
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
        let at = unix_now();
        self.context
            .records
            .running(self.identity.id, &self.identity.label, at);
        // Written after `running`: the other gateways, told once the
        // placement is written, read the session running again.
        self.record_placement(&connection);
        self.first_status = Some(connection.status.clone());
        self.state = State::Host(Box::new(Host::new(connection, self.me.clone())));
        self.counted = Counted::default();
        self.context.changes.notify();
        self.screen.send_modify(|n| *n = n.wrapping_add(1));
    }
}
