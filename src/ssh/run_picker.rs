//! `ssh -t host` with no command: runs the picker on the channel, and
//! attaches from it. After a detach (or the program's exit) the picker
//! comes back, redrawn at the client's current size; `q` ends the
//! connection with status 0.
//!
//! The picker redraws on input, on window changes and when what it shows
//! changes (the registry's change signal, the selected hub's screen
//! signal), never on a fixed timer. Bursts of changes are coalesced to
//! one redraw per [`MIN_REDRAW`]; the only timed redraw is the moment an
//! idle time shown in the list ticks over.
//!
//! Must not hold session state of its own beyond what it last drew: the
//! registry and the hubs stay the owners.

use std::collections::HashMap;
use std::time::Duration;

use ratatui::Terminal;
use tokio::sync::watch;
use tokio::time::Instant;

use super::attach::AttachEnd;
use super::caller::{Caller, Outcome, access_of};
use super::channel::{ChannelEvent, ChannelIo};
use super::run_attach::attach_session;
use super::run_new::{self, NewRequest};
use super::run_session::kill_entry;
use super::run_share::change_grant;
use crate::clock::unix_now;
use crate::gateway::App;
use crate::gateway::SessionEntry;
use crate::gateway::access::{self, Access};
use crate::picker::preview::screen_of;
use crate::picker::state::idle_text_changes_in;
use crate::picker::{
    Action, ChannelBackend, Choice, KeyDecoder, Palette, Picker, Scene, SessionRow, Start, draw,
};
use crate::store::{Grant, SessionId};
use crate::wire::Size;

/// Least time between two redraws caused by changes (not by keys).
const MIN_REDRAW: Duration = Duration::from_millis(50);
/// How long an unfinished escape sequence or paste waits for the rest.
const INPUT_PATIENCE: Duration = Duration::from_millis(300);
/// Into the alternate screen, with bracketed paste (so a paste is never
/// taken as keys), cleared.
const ENTER_PICKER: &[u8] = b"\x1b[?1049h\x1b[?2004h\x1b[H\x1b[2J";
/// Back to the main screen as it was, with the cursor shown.
const LEAVE_PICKER: &[u8] = b"\x1b[?2004l\x1b[?25h\x1b[?1049l";

/// Runs the picker until the user quits or goes away.
pub async fn run(app: &App, caller: &Caller, io: &mut ChannelIo) -> Outcome {
    let Some(pty) = io.pty.clone() else {
        let _ = io.out(&super::verbs::help_text()).await;
        return Outcome::Done;
    };
    let (choices, commands_allowed) = new_session_choices(app, caller);
    let prefix = app.config.keys.prefix.name();
    let mut picker = Picker::new(&caller.user.name, &prefix, choices, commands_allowed);
    let palette = Palette::for_term(&pty.term);
    loop {
        let mut screen = PickerScreen::new(app, caller, palette);
        let chosen = screen.browse(&mut picker, io).await;
        let _ = io.write(LEAVE_PICKER).await;
        let Some((entry, access, watch)) = chosen else {
            return Outcome::Done;
        };
        let (end, notice) = attach_session(app, caller, &entry, access, watch, io).await;
        if matches!(end, AttachEnd::ClientGone) {
            return Outcome::Done;
        }
        if let Some(notice) = notice {
            picker.set_notice(notice);
        }
    }
}

/// The new-session dialog's choices: the default command (unless only
/// presets may start and it is none), then the presets; and whether a
/// typed command is allowed.
fn new_session_choices(app: &App, caller: &Caller) -> (Vec<Choice>, bool) {
    let sessions = &app.config.sessions;
    let default = if sessions.default_command.is_empty() {
        // The shell of the account the caller's programs run as.
        let owner = crate::runtime::Owner {
            id: caller.user.id.0,
            name: caller.user.name.clone(),
        };
        let account = app.runtime.account_for(&owner);
        account
            .unwrap_or_else(|_| app.account.clone())
            .login_shell()
    } else {
        sessions.default_command.clone()
    };
    let default_is_preset = app.config.presets.iter().any(|p| p.command == default);
    let mut choices = Vec::new();
    if !sessions.presets_only || default_is_preset {
        choices.push(Choice {
            label: format!("default: {}", shell_words::join(&default)),
            start: Start::Default,
        });
    }
    for preset in &app.config.presets {
        choices.push(Choice {
            label: format!("{}: {}", preset.name, shell_words::join(&preset.command)),
            start: Start::Preset(preset.name.clone()),
        });
    }
    (choices, !sessions.presets_only)
}

/// A session the user chose: its entry, their access, and whether to
/// only watch.
type Chosen = (SessionEntry, Access, bool);

/// One stretch of the picker on screen, between attachments.
struct PickerScreen<'a> {
    app: &'a App,
    caller: &'a Caller,
    palette: Palette,
    entries: HashMap<SessionId, SessionEntry>,
    /// The session previewed, its screen, and its change signal.
    preview: Option<(SessionId, crate::engine::Terminal)>,
    preview_changes: Option<watch::Receiver<u64>>,
    rows_dirty: bool,
    preview_dirty: bool,
    /// When the changes seen so far are drawn.
    redraw_at: Option<Instant>,
    last_redraw: Instant,
    /// Something on screen changed since the last paint.
    needs_paint: bool,
}

impl<'a> PickerScreen<'a> {
    fn new(app: &'a App, caller: &'a Caller, palette: Palette) -> Self {
        PickerScreen {
            app,
            caller,
            palette,
            entries: HashMap::new(),
            preview: None,
            preview_changes: None,
            rows_dirty: true,
            preview_dirty: true,
            redraw_at: None,
            last_redraw: Instant::now(),
            needs_paint: true,
        }
    }

    /// Shows the picker until the user picks a session to attach to
    /// (`Some`), quits or goes away (`None`).
    async fn browse(&mut self, picker: &mut Picker, io: &mut ChannelIo) -> Option<Chosen> {
        let size = io.pty.as_ref().map_or(Size::new(24, 80), |p| p.size);
        let mut terminal = Terminal::new(ChannelBackend::new(size)).ok()?;
        terminal.backend_mut().push_raw(ENTER_PICKER);
        let mut changes = self.app.registry.changes();
        let mut decoder = KeyDecoder::new();
        let mut events = Vec::new();
        let mut input_deadline = None;
        loop {
            if !self.waiting() {
                self.refresh(picker).await;
            }
            self.follow_selection(picker).await;
            if self.needs_paint && !self.paint(&mut terminal, picker, io).await {
                return None;
            }
            let idle_tick = self.idle_tick(picker);
            let wake_at = [self.redraw_at, idle_tick].into_iter().flatten().min();
            events.clear();
            tokio::select! {
                event = io.events.recv() => match event {
                    Some(ChannelEvent::Data(bytes)) => {
                        decoder.feed(&bytes, &mut events);
                        // Counted from when the wait began, so a stream of
                        // keys cannot keep a stray paste start open.
                        input_deadline = match decoder.is_waiting() {
                            true => input_deadline.or_else(|| Some(Instant::now() + INPUT_PATIENCE)),
                            false => None,
                        };
                    }
                    Some(ChannelEvent::Resize(size)) => {
                        if let Some(pty) = io.pty.as_mut() {
                            pty.size = size;
                        }
                        terminal.backend_mut().set_size(size);
                        self.needs_paint = true;
                    }
                    Some(ChannelEvent::Eof) => {}
                    None => return None,
                },
                changed = changes.changed() => {
                    if changed.is_ok() {
                        self.rows_dirty = true;
                        self.schedule_redraw();
                    }
                }
                () = screen_changed(&mut self.preview_changes) => {
                    self.preview_dirty = true;
                    self.schedule_redraw();
                }
                () = sleep_until(wake_at) => {
                    self.redraw_at = None;
                    self.needs_paint = true;
                }
                () = sleep_until(input_deadline) => {
                    input_deadline = None;
                    decoder.flush(&mut events);
                }
            }
            for event in &events {
                self.needs_paint = true;
                let action = picker.on_event(event);
                if let Some(outcome) = self.act(action, picker, &mut terminal, io).await {
                    return outcome;
                }
            }
        }
    }

    /// Carries out what a key asked for; `Some` ends the browsing.
    async fn act(
        &mut self,
        action: Option<Action>,
        picker: &mut Picker,
        terminal: &mut Terminal<ChannelBackend>,
        io: &ChannelIo,
    ) -> Option<Option<Chosen>> {
        match action? {
            Action::Quit => Some(None),
            Action::Repaint => {
                let _ = terminal.clear();
                None
            }
            Action::Attach { id, watch } => self.choose(id, watch, picker),
            Action::Kill { id } => {
                self.kill(id, picker).await;
                None
            }
            Action::Share { id, user, write } => {
                self.share(id, &user, write, picker).await;
                None
            }
            Action::Create { name, start } => {
                let term = io.pty.as_ref().map(|p| p.term.clone());
                match self.create(&name, start, term).await {
                    Ok(entry) => Some(Some((entry, Access::Owner, false))),
                    Err(error) => {
                        picker.create_failed(&name, error);
                        None
                    }
                }
            }
        }
    }

    fn choose(
        &mut self,
        id: SessionId,
        watch: bool,
        picker: &mut Picker,
    ) -> Option<Option<Chosen>> {
        let found = self
            .entries
            .get(&id)
            .and_then(|entry| Some((entry.clone(), access_of(self.caller, entry)?)));
        match found {
            Some((entry, access)) => Some(Some((entry, access, watch))),
            None => {
                picker.set_notice("that session is gone");
                self.rows_dirty = true;
                None
            }
        }
    }

    async fn kill(&mut self, id: SessionId, picker: &mut Picker) {
        let Some(entry) = self.entries.get(&id).cloned() else {
            return;
        };
        let allowed = access_of(self.caller, &entry)
            .is_some_and(|access| access::may_manage(&self.caller.user, access));
        if allowed {
            kill_entry(self.app, self.caller, &entry).await;
            picker.set_notice(format!("killed {}", shown_label(self.caller, &entry)));
        } else {
            picker.set_notice(format!("only the owner may kill {}", entry.label()));
        }
        self.rows_dirty = true;
    }

    async fn share(&mut self, id: SessionId, user: &str, write: bool, picker: &mut Picker) {
        let Some(entry) = self.entries.get(&id).cloned() else {
            return;
        };
        let grant = if write { Grant::Write } else { Grant::Read };
        match change_grant(self.app, self.caller, &entry.label(), user, Some(grant)).await {
            Ok(line) => picker.set_notice(line),
            Err(outcome) => picker.share_failed(id, user, write, outcome.into_message()),
        }
        self.rows_dirty = true;
    }

    async fn create(
        &self,
        name: &str,
        start: Start,
        term: Option<String>,
    ) -> Result<SessionEntry, String> {
        let (preset, command) = match start {
            Start::Default => (None, Vec::new()),
            Start::Preset(preset) => (Some(preset), Vec::new()),
            Start::Command(line) => {
                let words = shell_words::split(&line)
                    .map_err(|error| format!("cannot read the command: {error}"))?;
                (None, words)
            }
        };
        let request = NewRequest {
            name: name.to_string(),
            detached: false,
            attach_existing: false,
            dir: None,
            preset,
            command,
        };
        run_new::create(self.app, self.caller, &request, term).await
    }

    /// A redraw for changes, no sooner than [`MIN_REDRAW`] after the last.
    fn schedule_redraw(&mut self) {
        if self.redraw_at.is_none() {
            self.redraw_at = Some((self.last_redraw + MIN_REDRAW).max(Instant::now()));
        }
    }

    /// Whether changes are waiting for their coalesced redraw.
    fn waiting(&self) -> bool {
        self.redraw_at.is_some_and(|at| at > Instant::now())
    }

    /// Fetches what changed: the rows, and the previewed screen.
    async fn refresh(&mut self, picker: &mut Picker) {
        if self.rows_dirty {
            self.rows_dirty = false;
            self.needs_paint = true;
            let rows = self.load_rows().await;
            picker.set_rows(rows);
        }
        if self.preview_dirty {
            self.preview_dirty = false;
            self.needs_paint = true;
            self.load_preview().await;
        }
    }

    /// Previews the selected session, at once when the selection moved.
    async fn follow_selection(&mut self, picker: &Picker) {
        let selected = picker.selected().map(|row| row.id);
        if selected != self.preview.as_ref().map(|(id, _)| *id) {
            self.follow(selected);
            self.preview_dirty = false;
            self.needs_paint = true;
            self.load_preview().await;
        }
    }

    async fn load_rows(&mut self) -> Vec<SessionRow> {
        let mut rows = Vec::new();
        self.entries.clear();
        for entry in self.app.registry.list().await {
            let Some(access) = access_of(self.caller, &entry) else {
                continue;
            };
            let Ok(status) = entry.link.status().await else {
                continue;
            };
            rows.push(SessionRow {
                id: entry.record.id,
                label: shown_label(self.caller, &entry),
                name: entry.record.name.clone(),
                owner: entry.record.owner.clone(),
                running: status.running,
                paused: status.state() == "paused",
                unreachable: status.unreachable,
                exit_status: status.exit_status,
                access,
                may_manage: access::may_manage(&self.caller.user, access),
                participants: status.participants,
                attention: status.attention,
                attention_message: status.attention_message.clone(),
                attention_since: status.attention_since,
                last_active: status.last_active,
                command: entry.record.command.clone(),
            });
            self.entries.insert(entry.record.id, entry);
        }
        rows
    }

    /// Starts previewing `selected` (or nothing).
    fn follow(&mut self, selected: Option<SessionId>) {
        self.preview = None;
        self.preview_changes = None;
        self.preview_dirty = true;
        let Some(entry) = selected.and_then(|id| self.entries.get(&id)) else {
            return;
        };
        let mut changes = entry.link.screen_changes();
        changes.borrow_and_update();
        self.preview_changes = Some(changes);
        self.preview = Some((entry.record.id, screen_of(Size::new(1, 1), b"")));
    }

    async fn load_preview(&mut self) {
        let Some((id, _)) = &self.preview else {
            return;
        };
        let id = *id;
        let Some(entry) = self.entries.get(&id) else {
            return;
        };
        if let Ok(preview) = entry.link.preview().await {
            self.preview = Some((id, screen_of(preview.size, &preview.contents)));
        }
    }

    /// Draws the picker and sends the bytes; false when the client left.
    async fn paint(
        &mut self,
        terminal: &mut Terminal<ChannelBackend>,
        picker: &mut Picker,
        io: &ChannelIo,
    ) -> bool {
        self.needs_paint = false;
        self.last_redraw = Instant::now();
        let scene = Scene {
            preview: self.preview.as_ref().map(|(_, screen)| screen),
            palette: self.palette,
            now: unix_now(),
        };
        let _ = terminal.draw(|frame| draw(frame, picker, &scene));
        let bytes = terminal.backend_mut().take_output();
        bytes.is_empty() || io.write(bytes).await.is_ok()
    }

    /// When an idle time shown in the list next ticks over.
    fn idle_tick(&self, picker: &Picker) -> Option<Instant> {
        let now = unix_now();
        let seconds = picker
            .visible()
            .flat_map(|row| {
                let waited = row.attention_since.map(|since| now - since);
                [Some(now - row.last_active), waited]
            })
            .flatten()
            .map(idle_text_changes_in)
            .min()?;
        Some(Instant::now() + Duration::from_secs(seconds.max(1) as u64))
    }
}

/// `NAME` for the caller's own sessions, `OWNER/NAME` for others'.
fn shown_label(caller: &Caller, entry: &SessionEntry) -> String {
    if entry.record.owner_id == caller.user.id {
        entry.record.name.clone()
    } else {
        entry.label()
    }
}

/// Resolves when the previewed screen changed; never without a preview
/// or once its hub is gone.
async fn screen_changed(changes: &mut Option<watch::Receiver<u64>>) {
    match changes {
        Some(receiver) => {
            if receiver.changed().await.is_err() {
                *changes = None;
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
