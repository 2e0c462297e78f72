//! Texts about one listed session that the view draws: who is attached,
//! and for a session wanting attention the line under the list with its
//! message and how long it has waited.
//!
//! Must not draw or read the clock: the caller passes the time in.

use super::idle::idle_text;
use super::state::SessionRow;
use crate::wire::Role;

/// Who is attached: names, observers marked `(r)`, repeats counted.
pub fn who_text(row: &SessionRow) -> String {
    let mut seen: Vec<(String, usize)> = Vec::new();
    for participant in &row.participants {
        let name = match participant.role {
            Role::Writer => participant.name.clone(),
            Role::Observer => format!("{}(r)", participant.name),
        };
        match seen.iter_mut().find(|(n, _)| *n == name) {
            Some((_, count)) => *count += 1,
            None => seen.push((name, 1)),
        }
    }
    let parts: Vec<String> = seen
        .into_iter()
        .map(|(name, count)| {
            if count > 1 {
                format!("{name}×{count}")
            } else {
                name
            }
        })
        .collect();
    parts.join(", ")
}

/// `! waiting 3m: MESSAGE` for a session that wants attention (`a bell`
/// for one without a message); `None` for one that does not.
pub fn attention_line(row: &SessionRow, now: i64) -> Option<String> {
    if !row.attention {
        return None;
    }
    let waited = row
        .attention_since
        .map(|since| format!(" {}", idle_text(now - since)))
        .unwrap_or_default();
    let message = row.attention_message.as_deref().unwrap_or("a bell");
    Some(format!("! {} waiting{waited}: {message}", row.label))
}
