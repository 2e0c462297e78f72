//! The steps that change a session's program, once for every transport:
//! `kill`, `restart`, `pause`/`resume`, `signal`, `notify` and `ack`,
//! each audited with who asked and over what (the raise and the clear of
//! attention are audited by the link, from what the host reports). The caller has found the session and checked the
//! asker's right (`access`); these carry the step out.
//!
//! Must not know SSH or HTTP, or word a refusal for one: errors say what
//! happened and the transport words them.

use std::path::PathBuf;

use super::attach::Transport;
use super::{App, SessionEntry};
use crate::audit::AuditEvent;
use crate::engine::hub_task::HubIdentity;
use crate::runtime::account::{LaunchRequest, spawn_spec};
use crate::runtime::{Owner, SpawnError};
use crate::wire::control::{ControlError, short_name};

/// Ends a session's program and removes the session.
pub async fn kill(app: &App, who: &str, entry: &SessionEntry) {
    let event = AuditEvent::new(Some(who), "kill").session(entry.label());
    app.audit.record(event).await;
    let _ = entry.link.kill().await;
    app.registry.remove(entry.record.id).await;
    tracing::info!(user = %who, session = %entry.label(), "session killed");
}

/// Why a restart did not happen.
#[derive(Debug, thiserror::Error)]
pub enum RestartError {
    #[error("session {0} is running")]
    Running(String),
    #[error("cannot restart {label}: {source}")]
    Start { label: String, source: SpawnError },
    #[error("the session has ended")]
    Gone,
}

/// Starts an exited session again with its command (a preset's
/// `restart_command` when it was started from one) and directory, from
/// the screen its last program left.
pub async fn restart(app: &App, who: &str, entry: &SessionEntry) -> Result<(), RestartError> {
    let label = entry.label();
    if entry.link.status().await.is_ok_and(|s| s.running) {
        return Err(RestartError::Running(label));
    }
    let cannot = |source| RestartError::Start {
        label: label.clone(),
        source,
    };
    let owner = Owner {
        id: entry.record.owner_id.0,
        name: entry.record.owner.clone(),
    };
    let account = app.runtime.account_for(&owner).map_err(cannot)?;
    let (command, extra_env) = restart_command(app, entry);
    let spec = spawn_spec(LaunchRequest {
        account: &account,
        command,
        cwd: PathBuf::from(&entry.record.cwd),
        term: None,
        label: label.clone(),
        extra_env,
    });
    let seed = entry.link.final_screen().await.ok();
    let identity = HubIdentity {
        id: entry.record.id,
        label: label.clone(),
    };
    let host = app
        .hosts
        .start(&owner, &identity, spec, seed)
        .await
        .map_err(cannot)?;
    entry
        .link
        .restart(host)
        .await
        .map_err(|_| RestartError::Gone)?;
    let event = AuditEvent::new(Some(who), "restart").session(label);
    app.audit.record(event).await;
    Ok(())
}

/// The command and extra environment a restart runs: the preset's, when
/// the session was started from one.
fn restart_command(app: &App, entry: &SessionEntry) -> (Vec<String>, Vec<(String, String)>) {
    let preset = app
        .config
        .presets
        .iter()
        .find(|p| p.command == entry.record.command);
    let command = preset
        .and_then(|p| p.restart_command.clone())
        .unwrap_or_else(|| entry.record.command.clone());
    let env = preset
        .map(|p| p.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    (command, env)
}

/// Stops (`paused`) or continues the program's process group.
pub async fn pause(
    app: &App,
    who: &str,
    entry: &SessionEntry,
    paused: bool,
    transport: Transport,
) -> Result<(), ControlError> {
    entry.link.pause(paused).await?;
    let verb = if paused { "pause" } else { "resume" };
    let event = AuditEvent::new(Some(who), verb)
        .session(entry.label())
        .detail(format!("over {}", transport.word()));
    app.audit.record(event).await;
    tracing::info!(session = %entry.label(), "{verb}d");
    Ok(())
}

/// Sends `signal` to the program's process group.
pub async fn signal(
    app: &App,
    who: &str,
    entry: &SessionEntry,
    signal: nix::sys::signal::Signal,
    transport: Transport,
) -> Result<(), ControlError> {
    entry.link.signal(signal).await?;
    let event = AuditEvent::new(Some(who), "signal")
        .session(entry.label())
        .detail(format!("{} over {}", short_name(signal), transport.word()));
    app.audit.record(event).await;
    tracing::info!(session = %entry.label(), signal = short_name(signal), "signalled");
    Ok(())
}

/// Marks the session as wanting attention with `message` (`notify`).
pub async fn notify(
    app: &App,
    who: &str,
    entry: &SessionEntry,
    message: &str,
    transport: Transport,
) -> Result<(), ControlError> {
    entry.link.notify(message.to_string()).await?;
    let event = AuditEvent::new(Some(who), "notify")
        .session(entry.label())
        .detail(format!("over {}", transport.word()));
    app.audit.record(event).await;
    Ok(())
}

/// Clears the session's attention mark as `who` (`ack`); the link audits
/// the clear, if there was a mark to clear.
pub async fn ack(who: &str, entry: &SessionEntry) -> Result<(), ControlError> {
    entry.link.ack(who.to_string()).await
}
