//! Who runs a verb ([`Caller`]), how a verb ends ([`Outcome`]), and how a
//! verb finds the session it names with the caller's access: the pieces
//! every `run_*` file shares.
//!
//! Must not carry out a verb or write to the channel.

use std::net::SocketAddr;

use crate::gateway::access::{self, Access};
use crate::gateway::names::{self, SessionRef};
use crate::gateway::{App, SessionEntry};
use crate::store::User;

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
    pub fn refused(text: impl Into<String>) -> Outcome {
        Outcome::Refused(text.into())
    }

    /// The message of a refusal or usage error; empty for `Done`.
    pub fn into_message(self) -> String {
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

/// Finds a session the caller may see, or says there is none.
pub async fn find(
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

/// Finds a session the caller may kill or restart: its owner, or an admin.
pub async fn find_to_manage(
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
