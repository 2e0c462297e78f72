//! Sessions another gateway changed (a cluster's gateways share one
//! PostgreSQL, SPEC 13): on a change notice the session's row and grants
//! are read again in a task of its own, a session new to this gateway is
//! adopted (connected to its host, which runs wherever the swarm placed
//! it), one removed elsewhere is forgotten here, and the registry takes
//! the result in [`Command::Reloaded`].
//!
//! Must not wait in the registry's task, or kill or delete anything: the
//! gateway that removed a session did that.

use super::{Command, RegistryTask, SessionEntry, identity_of};
use crate::gateway::adoption::adopt;
use crate::gateway::link::{LinkHandle, LinkStart, start_link};
use crate::store::notices::{Change, Notice};
use crate::store::{Grant, SessionHost, SessionId, SessionRecord, SessionState, UserId};

/// A session as read again, and how its link starts when it is new here.
pub(super) struct Reloaded {
    pub id: SessionId,
    pub record: Option<SessionRecord>,
    pub grants: Vec<(UserId, Grant)>,
    pub start: Option<LinkStart>,
}

impl RegistryTask {
    /// Reads session `id` again, adopting it if this gateway does not
    /// know it; comes back as [`Command::Reloaded`].
    pub(super) fn reload(&self, id: SessionId) {
        // What this gateway knows of it: a session restarted elsewhere
        // (running again, perhaps in a new host) is adopted again.
        let known = self
            .sessions
            .get(&id)
            .map(|entry| (entry.link.clone(), entry.record.host.clone()));
        let (context, starter, me) = (self.context.clone(), self.starter.clone(), self.me.clone());
        tokio::spawn(async move {
            let record = match context.store.session_by_id(id).await {
                Ok(record) => record,
                Err(error) => {
                    tracing::warn!(session = id.0, %error, "cannot reload a session another gateway changed");
                    return;
                }
            };
            let grants = match context.store.grants_of(id).await {
                Ok(grants) => grants.into_iter().map(|g| (g.user, g.grant)).collect(),
                Err(_) => Vec::new(),
            };
            let start = match (&record, &known) {
                (Some(record), None) => Some(adopt(&context, &starter, record).await),
                (Some(record), Some(known)) if restarted(known, record).await => {
                    Some(adopt(&context, &starter, record).await)
                }
                _ => None,
            };
            let reloaded = Reloaded {
                id,
                record,
                grants,
                start,
            };
            if let Some(registry) = me.upgrade() {
                let _ = registry.send(Command::Reloaded(Box::new(reloaded))).await;
            }
        });
    }

    /// Reads every session again (after notices may have been missed).
    pub(super) fn reload_all(&self) {
        let known: Vec<SessionId> = self.sessions.keys().copied().collect();
        let (store, me) = (self.context.store.clone(), self.me.clone());
        tokio::spawn(async move {
            let Ok(records) = store.all_sessions().await else {
                return;
            };
            let mut ids: Vec<SessionId> = records.iter().map(|r| r.id).collect();
            ids.extend(known);
            ids.sort_by_key(|id| id.0);
            ids.dedup();
            let Some(registry) = me.upgrade() else {
                return;
            };
            for id in ids {
                let _ = registry.send(Command::Reload { id }).await;
            }
        });
    }

    /// Takes a reloaded session in.
    pub(super) fn reloaded(&mut self, reloaded: Reloaded) {
        let Reloaded {
            id,
            record,
            grants,
            start,
        } = reloaded;
        match (record, self.sessions.get_mut(&id), start) {
            (None, Some(_), _) => {
                // Removed by another gateway, which ended its host.
                self.sessions.remove(&id);
            }
            (Some(record), Some(entry), Some(start)) => {
                // Restarted through another gateway: a new link to its host.
                entry.link = start_link(self.context.clone(), identity_of(&record), start);
                entry.record = record;
                entry.grants = grants;
            }
            (Some(record), Some(entry), None) => {
                entry.record = record;
                entry.grants = grants;
            }
            (Some(record), None, Some(start)) => {
                let link = start_link(self.context.clone(), identity_of(&record), start);
                tracing::info!(session = %format!("{}/{}", record.owner, record.name), "session from another gateway");
                self.sessions.insert(
                    id,
                    SessionEntry {
                        record,
                        link,
                        grants,
                    },
                );
            }
            _ => return,
        }
        self.context.changes.notify();
    }

    /// Tells the other gateways that session `id` changed, from a task
    /// of its own (the registry never waits on the database).
    pub(super) fn tell_others(&self, change: Change) {
        let store = self.context.store.clone();
        let notice = Notice {
            from: self.context.gateway.to_string(),
            change,
        };
        tokio::spawn(async move {
            if let Err(error) = store.notify(&notice).await {
                tracing::warn!(%error, "cannot tell the other gateways of a change");
            }
        });
    }
}

/// Whether a session this gateway knows was restarted elsewhere: recorded
/// running while its link here shows it exited, or in another host.
async fn restarted((link, host): &(LinkHandle, Option<SessionHost>), now: &SessionRecord) -> bool {
    if now.state != SessionState::Running {
        return false;
    }
    let shown_running = link.status().await.is_ok_and(|status| status.running);
    !shown_running || *host != now.host
}
