//! Creating a session, for every front end (`new` over SSH, the picker,
//! `POST /api/sessions`): checks the name, finds the account the owner's
//! programs run as (`runtime`), resolves the command (a preset, the given
//! command, or the default) and the working directory, asks the registry
//! to create and start it, and records it in the audit log.
//!
//! Must not start programs itself (the registry does) or know the
//! transport that asked.

use std::path::PathBuf;

use super::App;
use super::SessionEntry;
use super::names;
use super::registry::{CreateError, CreateRequest};
use crate::audit::AuditEvent;
use crate::runtime::Owner;
use crate::runtime::account::{HostAccount, LaunchRequest, spawn_spec};
use crate::store::User;

/// What to start.
#[derive(Debug, Clone, Default)]
pub struct StartRequest {
    pub name: String,
    /// `-C DIR`: absolute, `~/…`, or relative to the home directory.
    pub dir: Option<String>,
    pub preset: Option<String>,
    /// Empty: the preset, or the default command.
    pub command: Vec<String>,
    /// The creating client's `TERM`.
    pub term: Option<String>,
}

/// Why a session was not created; each message is the one line a user
/// sees.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    InvalidName(#[from] names::NameError),
    #[error("a session named {0} already exists")]
    NameTaken(String),
    #[error("no preset named {0}")]
    NoPreset(String),
    #[error("only presets may be started here")]
    PresetsOnly,
    /// Over `sessions.max_per_user` (the message names the limit).
    #[error("{0}")]
    TooMany(String),
    #[error("no such directory: {0}")]
    NoDirectory(String),
    #[error("cannot start {label}: {reason}")]
    Failed { label: String, reason: String },
}

/// Creates and starts the session `request` describes, owned by `owner`.
pub async fn start(
    app: &App,
    owner: &User,
    request: StartRequest,
) -> Result<SessionEntry, StartError> {
    names::validate(&request.name)?;
    let label = format!("{}/{}", owner.name, request.name);
    let runtime_owner = Owner {
        id: owner.id.0,
        name: owner.name.clone(),
    };
    let account = app
        .runtime
        .account_for(&runtime_owner)
        .map_err(|error| StartError::Failed {
            label: label.clone(),
            reason: error.to_string(),
        })?;
    let (command, env) = resolve_command(app, &account, &request)?;
    let cwd = working_dir(app, &account, request.dir.as_deref())?;
    let spec = spawn_spec(LaunchRequest {
        account: &account,
        command: command.clone(),
        cwd,
        term: request.term,
        label: label.clone(),
        extra_env: env,
    });
    let create = CreateRequest {
        owner: owner.clone(),
        max_per_user: app.live.borrow().max_per_user,
        name: request.name.clone(),
        command,
        spec,
    };
    match app.registry.create(create).await {
        Ok(entry) => {
            tracing::info!(user = %owner.name, session = %label, "session created");
            let event = AuditEvent::new(Some(&owner.name), "new")
                .session(label)
                .detail(shell_words::join(&entry.record.command));
            app.audit.record(event).await;
            Ok(entry)
        }
        Err(CreateError::NameTaken { name }) => Err(StartError::NameTaken(name)),
        Err(error @ CreateError::TooMany { .. }) => Err(StartError::TooMany(error.to_string())),
        Err(error) => Err(StartError::Failed {
            label,
            reason: error.to_string(),
        }),
    }
}

/// Extra environment variables for a program.
type Environment = Vec<(String, String)>;

/// The command and extra environment: a preset, the given command, or
/// the default.
fn resolve_command(
    app: &App,
    account: &HostAccount,
    request: &StartRequest,
) -> Result<(Vec<String>, Environment), StartError> {
    let sessions = &app.config.sessions;
    if let Some(name) = &request.preset {
        let preset = app
            .config
            .preset(name)
            .ok_or_else(|| StartError::NoPreset(names::printable(name)))?;
        let env = preset
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        return Ok((preset.command.clone(), env));
    }
    if !request.command.is_empty() {
        if sessions.presets_only {
            return Err(StartError::PresetsOnly);
        }
        return Ok((request.command.clone(), Vec::new()));
    }
    let default = if sessions.default_command.is_empty() {
        if sessions.presets_only {
            return Err(StartError::PresetsOnly);
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

/// `-C DIR`: absolute, `~/…`, or relative to the home directory. Checked
/// here when it is on this host (a container's is checked by the exec).
fn working_dir(app: &App, account: &HostAccount, dir: Option<&str>) -> Result<PathBuf, StartError> {
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
        return Err(StartError::NoDirectory(names::printable(
            &path.display().to_string(),
        )));
    }
    Ok(path)
}
