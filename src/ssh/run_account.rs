//! The verbs about the caller rather than a session (`whoami`, `keys`) and
//! the `ls` output formats.
//!
//! Must not change another user's keys.

use super::caller::{Caller, Outcome};
use super::channel::ChannelIo;
use super::verbs::KeysAction;
use crate::gateway::App;
use crate::gateway::SessionEntry;
use crate::gateway::access::Access;
use crate::gateway::summary::{idle_seconds, session_json};
use crate::store::{StoreError, parse_public_key};
use crate::wire::HubStatus;

pub async fn whoami(caller: &Caller, io: &ChannelIo) -> Outcome {
    let admin = if caller.user.is_admin { " (admin)" } else { "" };
    let via = match &caller.certificate {
        Some(certificate) => format!(" ({certificate})"),
        None => String::new(),
    };
    let _ = io
        .out(&format!(
            "{}{admin}\n{}{via}\n",
            caller.user.name, caller.fingerprint
        ))
        .await;
    Outcome::Done
}

pub async fn keys(
    app: &App,
    caller: &Caller,
    action: Option<KeysAction>,
    io: &ChannelIo,
) -> Outcome {
    let store = &app.store;
    let result = match action {
        None => match store.keys_of(caller.user.id).await {
            Ok(keys) => {
                let mut text = String::new();
                for key in keys {
                    let current = if key.fingerprint == caller.fingerprint { " (this connection)" } else { "" };
                    text.push_str(&format!("{}  {}{current}\n", key.fingerprint, key.comment));
                }
                let _ = io.out(&text).await;
                Ok(())
            }
            Err(error) => Err(error),
        },
        Some(KeysAction::Add { key }) => match parse_public_key(&key.join(" ")) {
            Ok(parsed) => store.add_key(caller.user.id, &parsed).await.map(|added| {
                tracing::info!(user = %caller.user.name, fingerprint = %added.fingerprint, "key added");
            }),
            Err(error) => Err(error),
        },
        Some(KeysAction::Remove { fingerprint }) => match store.remove_key_of(caller.user.id, &fingerprint).await {
            Ok(true) => Ok(()),
            Ok(false) => return Outcome::Refused(format!("you have no key {fingerprint}")),
            Err(error) => Err(error),
        },
    };
    match result {
        Ok(()) => Outcome::Done,
        Err(StoreError::LastKey) => Outcome::Refused("cannot remove your last key".into()),
        Err(error) => Outcome::Refused(error.to_string()),
    }
}

/// One line of `ls`.
pub struct ListRow {
    pub entry: SessionEntry,
    pub access: Access,
    pub status: HubStatus,
}

fn shown_name(caller: &Caller, row: &ListRow) -> String {
    if row.entry.record.owner_id == caller.user.id {
        row.entry.record.name.clone()
    } else {
        row.entry.label()
    }
}

fn state_text(status: &HubStatus) -> String {
    match (status.running, status.exit_status) {
        (true, _) => status.state().into(),
        (false, Some(code)) => format!("exited {code}"),
        (false, None) => "exited".into(),
    }
}

/// A compact duration: `12s`, `5m`, `3h`, `2d`.
fn short_duration(seconds: i64) -> String {
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

pub fn list_table(caller: &Caller, rows: &[ListRow]) -> String {
    let mut lines = vec![[
        "NAME".to_string(),
        "STATE".into(),
        "ACCESS".into(),
        "CLIENTS".into(),
        "IDLE".into(),
        "COMMAND".into(),
    ]];
    for row in rows {
        let mark = if row.status.attention { "!" } else { "" };
        lines.push([
            format!("{mark}{}", shown_name(caller, row)),
            state_text(&row.status),
            row.access.name().into(),
            (row.status.writers + row.status.observers).to_string(),
            short_duration(idle_seconds(&row.status)),
            shell_words::join(&row.entry.record.command),
        ]);
    }
    text_table(&lines)
}

/// Lines of cells as a plain-text table: every column but the last padded
/// to its widest cell, two spaces apart; the last one left as it is.
pub fn text_table<const N: usize>(lines: &[[String; N]]) -> String {
    let widths: Vec<usize> = (0..N.saturating_sub(1))
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut text = String::new();
    for line in lines {
        for (cell, width) in line.iter().zip(&widths) {
            text.push_str(&format!("{cell:<width$}  "));
        }
        if let Some(last) = line.last() {
            text.push_str(last);
        }
        text.push('\n');
    }
    text
}

pub fn list_json(rows: &[ListRow]) -> String {
    let items: Vec<serde_json::Value> = rows
        .iter()
        .map(|row| session_json(&row.entry, row.access, &row.status))
        .collect();
    let mut text = serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".into());
    text.push('\n');
    text
}
