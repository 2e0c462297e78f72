//! Turns the session's terminal state into bytes for one client: the exact
//! snapshot a same-size client gets on attach, and cell-by-cell paints
//! (full or as a difference) of the top-left part of the screen for a client
//! whose terminal is another size or who fell behind.
//!
//! Owns only rendering. It must not decide which client gets what (that is
//! `clients.rs`) nor touch channels.

use std::io::Write as _;

use alacritty_terminal::term::TermMode;
use alacritty_terminal::term::cell::{Cell, Flags};

use super::cells::{self, Pen};
use super::terminal::{SavedCursor, Terminal};
use crate::wire::Size;

mod catch_up;

pub use catch_up::{caught_up_paint, caught_up_snapshot, history_page};

/// Puts any client terminal into a known state before a snapshot: main
/// screen, soft reset, no scroll region, default modes (not yet cleared).
const RESET_MODES: &str = "\x1b[?1049l\x1b[!p\x1b[r\x1b[m\x1b[?25h\x1b[?1l\x1b>\x1b[?2004l\
\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l";
/// [`RESET_MODES`], then the screen cleared.
const RESET: &str = "\x1b[?1049l\x1b[!p\x1b[r\x1b[m\x1b[?25h\x1b[?1l\x1b>\x1b[?2004l\
\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[H\x1b[2J";

/// Writes the last `count` scrollback lines so they scroll into the
/// client's own scrollback, leaving the cursor at the top of a clear screen.
fn write_scrollback(term: &mut Terminal, count: usize, viewport: Size, out: &mut Vec<u8>) {
    if count == 0 || term.alternate_screen() {
        return;
    }
    let width = term.size().cols.min(viewport.cols);
    let lines = term.scrollback_rows(count, width);
    if lines.is_empty() {
        return;
    }
    for line in &lines {
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\x1b[m\r\n");
    }
    // Push the last line off the top so the screen starts clear.
    for _ in 1..viewport.rows {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\x1b[H\x1b[2J");
}

fn write_title(title: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(b"\x1b]2;");
    out.extend_from_slice(title.as_bytes());
    out.extend_from_slice(b"\x07");
}

/// The exact state of the session for a client of the PTY's size, after
/// which the program's raw output can follow: text, colors, soft wraps,
/// cursor (pending wrap included), modes, alternate screen, title and
/// scroll region, with `scrollback` lines above.
pub fn exact_snapshot(term: &mut Terminal, scrollback: usize) -> Vec<u8> {
    let mut out = RESET.as_bytes().to_vec();
    let size = term.size();
    write_scrollback(term, scrollback, size, &mut out);
    write_exact_state(term, &mut out);
    out
}

/// Everything of an exact snapshot after the screen was cleared (and
/// scrollback written): the screens, cursors, region, modes, pen, title.
fn write_exact_state(term: &Terminal, out: &mut Vec<u8>) {
    let alternate = term.alternate_screen();
    if alternate {
        // Entering saves the main screen's cursor, as the program's did.
        write_saved_cursor_position(&term.saved_cursor(false), out);
        // It clears with the pen saved, which the program's did not.
        out.extend_from_slice(b"\x1b[?1049h\x1b[m\x1b[2J");
    }
    write_screen_cells(term, out);
    write_saved_cursor_position(&term.saved_cursor(alternate), out);
    out.extend_from_slice(b"\x1b7");
    let region = term.scroll_region();
    if let Some((top, bottom)) = region {
        let _ = write!(out, "\x1b[{};{}r", top + 1, bottom + 1);
    }
    out.extend_from_slice(b"\x1b[m");
    write_modes(term, out);
    write_cursor_state(term, region, out);
    out.extend_from_slice(b"\x1b[m");
    term.pen().write(out);
    write_title(&term.title(), out);
}

/// The whole screen's cells, each row's soft wrap kept: a wrapped row is
/// written to its last column so the client's terminal wraps into the
/// next itself.
fn write_screen_cells(term: &Terminal, out: &mut Vec<u8>) {
    let size = term.size();
    let (cursor_row, cursor_col) = term.cursor_position();
    let mut pen = CellWriter::default();
    let mut continued = false;
    for row in 0..size.rows {
        let wrapped = row + 1 < size.rows && term.row_wrapped(row);
        let used = used_columns(term, row, size.cols);
        for col in 0..size.cols {
            let cell = term.cell(row, col);
            if cell.flags.contains(Flags::WIDE_CHAR_SPACER) {
                continue;
            }
            // Blanks between text, and before the cursor on its row, are
            // printed: the model cannot tell a typed space (a prompt's
            // "$ ", vim's indent) from an erased cell, and a client's copy
            // of the line should keep it.
            let before_cursor = row == cursor_row && col < cursor_col;
            let print = wrapped || (continued && col == 0) || before_cursor || col < used;
            if !print && cells::is_blank(cell) {
                continue;
            }
            pen.write_cell(out, row, col, cell, !orphan_wide(term, row, col), print);
        }
        if wrapped {
            // The client's cursor waits to wrap at the end of this row.
            pen.at = Some((row + 1, 0));
        }
        continued = wrapped;
    }
    out.extend_from_slice(b"\x1b[m");
}

/// A wide character whose right half was erased or overwritten: the model
/// keeps it, a terminal would not (it clears both halves), so it is shown
/// as a blank.
fn orphan_wide(term: &Terminal, row: u16, col: u16) -> bool {
    term.cell(row, col).flags.contains(Flags::WIDE_CHAR)
        && (col + 1 >= term.size().cols
            || !term
                .cell(row, col + 1)
                .flags
                .contains(Flags::WIDE_CHAR_SPACER))
}

/// Columns of a screen row up to its last cell that shows anything,
/// within `width`.
fn used_columns(term: &Terminal, row: u16, width: u16) -> u16 {
    (0..width)
        .rev()
        .find(|&col| !cells::is_blank(term.cell(row, col)))
        .map_or(0, |col| col + 1)
}

/// Every mode a program sets that a terminal keeps, set or reset
/// explicitly (origin mode goes with the cursor).
fn write_modes(term: &Terminal, out: &mut Vec<u8>) {
    let modes = term.modes();
    let flag = |mode: TermMode| if modes.contains(mode) { 'h' } else { 'l' };
    let _ = write!(out, "\x1b[?7{}", flag(TermMode::LINE_WRAP));
    let _ = write!(out, "\x1b[4{}", flag(TermMode::INSERT));
    let _ = write!(out, "\x1b[20{}", flag(TermMode::LINE_FEED_NEW_LINE));
    out.extend_from_slice(input_modes(modes).as_bytes());
}

/// The modes that change what the client's terminal sends: cursor and
/// keypad keys, paste, mouse and focus reports, and the cursor's
/// visibility.
fn input_modes(modes: TermMode) -> String {
    let flag = |mode: TermMode| if modes.contains(mode) { 'h' } else { 'l' };
    let keypad = if modes.contains(TermMode::APP_KEYPAD) {
        "\x1b="
    } else {
        "\x1b>"
    };
    format!(
        "\x1b[?1{}{keypad}\x1b[?2004{}\x1b[?1000{}\x1b[?1002{}\x1b[?1003{}\x1b[?1005{}\x1b[?1006{}\x1b[?1004{}\x1b[?25{}",
        flag(TermMode::APP_CURSOR),
        flag(TermMode::BRACKETED_PASTE),
        flag(TermMode::MOUSE_REPORT_CLICK),
        flag(TermMode::MOUSE_DRAG),
        flag(TermMode::MOUSE_MOTION),
        flag(TermMode::UTF8_MOUSE),
        flag(TermMode::SGR_MOUSE),
        flag(TermMode::FOCUS_IN_OUT),
        flag(TermMode::SHOW_CURSOR),
    )
}

/// Places the cursor as the model has it. In pending wrap (past the last
/// column) the last cell is printed again, so the client's next character
/// wraps too. In origin mode, positions count from the scroll region.
fn write_cursor_state(term: &Terminal, region: Option<(u16, u16)>, out: &mut Vec<u8>) {
    let size = term.size();
    let (row, col) = term.cursor_position();
    let origin = term.modes().contains(TermMode::ORIGIN);
    let top = if origin { region.map_or(0, |r| r.0) } else { 0 };
    if origin {
        out.extend_from_slice(b"\x1b[?6h");
    }
    let place = |out: &mut Vec<u8>, col: u16| {
        let _ = write!(out, "\x1b[{};{}H", row.saturating_sub(top) + 1, col + 1);
    };
    if col < size.cols {
        place(out, col);
        return;
    }
    let last = size.cols - 1;
    let (col, cell) = match term.cell(row, last) {
        spacer if spacer.flags.contains(Flags::WIDE_CHAR_SPACER) && last > 0 => {
            (last - 1, term.cell(row, last - 1))
        }
        cell => (last, cell),
    };
    place(out, col);
    Pen::of(cell).write(out);
    cells::write_text(cell, out);
}

/// Moves to a saved cursor's place with its attributes, ready for a save.
fn write_saved_cursor_position(saved: &SavedCursor, out: &mut Vec<u8>) {
    // A cursor saved in pending wrap cannot be placed: the last column is
    // the nearest.
    let _ = write!(out, "\x1b[{};{}H\x1b[m", saved.row + 1, saved.col + 1);
    out.extend_from_slice(saved.attributes.as_bytes());
}

/// The screen as a session preview shows it: a full paint at its size.
pub fn preview(term: &Terminal) -> Vec<u8> {
    let mut out = Vec::new();
    paint(term, term.size(), None, &mut out);
    out
}

/// What a client whose view is painted cell by cell was last sent.
#[derive(Clone)]
pub struct Painted {
    /// The painted area: the screen cropped to the client's terminal.
    area: Size,
    cells: Vec<Cell>,
    title: String,
    modes: String,
}

/// A paint for a client that first needs a clean terminal (attach, or a
/// change of role), with `scrollback` lines above it.
pub fn fresh_paint(
    term: &mut Terminal,
    viewport: Size,
    scrollback: usize,
    out: &mut Vec<u8>,
) -> Painted {
    out.extend_from_slice(RESET.as_bytes());
    write_scrollback(term, scrollback, viewport, out);
    paint(term, viewport, None, out)
}

/// Paints the top-left part of the screen that fits `viewport`, as the
/// difference from `previous` when there is one of the same area.
pub fn paint(
    term: &Terminal,
    viewport: Size,
    previous: Option<&Painted>,
    out: &mut Vec<u8>,
) -> Painted {
    paint_from(term, viewport, previous, Blank::Clear, out)
}

/// How a paint without a previous one starts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Blank {
    /// Clears the screen first.
    Clear,
    /// The screen was just cleared row by row (`ED 2` is avoided: some
    /// terminals push the screen into their history on it).
    Cleared,
}

fn paint_from(
    term: &Terminal,
    viewport: Size,
    previous: Option<&Painted>,
    blank: Blank,
    out: &mut Vec<u8>,
) -> Painted {
    let size = term.size();
    let area = Size {
        rows: size.rows.min(viewport.rows),
        cols: size.cols.min(viewport.cols),
    };
    let previous = previous.filter(|p| p.area == area);
    if previous.is_none() && blank == Blank::Clear {
        out.extend_from_slice(b"\x1b[m\x1b[H\x1b[2J");
    }
    let mut cells = Vec::with_capacity(area.rows as usize * area.cols as usize);
    let mut pen = CellWriter::default();
    let (cursor_row, cursor_col) = term.cursor_position();
    for row in 0..area.rows {
        let used = used_columns(term, row, area.cols);
        for col in 0..area.cols {
            let cell = term.cell(row, col);
            let index = cells.len();
            let changed = previous.is_none_or(|p| &p.cells[index] != cell);
            // As in the snapshot: blanks between text and before the
            // cursor are printed, so typed spaces are kept.
            let print_blank = col < used || (row == cursor_row && col < cursor_col);
            let blank_first_paint = previous.is_none() && !print_blank && cells::is_blank(cell);
            if changed && !blank_first_paint && !cell.flags.contains(Flags::WIDE_CHAR_SPACER) {
                let fits = !cell.flags.contains(Flags::WIDE_CHAR)
                    || (col + 1 < area.cols && !orphan_wide(term, row, col));
                pen.write_cell(out, row, col, cell, fits, print_blank);
            }
            cells.push(cell.clone());
        }
    }
    out.extend_from_slice(b"\x1b[m");
    write_cursor(term, area, out);
    let modes = input_modes(term.modes());
    if previous.is_none_or(|p| p.modes != modes) {
        out.extend_from_slice(modes.as_bytes());
    }
    let title = term.title();
    if previous.is_none_or(|p| p.title != title) {
        write_title(&title, out);
    }
    Painted {
        area,
        cells,
        title,
        modes,
    }
}

/// Places the cursor in a painted view, or hides it when it is outside.
fn write_cursor(term: &Terminal, area: Size, out: &mut Vec<u8>) {
    let (row, col) = term.cursor_position();
    let col = col.min(term.size().cols - 1);
    if row < area.rows && col < area.cols {
        let _ = write!(out, "\x1b[{};{}H", row + 1, col + 1);
        let visible = if term.hide_cursor() { "l" } else { "h" };
        let _ = write!(out, "\x1b[?25{visible}");
    } else {
        out.extend_from_slice(b"\x1b[?25l");
    }
}

/// Writes cells, moving the cursor and changing the pen only when needed.
#[derive(Default)]
struct CellWriter {
    at: Option<(u16, u16)>,
    pen: Option<Pen>,
}

impl CellWriter {
    /// Writes one cell at its place. A cell without text is erased (so it
    /// stays empty) unless `print_blank` or in inverse video; a wide character that does not
    /// `fit` is written as a space.
    fn write_cell(
        &mut self,
        out: &mut Vec<u8>,
        row: u16,
        col: u16,
        cell: &Cell,
        fits: bool,
        print_blank: bool,
    ) {
        if self.at != Some((row, col)) {
            let _ = write!(out, "\x1b[{};{}H", row + 1, col + 1);
        }
        let pen = Pen::of(cell);
        if self.pen != Some(pen) {
            pen.write(out);
            self.pen = Some(pen);
        }
        let wide = cell.flags.contains(Flags::WIDE_CHAR);
        // An erase keeps only the background: inverse video needs a space.
        if !cells::has_text(cell) && !print_blank && !pen.inverse() {
            out.extend_from_slice(b"\x1b[X");
            self.at = Some((row, col));
            return;
        }
        if fits {
            cells::write_text(cell, out);
        } else {
            out.push(b' ');
        }
        let width = if wide && fits { 2 } else { 1 };
        self.at = Some((row, col + width));
    }
}
