//! Change notices between gateways that share one PostgreSQL (SPEC 13):
//! a gateway that changes a session's row or its grants says so on the
//! `foyer_changes` channel (`NOTIFY`), and every other gateway, listening,
//! reloads that session. On SQLite (one machine, one gateway) notices go
//! nowhere and nobody listens.
//!
//! Must not decide what a notice means for the registry (the gateway's
//! `notices` does).

use serde::{Deserialize, Serialize};
use sqlx::postgres::PgListener;

use super::{Backend, Result, SessionId, Store, StoreError};

/// The PostgreSQL channel.
pub const CHANNEL: &str = "foyer_changes";

/// One notice: which gateway sent it, and what changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub from: String,
    pub change: Change,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// The session's row or grants changed, or it was created: reload it.
    Session(i64),
    /// The session was removed.
    Removed(i64),
}

impl Change {
    pub fn session(&self) -> SessionId {
        match self {
            Change::Session(id) | Change::Removed(id) => SessionId(*id),
        }
    }
}

impl Store {
    /// Tells the other gateways; nothing on SQLite.
    pub async fn notify(&self, notice: &Notice) -> Result<()> {
        if self.backend != Backend::Postgres {
            return Ok(());
        }
        let payload = serde_json::to_string(notice).map_err(|e| StoreError::Corrupt {
            context: "send a change notice",
            detail: e.to_string(),
        })?;
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::from_sqlx("send a change notice", e))?;
        Ok(())
    }
}

/// Listens for the other gateways' notices (PostgreSQL only).
pub struct NoticeListener {
    listener: PgListener,
}

/// What the listener heard.
#[derive(Debug, PartialEq, Eq)]
pub enum Heard {
    Notice(Notice),
    /// The connection was lost (and is made again on the next call):
    /// notices may have been missed meanwhile.
    Lost,
}

impl NoticeListener {
    /// Starts listening on `url`'s database.
    pub async fn connect(url: &str) -> Result<NoticeListener> {
        let failed = |source| StoreError::Unavailable {
            url: super::redact_url(url),
            source,
        };
        let mut listener = PgListener::connect(url).await.map_err(failed)?;
        listener.listen(CHANNEL).await.map_err(failed)?;
        Ok(NoticeListener { listener })
    }

    /// The next notice; an unreadable one is skipped with a log line.
    pub async fn next(&mut self) -> Result<Heard> {
        loop {
            let notification = self
                .listener
                .try_recv()
                .await
                .map_err(|e| StoreError::from_sqlx("hear change notices", e))?;
            let Some(notification) = notification else {
                return Ok(Heard::Lost);
            };
            match serde_json::from_str(notification.payload()) {
                Ok(notice) => return Ok(Heard::Notice(notice)),
                Err(error) => tracing::warn!(%error, "an unreadable change notice; ignored"),
            }
        }
    }
}
