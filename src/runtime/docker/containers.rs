//! The containers actor: one task owns, per user container, how many
//! sessions use it, who waits for it to start, and when it goes idle. Slow
//! Docker calls (start, create, stop) run in tasks of their own that report
//! back, so the actor answers everyone at once and one user's slow start
//! never holds up another's.
//!
//! A session holds a [`Lease`] while its exec may run; dropping the lease
//! tells the actor. A container whose last lease went stays up for
//! `idle_stop`, then is stopped.
//!
//! Must not talk to Docker itself (that is `engine`'s, from the tasks), and
//! must not know about execs.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::engine::{self, DockerError};
use super::{DockerSettings, UserContainer};

const REQUEST_QUEUE: usize = 64;
/// How long cleaning up after an earlier run may delay the first sessions.
const ADOPT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);
/// How long stopping containers may delay the server's exit.
const SHUTDOWN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

type Reply = oneshot::Sender<Result<Lease, DockerError>>;

enum Request {
    Acquire {
        user: UserContainer,
        reply: Reply,
    },
    Release {
        container: String,
    },
    Ensured {
        container: String,
        result: Result<(), DockerError>,
    },
    Stopped {
        container: String,
    },
    /// The server stops: stop every container of this run, then end.
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

/// Talks to the containers actor. Cheap to clone.
#[derive(Clone)]
pub(super) struct Containers {
    tx: mpsc::Sender<Request>,
}

/// A session's hold on its container: the container is not stopped for
/// idleness while a lease exists.
pub struct Lease {
    container: String,
    tx: mpsc::Sender<Request>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let release = Request::Release {
            container: std::mem::take(&mut self.container),
        };
        if let Err(mpsc::error::TrySendError::Full(release)) = self.tx.try_send(release)
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let tx = self.tx.clone();
            runtime.spawn(async move {
                let _ = tx.send(release).await;
            });
        }
    }
}

impl Containers {
    pub(super) fn start(settings: Arc<DockerSettings>) -> Containers {
        let (tx, rx) = mpsc::channel(REQUEST_QUEUE);
        let task = ContainersTask {
            settings,
            tx: tx.clone(),
            users: HashMap::new(),
            leftovers: Vec::new(),
            leftovers_deadline: None,
        };
        tokio::spawn(task.run(rx));
        Containers { tx }
    }

    /// Waits until `user`'s container runs (starting or creating it) and
    /// returns a lease on it.
    pub(super) async fn acquire(&self, user: UserContainer) -> Result<Lease, DockerError> {
        let (reply, answer) = oneshot::channel();
        let gone = || DockerError::Failed {
            action: "start the user's container".into(),
            detail: "the server is shutting down".into(),
        };
        self.tx
            .send(Request::Acquire { user, reply })
            .await
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    /// Stops every container this run used (so no program outlives the
    /// server, as with local sessions), waiting at most [`SHUTDOWN_TIMEOUT`].
    pub(super) async fn shutdown(&self) {
        let (reply, done) = oneshot::channel();
        if self.tx.send(Request::Shutdown { reply }).await.is_ok() {
            let _ = done.await;
        }
    }
}

/// The actor's view of one user's container.
struct UserState {
    user: UserContainer,
    /// Leases out.
    sessions: usize,
    /// Sessions waiting for the container to run.
    waiters: Vec<Reply>,
    /// A start or stop task is under way.
    busy: bool,
    /// When to stop the container (set while it has no sessions).
    idle_deadline: Option<Instant>,
}

struct ContainersTask {
    settings: Arc<DockerSettings>,
    tx: mpsc::Sender<Request>,
    users: HashMap<String, UserState>,
    /// Containers an earlier run left running, and when those that no
    /// adopted session leased by then are stopped.
    leftovers: Vec<String>,
    leftovers_deadline: Option<Instant>,
}

impl ContainersTask {
    async fn run(mut self, mut requests: mpsc::Receiver<Request>) {
        self.leftovers = leftovers(&self.settings.host, &self.settings.instance).await;
        if !self.leftovers.is_empty() {
            self.leftovers_deadline = Some(Instant::now() + self.settings.idle_stop);
        }
        loop {
            let deadline = self.next_deadline();
            let request = tokio::select! {
                request = requests.recv() => request,
                _ = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)),
                    if deadline.is_some() => {
                    self.stop_idle();
                    continue;
                }
            };
            let Some(request) = request else {
                break;
            };
            match request {
                Request::Acquire { user, reply } => self.acquire(user, reply),
                Request::Release { container } => self.release(&container),
                Request::Ensured { container, result } => self.ensured(&container, result),
                Request::Stopped { container } => self.stopped(&container),
                Request::Shutdown { reply } => {
                    self.stop_all().await;
                    let _ = reply.send(());
                    break;
                }
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.users
            .values()
            .filter_map(|u| u.idle_deadline)
            .chain(self.leftovers_deadline)
            .min()
    }

    fn acquire(&mut self, user: UserContainer, reply: Reply) {
        let container = user.container.clone();
        let state = self
            .users
            .entry(container.clone())
            .or_insert_with(|| UserState {
                user,
                sessions: 0,
                waiters: Vec::new(),
                busy: false,
                idle_deadline: None,
            });
        state.waiters.push(reply);
        state.idle_deadline = None;
        if !state.busy {
            self.ensure(&container);
        }
    }

    /// Starts a task that makes sure the container runs. Done on every
    /// acquire: a container stopped or removed from outside is noticed.
    fn ensure(&mut self, container: &str) {
        let Some(state) = self.users.get_mut(container) else {
            return;
        };
        state.busy = true;
        let (settings, user, tx) = (self.settings.clone(), state.user.clone(), self.tx.clone());
        tokio::spawn(async move {
            let result = engine::ensure_running(&settings, &user).await;
            let _ = tx
                .send(Request::Ensured {
                    container: user.container,
                    result,
                })
                .await;
        });
    }

    fn ensured(&mut self, container: &str, result: Result<(), DockerError>) {
        let Some(state) = self.users.get_mut(container) else {
            return;
        };
        state.busy = false;
        for reply in state.waiters.drain(..) {
            let answer = result.clone().map(|()| Lease {
                container: container.to_string(),
                tx: self.tx.clone(),
            });
            // Counted before it is sent: a waiter that went away drops the
            // lease, which releases it again.
            state.sessions += usize::from(answer.is_ok());
            let _ = reply.send(answer);
        }
        if let Err(error) = &result {
            tracing::warn!(%container, %error, "cannot start the user's container");
        }
        if state.sessions == 0 && result.is_ok() {
            state.idle_deadline = Some(Instant::now() + self.settings.idle_stop);
        }
    }

    fn release(&mut self, container: &str) {
        let Some(state) = self.users.get_mut(container) else {
            return;
        };
        state.sessions = state.sessions.saturating_sub(1);
        if state.sessions == 0 && !state.busy {
            state.idle_deadline = Some(Instant::now() + self.settings.idle_stop);
        }
    }

    /// Stops every container whose idle time is up.
    fn stop_idle(&mut self) {
        let now = Instant::now();
        if self.leftovers_deadline.is_some_and(|d| d <= now) {
            self.leftovers_deadline = None;
            self.stop_unleased_leftovers();
        }
        for (container, state) in &mut self.users {
            if state.idle_deadline.is_none_or(|d| d > now) || state.busy || state.sessions > 0 {
                continue;
            }
            state.idle_deadline = None;
            state.busy = true;
            let (host, container, tx) = (
                self.settings.host.clone(),
                container.clone(),
                self.tx.clone(),
            );
            tokio::spawn(async move {
                match engine::stop(&host, &container).await {
                    Ok(()) => tracing::info!(%container, "idle container stopped"),
                    Err(error) => tracing::warn!(%container, %error, "cannot stop idle container"),
                }
                let _ = tx.send(Request::Stopped { container }).await;
            });
        }
    }

    fn stopped(&mut self, container: &str) {
        let Some(state) = self.users.get_mut(container) else {
            return;
        };
        state.busy = false;
        if !state.waiters.is_empty() {
            self.ensure(container);
        }
    }
}

impl ContainersTask {
    /// Stops the containers an earlier run left that no session of this
    /// run has used (those that have are the idle timer's).
    fn stop_unleased_leftovers(&mut self) {
        for container in std::mem::take(&mut self.leftovers) {
            if self.users.contains_key(&container) {
                continue;
            }
            let host = self.settings.host.clone();
            tokio::spawn(async move {
                tracing::info!(%container, "stopping a container an earlier run left without sessions");
                if let Err(error) = engine::stop(&host, &container).await {
                    tracing::warn!(%container, %error, "cannot stop a container of an earlier run");
                }
            });
        }
    }

    async fn stop_all(&mut self) {
        let host = &self.settings.host;
        let stops = self.users.keys().map(|container| async move {
            if let Err(error) = engine::stop(host, container).await {
                tracing::warn!(%container, %error, "cannot stop container at shutdown");
            }
        });
        let all = futures_util::future::join_all(stops);
        if tokio::time::timeout(SHUTDOWN_TIMEOUT, all).await.is_err() {
            tracing::warn!("stopping users' containers at shutdown timed out");
        }
    }
}

/// The containers an earlier run left running: they may hold sessions
/// that carry on (their hosts outlived that run).
async fn leftovers(host: &str, instance: &str) -> Vec<String> {
    match tokio::time::timeout(ADOPT_TIMEOUT, engine::running_managed(host, instance)).await {
        Ok(Ok(containers)) => containers,
        Ok(Err(error)) => {
            tracing::warn!(%error, "cannot check for containers of an earlier run");
            Vec::new()
        }
        Err(_) => {
            tracing::warn!("checking for containers of an earlier run timed out");
            Vec::new()
        }
    }
}
