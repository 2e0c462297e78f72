//! Creating a session in the registry: the name is reserved (and the
//! owner's count checked) in the registry's memory, then the row is
//! recorded and the program started in a task of its own, which reports
//! back; the registry then starts the session's link, or forgets a
//! session whose program did not start.
//!
//! Must not wait in the registry's task: the database and the host are
//! only ever awaited in the spawned task.

use tokio::sync::mpsc;

use super::{
    Command, CreateError, CreateReply, CreateRequest, RegistryTask, SessionEntry, identity_of,
};
use crate::gateway::host_connection::HostConnection;
use crate::gateway::hosting::HostStarter;
use crate::gateway::link::{LinkStart, kill_host, start_link};
use crate::gateway::records::RecordWriter;
use crate::runtime::Owner;
use crate::store::notices::{Change, Notice};
use crate::store::{NewSession, SessionHost, SessionRecord, Store, StoreError, UserId};

impl RegistryTask {
    /// Reserves the name, then records the session and starts its program
    /// in a task that reports back with [`Command::Started`].
    pub(super) fn create(&mut self, request: CreateRequest, reply: CreateReply) {
        let limit = request.max_per_user;
        if limit > 0 && self.count_of(request.owner.id) >= limit {
            let _ = reply.send(Err(CreateError::TooMany { limit }));
            return;
        }
        let key = (request.owner.id, request.name.clone());
        if self.name_taken(&key) {
            let _ = reply.send(Err(CreateError::NameTaken { name: request.name }));
            return;
        }
        self.reserved.insert(key);
        *self.starting.entry(request.owner.id).or_default() += 1;
        let new = NewSession {
            owner_id: request.owner.id,
            name: request.name.clone(),
            command: request.command.clone(),
            cwd: request.spec.cwd.display().to_string(),
            runtime: self.starter.runtime.kind().into(),
        };
        let (store, starter) = (self.store.clone(), self.starter.clone());
        let (me, records) = (self.me.clone(), self.context.records.clone());
        tokio::spawn(async move {
            let (owner, name) = (request.owner.id, request.name.clone());
            let result = record_and_start(&store, &starter, &records, new, request).await;
            let started = Command::Started {
                owner,
                name,
                result,
                reply,
            };
            let Some(registry) = me.upgrade() else {
                return hang_up(started);
            };
            if let Err(mpsc::error::SendError(started)) = registry.send(started).await {
                hang_up(started);
            }
        });
    }

    /// Whether the owner already has a session of that name, or one
    /// being created.
    fn name_taken(&self, key: &(UserId, String)) -> bool {
        self.reserved.contains(key)
            || self
                .sessions
                .values()
                .any(|entry| entry.record.owner_id == key.0 && entry.record.name == key.1)
    }

    /// The owner's sessions, those still starting included.
    fn count_of(&self, owner: UserId) -> usize {
        let existing = self
            .sessions
            .values()
            .filter(|entry| entry.record.owner_id == owner)
            .count();
        existing + self.starting.get(&owner).copied().unwrap_or(0)
    }

    /// Starts the link of a session whose program started, or forgets the
    /// session whose program did not.
    pub(super) fn started(
        &mut self,
        owner: UserId,
        name: String,
        result: Result<(SessionRecord, Box<HostConnection>), CreateError>,
    ) -> Result<SessionEntry, CreateError> {
        if let Some(count) = self.starting.get_mut(&owner) {
            *count = count.saturating_sub(1);
        }
        self.reserved.remove(&(owner, name));
        let (mut record, connection) = result?;
        if let Some(task) = &connection.task {
            // Written, then told to the other gateways: none reads the
            // row before it says where the host runs.
            let host = SessionHost {
                service: task.service.clone(),
                address: task.address.clone(),
            };
            let then = Notice {
                from: self.context.gateway.to_string(),
                change: Change::Session(record.id.0),
            };
            self.context
                .records
                .placed(record.id, Some(host.clone()), then);
            record.host = Some(host);
        }
        let start = LinkStart::Host { connection };
        let link = start_link(self.context.clone(), identity_of(&record), start);
        let entry = SessionEntry {
            record,
            link,
            grants: Vec::new(),
        };
        self.sessions.insert(entry.record.id, entry.clone());
        Ok(entry)
    }
}

/// Records a new session (the database's unique name is the last word on
/// it) and starts its program; a session whose program does not start is
/// deleted again.
async fn record_and_start(
    store: &Store,
    starter: &HostStarter,
    records: &RecordWriter,
    new: NewSession,
    request: CreateRequest,
) -> Result<(SessionRecord, Box<HostConnection>), CreateError> {
    let record = match store.create_session(new).await {
        Ok(record) => record,
        Err(StoreError::NameTaken { .. }) => {
            return Err(CreateError::NameTaken { name: request.name });
        }
        Err(other) => return Err(CreateError::Store(other)),
    };
    let owner = Owner {
        id: request.owner.id.0,
        name: request.owner.name.clone(),
    };
    match starter
        .start(&owner, &identity_of(&record), request.spec, None)
        .await
    {
        Ok(connection) => Ok((record, Box::new(connection))),
        Err(error) => {
            records.deleted(record.id, None);
            Err(error.into())
        }
    }
}

/// A host started for a registry that has gone: end it.
pub(super) fn hang_up(started: Command) {
    if let Command::Started {
        result: Ok((_, connection)),
        ..
    } = started
    {
        tokio::spawn(kill_host(*connection));
    }
}
