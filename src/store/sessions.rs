//! Session records: what survives a server restart about each session.
//!
//! Owns: the `sessions` table: creating a record (unique name per owner),
//! reading records with their owner's name, and recording state changes
//! (running, exited with a status, last activity, deletion).
//! Must not: start or stop programs, hold screens or clients (that is the
//! hub), or decide access (grants are checked by the callers).

use std::fmt;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::error::db;
use super::{Result, SessionId, Store, StoreError, UserId};

/// Whether a session's program runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionState {
    Running,
    Exited,
}

impl SessionState {
    /// `"running"` or `"exited"`, as stored and as shown.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Running => "running",
            SessionState::Exited => "exited",
        }
    }

    fn parse(text: &str) -> Option<SessionState> {
        match text {
            "running" => Some(SessionState::Running),
            "exited" => Some(SessionState::Exited),
            _ => None,
        }
    }
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is needed to create a session record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub owner_id: UserId,
    pub name: String,
    pub command: Vec<String>,
    pub cwd: String,
    /// `"local"` or `"docker"`.
    pub runtime: String,
}

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: SessionId,
    pub owner_id: UserId,
    /// The owner's user name.
    pub owner: String,
    pub name: String,
    pub command: Vec<String>,
    pub cwd: String,
    pub runtime: String,
    pub state: SessionState,
    /// The exit status once exited; `None` while running, or when the
    /// program died without one (killed by a signal, lost with the server).
    pub exit_status: Option<i32>,
    pub created_at: i64,
    pub last_active_at: i64,
    /// Where its host runs, when not on the gateway's machine.
    pub host: Option<SessionHost>,
}

/// A session host on another machine: a swarm task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionHost {
    /// The swarm service that runs it.
    pub service: String,
    /// `NODE_ADDRESS:PORT` where it listens.
    pub address: String,
}

/// The session name rule: `[a-z0-9][a-z0-9._-]{0,62}`.
pub fn valid_session_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    matches!(bytes.first(), Some(b'a'..=b'z' | b'0'..=b'9'))
        && bytes.len() <= 63
        && bytes[1..]
            .iter()
            .all(|c| matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'))
}

fn session_from_row(row: &AnyRow, context: &'static str) -> Result<SessionRecord> {
    let get = |e: sqlx::Error| StoreError::from_sqlx(context, e);
    let command_json: String = row.try_get(5).map_err(get)?;
    let command: Vec<String> =
        serde_json::from_str(&command_json).map_err(|e| StoreError::Corrupt {
            context,
            detail: format!("session command {command_json:?}: {e}"),
        })?;
    let state_text: String = row.try_get(8).map_err(get)?;
    let state = SessionState::parse(&state_text).ok_or_else(|| StoreError::Corrupt {
        context,
        detail: format!("session state {state_text:?}"),
    })?;
    Ok(SessionRecord {
        id: SessionId(row.try_get(0).map_err(get)?),
        owner_id: UserId(row.try_get(1).map_err(get)?),
        owner: row.try_get(2).map_err(get)?,
        name: row.try_get(3).map_err(get)?,
        cwd: row.try_get(4).map_err(get)?,
        command,
        runtime: row.try_get(6).map_err(get)?,
        exit_status: row.try_get(7).map_err(get)?,
        state,
        created_at: row.try_get(9).map_err(get)?,
        last_active_at: row.try_get(10).map_err(get)?,
        host: match (
            row.try_get::<Option<String>, _>(11).map_err(get)?,
            row.try_get::<Option<String>, _>(12).map_err(get)?,
        ) {
            (Some(service), Some(address)) => Some(SessionHost { service, address }),
            _ => None,
        },
    })
}

impl Store {
    /// Create a session record, `running`, created and active now.
    /// [`StoreError::NameTaken`] if the owner already has a session of
    /// that name; another owner may use the same name.
    pub async fn create_session(&self, new: NewSession) -> Result<SessionRecord> {
        const CONTEXT: &str = "create the session";
        if !valid_session_name(&new.name) {
            return Err(StoreError::InvalidSessionName { name: new.name });
        }
        let command = serde_json::to_string(&new.command).map_err(|e| StoreError::Corrupt {
            context: CONTEXT,
            detail: e.to_string(),
        })?;
        let at = crate::clock::unix_now();
        let row = sqlx::query(
            "INSERT INTO sessions (owner_id, name, command, cwd, runtime, state, exit_status, \
             created_at, last_active_at) \
             VALUES ($1, $2, $3, $4, $5, 'running', NULL, $6, $6) RETURNING id",
        )
        .bind(new.owner_id.0)
        .bind(&new.name)
        .bind(&command)
        .bind(&new.cwd)
        .bind(&new.runtime)
        .bind(at)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| {
            if StoreError::is_unique_violation(&e) {
                StoreError::NameTaken {
                    name: new.name.clone(),
                }
            } else if StoreError::is_foreign_key_violation(&e) {
                StoreError::UserIdNotFound { id: new.owner_id }
            } else {
                StoreError::from_sqlx(CONTEXT, e)
            }
        })?;
        let id = SessionId(row.try_get(0).map_err(db(CONTEXT))?);
        // Read it back for the owner's name (and to return exactly what is stored).
        self.session_by_id(id)
            .await?
            .ok_or(StoreError::UserIdNotFound { id: new.owner_id })
    }

    /// The session with this id, if any.
    pub async fn session_by_id(&self, id: SessionId) -> Result<Option<SessionRecord>> {
        const CONTEXT: &str = "look up a session";
        let row = sqlx::query(
            "SELECT s.id, s.owner_id, u.name, s.name, s.cwd, s.command, s.runtime, \
             s.exit_status, s.state, s.created_at, s.last_active_at, s.host_service, \
             s.host_address FROM sessions s JOIN users u ON u.id = s.owner_id WHERE s.id = $1",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(db(CONTEXT))?;
        row.map(|row| session_from_row(&row, CONTEXT)).transpose()
    }

    /// The owner's session with this name, if any.
    pub async fn session_by_name(
        &self,
        owner_id: UserId,
        name: &str,
    ) -> Result<Option<SessionRecord>> {
        const CONTEXT: &str = "look up a session";
        let row = sqlx::query(
            "SELECT s.id, s.owner_id, u.name, s.name, s.cwd, s.command, s.runtime, \
             s.exit_status, s.state, s.created_at, s.last_active_at, s.host_service, \
             s.host_address FROM sessions s JOIN users u ON u.id = s.owner_id \
             WHERE s.owner_id = $1 AND s.name = $2",
        )
        .bind(owner_id.0)
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .map_err(db(CONTEXT))?;
        row.map(|row| session_from_row(&row, CONTEXT)).transpose()
    }

    /// Every session, by owner name then session name.
    pub async fn all_sessions(&self) -> Result<Vec<SessionRecord>> {
        const CONTEXT: &str = "list sessions";
        let rows = sqlx::query(
            "SELECT s.id, s.owner_id, u.name, s.name, s.cwd, s.command, s.runtime, \
             s.exit_status, s.state, s.created_at, s.last_active_at, s.host_service, \
             s.host_address FROM sessions s JOIN users u ON u.id = s.owner_id ORDER BY u.name, s.name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db(CONTEXT))?;
        rows.iter()
            .map(|row| session_from_row(row, CONTEXT))
            .collect()
    }

    /// The program runs (again): state `running`, no exit status, active at `at`.
    /// False if there is no such session.
    pub async fn set_running(&self, id: SessionId, at: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE sessions SET state = 'running', exit_status = NULL, last_active_at = $2 \
             WHERE id = $1",
        )
        .bind(id.0)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(db("record that the session runs"))?;
        Ok(done.rows_affected() > 0)
    }

    /// The program ended at `at` with `status` (`None`: no status, e.g.
    /// killed by a signal). False if there is no such session.
    pub async fn set_exited(&self, id: SessionId, status: Option<i32>, at: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE sessions SET state = 'exited', exit_status = $2, last_active_at = $3 \
             WHERE id = $1",
        )
        .bind(id.0)
        .bind(status)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(db("record that the session exited"))?;
        Ok(done.rows_affected() > 0)
    }

    /// Records where the session's host runs (`None`: on the gateway's
    /// machine). False if there is no such session.
    pub async fn set_session_host(
        &self,
        id: SessionId,
        host: Option<&SessionHost>,
    ) -> Result<bool> {
        let done =
            sqlx::query("UPDATE sessions SET host_service = $2, host_address = $3 WHERE id = $1")
                .bind(id.0)
                .bind(host.map(|h| h.service.clone()))
                .bind(host.map(|h| h.address.clone()))
                .execute(&self.pool)
                .await
                .map_err(db("record where the session's host runs"))?;
        Ok(done.rows_affected() > 0)
    }

    /// Record activity at `at`. False if there is no such session.
    pub async fn touch(&self, id: SessionId, at: i64) -> Result<bool> {
        let done = sqlx::query("UPDATE sessions SET last_active_at = $2 WHERE id = $1")
            .bind(id.0)
            .bind(at)
            .execute(&self.pool)
            .await
            .map_err(db("record session activity"))?;
        Ok(done.rows_affected() > 0)
    }

    /// Remove a session record (and its grants). False if there was none.
    pub async fn delete_session(&self, id: SessionId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(db("remove the session"))?;
        Ok(done.rows_affected() > 0)
    }

    /// At server start: sessions still marked running lost their program
    /// with the previous server. Mark them exited (no status) at `at` and
    /// return how many there were.
    pub async fn mark_running_as_exited(&self, at: i64) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE sessions SET state = 'exited', exit_status = NULL, last_active_at = $1 \
             WHERE state = 'running'",
        )
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(db("mark lost sessions as exited"))?;
        Ok(done.rows_affected())
    }
}
