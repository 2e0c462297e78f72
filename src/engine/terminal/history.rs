//! The terminal's scrollback as the rest of the engine reads it: lines
//! that leave the model's own (short) history move to the compact
//! scrollback, the screen with scrollback is formatted as text or with
//! colors, and a [`HistoryMark`] says how many lines have scrolled into
//! the scrollback so far, so a client that fell behind can be sent those
//! it missed.
//!
//! Must not feed the model: `terminal.rs` does.

use alacritty_terminal::grid::{Dimensions, Row};
use alacritty_terminal::index::Line;
use alacritty_terminal::term::cell::Cell;

use super::{HISTORY_MARGIN, Terminal};
use crate::engine::cells;

/// How far the scrollback has come: the lines that ever scrolled into it,
/// counted within an epoch. A resize (which rewraps and pulls lines back),
/// an erased scrollback or a reset starts a new epoch, and lines are not
/// counted across one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HistoryMark {
    epoch: u64,
    lines: u64,
}

impl HistoryMark {
    /// `lines` further on, in the same epoch.
    pub fn advanced(self, lines: u64) -> HistoryMark {
        HistoryMark {
            epoch: self.epoch,
            lines: self.lines + lines,
        }
    }

    /// Lines that scrolled into the scrollback after `earlier`; none when
    /// an epoch began between them.
    pub fn lines_since(self, earlier: HistoryMark) -> u64 {
        if self.epoch == earlier.epoch {
            self.lines.saturating_sub(earlier.lines)
        } else {
            0
        }
    }
}

impl Terminal {
    /// Where the scrollback stands. On the alternate screen it stays where
    /// the main screen left it (the main screen's history cannot be read
    /// there, and nothing scrolls into it).
    pub fn history_mark(&self) -> HistoryMark {
        self.mark
    }

    /// Counts the scrollback again, on the main screen.
    pub(super) fn update_history_mark(&mut self) {
        if !self.alternate_screen() {
            self.mark.lines = self.pushed_to_compact + self.model.grid().history_size() as u64;
        }
    }

    /// The scrollback's lines were renumbered (resized, erased, reset).
    pub(super) fn renumber_history(&mut self) {
        self.mark.epoch += 1;
        self.update_history_mark();
    }

    /// Before the program takes the alternate screen: a copy of the main
    /// screen's history in the model (the newest lines, not yet compact),
    /// which cannot be read while the alternate screen is up, so a client
    /// that fell behind can still be sent them. Dropped when the program
    /// leaves the alternate screen.
    pub(super) fn copy_history_for_alternate(&mut self) {
        self.alternate_history.clear();
        let history = self.model.grid().history_size();
        let width = self.model.grid().columns();
        for depth in (1..=history).rev() {
            self.line.clear();
            cells::write_row(
                &self.model.grid()[Line(-(depth as i32))],
                width,
                &mut self.line,
            );
            self.alternate_history.push(&self.line);
        }
    }

    /// Lines in the model's history beyond its cells' share go to the
    /// compact scrollback, oldest first. The alternate screen has none.
    pub(super) fn move_history_to_compact(&mut self) {
        let history = self.model.grid().history_size();
        if history <= self.cell_lines {
            self.update_history_mark();
            return;
        }
        let width = self.model.grid().columns();
        for depth in (self.cell_lines + 1..=history).rev() {
            self.line.clear();
            cells::write_row(
                &self.model.grid()[Line(-(depth as i32))],
                width,
                &mut self.line,
            );
            self.older.push(&self.line);
        }
        self.pushed_to_compact += (history - self.cell_lines) as u64;
        let grid = self.model.grid_mut();
        grid.update_history(self.cell_lines);
        grid.update_history(self.cell_lines + HISTORY_MARGIN);
        self.update_history_mark();
    }

    /// The screen's rows after the last `scrollback` scrollback lines, as
    /// plain text or with colors (`ansi`), trailing blanks left out.
    pub fn capture_rows(&mut self, scrollback: usize, ansi: bool) -> Vec<String> {
        let width = self.size().cols;
        let mut lines = self.collect_scrollback(scrollback, width, ansi);
        for row in 0..self.size().rows {
            lines.push(self.format_row(self.row(row), width, ansi));
        }
        lines
    }

    /// The last `count` scrollback lines (oldest first), each formatted and
    /// cropped to `width` columns. Empty on the alternate screen.
    pub fn scrollback_rows(&mut self, count: usize, width: u16) -> Vec<String> {
        self.collect_scrollback(count, width, true)
    }

    /// Lines in the scrollback, compact and the model's.
    pub fn scrollback_len(&self) -> usize {
        if self.alternate_screen() {
            return self.older.len() + self.alternate_history.len();
        }
        self.older.len() + self.model.grid().history_size()
    }

    fn format_row(&self, row: &Row<Cell>, width: u16, formatted: bool) -> String {
        if formatted {
            let mut out = Vec::new();
            cells::write_row(row, usize::from(width), &mut out);
            String::from_utf8(out).unwrap_or_default()
        } else {
            cells::row_text(row, usize::from(width))
        }
    }

    /// The newest `count` scrollback lines: the compact ones first, then
    /// the model's history (on the alternate screen, the copy made of it).
    fn collect_scrollback(&mut self, count: usize, width: u16, formatted: bool) -> Vec<String> {
        self.scrollback_window(0, count, width, formatted)
    }

    /// `count` scrollback lines older than the newest `skip`, oldest first,
    /// formatted and cropped to `width` columns.
    pub fn scrollback_window(
        &self,
        skip: usize,
        count: usize,
        width: u16,
        formatted: bool,
    ) -> Vec<String> {
        // The newest lines are the model's (or their copy), then compact.
        let newest = if self.alternate_screen() {
            self.alternate_history.len()
        } else {
            self.model.grid().history_size()
        };
        let newest_skip = skip.min(newest);
        let from_newest = count.min(newest - newest_skip);
        let older_skip = skip - newest_skip;
        let from_older = count - from_newest;
        let mut lines: Vec<String> = self
            .older
            .before_newest(older_skip, from_older, width, formatted)
            .collect();
        if self.alternate_screen() {
            let copy = &self.alternate_history;
            lines.extend(copy.before_newest(newest_skip, from_newest, width, formatted));
        } else {
            let first = newest_skip + from_newest;
            for depth in (newest_skip + 1..=first).rev() {
                let row = &self.model.grid()[Line(-(depth as i32))];
                lines.push(self.format_row(row, width, formatted));
            }
        }
        lines
    }
}
