//! Grants: which users may read or write which sessions beside the owner.
//!
//! Owns: the `grants` table. Must not decide what a grant allows (that is
//! `gateway::access`) or tell attached clients (that is the hub).

use sqlx::Row;

use super::error::db;
use super::{Result, SessionId, Store, StoreError, UserId};

/// What a grant gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Grant {
    Read,
    Write,
}

impl Grant {
    /// `"read"` or `"write"`, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Grant::Read => "read",
            Grant::Write => "write",
        }
    }

    fn parse(text: &str) -> Option<Grant> {
        match text {
            "read" => Some(Grant::Read),
            "write" => Some(Grant::Write),
            _ => None,
        }
    }
}

/// One stored grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantRecord {
    pub session: SessionId,
    pub user: UserId,
    pub grant: Grant,
}

impl Store {
    /// Gives `user` `grant` on `session`, replacing any grant they had.
    pub async fn set_grant(&self, session: SessionId, user: UserId, grant: Grant) -> Result<()> {
        sqlx::query(
            "INSERT INTO grants (session_id, user_id, access) VALUES ($1, $2, $3) \
             ON CONFLICT (session_id, user_id) DO UPDATE SET access = excluded.access",
        )
        .bind(session.0)
        .bind(user.0)
        .bind(grant.as_str())
        .execute(&self.pool)
        .await
        .map_err(db("record the grant"))?;
        Ok(())
    }

    /// Takes `user`'s grant on `session` away. False if they had none.
    pub async fn remove_grant(&self, session: SessionId, user: UserId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM grants WHERE session_id = $1 AND user_id = $2")
            .bind(session.0)
            .bind(user.0)
            .execute(&self.pool)
            .await
            .map_err(db("remove the grant"))?;
        Ok(done.rows_affected() > 0)
    }

    /// The grants on one session (a change notice reloads them).
    pub async fn grants_of(&self, session: SessionId) -> Result<Vec<GrantRecord>> {
        let all = self.all_grants().await?;
        Ok(all.into_iter().filter(|g| g.session == session).collect())
    }

    /// Every grant, for the registry to load at start.
    pub async fn all_grants(&self) -> Result<Vec<GrantRecord>> {
        const CONTEXT: &str = "list grants";
        let rows = sqlx::query("SELECT session_id, user_id, access FROM grants")
            .fetch_all(&self.pool)
            .await
            .map_err(db(CONTEXT))?;
        rows.iter()
            .map(|row| {
                let access: String = row.try_get(2).map_err(db(CONTEXT))?;
                let grant = Grant::parse(&access).ok_or_else(|| StoreError::Corrupt {
                    context: CONTEXT,
                    detail: format!("unknown access {access:?}"),
                })?;
                Ok(GrantRecord {
                    session: SessionId(row.try_get(0).map_err(db(CONTEXT))?),
                    user: UserId(row.try_get(1).map_err(db(CONTEXT))?),
                    grant,
                })
            })
            .collect()
    }
}
