//! The dialogs over the list: new session (name, then program), confirm
//! kill, share, and help; their keys, their checks, and showing a failure
//! the driver reports back in the dialog it came from.
//!
//! Must not handle the list's keys (that is `list`) nor do any I/O; the
//! name check is the gateway's pure `names::validate`.

use terminput::{KeyCode, KeyEvent};

use super::fields::edit_text;
use super::model::{Action, Dialog, Picker, Start};
use crate::gateway::names;
use crate::wire::SessionId;

impl Picker {
    /// Creating the session failed: show why in the dialog it came from.
    pub fn create_failed(&mut self, name: &str, error: String) {
        self.dialog = Some(Dialog::NewName {
            name: name.to_string(),
            error: Some(error),
        });
    }

    /// Sharing failed: show why in the share dialog.
    pub fn share_failed(&mut self, id: SessionId, user: &str, write: bool, error: String) {
        let label = self
            .rows
            .iter()
            .find(|row| row.id == id)
            .map(|row| row.label.clone())
            .unwrap_or_default();
        self.dialog = Some(Dialog::Share {
            id,
            label,
            user: user.to_string(),
            write,
            error: Some(error),
        });
    }

    pub(super) fn on_dialog_key(&mut self, dialog: Dialog, key: &KeyEvent) -> Option<Action> {
        match dialog {
            Dialog::Help => None,
            Dialog::Share {
                id,
                label,
                user,
                write,
                error,
            } => self.on_share_key(id, label, user, write, error, key),
            Dialog::ConfirmKill { id, .. } => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => Some(Action::Kill { id }),
                _ => None,
            },
            Dialog::NewName { name, error } => self.on_name_key(name, error, key),
            Dialog::NewCommand {
                name,
                selected,
                typing,
                error,
            } => self.on_command_key(name, selected, typing, error, key),
        }
    }

    fn on_share_key(
        &mut self,
        id: SessionId,
        label: String,
        mut user: String,
        mut write: bool,
        mut error: Option<String>,
        key: &KeyEvent,
    ) -> Option<Action> {
        match key.code {
            KeyCode::Esc => return None,
            KeyCode::Tab => write = !write,
            KeyCode::Enter if user.trim().is_empty() => {
                error = Some("type the name of the user to share with".to_string());
            }
            KeyCode::Enter => {
                return Some(Action::Share {
                    id,
                    user: user.trim().to_string(),
                    write,
                });
            }
            _ => {
                let before = user.clone();
                edit_text(&mut user, key);
                if user != before {
                    error = None;
                }
            }
        }
        self.dialog = Some(Dialog::Share {
            id,
            label,
            user,
            write,
            error,
        });
        None
    }

    fn on_name_key(
        &mut self,
        mut name: String,
        error: Option<String>,
        key: &KeyEvent,
    ) -> Option<Action> {
        match key.code {
            KeyCode::Esc => return None,
            KeyCode::Enter => {
                let error = self.name_error(&name);
                self.dialog = Some(match error {
                    Some(error) => Dialog::NewName {
                        name,
                        error: Some(error),
                    },
                    None => Dialog::NewCommand {
                        name,
                        selected: 0,
                        typing: None,
                        error: self.no_choice_error(),
                    },
                });
                return None;
            }
            _ => {
                let before = name.clone();
                edit_text(&mut name, key);
                let error = if name == before { error } else { None };
                self.dialog = Some(Dialog::NewName { name, error });
            }
        }
        None
    }

    fn name_error(&self, name: &str) -> Option<String> {
        if let Err(error) = names::validate(name) {
            return Some(error.to_string());
        }
        let taken = self
            .rows
            .iter()
            .any(|row| row.owner == self.user && row.name == name);
        taken.then(|| format!("a session named {name} already exists"))
    }

    fn no_choice_error(&self) -> Option<String> {
        (self.choices.is_empty() && !self.commands_allowed)
            .then(|| "no presets are configured, and only presets may be started here".to_string())
    }

    fn on_command_key(
        &mut self,
        name: String,
        selected: usize,
        typing: Option<String>,
        error: Option<String>,
        key: &KeyEvent,
    ) -> Option<Action> {
        match typing {
            Some(command) => self.on_typed_command_key(name, selected, command, key),
            None => self.on_choice_key(name, selected, error, key),
        }
    }

    /// A key while a command line is typed: Esc goes back to the list of
    /// choices, Enter starts it.
    fn on_typed_command_key(
        &mut self,
        name: String,
        selected: usize,
        mut command: String,
        key: &KeyEvent,
    ) -> Option<Action> {
        match key.code {
            KeyCode::Esc => {
                self.dialog = Some(Dialog::NewCommand {
                    name,
                    selected,
                    typing: None,
                    error: None,
                });
                None
            }
            KeyCode::Enter if command.trim().is_empty() => {
                let error = Some("type a command, or Esc to choose one".to_string());
                self.dialog = Some(Dialog::NewCommand {
                    name,
                    selected,
                    typing: Some(command),
                    error,
                });
                None
            }
            KeyCode::Enter => Some(Action::Create {
                name,
                start: Start::Command(command),
            }),
            _ => {
                edit_text(&mut command, key);
                self.dialog = Some(Dialog::NewCommand {
                    name,
                    selected,
                    typing: Some(command),
                    error: None,
                });
                None
            }
        }
    }

    /// A key on the list of choices: move, pick one, or open "type a
    /// command"; Esc goes back to the name.
    fn on_choice_key(
        &mut self,
        name: String,
        selected: usize,
        error: Option<String>,
        key: &KeyEvent,
    ) -> Option<Action> {
        let count = self.choice_count();
        let mut selected = selected.min(count.saturating_sub(1));
        match key.code {
            KeyCode::Esc => {
                self.dialog = Some(Dialog::NewName { name, error: None });
                return None;
            }
            KeyCode::Up | KeyCode::Char('k') => selected = selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => {
                selected = (selected + 1).min(count.saturating_sub(1))
            }
            KeyCode::Enter if selected < self.choices.len() => {
                let start = self.choices[selected].start.clone();
                return Some(Action::Create { name, start });
            }
            KeyCode::Enter if count > 0 => {
                self.dialog = Some(Dialog::NewCommand {
                    name,
                    selected,
                    typing: Some(String::new()),
                    error: None,
                });
                return None;
            }
            _ => {}
        }
        self.dialog = Some(Dialog::NewCommand {
            name,
            selected,
            typing: None,
            error,
        });
        None
    }
}
