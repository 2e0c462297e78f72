//! The session verbs that answer at once (SPEC §4): `ls`, `capture`,
//! `send`, `kill` and `restart`; kill and restart are carried out by
//! `gateway::manage`.
//!
//! Must not touch a session's state except through its link and the
//! gateway's steps.

use bytes::Bytes;

use super::caller::{Caller, Outcome, access_of, find, find_to_manage};
use super::channel::ChannelIo;
use super::verbs;
use crate::gateway::manage::{self, RestartError};
use crate::gateway::names;
use crate::gateway::{App, SessionEntry};
use crate::wire::HubStatus;

pub(super) async fn list(app: &App, caller: &Caller, json: bool, io: &ChannelIo) -> Outcome {
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

pub(super) async fn capture(
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

pub(super) async fn send(app: &App, caller: &Caller, name: &str, text: &[String]) -> Outcome {
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

pub(super) async fn kill(app: &App, caller: &Caller, name: &str) -> Outcome {
    let entry = match find_to_manage(app, caller, name, "kill").await {
        Ok(entry) => entry,
        Err(outcome) => return outcome,
    };
    kill_entry(app, caller, &entry).await;
    Outcome::Done
}

/// Ends a session's program and removes it; the caller checked the right.
pub(super) async fn kill_entry(app: &App, caller: &Caller, entry: &SessionEntry) {
    manage::kill(app, &caller.user.name, entry).await;
}

pub(super) async fn restart(app: &App, caller: &Caller, name: &str) -> Outcome {
    let entry = match find_to_manage(app, caller, name, "restart").await {
        Ok(entry) => entry,
        Err(outcome) => return outcome,
    };
    match manage::restart(app, &caller.user.name, &entry).await {
        Ok(()) => Outcome::Done,
        Err(RestartError::Gone) => {
            Outcome::refused(format!("no session named {}", names::printable(name)))
        }
        Err(error) => Outcome::refused(error.to_string()),
    }
}
