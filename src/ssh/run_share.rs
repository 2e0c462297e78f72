//! The `share` and `unshare` verbs: grants of read or write access to a
//! session, taking effect at once on the user's attached clients (a
//! writer downgraded to read stops reaching the program; a user whose
//! access is gone is detached and told why).
//!
//! Must not decide what a grant allows (`gateway::access` does) or change
//! one itself: `gateway::sharing` does, for every transport.

use super::caller::{Caller, Outcome, find_to_manage};
use super::channel::ChannelIo;
use crate::gateway::App;
use crate::store::Grant;

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
    crate::gateway::sharing::change_grant(app, &caller.user, &entry, user_name, grant)
        .await
        .map_err(|error| Outcome::refused(error.to_string()))
}
