//! The picker as a pure state machine: the sessions it lists, which one
//! is selected, the filter, and the open dialog. Input events go in;
//! [`Action`]s for the driver come out. Drawing is `view.rs`'s.
//!
//! This file dispatches an event to the piece that owns it: `list` (the
//! list, its selection and filter), `dialogs` (the open dialog), `fields`
//! (a pasted text); the data is in `model`, idle times in `idle`. The
//! pieces never import this file; it re-exports their public names so
//! `picker::state::X` keeps working.
//!
//! Must not do anything itself: no I/O, no clock (the driver passes the
//! time in), no lookups. That keeps every key testable without a server.

use terminput::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::fields::push_text;
pub use super::idle::{idle_text, idle_text_changes_in};
pub use super::model::{Action, Choice, Dialog, Picker, SessionRow, Start};

impl Picker {
    /// A line shown at the bottom until the next key (for example how an
    /// attachment ended).
    pub fn set_notice(&mut self, notice: impl Into<String>) {
        self.notice = Some(notice.into());
    }

    /// Handles one input event.
    pub fn on_event(&mut self, event: &Event) -> Option<Action> {
        match event {
            Event::Key(key) if key.kind != KeyEventKind::Release => self.on_key(key),
            Event::Paste(text) => {
                self.on_paste(text);
                None
            }
            _ => None,
        }
    }

    fn on_key(&mut self, key: &KeyEvent) -> Option<Action> {
        self.notice = None;
        if key.modifiers.contains(KeyModifiers::CTRL) && key.code == KeyCode::Char('l') {
            return Some(Action::Repaint);
        }
        if let Some(dialog) = self.dialog.take() {
            return self.on_dialog_key(dialog, key);
        }
        if self.filtering {
            self.on_filter_key(key);
            return None;
        }
        self.on_list_key(key)
    }

    fn on_paste(&mut self, text: &str) {
        let text: String = text.chars().filter(|c| !c.is_control()).collect();
        match &mut self.dialog {
            Some(Dialog::NewName { name, .. }) => push_text(name, &text),
            Some(Dialog::Share { user, .. }) => push_text(user, &text),
            Some(Dialog::NewCommand {
                typing: Some(command),
                ..
            }) => push_text(command, &text),
            None if self.filtering => {
                push_text(&mut self.filter, &text);
                self.select_first_visible();
            }
            // A paste is never taken as keys: pasted text must not kill or quit.
            _ => {}
        }
    }
}
