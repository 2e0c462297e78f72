//! The picker's data: one listed session, the new-session choices, the
//! actions handed to the driver, the dialogs, and the `Picker` itself with
//! the read-only questions asked of it (which rows show, which is selected).
//!
//! Must not handle keys (that is `state` and the pieces it dispatches to)
//! nor do any I/O; it is plain data.

use crate::gateway::access::Access;
use crate::wire::Participant;
use crate::wire::SessionId;

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
    /// Its host's machine cannot be reached just now (SPEC 13).
    pub unreachable: bool,
    pub exit_status: Option<i32>,
    pub access: Access,
    /// May kill it: the owner or an admin.
    pub may_manage: bool,
    pub participants: Vec<Participant>,
    pub attention: bool,
    /// What it wants attention for, and since when (Unix seconds).
    pub attention_message: Option<String>,
    pub attention_since: Option<i64>,
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

    /// Entries of the new-session list: the choices, then "type a command".
    pub fn choice_count(&self) -> usize {
        self.choices.len() + usize::from(self.commands_allowed)
    }
}
