//! Carries out the session verbs for one SSH channel: `ls`, `new`,
//! `attach`, `watch`, `capture`, `send`, `kill`, `restart` (and hands
//! `link`/`token` to run_link.rs, `share` to run_share.rs). Messages and
//! exit statuses follow SPEC §4: 0 done, 1 refused or not found (one line
//! on stderr), 2 usage.
//!
//! Must not touch a session's state except through its hub and the
//! registry.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;

use super::attach::{self, AttachEnd};
use super::channel::ChannelIo;
use super::replay;
use super::run_account;
use super::run_audit;
use super::run_control;
use super::run_link;
use super::run_new;
use super::run_share;
use super::verbs::{self, Verb};
use crate::audit::AuditEvent;
use crate::engine::hub_task::HubIdentity;
use crate::gateway::App;
use crate::gateway::SessionEntry;
use crate::gateway::access::{self, Access};
use crate::gateway::names::{self, SessionRef};
use crate::runtime;
use crate::runtime::account::{LaunchRequest, spawn_spec};
use crate::store::{Grant, User};
use crate::wire::HubStatus;
use crate::wire::Role;

/// Who is asking.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    /// SHA-256 fingerprint of the key that signed in (for a certificate,
    /// the certified key).
    pub fingerprint: String,
    pub peer: SocketAddr,
    /// For a certificate sign-in: `certificate "KEY-ID" from CA SHA256:…`.
    pub certificate: Option<String>,
}

/// The outcome of a verb: an exit status and, for 1 and 2, the message.
pub enum Outcome {
    Done,
    Refused(String),
    Usage(String),
}

impl Outcome {
    pub(super) fn refused(text: impl Into<String>) -> Outcome {
        Outcome::Refused(text.into())
    }

    /// The message of a refusal or usage error; empty for `Done`.
    pub(super) fn into_message(self) -> String {
        match self {
            Outcome::Done => String::new(),
            Outcome::Refused(message) | Outcome::Usage(message) => message,
        }
    }
}

/// The caller's access to a session, if they may see it at all.
pub fn access_of(caller: &Caller, entry: &SessionEntry) -> Option<Access> {
    access::access_of(&caller.user, entry)
}

/// Runs a command line (or, for `None`, the shell request) and returns the
/// exit status for the channel.
pub async fn run_command(
    app: Arc<App>,
    caller: Caller,
    command: Option<String>,
    io: &mut ChannelIo,
) -> u32 {
    let Some(command) = command else {
        return match super::run_picker::run(&app, &caller, io).await {
            Outcome::Done => 0,
            _ => 1,
        };
    };
    let verb = verbs::parse(&command);
    let outcome = match verb {
        Ok(verb) => run_verb(&app, &caller, verb, io).await,
        Err(error) => Outcome::Usage(error.message()),
    };
    match outcome {
        Outcome::Done => 0,
        Outcome::Refused(message) => {
            let _ = io.err(&format!("{}\n", message.trim_end())).await;
            1
        }
        Outcome::Usage(message) => {
            let _ = io.err(&message).await;
            2
        }
    }
}

async fn run_verb(app: &App, caller: &Caller, verb: Verb, io: &mut ChannelIo) -> Outcome {
    let interactive = matches!(
        verb,
        Verb::Attach { .. } | Verb::Watch { .. } | Verb::New { .. } | Verb::Replay { .. }
    );
    if !interactive {
        io.ignore_input();
    }
    match verb {
        Verb::Help => {
            // A client that left before reading its help needs nothing more.
            let _ = io.out(&verbs::help_text()).await;
            Outcome::Done
        }
        Verb::Whoami => run_account::whoami(caller, io).await,
        Verb::Keys { action } => run_account::keys(app, caller, action, io).await,
        Verb::Ls { json } => list(app, caller, json, io).await,
        Verb::New {
            name,
            detached,
            attach_existing,
            dir,
            preset,
            command,
        } => {
            let request = run_new::NewRequest {
                name,
                detached,
                attach_existing,
                dir,
                preset,
                command,
            };
            run_new::new_session(app, caller, request, io).await
        }
        Verb::Attach { name } => attach_verb(app, caller, &name, false, io).await,
        Verb::Watch { name } => attach_verb(app, caller, &name, true, io).await,
        Verb::Capture {
            name,
            ansi,
            scrollback,
        } => capture(app, caller, &name, ansi, scrollback, io).await,
        Verb::Send { name, text } => send(app, caller, &name, &text).await,
        Verb::Kill { name } => kill(app, caller, &name).await,
        Verb::Restart { name } => restart(app, caller, &name).await,
        Verb::Pause { name } => run_control::pause(app, caller, &name, true).await,
        Verb::Resume { name } => run_control::pause(app, caller, &name, false).await,
        Verb::Signal { name, signal } => run_control::signal(app, caller, &name, signal).await,
        Verb::Share { name, user, write } => {
            let grant = if write { Grant::Write } else { Grant::Read };
            run_share::share(app, caller, &name, &user, Some(grant), io).await
        }
        Verb::Unshare { name, user } => run_share::share(app, caller, &name, &user, None, io).await,
        Verb::Link {
            name,
            guest,
            ttl,
            list,
            revoke,
        } => {
            let request = run_link::LinkRequest {
                name,
                guest,
                ttl,
                list,
                revoke,
            };
            run_link::link(app, caller, request, io).await
        }
        Verb::Token { action } => run_link::token(app, caller, action, io).await,
        Verb::Replay { name } => replay::replay(app, caller, &name, io).await,
        Verb::Audit { name, json, limit } => {
            run_audit::audit(app, caller, name.as_deref(), json, limit, io).await
        }
    }
}

/// Finds a session the caller may see, or says there is none.
pub(super) async fn find(
    app: &App,
    caller: &Caller,
    name: &str,
) -> Result<(SessionEntry, Access), Outcome> {
    let not_found = || Outcome::refused(format!("no session named {}", names::printable(name)));
    let reference = SessionRef::parse(name).map_err(|_| not_found())?;
    let owner = reference.owner.unwrap_or_else(|| caller.user.name.clone());
    let entry = app
        .registry
        .find(&owner, &reference.name)
        .await
        .ok_or_else(not_found)?;
    let access = access_of(caller, &entry).ok_or_else(not_found)?;
    tracing::Span::current().record("session", entry.label().as_str());
    Ok((entry, access))
}

async fn list(app: &App, caller: &Caller, json: bool, io: &ChannelIo) -> Outcome {
    let mut rows = Vec::new();
    for entry in app.registry.list().await {
        let Some(access) = access_of(caller, &entry) else {
            continue;
        };
        let Ok(status) = entry.link.status().await else {
            continue;
        };
        rows.push(super::run_account::ListRow {
            entry,
            access,
            status,
        });
    }
    let text = if json {
        super::run_account::list_json(&rows)
    } else {
        super::run_account::list_table(caller, &rows)
    };
    let _ = io.out(&text).await;
    Outcome::Done
}

async fn attach_verb(
    app: &App,
    caller: &Caller,
    name: &str,
    watch: bool,
    io: &mut ChannelIo,
) -> Outcome {
    if io.pty.is_none() && !watch {
        return Outcome::Usage("attach needs a terminal: use ssh -t\n".into());
    }
    let (entry, access) = match find(app, caller, name).await {
        Ok(found) => found,
        Err(outcome) => return outcome,
    };
    if io.pty.is_none() {
        return attach::stream_output(&caller.user.name, &entry, io).await;
    }
    attach_entry(app, caller, entry, access, watch, io).await
}

/// Attaches the caller to `entry` and prints how the attachment ended.
pub(super) async fn attach_entry(
    app: &App,
    caller: &Caller,
    entry: SessionEntry,
    access: Access,
    watch: bool,
    io: &mut ChannelIo,
) -> Outcome {
    let (end, notice) = attach_session(app, caller, &entry, access, watch, io).await;
    if let AttachEnd::Full(limit) = end {
        return Outcome::refused(format!(
            "{} has {limit} clients attached, the most sessions.max_clients allows",
            entry.label()
        ));
    }
    if let Some(notice) = notice {
        let _ = io.out(&format!("{notice}\n")).await;
    }
    Outcome::Done
}

/// Attaches the caller to `entry` with their access (read-only when
/// `watch`) until it ends; returns how, with the line that tells them
/// (none when the client went away).
pub(super) async fn attach_session(
    app: &App,
    caller: &Caller,
    entry: &SessionEntry,
    access: Access,
    watch: bool,
    io: &mut ChannelIo,
) -> (AttachEnd, Option<String>) {
    let role = if access.can_write() && !watch {
        Role::Writer
    } else {
        Role::Observer
    };
    // Your own session by NAME, anyone else's by OWNER/NAME.
    let shown = if access == Access::Owner {
        entry.record.name.clone()
    } else {
        entry.label()
    };
    let role_name = match role {
        Role::Writer => "writer",
        Role::Observer => "observer",
    };
    let who = Some(caller.user.name.as_str());
    app.audit
        .record(
            AuditEvent::new(who, "attach")
                .session(entry.label())
                .detail(format!("{role_name} over ssh from {}", caller.peer)),
        )
        .await;
    // `attach` without write access: a writer as soon as it is granted.
    let upgradable = !watch && role == Role::Observer;
    tracing::info!(role = role_name, "attached");
    let end = attach::run(app, &caller.user.name, entry, role, upgradable, io).await;
    tracing::info!(role = role_name, end = %end.describe(), "detached");
    app.audit
        .record(
            AuditEvent::new(who, "detach")
                .session(entry.label())
                .detail(format!("{role_name} over ssh: {}", end.describe())),
        )
        .await;
    let notice = match &end {
        AttachEnd::Detached => Some(format!("[detached from {shown}]")),
        AttachEnd::Exited(status) => {
            let status = status.map_or("unknown".to_string(), |s| s.to_string());
            Some(format!(
                "[foyer: session {shown} exited with status {status}]"
            ))
        }
        AttachEnd::Killed => Some(format!("[foyer: session {shown} was killed]")),
        AttachEnd::Revoked => Some(format!("[foyer: your access to {shown} was revoked]")),
        AttachEnd::Full(limit) => Some(format!(
            "[foyer: {shown} has {limit} clients attached, the most allowed]"
        )),
        AttachEnd::ClientGone => None,
    };
    (end, notice)
}

async fn capture(
    app: &App,
    caller: &Caller,
    name: &str,
    ansi: bool,
    scrollback: usize,
    io: &ChannelIo,
) -> Outcome {
    let (entry, _) = match find(app, caller, name).await {
        Ok(found) => found,
        Err(outcome) => return outcome,
    };
    match entry.link.capture(scrollback, ansi).await {
        Ok(text) => {
            let _ = io.out(&text).await;
            Outcome::Done
        }
        Err(_) => Outcome::refused(format!("no session named {}", names::printable(name))),
    }
}

async fn send(app: &App, caller: &Caller, name: &str, text: &[String]) -> Outcome {
    let (entry, access) = match find(app, caller, name).await {
        Ok(found) => found,
        Err(outcome) => return outcome,
    };
    if !access.can_write() {
        return Outcome::refused(format!("you may not type into {}", entry.label()));
    }
    if !running(&entry).await {
        return Outcome::refused(format!("session {} has exited", entry.label()));
    }
    let bytes = verbs::decode_escapes(&text.join(" "));
    match entry.link.send_input(Bytes::from(bytes)).await {
        Ok(()) => Outcome::Done,
        Err(_) => Outcome::refused(format!("no session named {}", names::printable(name))),
    }
}

async fn running(entry: &SessionEntry) -> bool {
    entry
        .link
        .status()
        .await
        .is_ok_and(|s: HubStatus| s.running)
}

/// Finds a session the caller may kill or restart: its owner, or an admin.
pub(super) async fn find_to_manage(
    app: &App,
    caller: &Caller,
    name: &str,
    verb: &str,
) -> Result<SessionEntry, Outcome> {
    let (entry, access) = find(app, caller, name).await?;
    if !access::may_manage(&caller.user, access) {
        return Err(Outcome::refused(format!(
            "only the owner may {verb} {}",
            entry.label()
        )));
    }
    Ok(entry)
}

async fn kill(app: &App, caller: &Caller, name: &str) -> Outcome {
    let entry = match find_to_manage(app, caller, name, "kill").await {
        Ok(entry) => entry,
        Err(outcome) => return outcome,
    };
    kill_entry(app, caller, &entry).await;
    Outcome::Done
}

/// Ends a session's program and removes it; the caller checked the right.
pub(super) async fn kill_entry(app: &App, caller: &Caller, entry: &SessionEntry) {
    let event = AuditEvent::new(Some(&caller.user.name), "kill").session(entry.label());
    app.audit.record(event).await;
    let _ = entry.link.kill().await;
    app.registry.remove(entry.record.id).await;
    tracing::info!(user = %caller.user.name, session = %entry.label(), "session killed");
}

fn identity_of(entry: &SessionEntry) -> HubIdentity {
    HubIdentity {
        id: entry.record.id,
        label: entry.label(),
    }
}

async fn restart(app: &App, caller: &Caller, name: &str) -> Outcome {
    let entry = match find_to_manage(app, caller, name, "restart").await {
        Ok(entry) => entry,
        Err(outcome) => return outcome,
    };
    if running(&entry).await {
        return Outcome::refused(format!("session {} is running", entry.label()));
    }
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
    let owner = runtime::Owner {
        id: entry.record.owner_id.0,
        name: entry.record.owner.clone(),
    };
    let cannot = |error: runtime::SpawnError| {
        Outcome::refused(format!("cannot restart {}: {error}", entry.label()))
    };
    let account = match app.runtime.account_for(&owner) {
        Ok(account) => account,
        Err(error) => return cannot(error),
    };
    let spec = spawn_spec(LaunchRequest {
        account: &account,
        command,
        cwd: PathBuf::from(&entry.record.cwd),
        term: None,
        label: entry.label(),
        extra_env: env,
    });
    // The new program starts from the screen the old one left.
    let seed = entry.link.final_screen().await.ok();
    let identity = identity_of(&entry);
    let host = match app.hosts.start(&owner, &identity, spec, seed).await {
        Ok(host) => host,
        Err(error) => return cannot(error),
    };
    match entry.link.restart(host).await {
        Ok(()) => {
            let event = AuditEvent::new(Some(&caller.user.name), "restart").session(entry.label());
            app.audit.record(event).await;
            Outcome::Done
        }
        Err(_) => Outcome::refused(format!("no session named {}", names::printable(name))),
    }
}
