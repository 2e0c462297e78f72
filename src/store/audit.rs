//! The audit log: who did what to which session, and when.
//!
//! Owns: the `audit` table (append and read). Must not decide what is
//! audited (the callers do) or format it for people (the `audit` verb does).

use sqlx::Row;

use super::error::db;
use super::{Result, Store};

/// One audit row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    /// The user (or `guest`), or none for the server itself.
    pub actor: Option<String>,
    /// `sign-in`, `sign-in-refused`, `attach`, `detach`, `new`, `kill`,
    /// `share`, `unshare`, `link`, `exit`, …
    pub action: String,
    /// `OWNER/NAME`, when it is about a session.
    pub session: Option<String>,
    pub detail: String,
}

/// One row to append; the database gives its id.
#[derive(Debug, Clone, Copy)]
pub struct NewAuditRow<'a> {
    /// Unix seconds.
    pub at: i64,
    pub actor: Option<&'a str>,
    pub action: &'a str,
    pub session: Option<&'a str>,
    pub detail: &'a str,
}

impl Store {
    /// Appends `rows` in one transaction, in their order: all or none.
    pub async fn append_audit(&self, rows: &[NewAuditRow<'_>]) -> Result<()> {
        const CONTEXT: &str = "write the audit log";
        let mut tx = self.pool.begin().await.map_err(db(CONTEXT))?;
        for row in rows {
            sqlx::query(
                "INSERT INTO audit (at, actor, action, session, detail) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(row.at)
            .bind(row.actor)
            .bind(row.action)
            .bind(row.session)
            .bind(row.detail)
            .execute(&mut *tx)
            .await
            .map_err(db(CONTEXT))?;
        }
        tx.commit().await.map_err(db(CONTEXT))?;
        Ok(())
    }

    /// The newest `limit` rows, newest first; only `session`'s when given.
    pub async fn audit_rows(&self, session: Option<&str>, limit: i64) -> Result<Vec<AuditRecord>> {
        const CONTEXT: &str = "read the audit log";
        let rows = match session {
            Some(session) => {
                sqlx::query(
                    "SELECT id, at, actor, action, session, detail FROM audit \
                     WHERE session = $1 ORDER BY id DESC LIMIT $2",
                )
                .bind(session)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
            }
            None => {
                sqlx::query(
                    "SELECT id, at, actor, action, session, detail FROM audit \
                     ORDER BY id DESC LIMIT $1",
                )
                .bind(limit)
                .fetch_all(&self.pool)
                .await
            }
        }
        .map_err(db(CONTEXT))?;
        rows.iter()
            .map(|row| {
                Ok(AuditRecord {
                    id: row.try_get(0).map_err(db(CONTEXT))?,
                    at: row.try_get(1).map_err(db(CONTEXT))?,
                    actor: row.try_get(2).map_err(db(CONTEXT))?,
                    action: row.try_get(3).map_err(db(CONTEXT))?,
                    session: row.try_get(4).map_err(db(CONTEXT))?,
                    detail: row.try_get(5).map_err(db(CONTEXT))?,
                })
            })
            .collect()
    }
}
