//! `attach NAME` and `watch NAME` (SPEC §4): with a PTY, the caller is
//! attached with their access (read-only for `watch`) until the session
//! or the client ends it, and told how it ended; `watch` without a PTY
//! streams the output. The attach itself (role, audit, gauge) is
//! `gateway::attach`'s; the picker and `new` attach through here too.
//!
//! Must not decide access: `caller::find` and `gateway::attach` do.

use super::attach::{self, AttachEnd};
use super::caller::{Caller, Outcome, find};
use super::channel::ChannelIo;
use crate::gateway::access::Access;
use crate::gateway::attach::{AttachRequest, Transport, role_for};
use crate::gateway::{App, SessionEntry};
use crate::wire::Size;

pub(super) async fn attach_verb(
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
    if let AttachEnd::Unreachable = end {
        return Outcome::refused(format!(
            "{} is unreachable: its machine cannot be reached just now",
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
    let (role, upgradable) = role_for(access.can_write(), watch, true);
    // Your own session by NAME, anyone else's by OWNER/NAME.
    let shown = if access == Access::Owner {
        entry.record.name.clone()
    } else {
        entry.label()
    };
    let request = AttachRequest {
        who: &caller.user.name,
        transport: Transport::Ssh,
        peer: caller.peer,
        role,
        upgradable,
        size: Size::new(0, 0),
    };
    let end = attach::run(app, &caller.user, entry, request, io).await;
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
        AttachEnd::ClientGone | AttachEnd::Unreachable => None,
    };
    (end, notice)
}
