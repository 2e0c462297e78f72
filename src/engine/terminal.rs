//! The session's terminal state: an `alacritty_terminal` screen model with
//! a short history of cells and a compact scrollback beyond it, plus what
//! the model does not expose (title, scroll region, saved cursors,
//! attention) and the answers to terminal queries, which must come from
//! here exactly once.
//!
//! Owns the truth about the screen. It must not know about clients, channels
//! or the PTY; it turns output bytes into state, pass-through bytes and
//! replies.

use std::sync::{Arc, Mutex, PoisonError};

use alacritty_terminal::event::{Event, EventListener};
use alacritty_terminal::grid::{Dimensions, Row};
use alacritty_terminal::index::{Column, Line};
use alacritty_terminal::term::cell::Cell;
use alacritty_terminal::term::test::TermSize;
use alacritty_terminal::term::{Config, Term, TermMode};
use alacritty_terminal::vte::ansi::{Processor, Timeout};

use super::cells::{self, Pen};
use super::queries::{Marker, Piece, Query, QueryFilter};
use super::screen_cell::ScreenCell;
use super::scrollback::CompactScrollback;
use crate::wire::Size;

/// Scrollback lines the model keeps as cells (the newest); older ones are
/// kept compact. The model pulls these back onto the screen when it grows
/// taller.
const CELL_SCROLLBACK_LINES: usize = 100;

/// The model is fed at most this many bytes at a time, and its history
/// holds this many lines beyond [`CELL_SCROLLBACK_LINES`]: a line feed is
/// at least a byte, so no line leaves the history before it is moved to the
/// compact scrollback. (Only `CSI n S` scrolls more lines than bytes; lines
/// it pushes past this margin are lost from the scrollback.)
const FEED_BYTES: usize = 512;
const HISTORY_MARGIN: usize = FEED_BYTES + 64;

/// The model's dimensions for a [`Size`].
fn dimensions(size: Size) -> TermSize {
    TermSize::new(usize::from(size.cols.max(1)), usize::from(size.rows.max(1)))
}

/// What the model reports through its listener.
#[derive(Default)]
struct Reports {
    title: String,
    attention: bool,
}

/// The model calls its listener through `&self`; only this terminal holds
/// the other end, and never across an await.
#[derive(Clone, Default)]
struct Listener(Arc<Mutex<Reports>>);

impl Listener {
    fn reports(&self) -> std::sync::MutexGuard<'_, Reports> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl EventListener for Listener {
    fn send_event(&self, event: Event) {
        match event {
            Event::Title(title) => {
                // Control characters in a title could inject sequences on
                // reattach.
                self.reports().title = title
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(512)
                    .collect();
            }
            Event::ResetTitle => self.reports().title.clear(),
            Event::Bell => self.reports().attention = true,
            // Queries never reach the model (the filter answers them).
            _ => {}
        }
    }
}

/// Synchronized output (DECSET 2026) is the hub's to hold, per client: the
/// model applies every byte at once, so the screen and the cursor a query
/// reads are always current. (Public for tests that model a client
/// terminal without synchronized-output support.)
#[derive(Default)]
pub struct NoSyncBuffering;

impl Timeout for NoSyncBuffering {
    fn set_timeout(&mut self, _: std::time::Duration) {}
    fn clear_timeout(&mut self) {}
    fn pending_timeout(&self) -> bool {
        false
    }
}

/// A scroll region as 0-based inclusive rows, when not the whole screen.
pub type ScrollRegion = Option<(u16, u16)>;

/// A cursor saved by `ESC 7` (or `CSI ? 1049 h`): its position, and the
/// SGR of the attributes saved with it. Positions are saved per screen and
/// attributes once for both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedCursor {
    pub row: u16,
    pub col: u16,
    pub attributes: String,
}

pub struct Terminal {
    model: Term<Listener>,
    parser: Processor<NoSyncBuffering>,
    listener: Listener,
    older: CompactScrollback,
    /// Lines the model may keep as cells in its history.
    cell_lines: usize,
    /// Reused for writing lines to the compact scrollback.
    line: Vec<u8>,
    filter: QueryFilter,
    pieces: Vec<Piece>,
    /// Scroll regions of the main and alternate screens.
    regions: [ScrollRegion; 2],
    /// Cursor positions saved on the main and alternate screens, and the
    /// attributes saved last, likewise.
    saved: [(u16, u16); 2],
    saved_attributes: String,
    /// The open synchronized-output frame, numbered from 1, if any.
    sync_frame: Option<u64>,
    sync_frames_begun: u64,
    /// The length of `process`'s pass-through right after a frame last
    /// closed in it (taken by `take_frame_closed_at`).
    frame_closed_at: Option<usize>,
    /// Times the program left the alternate screen.
    alternate_exits: u64,
    /// Between the two markers of a `CSI ? 1049 h` that enters (not one
    /// sent while already there).
    entering_alternate: bool,
}

impl Terminal {
    pub fn new(size: Size, scrollback_lines: usize) -> Terminal {
        let cell_lines = scrollback_lines.min(CELL_SCROLLBACK_LINES);
        let history = if cell_lines == 0 {
            0
        } else {
            cell_lines + HISTORY_MARGIN
        };
        let config = Config {
            scrolling_history: history,
            ..Config::default()
        };
        let listener = Listener::default();
        Terminal {
            model: Term::new(config, &dimensions(size), listener.clone()),
            parser: Processor::new(),
            listener,
            older: CompactScrollback::new(scrollback_lines - cell_lines),
            cell_lines,
            line: Vec::new(),
            filter: QueryFilter::new(),
            pieces: Vec::new(),
            regions: [None, None],
            saved: [(0, 0); 2],
            saved_attributes: String::new(),
            sync_frame: None,
            sync_frames_begun: 0,
            frame_closed_at: None,
            alternate_exits: 0,
            entering_alternate: false,
        }
    }

    /// Times the program left the alternate screen so far: a client that
    /// never saw the main screen needs it painted, even if the program
    /// went back to the alternate screen in the same output.
    pub fn alternate_exits(&self) -> u64 {
        self.alternate_exits
    }

    pub fn size(&self) -> Size {
        let grid = self.model.grid();
        Size {
            rows: grid.screen_lines() as u16,
            cols: grid.columns() as u16,
        }
    }

    pub fn title(&self) -> String {
        self.listener.reports().title.clone()
    }

    pub fn alternate_screen(&self) -> bool {
        self.model.mode().contains(TermMode::ALT_SCREEN)
    }

    pub fn modes(&self) -> TermMode {
        *self.model.mode()
    }

    pub fn hide_cursor(&self) -> bool {
        !self.model.mode().contains(TermMode::SHOW_CURSOR)
    }

    /// The cursor's row and column; the column is one past the last when
    /// the next character wraps first (pending wrap).
    pub fn cursor_position(&self) -> (u16, u16) {
        let cursor = &self.model.grid().cursor;
        let col = cursor.point.column.0 + usize::from(cursor.input_needs_wrap);
        (cursor.point.line.0.max(0) as u16, col as u16)
    }

    /// The pen new text is written with.
    pub fn pen(&self) -> Pen {
        Pen::of(&self.model.grid().cursor.template)
    }

    /// A row of the screen (0 is the top).
    pub fn row(&self, row: u16) -> &Row<Cell> {
        &self.model.grid()[Line(i32::from(row))]
    }

    /// A cell of the screen.
    pub fn cell(&self, row: u16, col: u16) -> &Cell {
        &self.row(row)[Column(usize::from(col))]
    }

    /// A row of the screen as read-only cells, left to right (for drawing
    /// it outside the engine).
    pub fn row_cells(&self, row: u16) -> impl Iterator<Item = ScreenCell<'_>> {
        let cols = usize::from(self.size().cols);
        self.row(row)[..].iter().take(cols).map(ScreenCell::of)
    }

    /// Whether the screen's row continues on the next (a soft wrap).
    pub fn row_wrapped(&self, row: u16) -> bool {
        let cols = self.size().cols;
        self.cell(row, cols - 1)
            .flags
            .contains(alacritty_terminal::term::cell::Flags::WRAPLINE)
    }

    /// The screen as plain text, a line a row, trailing blanks left out.
    pub fn contents(&self) -> String {
        let size = self.size();
        let rows: Vec<String> = (0..size.rows)
            .map(|r| cells::row_text(self.row(r), usize::from(size.cols)))
            .collect();
        rows.join("\n").trim_end().to_string()
    }

    /// The active screen's scroll region, 0-based inclusive.
    pub fn scroll_region(&self) -> ScrollRegion {
        self.regions[self.alternate_screen() as usize]
    }

    /// The synchronized-output frame the program has open, if any: a number
    /// that differs for each frame.
    pub fn sync_frame(&self) -> Option<u64> {
        self.sync_frame
    }

    /// The length `process`'s pass-through had right after the last
    /// synchronized frame closed in it, if one did since last asked.
    pub fn take_frame_closed_at(&mut self) -> Option<usize> {
        self.frame_closed_at.take()
    }

    /// The open frame is given up on (open too long, or too big): it
    /// counts as closed, as a terminal's own synchronized-update timeout
    /// ends the mode, so the program's next `CSI ? 2026 h` opens a new
    /// frame, which is held again. (Kept open, it swallowed every later
    /// frame: they were shown at once.)
    pub fn give_up_sync_frame(&mut self) {
        self.sync_frame = None;
    }

    /// The cursor saved on the main (`alternate` false) or alternate screen.
    /// Never saved means the top-left corner.
    pub fn saved_cursor(&self, alternate: bool) -> SavedCursor {
        let (row, col) = self.saved[alternate as usize];
        SavedCursor {
            row,
            col,
            attributes: self.saved_attributes.clone(),
        }
    }

    /// Saves the cursor as `ESC 7` does, on the active screen.
    fn save_cursor(&mut self, alternate: usize) {
        // Kept past the last column in pending wrap.
        self.saved[alternate] = self.cursor_position();
        self.saved_attributes = self.pen().sgr();
    }

    fn apply_marker(&mut self, marker: Marker) {
        let alternate = self.alternate_screen() as usize;
        match marker {
            Marker::ScrollRegion { top, bottom } => {
                // As xterm reads DECSTBM: defaults, clamping, and an empty
                // region meaning the whole screen.
                let rows = self.size().rows;
                let top = top.max(1) - 1;
                let bottom = if bottom == 0 { rows } else { bottom }.min(rows) - 1;
                let whole = top == 0 && bottom == rows - 1;
                self.regions[alternate] = (top < bottom && !whole).then_some((top, bottom));
            }
            // Already on the alternate screen, the model ignores it.
            Marker::EnterAlternate if alternate == 1 => self.entering_alternate = false,
            Marker::EnterAlternate => {
                self.entering_alternate = true;
                self.save_cursor(alternate);
                self.regions[1] = None;
                self.saved[1] = (0, 0);
            }
            Marker::SaveCursor => self.save_cursor(alternate),
            Marker::SyncFrame { open: true } => {
                if self.sync_frame.is_none() {
                    self.sync_frames_begun += 1;
                    self.sync_frame = Some(self.sync_frames_begun);
                }
            }
            Marker::SyncFrame { open: false } => self.sync_frame = None,
            Marker::EraseScrollback => {
                if alternate == 0 {
                    self.older.clear();
                }
            }
            Marker::Reset => {
                self.older.clear();
                self.sync_frame = None;
                self.regions = [None, None];
                self.saved = [(0, 0); 2];
                self.saved_attributes.clear();
            }
            Marker::Notification => self.listener.reports().attention = true,
            Marker::LeaveAlternate => self.alternate_exits += 1,
            Marker::EnteredAlternate => {
                if std::mem::take(&mut self.entering_alternate) {
                    self.clear_alternate_screen();
                }
            }
        }
    }

    /// Entering the alternate screen clears it, all of it: the model clears
    /// only the written part of a row whose last cell looks cleared, which
    /// misses a row cleared with a background and then widened.
    fn clear_alternate_screen(&mut self) {
        if !self.alternate_screen() {
            return;
        }
        let grid = self.model.grid_mut();
        let blank = Cell {
            bg: grid.cursor.template.bg,
            ..Cell::default()
        };
        let (rows, cols) = (grid.screen_lines(), grid.columns());
        for line in 0..rows as i32 {
            for col in 0..cols {
                grid[Line(line)][Column(col)] = blank.clone();
            }
        }
    }

    /// True once since the last call if the program rang the bell or sent a
    /// notification.
    pub fn take_attention(&mut self) -> bool {
        std::mem::take(&mut self.listener.reports().attention)
    }

    pub fn resize(&mut self, size: Size) {
        let size = Size::new(size.rows.into(), size.cols.into());
        let alternate = self.alternate_screen() as usize;
        let row_before = self.cursor_position().0;
        self.model.resize(dimensions(size));
        // The model's reflow can leave the cursor waiting to wrap short of
        // the last column, which no terminal can be told: it waits only at
        // the last column.
        let grid = self.model.grid_mut();
        if grid.cursor.point.column.0 + 1 < usize::from(size.cols) {
            grid.cursor.input_needs_wrap = false;
        }
        // A row cleared with a background and then widened ends in default
        // cells, and the model would then clear only its written part
        // (entering the alternate screen, say): mark every row as written
        // to its end so a clear clears all of it.
        let last = Column(usize::from(size.cols) - 1);
        for line in 0..i32::from(size.rows) {
            let _ = &mut grid[Line(line)][last];
        }
        // Resizing resets scroll regions, in the model as in xterm. Saved
        // cursors move by the rows the cursor moved (lines pulled from or
        // pushed to the history), and stay on the screen.
        self.regions = [None, None];
        self.move_history_to_compact();
        let shift = i32::from(self.cursor_position().0) - i32::from(row_before);
        for (grid, (row, col)) in self.saved.iter_mut().enumerate() {
            let moved = i32::from(*row) + if grid == alternate { shift } else { 0 };
            *row = moved.clamp(0, i32::from(size.rows) - 1) as u16;
            *col = (*col).min(size.cols - 1);
        }
    }

    /// Processes program output. Bytes meant for clients (queries removed)
    /// are appended to `pass_through`, answers for the program to `replies`.
    pub fn process(&mut self, chunk: &[u8], pass_through: &mut Vec<u8>, replies: &mut Vec<u8>) {
        self.filter.feed(chunk, &mut self.pieces);
        let pieces = std::mem::take(&mut self.pieces);
        let mut pending_marker = None;
        for piece in &pieces {
            match piece {
                Piece::Output(range) => {
                    pass_through.extend_from_slice(&self.filter.buffer()[range.clone()]);
                    self.feed_model(range.clone());
                }
                Piece::Query(query) => answer(*query, self, replies),
                Piece::Marker(marker) => pending_marker = Some(*marker),
            }
            if let Some(marker) = pending_marker.take() {
                self.apply_marker(marker);
                if matches!(marker, Marker::SyncFrame { open: false } | Marker::Reset) {
                    self.frame_closed_at = Some(pass_through.len());
                }
            }
        }
        self.pieces = pieces;
    }

    /// Feeds the model part of the filter's buffer, a slice at a time, and
    /// moves lines that left its cells' share of history to the compact
    /// scrollback.
    fn feed_model(&mut self, range: std::ops::Range<usize>) {
        let mut start = range.start;
        while start < range.end {
            let end = (start + FEED_BYTES).min(range.end);
            self.parser
                .advance(&mut self.model, &self.filter.buffer()[start..end]);
            self.move_history_to_compact();
            start = end;
        }
    }

    /// Lines in the model's history beyond its cells' share go to the
    /// compact scrollback, oldest first. The alternate screen has none.
    fn move_history_to_compact(&mut self) {
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

/// Writes the answer a real terminal would give, using the session's state.
fn answer(query: Query, term: &Terminal, replies: &mut Vec<u8>) {
    use std::io::Write;
    let Size { rows, cols } = term.size();
    let (row, col) = term.cursor_position();
    let col = col.min(cols - 1);
    let _ = match query {
        Query::Status => write!(replies, "\x1b[0n"),
        Query::CursorPosition { private: false } => {
            write!(replies, "\x1b[{};{}R", row + 1, col + 1)
        }
        Query::CursorPosition { private: true } => {
            write!(replies, "\x1b[?{};{};1R", row + 1, col + 1)
        }
        // A VT220-class terminal with ANSI color, as tmux and screen report.
        Query::PrimaryAttributes => write!(replies, "\x1b[?62;22c"),
        Query::SecondaryAttributes => write!(replies, "\x1b[>1;10;0c"),
        Query::Version => write!(replies, "\x1bP>|foyer {}\x1b\\", env!("CARGO_PKG_VERSION")),
        Query::PrivateMode(mode) => {
            let state = match mode {
                2026 if term.sync_frame().is_some() => 1,
                2026 => 2,
                _ => private_mode_state(term.modes(), mode),
            };
            write!(replies, "\x1b[?{mode};{state}$y")
        }
        Query::TextAreaSize => write!(replies, "\x1b[8;{rows};{cols}t"),
        Query::Color(which) => {
            // Clients' real colors are unknown and may differ: answer as a
            // dark terminal, the common case, so programs pick a theme once.
            let rgb = if which == 11 {
                "0000/0000/0000"
            } else {
                "e5e5/e5e5/e5e5"
            };
            write!(replies, "\x1b]{which};rgb:{rgb}\x1b\\")
        }
        Query::KittyKeyboard { .. } => Ok(()),
    };
}

/// DECRQM answer: 1 set, 2 reset, 0 not recognised.
fn private_mode_state(modes: TermMode, mode: u16) -> u8 {
    let flag = |on: TermMode| if modes.contains(on) { 1 } else { 2 };
    match mode {
        1 => flag(TermMode::APP_CURSOR),
        6 => flag(TermMode::ORIGIN),
        7 => flag(TermMode::LINE_WRAP),
        25 => flag(TermMode::SHOW_CURSOR),
        1049 => flag(TermMode::ALT_SCREEN),
        1000 => flag(TermMode::MOUSE_REPORT_CLICK),
        1002 => flag(TermMode::MOUSE_DRAG),
        1003 => flag(TermMode::MOUSE_MOTION),
        1004 => flag(TermMode::FOCUS_IN_OUT),
        1005 => flag(TermMode::UTF8_MOUSE),
        1006 => flag(TermMode::SGR_MOUSE),
        2004 => flag(TermMode::BRACKETED_PASTE),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::NonZeroU16;

    fn run(term: &mut Terminal, bytes: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let (mut out, mut replies) = (Vec::new(), Vec::new());
        term.process(bytes, &mut out, &mut replies);
        (out, replies)
    }

    #[test]
    fn answers_cursor_position_at_the_point_of_the_query() {
        let mut term = Terminal::new(Size::new(24, 80), 100);
        let (out, replies) = run(&mut term, b"abc\x1b[6ndef");
        assert_eq!(replies, b"\x1b[1;4R");
        assert_eq!(out, b"abcdef");
        assert_eq!(term.contents(), "abcdef");
    }

    #[test]
    fn title_and_bell_are_tracked() {
        let mut term = Terminal::new(Size::new(24, 80), 100);
        run(&mut term, b"\x1b]2;my \x1btitle\x07\x07");
        assert_eq!(term.title().trim_end(), "my");
        assert!(term.take_attention());
        assert!(!term.take_attention());
    }

    #[test]
    fn scrollback_rows_are_the_newest_lines_oldest_first() {
        let mut term = Terminal::new(Size::new(3, 10), 100);
        let text: String = (1..=8).map(|i| format!("line{i}\r\n")).collect();
        run(&mut term, text.as_bytes());
        let lines = term.scrollback_rows(4, 10);
        let plain: Vec<String> = lines
            .iter()
            .map(|l| String::from_utf8(strip(l.as_bytes())).unwrap())
            .collect();
        assert_eq!(plain, vec!["line3", "line4", "line5", "line6"]);
    }

    fn plain_scrollback(term: &mut Terminal, count: usize) -> Vec<String> {
        term.scrollback_rows(count, 10)
            .iter()
            .map(|l| String::from_utf8(strip(l.as_bytes())).unwrap())
            .collect()
    }

    #[test]
    fn scrollback_past_the_cell_lines_is_kept_compact_and_in_order() {
        let mut term = Terminal::new(Size::new(3, 10), 1000);
        let text: String = (1..=600)
            .map(|i| format!("\x1b[3{}ml{i}\r\n", i % 8))
            .collect();
        run(&mut term, text.as_bytes());
        // 598 lines left the 3-row screen (the last line and the cursor's
        // empty row stay).
        assert_eq!(term.scrollback_len(), 598);
        let lines = plain_scrollback(&mut term, 1000);
        let expected: Vec<String> = (1..=598).map(|i| format!("l{i}")).collect();
        assert_eq!(lines, expected);
        let colored = term.scrollback_rows(598, 10);
        assert!(colored[0].contains(";31m"), "{:?}", colored[0]);
        assert_eq!(plain_scrollback(&mut term, 2), vec!["l597", "l598"]);
    }

    #[test]
    fn erasing_the_scrollback_erases_the_compact_lines_too() {
        for erase in [&b"\x1b[H\x1b[2J\x1b[3J"[..], b"\x1bc"] {
            let mut term = Terminal::new(Size::new(3, 10), 1000);
            let text: String = (1..=300).map(|i| format!("l{i}\r\n")).collect();
            run(&mut term, text.as_bytes());
            run(&mut term, erase);
            assert_eq!(term.scrollback_len(), 0);
            run(&mut term, b"a\r\nb\r\nc\r\nd\r\ne");
            assert_eq!(plain_scrollback(&mut term, 10), vec!["a", "b"]);
        }
    }

    #[test]
    fn the_alternate_screen_keeps_no_scrollback() {
        let mut term = Terminal::new(Size::new(3, 10), 1000);
        let text: String = (1..=300).map(|i| format!("l{i}\r\n")).collect();
        run(&mut term, b"\x1b[?1049h");
        run(&mut term, text.as_bytes());
        run(&mut term, b"\x1b[?1049l");
        assert_eq!(term.scrollback_len(), 0);
    }

    fn strip(bytes: &[u8]) -> Vec<u8> {
        let mut parser =
            vt100::Parser::new(NonZeroU16::new(1).unwrap(), NonZeroU16::new(40).unwrap(), 0);
        parser.process(bytes);
        parser.screen().contents().trim_end().as_bytes().to_vec()
    }
}
