//! The hub's task: the loop that reads the program's output, serves
//! [`HubHandle`] commands and delivers bytes to client outboxes. See
//! `hub.rs` for the handle and the rules it keeps.
//!
//! Must not await anything a client or the program controls: outboxes are
//! filled with `try_send`, input goes to a separate writer task.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::changes::Changes;
use super::clients::{ClientTable, Delivery};
use super::hub::{AttachError, Attachment, ClientMessage, Command, HubHandle};
use super::program::{RELEASE_AFTER_QUIET, Running, take_queued};
use super::recording::Recorder;
use crate::clock::unix_now;
use crate::engine::program::{Process, Signal};
use crate::wire::FinalScreen;
use crate::wire::SessionId;
use crate::wire::Size;
use crate::wire::{AttentionCleared, ClientId, Role};
use crate::wire::{HubSettings, Participant};

/// Commands waiting for the hub; senders wait when it is full.
const COMMAND_QUEUE: usize = 256;
/// Messages a client's outbox holds; bytes are bounded separately by
/// `sessions.client_buffer`.
const OUTBOX_MESSAGES: usize = 64;
/// After the program exits, output still in the PTY is read for this long.
const EXIT_DRAIN: Duration = Duration::from_millis(300);
/// The size of a session nobody has attached to yet.
pub const DEFAULT_SIZE: Size = Size { rows: 24, cols: 80 };

mod attention;
mod commands;
mod delivery;
mod notices;
mod pausing;
mod views;

enum Event {
    Output(Bytes),
    OutputClosed,
    Exit(i32),
    Deadline,
    Command(Option<Command>),
}

struct Outbox {
    tx: mpsc::Sender<ClientMessage>,
    queued_bytes: Arc<AtomicUsize>,
    /// The attached user's name and role, as `ls` shows them.
    who: Participant,
    /// An observer only for want of write access.
    upgradable: bool,
}

/// What the hub knows about its session.
#[derive(Debug, Clone)]
pub struct HubIdentity {
    pub id: SessionId,
    /// `OWNER/NAME`, for logs.
    pub label: String,
}

struct Hub {
    identity: HubIdentity,
    settings: HubSettings,
    /// Bumped when anything `ls` shows about this session changes.
    changes: Changes,
    table: ClientTable,
    outboxes: HashMap<ClientId, Outbox>,
    /// `watch` without a terminal: the user's name and their byte stream.
    watchers: Vec<(String, mpsc::Sender<ClientMessage>)>,
    running: Option<Running>,
    exit_status: Option<i32>,
    removing: bool,
    attention: attention::Attention,
    last_active: i64,
    /// The screen has been carried off: stop once no program runs.
    shutting_down: bool,
    /// The program's process group is stopped (`pause`).
    paused: bool,
    /// Notices for single clients, waiting for a safe point in the output.
    notices: Vec<(ClientId, Bytes)>,
    /// Whose input the program received last (their clients get its
    /// clipboard writes).
    last_typer: Option<String>,
    next_client: u64,
    handle: HubHandle,
    deliveries: Vec<Delivery>,
    replies: Vec<u8>,
    /// When the open synchronized frame (numbered as
    /// `Terminal::sync_frame` numbers them) is given up on.
    sync_deadline: Option<(u64, Instant)>,
    /// When the output will have been quiet long enough to give back
    /// spare memory (see [`RELEASE_AFTER_QUIET`]).
    release_at: Option<Instant>,
    /// Bumped on every output shown, for previews.
    screen: watch::Sender<u64>,
    /// Records the running program's output, with `sessions.record`.
    recorder: Option<Recorder>,
    /// This session's clients switched to screen sync since the hub
    /// started.
    screen_sync_switches: u64,
    /// This session's recordings stopped by a write error (counted by
    /// their writer tasks).
    recording_failures: Arc<AtomicU64>,
}

/// How a hub starts.
pub struct HubStart {
    /// `None` for a session that has already exited, with `exit_status`
    /// its status.
    pub process: Option<Process>,
    pub exit_status: Option<i32>,
    pub last_active: i64,
    /// The screen to start from (a restarted or exited session's last one).
    pub seed: Option<FinalScreen>,
}

/// Starts a hub for a session.
pub fn start_hub(
    identity: HubIdentity,
    settings: HubSettings,
    changes: Changes,
    start: HubStart,
) -> HubHandle {
    let HubStart {
        process,
        exit_status,
        last_active,
        seed,
    } = start;
    let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
    let (screen, screen_changes) = watch::channel(0);
    let handle = HubHandle {
        tx,
        screen: screen_changes,
    };
    let mut table = ClientTable::new(
        seed.as_ref().map_or(DEFAULT_SIZE, |seed| seed.size),
        (settings.scrollback_lines, settings.attach_scrollback),
        settings.size_policy,
        // A catch-up fits in the client's budget with room to spare.
        settings.client_buffer / 2,
    );
    if let Some(seed) = &seed {
        let (mut ignored, mut replies) = (Vec::new(), Vec::new());
        table.output(&seed.snapshot, &mut ignored, &mut replies);
    }
    let mut hub = Hub {
        identity,
        settings,
        changes,
        table,
        outboxes: HashMap::new(),
        watchers: Vec::new(),
        running: process.map(Running::start),
        exit_status,
        removing: false,
        attention: attention::Attention::default(),
        last_active,
        shutting_down: false,
        paused: false,
        notices: Vec::new(),
        last_typer: None,
        next_client: 0,
        handle: handle.clone(),
        deliveries: Vec::new(),
        replies: Vec::new(),
        sync_deadline: None,
        // A program that never prints (or printed before the hub was
        // up) gets its spare memory given back all the same.
        release_at: Some(Instant::now() + RELEASE_AFTER_QUIET),
        screen,
        recorder: None,
        screen_sync_switches: 0,
        recording_failures: Arc::new(AtomicU64::new(0)),
    };
    if hub.running.is_some() {
        hub.start_recording();
    }
    tokio::spawn(hub.run(rx));
    handle
}

impl Hub {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        loop {
            match self.next_event(&mut commands).await {
                Event::Output(chunk) => self.on_output(chunk),
                Event::OutputClosed => self.on_output_closed(),
                Event::Exit(status) => self.on_exit_status(status),
                Event::Deadline => self.on_deadline(),
                Event::Command(Some(command)) => self.handle(command),
                Event::Command(None) => break,
            }
            if self.program_finished() {
                self.finish_program();
            }
            if (self.removing || self.shutting_down) && self.running.is_none() {
                break;
            }
        }
        tracing::debug!(session = %self.identity.label, "hub stopped");
    }

    /// Waits for the next thing to do: output, exit, a deadline or a command.
    async fn next_event(&mut self, commands: &mut mpsc::Receiver<Command>) -> Event {
        let deadline = self.next_deadline();
        let Some(running) = self.running.as_mut() else {
            return Event::Command(commands.recv().await);
        };
        let reading = running.output_open;
        let waiting_exit = running.exit_status.is_none();
        let output = &mut running.output;
        let exit = &mut running.exit;
        tokio::select! {
            chunk = output.recv(), if reading => match chunk {
                Some(chunk) => Event::Output(take_queued(output, chunk)),
                None => Event::OutputClosed,
            },
            status = exit, if waiting_exit => Event::Exit(status.unwrap_or(1)),
            _ = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => Event::Deadline,
            command = commands.recv() => Event::Command(command),
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let running = self.running.as_ref()?;
        let sync = self.sync_deadline.map(|(_, at)| at);
        [running.drain_until, running.kill_at, sync, self.release_at]
            .into_iter()
            .flatten()
            .min()
    }

    fn on_deadline(&mut self) {
        let now = Instant::now();
        if self.sync_deadline.is_some_and(|(_, at)| at <= now) {
            tracing::debug!(session = %self.identity.label, "synchronized frame open too long; flushed");
            self.with_deliveries(|table, out| table.give_up_sync_frame(out));
        }
        if self.release_at.is_some_and(|at| at <= now) {
            self.release_at = None;
            self.table.release_spare_memory();
            return_freed_memory();
        }
        let Some(running) = &mut self.running else {
            return;
        };
        if running.drain_until.is_some_and(|t| t <= now) {
            running.output_open = false;
            running.drain_until = None;
        }
        if running.kill_at.is_some_and(|t| t <= now) {
            running.kill_at = None;
            if let Err(error) = running.control.signal(Signal::Kill) {
                tracing::warn!(session = %self.identity.label, %error, "SIGKILL failed");
            }
        }
    }

    fn program_finished(&self) -> bool {
        self.running
            .as_ref()
            .is_some_and(|r| !r.output_open && r.exit_status.is_some())
    }

    fn on_output(&mut self, chunk: Bytes) {
        self.replies.clear();
        self.table.keep_copy(!self.watchers.is_empty());
        let mut deliveries = std::mem::take(&mut self.deliveries);
        self.table
            .output(&chunk, &mut deliveries, &mut self.replies);
        if !self.replies.is_empty() {
            self.write_to_program(Bytes::copy_from_slice(&self.replies));
        }
        self.deliver_all(&mut deliveries);
        self.deliveries = deliveries;
        self.update_sync_deadline();
        if let Some(recorder) = &mut self.recorder {
            recorder.output(&chunk);
        }
        self.route_clipboard();
        if !self.watchers.is_empty() {
            let passed_on = self.table.take_copy();
            self.deliver_to_watchers(Bytes::from(passed_on));
        }
        if let Some(raised) = self.table.terminal_mut().take_attention() {
            self.program_wants_attention(raised);
        }
        self.deliver_notices();
        self.note_activity();
        self.release_at = Some(Instant::now() + RELEASE_AFTER_QUIET);
        self.screen.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A synchronized frame is held at most `sync_timeout` from its start:
    /// its own start, also when it opened in the output that closed the
    /// one before (which kept that one's deadline before).
    fn update_sync_deadline(&mut self) {
        let frame = if self.table.holding() {
            self.table.terminal().sync_frame()
        } else {
            None
        };
        self.sync_deadline = frame.map(|frame| match self.sync_deadline {
            Some((held, at)) if held == frame => (held, at),
            _ => (frame, Instant::now() + self.settings.sync_timeout),
        });
    }

    fn on_output_closed(&mut self) {
        if let Some(running) = &mut self.running {
            running.output_open = false;
        }
    }

    fn on_exit_status(&mut self, status: i32) {
        if let Some(running) = &mut self.running {
            running.exit_status = Some(status);
            running.kill_at = None;
            if running.output_open {
                running.drain_until = Some(Instant::now() + EXIT_DRAIN);
            }
        }
    }

    /// The program is gone and its output read: tell clients, record it.
    fn finish_program(&mut self) {
        let Some(running) = self.running.take() else {
            return;
        };
        let status = running.exit_status;
        self.exit_status = status;
        self.paused = false;
        self.recorder = None;
        self.clear_attention(AttentionCleared::Ended);
        // A frame left open by a program that died is shown as it stands.
        self.with_deliveries(|table, out| table.give_up_sync_frame(out));
        // Retention of exited sessions counts from here.
        self.last_active = unix_now();
        tracing::info!(session = %self.identity.label, ?status, "program exited");
        for (_, outbox) in self.outboxes.drain() {
            let _ = outbox.tx.try_send(ClientMessage::Exited { status });
        }
        for (_, watcher) in self.watchers.drain(..) {
            let _ = watcher.try_send(ClientMessage::Exited { status });
        }
        self.table.detach_all();
        // No more output comes: the memory kept for it can go now.
        self.release_at = None;
        self.table.release_spare_memory();
        return_freed_memory();
        self.changes.notify();
        self.screen.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Attaches a client unless `sessions.max_clients` are attached.
    fn attach_client(
        &mut self,
        who: String,
        role: Role,
        size: Size,
        upgradable: bool,
    ) -> Result<Attachment, AttachError> {
        let limit = self.settings.max_clients;
        if limit > 0 && self.outboxes.len() >= limit {
            return Err(AttachError::Full { limit });
        }
        let upgradable = upgradable && role == Role::Observer;
        let who = Participant {
            name: who,
            role,
            client: None,
        };
        Ok(self.attach(who, size, upgradable))
    }

    /// The program's output bytes as they come, for `watch` without a PTY.
    fn watch(&mut self, who: String) -> mpsc::Receiver<ClientMessage> {
        let (tx, rx) = mpsc::channel(OUTBOX_MESSAGES);
        if self.running.is_none() {
            let _ = tx.try_send(ClientMessage::Exited {
                status: self.exit_status,
            });
        } else {
            self.watchers.push((who, tx));
        }
        rx
    }

    /// Starts recording the program just started, with `sessions.record`.
    fn start_recording(&mut self) {
        let Some(target) = self.settings.recording.clone() else {
            return;
        };
        let size = self.table.pty_size();
        let failures = self.recording_failures.clone();
        self.recorder = Some(Recorder::start(
            target,
            size,
            &self.identity.label,
            failures,
        ));
    }

    fn write_to_program(&mut self, bytes: Bytes) {
        let Some(running) = &self.running else {
            return;
        };
        if running.input.try_send(bytes).is_err() {
            tracing::warn!(session = %self.identity.label, "program is not reading its input; input dropped");
        }
    }

    /// The activity time moves on; a new second is a change `ls` shows
    /// (and the gateway persists).
    fn note_activity(&mut self) {
        let now = unix_now();
        if now != self.last_active {
            self.last_active = now;
            self.changes.notify();
        }
    }

    fn kill(&mut self) {
        self.removing = true;
        for (_, outbox) in self.outboxes.drain() {
            let _ = outbox.tx.try_send(ClientMessage::Closed);
        }
        self.watchers.clear();
        self.hang_up();
    }

    /// Hangs the program up, and kills it after the grace period.
    fn hang_up(&mut self) {
        let Some(running) = &mut self.running else {
            return;
        };
        if let Err(error) = running.control.signal(Signal::Hangup) {
            tracing::warn!(session = %self.identity.label, %error, "SIGHUP failed");
        }
        // A stopped program acts on the hangup only once continued.
        let was_paused = std::mem::take(&mut self.paused);
        if was_paused && let Err(error) = running.control.signal(Signal::Continue) {
            tracing::warn!(session = %self.identity.label, %error, "SIGCONT failed");
        }
        running.kill_at = Some(Instant::now() + self.settings.kill_grace);
        if was_paused {
            self.changes.notify();
        }
    }
}

/// Hands memory the allocator holds free back to the system. glibc's
/// `free` keeps freed blocks in the middle of its heaps for reuse, so a
/// session host's resident size would stay at its busiest sessions' peak
/// (about 2 MiB each for a shell that scrolled) after they went quiet.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_freed_memory() {
    // SAFETY: `malloc_trim` takes no pointers and may be called at any
    // time; it only releases pages the allocator holds free.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_freed_memory() {}
