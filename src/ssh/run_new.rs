//! The `new` verb: checks the name, resolves the command (preset, given,
//! or default) and the working directory, creates the session and, with a
//! PTY and without `-d`, attaches.
//!
//! Must not start programs itself; the registry does.

use std::path::PathBuf;

use super::channel::ChannelIo;
use super::run::{Caller, Outcome, attach_entry};
use crate::app::App;
use crate::audit::AuditEvent;
use crate::runtime::Owner;
use crate::session::SessionEntry;
use crate::session::access::Access;
use crate::session::launch::{HostAccount, LaunchRequest, spawn_spec};
use crate::session::names;
use crate::session::registry::{CreateError, CreateRequest};

pub(super) struct NewRequest {
    pub(super) name: String,
    pub(super) detached: bool,
    pub(super) attach_existing: bool,
    pub(super) dir: Option<String>,
    pub(super) preset: Option<String>,
    pub(super) command: Vec<String>,
}

pub(super) async fn new_session(
    app: &App,
    caller: &Caller,
    request: NewRequest,
    io: &mut ChannelIo,
) -> Outcome {
    if let Err(error) = names::validate(&request.name) {
        return Outcome::refused(error.to_string());
    }
    if let Some(existing) = app.registry.find(&caller.user.name, &request.name).await {
        if request.attach_existing {
            return attach_entry(app, caller, existing, Access::Owner, false, io).await;
        }
        return Outcome::refused(format!("a session named {} already exists", request.name));
    }
    let term = io.pty.as_ref().map(|p| p.term.clone());
    let entry = match create(app, caller, &request, term).await {
        Ok(entry) => entry,
        Err(message) => return Outcome::Refused(message),
    };
    if request.detached || io.pty.is_none() {
        return Outcome::Done;
    }
    attach_entry(app, caller, entry, Access::Owner, false, io).await
}

/// Creates and starts the session `request` describes, for `caller`;
/// `term` is the creating client's `TERM`. Returns the one-line reason
/// when it cannot.
pub(super) async fn create(
    app: &App,
    caller: &Caller,
    request: &NewRequest,
    term: Option<String>,
) -> Result<SessionEntry, String> {
    names::validate(&request.name).map_err(|error| error.to_string())?;
    let label = format!("{}/{}", caller.user.name, request.name);
    tracing::Span::current().record("session", label.as_str());
    let account = app
        .runtime
        .account_for(&owner_of(&caller.user))
        .map_err(|error| format!("cannot start {label}: {error}"))?;
    let (command, env) = resolve_command(app, &account, request).map_err(Outcome::into_message)?;
    let cwd = working_dir(app, &account, request.dir.as_deref()).map_err(Outcome::into_message)?;
    let spec = spawn_spec(LaunchRequest {
        account: &account,
        command: command.clone(),
        cwd,
        term,
        label: label.clone(),
        extra_env: env,
    });
    let create = CreateRequest {
        owner: caller.user.clone(),
        max_per_user: app.config.sessions.max_per_user,
        name: request.name.clone(),
        command,
        spec,
    };
    let entry = match app.registry.create(create).await {
        Ok(entry) => entry,
        Err(CreateError::NameTaken { name }) => {
            return Err(format!("a session named {name} already exists"));
        }
        Err(error @ CreateError::TooMany { .. }) => return Err(error.to_string()),
        Err(error) => return Err(format!("cannot start {label}: {error}")),
    };
    tracing::info!(user = %caller.user.name, peer = %caller.peer, session = %label, "session created");
    let event = AuditEvent::new(Some(&caller.user.name), "new")
        .session(label)
        .detail(shell_words::join(&entry.record.command));
    app.audit.record(event).await;
    Ok(entry)
}

/// Extra environment variables for a program.
type Environment = Vec<(String, String)>;

/// The command and extra environment for `new`: a preset, the given
/// command, or the default.
fn resolve_command(
    app: &App,
    account: &HostAccount,
    request: &NewRequest,
) -> Result<(Vec<String>, Environment), Outcome> {
    let sessions = &app.config.sessions;
    if let Some(name) = &request.preset {
        let preset = app.config.preset(name).ok_or_else(|| {
            Outcome::refused(format!("no preset named {}", names::printable(name)))
        })?;
        let env = preset
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        return Ok((preset.command.clone(), env));
    }
    if !request.command.is_empty() {
        if sessions.presets_only {
            return Err(Outcome::refused("only presets may be started here"));
        }
        return Ok((request.command.clone(), Vec::new()));
    }
    let default = if sessions.default_command.is_empty() {
        if sessions.presets_only {
            return Err(Outcome::refused("only presets may be started here"));
        }
        account.login_shell()
    } else {
        sessions.default_command.clone()
    };
    let env = app
        .config
        .presets
        .iter()
        .find(|p| p.command == default)
        .map(|p| p.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    Ok((default, env))
}

/// The runtime's view of a foyer user.
fn owner_of(user: &crate::store::User) -> Owner {
    Owner {
        id: user.id.0,
        name: user.name.clone(),
    }
}

/// `-C DIR`: absolute, `~/…`, or relative to the home directory. Checked
/// here when it is on this host (a container's is checked by the exec).
fn working_dir(app: &App, account: &HostAccount, dir: Option<&str>) -> Result<PathBuf, Outcome> {
    let home = account.home.clone();
    let path = match dir {
        None => home,
        Some("~") => home,
        Some(dir) => match dir.strip_prefix("~/") {
            Some(rest) => home.join(rest),
            None => home.join(dir),
        },
    };
    if app.runtime.paths_are_local() && !path.is_dir() {
        return Err(Outcome::refused(format!(
            "no such directory: {}",
            names::printable(&path.display().to_string())
        )));
    }
    Ok(path)
}
