//! The webhook's scheduler: an actor that reads the attention broadcast
//! and decides when each session's notice goes out.
//!
//! Per session: the first notice goes at once; one that comes while the
//! session's previous notice is on its way, or within
//! `min_interval` of its start, waits, and a newer one replaces it (the
//! latest message wins; the ones between are dropped, as they would only
//! repeat "this session wants you"). When the interval has ended and the
//! previous notice is delivered or given up, the waiting one goes. So at
//! most one POST per session per interval, and the last word is never
//! lost.
//!
//! Owns that per-session state, bounded: at most `max_sessions` sessions
//! (more are dropped, logged and counted) and `max_sending` deliveries at
//! once (more wait, one per session). Must not await anything but its
//! inputs: each delivery runs in a task of its own (`deliver`), so an
//! endpoint that hangs holds only its own tasks.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;

use super::Tuning;
use super::deliver::deliver;
use super::http::Endpoint;
use super::payload;
use crate::gateway::attention::AttentionRaised;
use crate::metrics as metric;
use crate::wire::SessionId;

/// One session the scheduler keeps track of.
struct Slot {
    /// The latest notice not sent yet.
    waiting: Option<AttentionRaised>,
    /// A notice of this session is on its way.
    sending: bool,
    /// When the next notice may start.
    next_allowed: Instant,
}

pub struct Scheduler {
    endpoint: Arc<Endpoint>,
    public_url: String,
    tuning: Arc<Tuning>,
    sessions: HashMap<SessionId, Slot>,
    sending: usize,
    /// Each delivery task says here that it is done (sized so it never
    /// waits: at most `max_sending` are on their way).
    done_tx: mpsc::Sender<SessionId>,
    done_rx: Option<mpsc::Receiver<SessionId>>,
}

impl Scheduler {
    pub fn new(endpoint: Endpoint, public_url: String, tuning: Tuning) -> Scheduler {
        let (done_tx, done_rx) = mpsc::channel(tuning.max_sending.max(1));
        Scheduler {
            endpoint: Arc::new(endpoint),
            public_url,
            tuning: Arc::new(tuning),
            sessions: HashMap::new(),
            sending: 0,
            done_tx,
            done_rx: Some(done_rx),
        }
    }

    /// Runs until the broadcast closes (the server ends); deliveries on
    /// their way then finish on their own.
    pub async fn run(mut self, mut events: broadcast::Receiver<AttentionRaised>) {
        let Some(mut done) = self.done_rx.take() else {
            return;
        };
        loop {
            let wake = self.next_wake();
            tokio::select! {
                received = events.recv() => match received {
                    Ok(event) => self.take(event),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "the webhook fell behind the attention events and skipped some");
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                Some(session) = done.recv() => self.finished(session),
                () = tokio::time::sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() => {}
            }
            self.start_due();
            self.forget_idle();
        }
    }

    /// A new notice: it waits in its session's slot (replacing an older
    /// one) until `start_due` sends it.
    fn take(&mut self, event: AttentionRaised) {
        if let Some(slot) = self.sessions.get_mut(&event.session) {
            if let Some(older) = slot.waiting.replace(event) {
                tracing::debug!(session = %older.label(), "webhook notice replaced by a newer one");
            }
            return;
        }
        self.forget_idle();
        if self.sessions.len() >= self.tuning.max_sessions {
            metrics::counter!(metric::WEBHOOK_DROPPED, "reason" => "full").increment(1);
            tracing::warn!(
                session = %event.label(),
                sessions = self.sessions.len(),
                "webhook notice dropped: too many sessions are waiting for the endpoint"
            );
            return;
        }
        let slot = Slot {
            waiting: Some(event.clone()),
            sending: false,
            next_allowed: Instant::now(),
        };
        self.sessions.insert(event.session, slot);
    }

    fn finished(&mut self, session: SessionId) {
        self.sending = self.sending.saturating_sub(1);
        if let Some(slot) = self.sessions.get_mut(&session) {
            slot.sending = false;
        }
    }

    /// Sends waiting notices whose session may send now, those that may
    /// since longest first, while fewer than `max_sending` are on their
    /// way.
    fn start_due(&mut self) {
        let free = self.tuning.max_sending.saturating_sub(self.sending);
        if free == 0 {
            return;
        }
        let now = Instant::now();
        let mut due: Vec<(Instant, SessionId)> = self
            .sessions
            .iter()
            .filter(|(_, slot)| slot.waiting.is_some() && !slot.sending && slot.next_allowed <= now)
            .map(|(session, slot)| (slot.next_allowed, *session))
            .collect();
        due.sort_unstable();
        for (_, session) in due.into_iter().take(free) {
            let Some(slot) = self.sessions.get_mut(&session) else {
                continue;
            };
            let Some(event) = slot.waiting.take() else {
                continue;
            };
            slot.sending = true;
            slot.next_allowed = now + self.tuning.min_interval;
            self.send(event);
        }
    }

    fn send(&mut self, event: AttentionRaised) {
        self.sending += 1;
        let body = payload::body(&event, &self.public_url);
        let label = event.label();
        let done = Done {
            tx: self.done_tx.clone(),
            session: event.session,
        };
        let (endpoint, tuning) = (self.endpoint.clone(), self.tuning.clone());
        tokio::spawn(async move {
            deliver(&endpoint, &tuning, &label, body).await;
            drop(done);
        });
    }

    /// When a waiting notice may go next (none: nothing to wake for, or
    /// every delivery slot is taken and a `done` will wake the loop).
    fn next_wake(&self) -> Option<Instant> {
        if self.sending >= self.tuning.max_sending {
            return None;
        }
        self.sessions
            .values()
            .filter(|slot| slot.waiting.is_some() && !slot.sending)
            .map(|slot| slot.next_allowed)
            .min()
    }

    /// Sessions with nothing waiting, nothing on its way and their
    /// interval over need no slot.
    fn forget_idle(&mut self) {
        let now = Instant::now();
        self.sessions
            .retain(|_, slot| slot.waiting.is_some() || slot.sending || slot.next_allowed > now);
    }
}

/// Tells the scheduler a delivery is over when dropped: also if its task
/// ends early (aborted at shutdown).
struct Done {
    tx: mpsc::Sender<SessionId>,
    session: SessionId,
}

impl Drop for Done {
    fn drop(&mut self) {
        // Never full: it holds one place per delivery on its way.
        let _ = self.tx.try_send(self.session);
    }
}
