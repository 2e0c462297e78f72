//! The `audit` verb: the audit log, newest first, for admins only, as a
//! table or (`--json`) an array of objects.
//!
//! Must not write the log; `audit.rs` does.

use super::caller::{Caller, Outcome};
use super::channel::ChannelIo;
use crate::gateway::App;
use crate::gateway::names::SessionRef;
use crate::store::AuditRecord;

/// How long `audit` waits for queued events to be written.
const CATCH_UP: std::time::Duration = std::time::Duration::from_secs(5);

pub(super) async fn audit(
    app: &App,
    caller: &Caller,
    name: Option<&str>,
    json: bool,
    limit: i64,
    io: &ChannelIo,
) -> Outcome {
    if !caller.user.is_admin {
        return Outcome::refused("only admins may read the audit log");
    }
    let session = match name.map(SessionRef::parse) {
        None => None,
        Some(Ok(reference)) => {
            let owner = reference.owner.unwrap_or_else(|| caller.user.name.clone());
            Some(format!("{owner}/{}", reference.name))
        }
        Some(Err(error)) => return Outcome::refused(error.to_string()),
    };
    // The log is written behind the events; catch it up first so the
    // reader sees what just happened (not for ever: a database that is
    // down answers below).
    if !app.audit.caught_up(CATCH_UP).await {
        tracing::warn!("the audit log is behind; showing what is written");
    }
    let rows = match app.store.audit_rows(session.as_deref(), limit.max(1)).await {
        Ok(rows) => rows,
        Err(error) => return Outcome::refused(error.to_string()),
    };
    let text = if json {
        as_json(&rows)
    } else {
        as_table(&rows)
    };
    let _ = io.out(&text).await;
    Outcome::Done
}

fn rfc3339(seconds: i64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds.max(0) as u64);
    humantime::format_rfc3339_seconds(time).to_string()
}

fn as_json(rows: &[AuditRecord]) -> String {
    let items: Vec<serde_json::Value> = rows
        .iter()
        .map(|row| {
            serde_json::json!({
                "id": row.id,
                "at": rfc3339(row.at),
                "actor": row.actor,
                "action": row.action,
                "session": row.session,
                "detail": row.detail,
            })
        })
        .collect();
    format!("{}\n", serde_json::Value::Array(items))
}

fn as_table(rows: &[AuditRecord]) -> String {
    let mut lines = vec![[
        "AT".to_string(),
        "ACTOR".into(),
        "ACTION".into(),
        "SESSION".into(),
        "DETAIL".into(),
    ]];
    for row in rows {
        lines.push([
            rfc3339(row.at),
            row.actor.clone().unwrap_or_else(|| "-".into()),
            row.action.clone(),
            row.session.clone().unwrap_or_else(|| "-".into()),
            row.detail.clone(),
        ]);
    }
    super::run_account::text_table(&lines)
}
