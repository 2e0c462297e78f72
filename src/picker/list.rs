//! The session list: keeping the selection across new rows, moving it,
//! the filter being typed, and the list's keys (attach, new, kill, share,
//! help, quit).
//!
//! Must not handle a dialog's keys (that is `dialogs`) nor do any I/O.

use terminput::{KeyCode, KeyEvent, KeyModifiers};

use super::fields::edit_text;
use super::model::{Action, Dialog, Picker, SessionRow};
use crate::wire::SessionId;

impl Picker {
    /// Replaces the listed sessions, keeping the selection on the same
    /// session when it still exists, or at the same place when not.
    pub fn set_rows(&mut self, mut rows: Vec<SessionRow>) {
        rows.sort_by(|a, b| {
            b.attention
                .cmp(&a.attention)
                .then(b.last_active.cmp(&a.last_active))
                .then_with(|| a.label.cmp(&b.label))
        });
        let old_index = self.selected_index();
        self.rows = rows;
        let still_there = self
            .selected
            .is_some_and(|id| self.visible().any(|row| row.id == id));
        if !still_there {
            let visible: Vec<SessionId> = self.visible().map(|row| row.id).collect();
            self.selected = old_index
                .map(|i| i.min(visible.len().saturating_sub(1)))
                .and_then(|i| visible.get(i).copied())
                .or_else(|| visible.first().copied());
        }
        if let Some(Dialog::ConfirmKill { id, .. }) = &self.dialog
            && !self.rows.iter().any(|row| row.id == *id)
        {
            self.dialog = None;
        }
    }

    pub(super) fn on_list_key(&mut self, key: &KeyEvent) -> Option<Action> {
        let ctrl = key.modifiers.contains(KeyModifiers::CTRL);
        match key.code {
            KeyCode::Char('c') if ctrl => return Some(Action::Quit),
            KeyCode::Char('n') | KeyCode::Char('p') if ctrl => {
                self.move_by(if key.code == KeyCode::Char('n') {
                    1
                } else {
                    -1
                });
            }
            _ if ctrl => {}
            KeyCode::Up | KeyCode::Char('k') => self.move_by(-1),
            KeyCode::Down | KeyCode::Char('j') => self.move_by(1),
            KeyCode::PageUp => self.move_by(-(self.page as isize)),
            KeyCode::PageDown => self.move_by(self.page as isize),
            KeyCode::Home | KeyCode::Char('g') => self.move_by(isize::MIN / 2),
            KeyCode::End | KeyCode::Char('G') => self.move_by(isize::MAX / 2),
            KeyCode::Enter => return self.attach(false),
            KeyCode::Char('w') => return self.attach(true),
            KeyCode::Char('n') => {
                self.dialog = Some(Dialog::NewName {
                    name: String::new(),
                    error: None,
                })
            }
            KeyCode::Char('K') => self.ask_kill(),
            KeyCode::Char('s') => self.ask_share(),
            KeyCode::Char('/') => self.filtering = true,
            KeyCode::Char('?') => self.dialog = Some(Dialog::Help),
            KeyCode::Esc if !self.filter.is_empty() => {
                self.filter.clear();
                self.select_first_visible();
            }
            KeyCode::Char('q') | KeyCode::Esc => return Some(Action::Quit),
            _ => {}
        }
        None
    }

    fn attach(&self, watch: bool) -> Option<Action> {
        self.selected()
            .map(|row| Action::Attach { id: row.id, watch })
    }

    fn ask_kill(&mut self) {
        let Some(row) = self.selected() else {
            return;
        };
        if row.may_manage {
            self.dialog = Some(Dialog::ConfirmKill {
                id: row.id,
                label: row.label.clone(),
            });
        } else {
            self.notice = Some(format!("only the owner may kill {}", row.label));
        }
    }

    fn ask_share(&mut self) {
        let Some(row) = self.selected() else {
            return;
        };
        if row.may_manage {
            self.dialog = Some(Dialog::Share {
                id: row.id,
                label: row.label.clone(),
                user: String::new(),
                write: false,
                error: None,
            });
        } else {
            self.notice = Some(format!("only the owner may share {}", row.label));
        }
    }

    fn move_by(&mut self, delta: isize) {
        let visible: Vec<SessionId> = self.visible().map(|row| row.id).collect();
        if visible.is_empty() {
            return;
        }
        let current = self.selected_index().unwrap_or(0) as isize;
        let last = visible.len() as isize - 1;
        let next = current.saturating_add(delta).clamp(0, last) as usize;
        self.selected = Some(visible[next]);
    }

    pub(super) fn select_first_visible(&mut self) {
        if self.selected_index().is_none() {
            let first = self.visible().next().map(|row| row.id);
            self.selected = first;
        }
    }

    pub(super) fn on_filter_key(&mut self, key: &KeyEvent) {
        match key.code {
            KeyCode::Enter | KeyCode::Down | KeyCode::Up => self.filtering = false,
            KeyCode::Esc => {
                self.filtering = false;
                self.filter.clear();
            }
            _ => edit_text(&mut self.filter, key),
        }
        self.select_first_visible();
    }
}
