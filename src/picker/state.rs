//! The picker as a pure state machine: the sessions it lists, which one
//! is selected, the filter, and the open dialog. Input events go in;
//! [`Action`]s for the driver come out. Drawing is `view.rs`'s.
//!
//! Must not do anything itself: no I/O, no clock (the driver passes the
//! time in), no lookups. That keeps every key testable without a server.

use terminput::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::gateway::access::Access;
use crate::gateway::names;
use crate::wire::Participant;
use crate::wire::SessionId;

/// Longest text a dialog field takes.
const MAX_FIELD: usize = 256;

/// One session as the picker lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    pub id: SessionId,
    /// `NAME` for the user's own sessions, `OWNER/NAME` for others'.
    pub label: String,
    /// The session's own name, without the owner.
    pub name: String,
    pub owner: String,
    pub running: bool,
    /// Stopped by `pause` (while running).
    pub paused: bool,
    pub exit_status: Option<i32>,
    pub access: Access,
    /// May kill it: the owner or an admin.
    pub may_manage: bool,
    pub participants: Vec<Participant>,
    pub attention: bool,
    /// Seconds since the Unix epoch.
    pub last_active: i64,
    pub command: Vec<String>,
}

/// How a new session's program is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// `sessions.default_command`, or the login shell.
    Default,
    Preset(String),
    /// A command line typed by the user, split as a shell would.
    Command(String),
}

/// One entry of the new-session dialog's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub label: String,
    pub start: Start,
}

/// What the driver should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Attach {
        id: SessionId,
        watch: bool,
    },
    Create {
        name: String,
        start: Start,
    },
    Kill {
        id: SessionId,
    },
    /// Grant `user` read (or write) access.
    Share {
        id: SessionId,
        user: String,
        write: bool,
    },
    /// Draw everything again from scratch (`Ctrl-L`).
    Repaint,
    Quit,
}

/// A dialog over the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialog {
    Help,
    NewName {
        name: String,
        error: Option<String>,
    },
    NewCommand {
        name: String,
        /// Index into the choices, or `choices.len()` for "type a command".
        selected: usize,
        /// The command being typed, once "type a command" was entered.
        typing: Option<String>,
        error: Option<String>,
    },
    ConfirmKill {
        id: SessionId,
        label: String,
    },
    /// Share the session: a user name, and read or write.
    Share {
        id: SessionId,
        label: String,
        user: String,
        write: bool,
        error: Option<String>,
    },
}

/// The picker's whole state.
#[derive(Debug, Clone)]
pub struct Picker {
    pub(super) user: String,
    pub(super) rows: Vec<SessionRow>,
    pub(super) selected: Option<SessionId>,
    pub(super) filter: String,
    pub(super) filtering: bool,
    pub(super) dialog: Option<Dialog>,
    pub(super) notice: Option<String>,
    pub(super) choices: Vec<Choice>,
    /// Whether "type a command" is offered (not with `presets_only`).
    pub(super) commands_allowed: bool,
    /// Rows a page key moves; the view sets it from the list's height.
    pub(super) page: usize,
    /// The prefix key's name (`Ctrl-\\`), for the help.
    pub(super) prefix_name: String,
}

impl Picker {
    pub fn new(
        user: &str,
        prefix_name: &str,
        choices: Vec<Choice>,
        commands_allowed: bool,
    ) -> Self {
        Picker {
            user: user.to_string(),
            rows: Vec::new(),
            selected: None,
            filter: String::new(),
            filtering: false,
            dialog: None,
            notice: None,
            choices,
            commands_allowed,
            page: 10,
            prefix_name: prefix_name.to_string(),
        }
    }

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

    /// A line shown at the bottom until the next key (for example how an
    /// attachment ended).
    pub fn set_notice(&mut self, notice: impl Into<String>) {
        self.notice = Some(notice.into());
    }

    /// Creating the session failed: show why in the dialog it came from.
    pub fn create_failed(&mut self, name: &str, error: String) {
        self.dialog = Some(Dialog::NewName {
            name: name.to_string(),
            error: Some(error),
        });
    }

    pub fn selected(&self) -> Option<&SessionRow> {
        let id = self.selected?;
        self.rows.iter().find(|row| row.id == id)
    }

    pub fn dialog(&self) -> Option<&Dialog> {
        self.dialog.as_ref()
    }

    /// The rows the filter lets through, in order.
    pub fn visible(&self) -> impl Iterator<Item = &SessionRow> {
        let filter = self.filter.to_lowercase();
        self.rows.iter().filter(move |row| {
            filter.is_empty()
                || row.label.to_lowercase().contains(&filter)
                || row.command.join(" ").to_lowercase().contains(&filter)
        })
    }

    pub(super) fn selected_index(&self) -> Option<usize> {
        let id = self.selected?;
        self.visible().position(|row| row.id == id)
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

    fn on_list_key(&mut self, key: &KeyEvent) -> Option<Action> {
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

    fn select_first_visible(&mut self) {
        if self.selected_index().is_none() {
            let first = self.visible().next().map(|row| row.id);
            self.selected = first;
        }
    }

    fn on_filter_key(&mut self, key: &KeyEvent) {
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

    fn on_dialog_key(&mut self, dialog: Dialog, key: &KeyEvent) -> Option<Action> {
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

    /// Entries of the new-session list: the choices, then "type a command".
    pub fn choice_count(&self) -> usize {
        self.choices.len() + usize::from(self.commands_allowed)
    }

    fn on_command_key(
        &mut self,
        name: String,
        selected: usize,
        typing: Option<String>,
        error: Option<String>,
        key: &KeyEvent,
    ) -> Option<Action> {
        if let Some(mut command) = typing {
            return match key.code {
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
            };
        }
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

/// Applies an editing key to a one-line text field.
fn edit_text(text: &mut String, key: &KeyEvent) {
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

fn push_text(text: &mut String, more: &str) {
    for c in more.chars() {
        if text.chars().count() >= MAX_FIELD {
            break;
        }
        text.push(c);
    }
}

/// How long ago, in the fewest characters: `12s`, `5m`, `3h`, `2d`.
pub fn idle_text(seconds: i64) -> String {
    let seconds = seconds.max(0);
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m", seconds / 60),
        3600..86400 => format!("{}h", seconds / 3600),
        _ => format!("{}d", seconds / 86400),
    }
}

/// Seconds from `seconds` idle until [`idle_text`] shows something else.
pub fn idle_text_changes_in(seconds: i64) -> i64 {
    let seconds = seconds.max(0);
    let unit = match seconds {
        0..60 => 1,
        60..3600 => 60,
        3600..86400 => 3600,
        _ => 86400,
    };
    unit - seconds % unit
}
