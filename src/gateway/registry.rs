//! The registry: which sessions exist, by owner and name, and the link of
//! each. One task owns the table; front ends ask it through [`Registry`].
//!
//! It creates sessions and removes them. The task changes only its own
//! memory and never waits on the database or a session: a new session's
//! name is reserved in memory, and its row and program are made in a task
//! of its own that reports back (a Docker container can take seconds, a
//! stalled database longer), while the registry keeps answering everyone
//! else; removals are written by the records' writer; a grant is written
//! by its caller before the registry learns it; the retention sweep asks
//! the links from a task of its own.
//!
//! Must not track a session's live state (clients, exit status): that is
//! its link's, asked directly through its [`LinkHandle`].

use std::collections::{HashMap, HashSet};

use tokio::sync::{mpsc, oneshot};

use super::adoption::{adopt, kill_unrecorded_hosts};
use super::hosting::HostStarter;
use super::link::LinkHandle;
use super::link::{LinkContext, start_link};
use crate::clock::unix_now;
use crate::engine::hub_task::HubIdentity;
use crate::gateway::host_connection::HostConnection;
use crate::runtime::{SpawnError, SpawnSpec};
use crate::store::notices::{Change, Notice};
use crate::store::{Grant, SessionId, SessionRecord, Store, StoreError, User, UserId};

mod creating;
mod reloading;

const COMMAND_QUEUE: usize = 64;
/// How often exited sessions are checked against `sessions.exited_retention`,
/// at most: a quarter of the retention, but not more often than every second.
const RETENTION_SWEEP: std::time::Duration = std::time::Duration::from_secs(30);

/// A session and its link.
#[derive(Clone)]
pub struct SessionEntry {
    pub record: SessionRecord,
    pub link: LinkHandle,
    /// Who beside the owner may read or write it.
    pub grants: Vec<(UserId, Grant)>,
}

impl SessionEntry {
    /// `OWNER/NAME`.
    pub fn label(&self) -> String {
        format!("{}/{}", self.record.owner, self.record.name)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("a session named {name} already exists")]
    NameTaken { name: String },
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    #[error("cannot record the session: {0}")]
    Store(StoreError),
    #[error("the server is shutting down")]
    ShuttingDown,
    #[error("you have {limit} sessions, the most sessions.max_per_user allows: kill one first")]
    TooMany { limit: usize },
}

/// A new session to create and start.
pub struct CreateRequest {
    pub owner: User,
    /// Most sessions the owner may have (`sessions.max_per_user`); 0: no
    /// limit. Checked here, where sessions are counted one at a time.
    pub max_per_user: usize,
    pub name: String,
    pub command: Vec<String>,
    pub spec: SpawnSpec,
}

type CreateReply = oneshot::Sender<Result<SessionEntry, CreateError>>;

enum Command {
    Create {
        request: CreateRequest,
        reply: CreateReply,
    },
    /// From the task that recorded a new session and started its program.
    Started {
        owner: UserId,
        name: String,
        result: Result<(SessionRecord, Box<HostConnection>), CreateError>,
        reply: CreateReply,
    },
    Find {
        owner: String,
        name: String,
        reply: oneshot::Sender<Option<SessionEntry>>,
    },
    List {
        reply: oneshot::Sender<Vec<SessionEntry>>,
    },
    Remove {
        id: SessionId,
        reply: oneshot::Sender<Option<SessionEntry>>,
    },
    Get {
        id: SessionId,
        reply: oneshot::Sender<Option<SessionEntry>>,
    },
    /// A grant already written to the database.
    GrantChanged {
        id: SessionId,
        user: UserId,
        grant: Option<Grant>,
        reply: oneshot::Sender<Option<SessionEntry>>,
    },
    /// From the retention sweep: these exited sessions are past it.
    Expired { ids: Vec<SessionId> },
    /// Another gateway changed this session (a change notice).
    Reload { id: SessionId },
    /// Notices may have been missed: read every session again.
    ReloadAll,
    /// A session as read again.
    Reloaded(Box<reloading::Reloaded>),
}

/// Talks to the registry task. Cheap to clone.
#[derive(Clone)]
pub struct Registry {
    tx: mpsc::Sender<Command>,
    changes: crate::engine::Changes,
    store: Store,
}

impl Registry {
    /// Loads the sessions recorded in the database and starts the registry.
    /// Sessions recorded as running are adopted: their hosts outlived the
    /// last gateway. A session whose host is gone (the machine restarted)
    /// is marked exited; a host no session is recorded for is killed.
    pub async fn start(
        context: LinkContext,
        starter: HostStarter,
        exited_retention: std::time::Duration,
    ) -> Result<Registry, StoreError> {
        let store = context.store.clone();
        let mut grants: HashMap<SessionId, Vec<(UserId, Grant)>> = HashMap::new();
        for grant in store.all_grants().await? {
            grants
                .entry(grant.session)
                .or_default()
                .push((grant.user, grant.grant));
        }
        let records = store.all_sessions().await?;
        kill_unrecorded_hosts(&starter, &records).await;
        let starts = records
            .iter()
            .map(|record| adopt(&context, &starter, record));
        let starts = futures_util::future::join_all(starts).await;
        let mut sessions = HashMap::new();
        for (record, start) in records.into_iter().zip(starts) {
            let link = start_link(context.clone(), identity_of(&record), start);
            let grants = grants.remove(&record.id).unwrap_or_default();
            sessions.insert(
                record.id,
                SessionEntry {
                    record,
                    link,
                    grants,
                },
            );
        }
        let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
        let changes = context.changes.clone();
        let task = RegistryTask {
            store: store.clone(),
            context,
            starter,
            sessions,
            exited_retention,
            me: tx.downgrade(),
            starting: HashMap::new(),
            reserved: HashSet::new(),
        };
        tokio::spawn(task.run(rx));
        Ok(Registry { tx, changes, store })
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Option<T> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(make(reply)).await.ok()?;
        answer.await.ok()
    }

    pub async fn create(&self, request: CreateRequest) -> Result<SessionEntry, CreateError> {
        self.ask(|reply| Command::Create { request, reply })
            .await
            .unwrap_or(Err(CreateError::ShuttingDown))
    }

    pub async fn find(&self, owner: &str, name: &str) -> Option<SessionEntry> {
        let (owner, name) = (owner.to_string(), name.to_string());
        self.ask(|reply| Command::Find { owner, name, reply })
            .await
            .flatten()
    }

    pub async fn list(&self) -> Vec<SessionEntry> {
        self.ask(|reply| Command::List { reply })
            .await
            .unwrap_or_default()
    }

    /// A receiver that wakes when sessions appear, end, or change what
    /// `ls` shows about them.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Gives `user` `grant` on a session (`None` takes it away); returns
    /// the session as it now is, or `None` when it is gone.
    /// Written here, in the caller's task, before the registry learns it.
    pub async fn set_grant(
        &self,
        id: SessionId,
        user: UserId,
        grant: Option<Grant>,
    ) -> Result<Option<SessionEntry>, StoreError> {
        if self
            .ask(|reply| Command::Get { id, reply })
            .await
            .flatten()
            .is_none()
        {
            return Ok(None);
        }
        match grant {
            Some(grant) => self.store.set_grant(id, user, grant).await?,
            None => {
                self.store.remove_grant(id, user).await?;
            }
        }
        Ok(self
            .ask(|reply| Command::GrantChanged {
                id,
                user,
                grant,
                reply,
            })
            .await
            .flatten())
    }

    /// The swarm services of the remote hosts of the sessions known here.
    pub async fn remote_services(&self) -> Vec<String> {
        self.list()
            .await
            .into_iter()
            .filter_map(|entry| entry.record.host.map(|host| host.service))
            .collect()
    }

    /// Another gateway changed session `id`: read it again.
    pub async fn reload(&self, id: SessionId) {
        let _ = self.tx.send(Command::Reload { id }).await;
    }

    /// Change notices may have been missed: read every session again.
    pub async fn reload_all(&self) {
        let _ = self.tx.send(Command::ReloadAll).await;
    }

    /// Forgets a session (its hub is told to end separately).
    pub async fn remove(&self, id: SessionId) -> Option<SessionEntry> {
        self.ask(|reply| Command::Remove { id, reply })
            .await
            .flatten()
    }
}

struct RegistryTask {
    store: Store,
    context: LinkContext,
    starter: HostStarter,
    sessions: HashMap<SessionId, SessionEntry>,
    /// Zero keeps exited sessions until `kill`.
    exited_retention: std::time::Duration,
    /// For start tasks to report back (weak: the registry still ends when
    /// every handle is gone).
    me: mpsc::WeakSender<Command>,
    /// Sessions being recorded and started, by owner.
    starting: HashMap<UserId, usize>,
    /// Their names, by owner: taken until they start or fail.
    reserved: HashSet<(UserId, String)>,
}

impl RegistryTask {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let period =
            (self.exited_retention / 4).clamp(std::time::Duration::from_secs(1), RETENTION_SWEEP);
        let mut sweep = tokio::time::interval(period);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let command = tokio::select! {
                command = commands.recv() => command,
                _ = sweep.tick(), if !self.exited_retention.is_zero() => {
                    self.sweep_expired();
                    continue;
                }
            };
            let Some(command) = command else {
                break;
            };
            match command {
                Command::Create { request, reply } => self.create(request, reply),
                Command::Started {
                    owner,
                    name,
                    result,
                    reply,
                } => {
                    let created = self.started(owner, name, result);
                    // The other gateways hear of it once its host's place
                    // is written (the link's `record_placement`).
                    if created.is_ok() {
                        self.context.changes.notify();
                    }
                    let _ = reply.send(created);
                }
                Command::Find { owner, name, reply } => {
                    let found = self
                        .sessions
                        .values()
                        .find(|e| e.record.owner == owner && e.record.name == name)
                        .cloned();
                    let _ = reply.send(found);
                }
                Command::List { reply } => {
                    let mut all: Vec<SessionEntry> = self.sessions.values().cloned().collect();
                    all.sort_by(|a, b| {
                        (&a.record.owner, &a.record.name).cmp(&(&b.record.owner, &b.record.name))
                    });
                    let _ = reply.send(all);
                }
                Command::Get { id, reply } => {
                    let _ = reply.send(self.sessions.get(&id).cloned());
                }
                Command::GrantChanged {
                    id,
                    user,
                    grant,
                    reply,
                } => {
                    let _ = reply.send(self.grant_changed(id, user, grant));
                }
                Command::Remove { id, reply } => {
                    let _ = reply.send(self.remove(id));
                }
                Command::Expired { ids } => self.remove_expired(ids),
                Command::Reload { id } => self.reload(id),
                Command::ReloadAll => self.reload_all(),
                Command::Reloaded(reloaded) => self.reloaded(*reloaded),
            }
        }
    }

    fn grant_changed(
        &mut self,
        id: SessionId,
        user: UserId,
        grant: Option<Grant>,
    ) -> Option<SessionEntry> {
        let entry = self.sessions.get_mut(&id)?;
        entry.grants.retain(|(holder, _)| *holder != user);
        if let Some(grant) = grant {
            entry.grants.push((user, grant));
        }
        let entry = entry.clone();
        self.context.changes.notify();
        self.tell_others(Change::Session(id.0));
        Some(entry)
    }

    /// Forgets a session; its row is deleted by the records' writer.
    fn remove(&mut self, id: SessionId) -> Option<SessionEntry> {
        let removed = self.sessions.remove(&id)?;
        self.context.changes.notify();
        let then = Notice {
            from: self.context.gateway.to_string(),
            change: Change::Removed(id.0),
        };
        self.context.records.deleted(id, Some(then));
        Some(removed)
    }

    /// Asks every session's link, from a task of its own, which exited
    /// longer than `exited_retention` ago; they come back as
    /// [`Command::Expired`].
    fn sweep_expired(&self) {
        let oldest = unix_now() - self.exited_retention.as_secs() as i64;
        let entries: Vec<SessionEntry> = self.sessions.values().cloned().collect();
        let me = self.me.clone();
        tokio::spawn(async move {
            let mut ids = Vec::new();
            for entry in entries {
                if let Ok(status) = entry.link.status().await
                    && !status.running
                    && status.last_active < oldest
                {
                    ids.push(entry.record.id);
                }
            }
            if let (false, Some(registry)) = (ids.is_empty(), me.upgrade()) {
                let _ = registry.send(Command::Expired { ids }).await;
            }
        });
    }

    /// Removes the sessions the sweep found past their retention.
    fn remove_expired(&mut self, ids: Vec<SessionId>) {
        for id in ids {
            if let Some(entry) = self.remove(id) {
                tracing::info!(session = %entry.label(), "exited session past its retention removed");
                tokio::spawn(async move {
                    let _ = entry.link.kill().await;
                });
            }
        }
    }
}

fn identity_of(record: &SessionRecord) -> HubIdentity {
    HubIdentity {
        id: record.id,
        label: format!("{}/{}", record.owner, record.name),
    }
}
