//! The `share` and `unshare` verbs: grants of read or write access to a
//! session, taking effect at once on the user's attached clients (a
//! writer downgraded to read stops reaching the program; a user whose
//! access is gone is detached and told why).
//!
//! Must not decide what a grant allows (`gateway::access` does) or touch
//! clients except through the hub.

use super::caller::{Caller, Outcome, find_to_manage};
use super::channel::ChannelIo;
use crate::audit::AuditEvent;
use crate::gateway::App;
use crate::gateway::access::access_of;
use crate::gateway::names;
use crate::store::Grant;
use crate::wire::Role;

/// The `share`/`unshare` verb: prints what changed.
pub(super) async fn share(
    app: &App,
    caller: &Caller,
    name: &str,
    user_name: &str,
    grant: Option<Grant>,
    io: &ChannelIo,
) -> Outcome {
    match change_grant(app, caller, name, user_name, grant).await {
        Ok(line) => {
            let _ = io.out(&format!("{line}\n")).await;
            Outcome::Done
        }
        Err(outcome) => outcome,
    }
}

/// Gives `user_name` `grant` on the session `name` (`None`: takes their
/// grant away). Owner or admin only. Returns a line saying what changed.
pub(super) async fn change_grant(
    app: &App,
    caller: &Caller,
    name: &str,
    user_name: &str,
    grant: Option<Grant>,
) -> Result<String, Outcome> {
    let verb = if grant.is_some() { "share" } else { "unshare" };
    let entry = find_to_manage(app, caller, name, verb).await?;
    let user = match app.store.user_by_name(user_name).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            return Err(Outcome::refused(format!(
                "no user named {}",
                names::printable(user_name)
            )));
        }
        Err(error) => return Err(Outcome::refused(error.to_string())),
    };
    let label = entry.label();
    if user.id == entry.record.owner_id {
        return Err(Outcome::refused(format!("{} owns {label}", user.name)));
    }
    let had_grant = entry.grants.iter().any(|(holder, _)| *holder == user.id);
    if grant.is_none() && !had_grant {
        return Err(Outcome::refused(format!(
            "{} has no access to {label} to take away",
            user.name
        )));
    }
    let updated = match app
        .registry
        .set_grant(entry.record.id, user.id, grant)
        .await
    {
        Ok(Some(updated)) => updated,
        Ok(None) => {
            return Err(Outcome::refused(format!(
                "no session named {}",
                names::printable(name)
            )));
        }
        Err(error) => return Err(Outcome::refused(error.to_string())),
    };
    // What the user may do now (an admin keeps reading after an unshare).
    let allowed = access_of(&user, &updated).map(|access| {
        if access.can_write() {
            Role::Writer
        } else {
            Role::Observer
        }
    });
    let _ = updated.link.access_changed(&user.name, allowed).await;
    tracing::info!(user = %caller.user.name, session = %label, grantee = %user.name, grant = ?grant.map(Grant::as_str), "grant changed");
    let event = match grant {
        Some(grant) => AuditEvent::new(Some(&caller.user.name), "share").detail(format!(
            "{} {}",
            user.name,
            grant.as_str()
        )),
        None => AuditEvent::new(Some(&caller.user.name), "unshare").detail(user.name.clone()),
    };
    app.audit.record(event.session(label.clone())).await;
    Ok(match grant {
        Some(grant) => format!("{label} shared with {} ({})", user.name, grant.as_str()),
        None => format!("{} no longer has access to {label}", user.name),
    })
}
