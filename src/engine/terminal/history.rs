//! The terminal's scrollback as the rest of the engine reads it: lines
//! that leave the model's own (short) history move to the compact
//! scrollback, and the screen with scrollback is formatted as text or
//! with colors.
//!
//! Must not feed the model: `terminal.rs` does.

use alacritty_terminal::grid::{Dimensions, Row};
use alacritty_terminal::index::Line;
use alacritty_terminal::term::cell::Cell;

use super::{HISTORY_MARGIN, Terminal};
use crate::engine::cells;

impl Terminal {
    /// Lines in the model's history beyond its cells' share go to the
    /// compact scrollback, oldest first. The alternate screen has none.
    pub(super) fn move_history_to_compact(&mut self) {
        let history = self.model.grid().history_size();
        if history <= self.cell_lines {
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
        let grid = self.model.grid_mut();
        grid.update_history(self.cell_lines);
        grid.update_history(self.cell_lines + HISTORY_MARGIN);
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
            return self.older.len();
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
    /// the model's history.
    fn collect_scrollback(&mut self, count: usize, width: u16, formatted: bool) -> Vec<String> {
        let history = if self.alternate_screen() {
            0
        } else {
            self.model.grid().history_size()
        };
        let recent = count.min(history);
        let older = count - recent;
        let mut lines = Vec::with_capacity(recent + older.min(self.older.len()));
        lines.extend(self.older.newest(older, width, formatted));
        for depth in (1..=recent).rev() {
            let row = &self.model.grid()[Line(-(depth as i32))];
            lines.push(self.format_row(row, width, formatted));
        }
        lines
    }
}
