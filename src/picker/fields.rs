//! Editing a one-line text field of the picker (the filter, a dialog's
//! name or command): editing keys and pasted text, capped in length.
//!
//! Must not know which field it edits or what the text means.

use terminput::{KeyCode, KeyEvent, KeyModifiers};

/// Longest text a dialog field takes.
const MAX_FIELD: usize = 256;

/// Applies an editing key to a one-line text field.
pub(super) fn edit_text(text: &mut String, key: &KeyEvent) {
    let ctrl = key.modifiers.contains(KeyModifiers::CTRL);
    match key.code {
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char('u') if ctrl => text.clear(),
        KeyCode::Char('w') if ctrl => {
            let trimmed = text.trim_end().len();
            text.truncate(trimmed);
            let word_start = text.rfind(' ').map_or(0, |i| i + 1);
            text.truncate(word_start);
        }
        KeyCode::Char('h') if ctrl => {
            text.pop();
        }
        KeyCode::Char(c) if !ctrl && !c.is_control() => push_text(text, &c.to_string()),
        _ => {}
    }
}

/// Appends `more` to a field, up to its longest length.
pub(super) fn push_text(text: &mut String, more: &str) {
    for c in more.chars() {
        if text.chars().count() >= MAX_FIELD {
            break;
        }
        text.push(c);
    }
}
