//! Writes audit events (SPEC §9) in the order they happen, off the paths
//! that produce them: an actor owns the writes, fed by a bounded queue.
//!
//! Must not make a caller wait on the database: senders wait only for room
//! in the queue (async callers) or drop the event with a log line when it
//! is full (the hub, which never waits). An event the database refuses is
//! tried again for a while (a restart loses no row), holding later ones.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::store::{NewAuditRow, Store};

/// Events waiting to be written.
const QUEUE: usize = 1024;

/// One thing that happened.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub actor: Option<String>,
    pub action: &'static str,
    pub session: Option<String>,
    pub detail: String,
}

impl AuditEvent {
    pub fn new(actor: Option<&str>, action: &'static str) -> Self {
        AuditEvent {
            actor: actor.map(str::to_string),
            action,
            session: None,
            detail: String::new(),
        }
    }

    pub fn session(mut self, label: impl Into<String>) -> Self {
        self.session = Some(label.into());
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }
}

/// What the audit writer is sent: an event with its time, or a request
/// to answer once everything sent before it is written.
enum Entry {
    Event(i64, AuditEvent),
    Flush(oneshot::Sender<()>),
}

/// Sends events to the audit writer. Cheap to clone.
#[derive(Clone)]
pub struct Auditor {
    tx: mpsc::Sender<Entry>,
}

impl std::fmt::Debug for Auditor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Auditor")
    }
}

impl Auditor {
    /// Starts the writer for `store`.
    pub fn start(store: Store) -> Auditor {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(write_events(store, rx));
        Auditor { tx }
    }

    /// Records an event, waiting for room in the queue.
    pub async fn record(&self, event: AuditEvent) {
        let _ = self
            .tx
            .send(Entry::Event(crate::clock::unix_now(), event))
            .await;
    }

    /// Waits until every event recorded before is written (at shutdown:
    /// the process must not end with events still queued).
    pub async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.tx.send(Entry::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }

    /// Waits, at most `within`, until every event recorded before is
    /// written; says whether it was. A reader of the log calls it first,
    /// so it sees what it has just done.
    pub async fn caught_up(&self, within: Duration) -> bool {
        tokio::time::timeout(within, self.flush()).await.is_ok()
    }

    /// Records an event without waiting; a full queue drops it, loudly.
    pub fn record_now(&self, event: AuditEvent) {
        if let Err(mpsc::error::TrySendError::Full(Entry::Event(_, event))) = self
            .tx
            .try_send(Entry::Event(crate::clock::unix_now(), event))
        {
            tracing::warn!(
                action = event.action,
                "audit queue full; event not recorded"
            );
        }
    }
}

/// The most events written in one transaction. Events that arrive
/// together share one commit, so a burst (200 sign-ins) costs a few
/// commits, not 200, and the log stays close behind what happened.
const BATCH: usize = 256;

async fn write_events(store: Store, mut rx: mpsc::Receiver<Entry>) {
    let mut entries = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut entries, BATCH).await > 0 {
        let mut events = Vec::with_capacity(entries.len());
        let mut waiting = Vec::new();
        for entry in entries.drain(..) {
            match entry {
                Entry::Event(at, event) => events.push((at, event)),
                Entry::Flush(done) => waiting.push(done),
            }
        }
        if !events.is_empty() {
            write_batch(&store, &events).await;
        }
        for done in waiting {
            let _ = done.send(());
        }
    }
}

/// How long a batch is retried while the database does not take it (a
/// restart, a lost connection) before it is given up, loudly.
const RETRY_FOR: Duration = Duration::from_secs(60);
/// The longest wait between two tries.
const RETRY_AT_MOST: Duration = Duration::from_secs(5);

/// Writes one batch, trying again with growing pauses while the database
/// refuses it: a database restarting under the server loses no row.
/// Later events wait their turn, so the log keeps its order.
async fn write_batch(store: &Store, events: &[(i64, AuditEvent)]) {
    let rows: Vec<NewAuditRow> = events
        .iter()
        .map(|(at, event)| NewAuditRow {
            at: *at,
            actor: event.actor.as_deref(),
            action: event.action,
            session: event.session.as_deref(),
            detail: &event.detail,
        })
        .collect();
    let started = tokio::time::Instant::now();
    let mut pause = Duration::from_millis(250);
    loop {
        let Err(error) = store.append_audit(&rows).await else {
            return;
        };
        if started.elapsed() >= RETRY_FOR {
            tracing::error!(%error, events = rows.len(), "cannot write the audit log; events lost");
            return;
        }
        tracing::warn!(%error, events = rows.len(), ?pause, "cannot write the audit log yet; trying again");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(RETRY_AT_MOST);
    }
}
