//! The session records' writer: the one task that writes what the
//! gateway's actors learn about sessions (an exit, a restart, activity, a
//! removal, where a host runs) to the database, in the order they learned it. Actors queue a
//! write and go on: a slow or stopped database delays the record, never
//! an `ls`, an attach or a picker (mini-redis's rule: an actor changes
//! only its own memory).
//!
//! Must not be awaited by an actor's loop except through [`RecordWriter::flush`]
//! at shutdown, and must not decide anything: it writes what it is given.

use tokio::sync::{mpsc, oneshot};

use crate::store::leases::{Fence, StoredScreen};
use crate::store::notices::Notice;
use crate::store::{SessionHost, SessionId, Store};

/// Writes waiting for the database; past this, a write waits in a task of
/// its own (the order across that overflow is kept per sender only).
const QUEUE: usize = 1024;

enum Write {
    Exited {
        id: SessionId,
        label: String,
        status: Option<i32>,
        at: i64,
        /// The host's lease it is written under, for a remote host.
        fence: Option<Fence>,
    },
    Running {
        id: SessionId,
        label: String,
        at: i64,
    },
    Touched {
        id: SessionId,
        at: i64,
        fence: Option<Fence>,
    },
    Deleted {
        id: SessionId,
        /// Told to the other gateways once deleted.
        then: Option<Notice>,
    },
    /// An exited session's last screen, for every gateway.
    Screen {
        id: SessionId,
        screen: StoredScreen,
        fence: Fence,
    },
    Placed {
        id: SessionId,
        host: Option<SessionHost>,
        /// Told to the other gateways once written.
        then: Notice,
    },
    /// Answered once every write queued before it is done.
    Flush(oneshot::Sender<()>),
}

/// Queues writes for the writer task. Cheap to clone.
#[derive(Clone)]
pub struct RecordWriter {
    tx: mpsc::Sender<Write>,
}

impl RecordWriter {
    /// Starts the writer task.
    pub fn start(store: Store) -> RecordWriter {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(write_all(store, rx));
        RecordWriter { tx }
    }

    /// The session `label` exited with `status` (`None`: unknown) at `at`;
    /// under `fence` when its host is remote (refused if the lease moved on).
    pub fn exited(
        &self,
        id: SessionId,
        label: &str,
        (status, at): (Option<i32>, i64),
        fence: Option<Fence>,
    ) {
        let label = label.to_string();
        self.queue(Write::Exited {
            id,
            label,
            status,
            at,
            fence,
        });
    }

    /// The session `label` runs again (restarted) since `at`.
    pub fn running(&self, id: SessionId, label: &str, at: i64) {
        let label = label.to_string();
        self.queue(Write::Running { id, label, at });
    }

    /// The session was last active at `at` (under `fence`, as above).
    pub fn touched(&self, id: SessionId, at: i64, fence: Option<Fence>) {
        self.queue(Write::Touched { id, at, fence });
    }

    /// The session was removed; once deleted, `then` is told to the
    /// other gateways (who read the row again when they hear it).
    pub fn deleted(&self, id: SessionId, then: Option<Notice>) {
        self.queue(Write::Deleted { id, then });
    }

    /// Keeps an exited session's last screen for every gateway (its host
    /// was remote; written under the books' fence).
    pub fn exited_screen(&self, id: SessionId, screen: StoredScreen, fence: Fence) {
        self.queue(Write::Screen { id, screen, fence });
    }

    /// The session's host runs on another machine (`None`: on this one);
    /// once written, `then` is told to the other gateways (who read the
    /// row when they hear it).
    pub fn placed(&self, id: SessionId, host: Option<SessionHost>, then: Notice) {
        self.queue(Write::Placed { id, host, then });
    }

    /// Waits until every write queued so far is done (at shutdown).
    pub async fn flush(&self) {
        let (reply, done) = oneshot::channel();
        if self.tx.send(Write::Flush(reply)).await.is_ok() {
            let _ = done.await;
        }
    }

    fn queue(&self, write: Write) {
        match self.tx.try_send(write) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(write)) => {
                tracing::warn!("the database falls behind; a session record waits");
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let _ = tx.send(write).await;
                });
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::error!("the session records' writer has stopped; a record is lost");
            }
        }
    }
}

async fn write_all(store: Store, mut queue: mpsc::Receiver<Write>) {
    while let Some(write) = queue.recv().await {
        match write {
            Write::Exited {
                id,
                label,
                status,
                at,
                fence,
            } => {
                let written = match &fence {
                    Some(fence) => store.set_exited_fenced(id, status, at, fence).await,
                    None => store.set_exited(id, status, at).await,
                };
                match written {
                    Ok(false) if fence.is_some() => {
                        tracing::warn!(session = %label, "exit not recorded: another gateway took over the host's books");
                    }
                    Ok(_) => {}
                    Err(error) => tracing::error!(session = %label, %error, "cannot record exit"),
                }
            }
            Write::Running { id, label, at } => {
                if let Err(error) = store.set_running(id, at).await {
                    tracing::error!(session = %label, %error, "cannot record restart");
                }
            }
            Write::Touched { id, at, fence } => {
                let written = match &fence {
                    Some(fence) => store.touch_fenced(id, at, fence).await,
                    None => store.touch(id, at).await,
                };
                if let Err(error) = written {
                    tracing::warn!(%error, "cannot record session activity");
                }
            }
            Write::Deleted { id, then } => {
                if let Err(error) = store.delete_session(id).await {
                    tracing::error!(%error, "cannot delete session record");
                }
                if let Some(then) = then {
                    tell(&store, &then).await;
                }
            }
            Write::Screen { id, screen, fence } => {
                if let Err(error) = store.save_exited_screen(id, &screen, &fence).await {
                    tracing::warn!(%error, "cannot keep an exited session's screen");
                }
            }
            Write::Placed { id, host, then } => {
                if let Err(error) = store.set_session_host(id, host.as_ref()).await {
                    tracing::error!(%error, "cannot record where a session's host runs");
                }
                tell(&store, &then).await;
            }
            Write::Flush(reply) => {
                let _ = reply.send(());
            }
        }
    }
}

async fn tell(store: &Store, notice: &Notice) {
    if let Err(error) = store.notify(notice).await {
        tracing::warn!(%error, "cannot tell the other gateways of a change");
    }
}
