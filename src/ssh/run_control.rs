//! `pause NAME`, `resume NAME` and `signal NAME SIG` (SPEC §4): stop,
//! continue or signal a session's program's process group; `notify NAME
//! TEXT` and `ack NAME` (SPEC §11): raise and clear its attention mark.
//! Write access only; each one done is audited (`pause`, `resume`,
//! `signal` with the signal's name, `notify`; the raise and the clear by
//! the session's link).
//!
//! Must not signal or audit anything itself: `gateway::manage` does.

use super::caller::{Caller, Outcome, find};
use crate::gateway::App;
use crate::gateway::attach::Transport;
use crate::gateway::manage;
use crate::gateway::names;
use crate::wire::control::ControlError;

/// `pause NAME` (`paused`) or `resume NAME`.
pub(super) async fn pause(app: &App, caller: &Caller, name: &str, paused: bool) -> Outcome {
    let verb = if paused { "pause" } else { "resume" };
    let (entry, access) = match find(app, caller, name).await {
        Ok(found) => found,
        Err(outcome) => return outcome,
    };
    if !access.can_write() {
        return Outcome::refused(format!("you may not {verb} {}", entry.label()));
    }
    match manage::pause(app, &caller.user.name, &entry, paused, Transport::Ssh).await {
        Ok(()) => Outcome::Done,
        Err(error) => refused(name, &entry.label(), error),
    }
}

/// `signal NAME SIG`.
pub(super) async fn signal(
    app: &App,
    caller: &Caller,
    name: &str,
    signal: nix::sys::signal::Signal,
) -> Outcome {
    let (entry, access) = match find(app, caller, name).await {
        Ok(found) => found,
        Err(outcome) => return outcome,
    };
    if !access.can_write() {
        return Outcome::refused(format!("you may not signal {}", entry.label()));
    }
    match manage::signal(app, &caller.user.name, &entry, signal, Transport::Ssh).await {
        Ok(()) => Outcome::Done,
        Err(error) => refused(name, &entry.label(), error),
    }
}

/// `notify NAME TEXT…`: the words joined by spaces are the message.
pub(super) async fn notify(app: &App, caller: &Caller, name: &str, text: &[String]) -> Outcome {
    let (entry, access) = match find(app, caller, name).await {
        Ok(found) => found,
        Err(outcome) => return outcome,
    };
    if !access.can_write() {
        return Outcome::refused(format!("you may not notify {}", entry.label()));
    }
    let message = text.join(" ");
    match manage::notify(app, &caller.user.name, &entry, &message, Transport::Ssh).await {
        Ok(()) => Outcome::Done,
        Err(error) => refused(name, &entry.label(), error),
    }
}

/// `ack NAME`.
pub(super) async fn ack(app: &App, caller: &Caller, name: &str) -> Outcome {
    let (entry, access) = match find(app, caller, name).await {
        Ok(found) => found,
        Err(outcome) => return outcome,
    };
    if !access.can_write() {
        return Outcome::refused(format!("you may not ack {}", entry.label()));
    }
    match manage::ack(&caller.user.name, &entry).await {
        Ok(()) => Outcome::Done,
        Err(error) => refused(name, &entry.label(), error),
    }
}

fn refused(name: &str, label: &str, error: ControlError) -> Outcome {
    match error {
        ControlError::Gone => {
            Outcome::refused(format!("no session named {}", names::printable(name)))
        }
        other => Outcome::refused(format!("session {label} {other}")),
    }
}
