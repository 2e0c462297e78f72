//! The `new` verb: creates the session (`gateway::create` checks the
//! name and resolves the command and directory) and, with a PTY and
//! without `-d`, attaches.
//!
//! Must not start programs itself; the registry does.

use super::caller::{Caller, Outcome};
use super::channel::ChannelIo;
use super::run_attach::attach_entry;
use crate::gateway::App;
use crate::gateway::SessionEntry;
use crate::gateway::access::Access;
use crate::gateway::create::{self, StartRequest};
use crate::gateway::names;

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
    let label = format!("{}/{}", caller.user.name, request.name);
    tracing::Span::current().record("session", label.as_str());
    let start = StartRequest {
        name: request.name.clone(),
        dir: request.dir.clone(),
        preset: request.preset.clone(),
        command: request.command.clone(),
        term,
    };
    let entry = create::start(app, &caller.user, start)
        .await
        .map_err(|error| error.to_string())?;
    tracing::debug!(peer = %caller.peer, session = %entry.label(), "created over SSH");
    Ok(entry)
}
