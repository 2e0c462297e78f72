//! The session's terminal state: an `alacritty_terminal` screen model with
//! a short history of cells and a compact scrollback beyond it, plus what
//! the model does not expose (title, scroll region, saved cursors,
//! attention) and the answers to terminal queries, which must come from
//! here exactly once.
//!
//! Owns the truth about the screen. `listener.rs` is what the model
//! reports back, `history.rs` the scrollback's two forms, `answers.rs` the
//! query answers. It must not know about clients, channels or the PTY; it
//! turns output bytes into state, pass-through bytes and replies.

use alacritty_terminal::grid::{Dimensions, Row};
use alacritty_terminal::index::{Column, Line};
use alacritty_terminal::term::cell::Cell;
use alacritty_terminal::term::test::TermSize;
use alacritty_terminal::term::{Config, Term, TermMode};
use alacritty_terminal::vte::ansi::Processor;

use super::cells::{self, Pen};
use super::queries::{Marker, Piece, QueryFilter};
use super::screen_cell::ScreenCell;
use super::scrollback::CompactScrollback;
use crate::wire::Size;

mod alternate_grid;
mod answers;
mod history;
mod listener;
#[cfg(test)]
mod tests;

use answers::answer;
pub use history::HistoryMark;
use listener::Listener;
pub use listener::NoSyncBuffering;

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
    /// closed in it, and where the scrollback stood then (taken by
    /// `take_frame_closed_at`).
    frame_closed_at: Option<(usize, HistoryMark)>,
    /// Times the program left the alternate screen.
    alternate_exits: u64,
    /// Between the two markers of a `CSI ? 1049 h` that enters (not one
    /// sent while already there).
    entering_alternate: bool,
    /// The message of the notification the program wrote since attention
    /// was last taken (`Some(None)`: one without a message).
    notice: Option<Option<String>>,
    /// While the alternate screen is up: the main screen's history that
    /// was in the model when it was taken (see `history.rs`).
    alternate_history: CompactScrollback,
    /// Lines moved to the compact scrollback so far (kept or not).
    pushed_to_compact: u64,
    /// Where the scrollback stands (see `HistoryMark`).
    mark: HistoryMark,
    /// The model's alternate grid is a one-cell stand-in (see
    /// `alternate_grid.rs`).
    alternate_grid_shrunk: bool,
}

/// The program asked for attention: a bell (no message) or a
/// notification sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raised {
    pub message: Option<String>,
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
        let mut terminal = Terminal {
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
            notice: None,
            alternate_history: CompactScrollback::new(history),
            pushed_to_compact: 0,
            mark: HistoryMark::default(),
            alternate_grid_shrunk: false,
        };
        terminal.shrink_alternate_grid();
        terminal
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
    /// synchronized frame closed in it, if one did since last asked, and
    /// where the scrollback stood at that point.
    pub fn take_frame_closed_at(&mut self) -> Option<(usize, HistoryMark)> {
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
                self.copy_history_for_alternate();
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
                    self.renumber_history();
                }
            }
            Marker::Reset => {
                self.older.clear();
                self.alternate_history.clear();
                self.renumber_history();
                self.sync_frame = None;
                self.regions = [None, None];
                self.saved = [(0, 0); 2];
                self.saved_attributes.clear();
            }
            Marker::Notification => {
                if let Some(message) = self.filter.take_notice() {
                    // A later message replaces an earlier one; a
                    // notification without one keeps it.
                    match (&mut self.notice, message) {
                        (Some(Some(_)), None) => {}
                        (notice, message) => *notice = Some(message),
                    }
                }
            }
            Marker::LeaveAlternate => {
                self.alternate_exits += 1;
                self.alternate_history.clear();
            }
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

    /// Gives back memory the model holds for output to come: the rows its
    /// history grew by in advance (a thousand at the first line that
    /// scrolled, about 1.9 MiB at 80 columns, kept until then) and the
    /// buffers of lines written. For a session gone quiet: the next line
    /// that scrolls allocates them again. On the main screen the alternate
    /// screen's grid goes too (`alternate_grid.rs`); while the alternate
    /// screen is up, the main one's spare rows cannot be reached.
    pub fn release_spare_memory(&mut self) {
        if !self.alternate_screen() {
            self.model.grid_mut().truncate();
        }
        self.shrink_alternate_grid();
        self.line = Vec::new();
        self.pieces = Vec::new();
        self.filter.release_spare_memory();
    }

    /// The clipboard writes (`OSC 52`) the program made since the last
    /// call: taken out of what clients get, for one person's clients.
    pub fn take_clipboard(&mut self) -> Vec<Vec<u8>> {
        self.filter.take_clipboard()
    }

    /// Whether the output so far ends where other bytes can be written to
    /// a client without changing what the program draws: outside any
    /// escape sequence and between characters.
    pub fn at_safe_point(&self) -> bool {
        self.filter.at_safe_point()
    }

    /// What the program asked for attention with since the last call: a
    /// notification's message wins over a bell.
    pub fn take_attention(&mut self) -> Option<Raised> {
        let bell = std::mem::take(&mut self.listener.reports().attention);
        match self.notice.take() {
            Some(message) => Some(Raised { message }),
            None => bell.then_some(Raised { message: None }),
        }
    }

    pub fn resize(&mut self, size: Size) {
        self.restore_alternate_grid();
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
        self.renumber_history();
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
        self.restore_alternate_grid();
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
                    self.frame_closed_at = Some((pass_through.len(), self.mark));
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
}
