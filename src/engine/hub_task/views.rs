//! What the hub shows of its session without changing it: the screen as
//! text (`capture`), the status `ls` and the metrics read, the preview,
//! and the final screen carried off when the program exits.
//!
//! Must not change the session's state beyond rendering from it.

use std::sync::atomic::Ordering;

use super::Hub;
use crate::engine::render;
use crate::wire::{FinalScreen, HubStatus, Participant, Role, ScreenPreview};

impl Hub {
    pub(super) fn capture(&mut self, scrollback: usize, ansi: bool) -> String {
        let mut lines = self.table.terminal_mut().capture_rows(scrollback, ansi);
        for line in &mut lines {
            line.truncate(line.trim_end().len());
            if ansi {
                line.push_str("\x1b[m");
            }
        }
        let blank = if ansi { "\x1b[m" } else { "" };
        while lines.last().is_some_and(|l| l == blank) {
            lines.pop();
        }
        let mut text = lines.join("\n");
        text.push('\n');
        text
    }

    pub(super) fn status(&self) -> HubStatus {
        let wanted = self.attention.wanted.as_ref();
        HubStatus {
            running: self.running.is_some(),
            unreachable: false,
            exit_status: if self.running.is_some() {
                None
            } else {
                self.exit_status
            },
            writers: self.table.count(Role::Writer),
            observers: self.table.count(Role::Observer),
            attention: self.wants_attention(),
            last_active: self.last_active,
            size: self.table.pty_size(),
            participants: self.participants(),
            program_pid: self.running.as_ref().and_then(|r| r.pid),
            screen_sync_switches: self.screen_sync_switches,
            recording_failures: self.recording_failures.load(Ordering::Relaxed),
            paused: Some(self.running.is_some() && self.paused),
            attention_message: wanted.and_then(|w| w.message.clone()),
            attention_since: wanted.map(|w| w.since),
            attention_raised: self.attention.raised,
            attention_cleared: self.attention.cleared.clone(),
            attention_commands: true,
        }
    }

    /// Attached clients in the order they attached.
    pub(super) fn participants(&self) -> Vec<Participant> {
        let mut clients: Vec<_> = self.outboxes.iter().collect();
        clients.sort_by_key(|(id, _)| id.0);
        clients
            .into_iter()
            .map(|(_, outbox)| outbox.who.clone())
            .collect()
    }

    pub(super) fn preview(&mut self) -> ScreenPreview {
        let terminal = self.table.terminal();
        ScreenPreview {
            size: terminal.size(),
            contents: render::preview(terminal),
        }
    }

    /// The screen with its whole scrollback, exactly.
    pub(super) fn final_screen(&mut self) -> FinalScreen {
        let scrollback = self.settings.scrollback_lines;
        let terminal = self.table.terminal_mut();
        FinalScreen {
            size: terminal.size(),
            snapshot: render::exact_snapshot(terminal, scrollback),
        }
    }
}
