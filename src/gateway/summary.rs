//! A session as machine-readable JSON, the same for `ls --json` and the
//! JSON API: name, owner, state, exit status, the viewer's access, clients,
//! idle time, attention (its message and since when), command and times
//! (RFC 3339).
//!
//! Must not look anything up: callers pass the session, the viewer's
//! access and the hub's status.

use super::SessionEntry;
use super::access::Access;
use crate::wire::HubStatus;

/// Seconds since the session's last activity.
pub fn idle_seconds(status: &HubStatus) -> i64 {
    (crate::clock::unix_now() - status.last_active).max(0)
}

/// Unix seconds as RFC 3339 (UTC, whole seconds).
pub fn rfc3339(seconds: i64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds.max(0) as u64);
    humantime::format_rfc3339_seconds(time).to_string()
}

/// One session as `ls --json` shows it.
pub fn session_json(entry: &SessionEntry, access: Access, status: &HubStatus) -> serde_json::Value {
    let record = &entry.record;
    serde_json::json!({
        "name": record.name,
        "owner": record.owner,
        "state": status.state(),
        "exit_status": if status.running { None } else { status.exit_status },
        "access": access.name(),
        "clients": status.writers + status.observers,
        "idle_seconds": idle_seconds(status),
        "attention": status.attention,
        "attention_message": if status.attention { status.attention_message.clone() } else { None },
        "attention_since": status.attention_since.filter(|_| status.attention).map(rfc3339),
        "command": record.command,
        "created_at": rfc3339(record.created_at),
        "last_active_at": rfc3339(status.last_active),
    })
}
