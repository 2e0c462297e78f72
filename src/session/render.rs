//! Turns the session's terminal state into bytes for one client: the exact
//! snapshot a same-size client gets on attach, and cell-by-cell paints
//! (full or as a difference) of the top-left part of the screen for a client
//! whose terminal is another size or who fell behind.
//!
//! Owns only rendering. It must not decide which client gets what (that is
//! `clients.rs`) nor touch channels.

use std::fmt::Write as _;

use super::terminal::{Size, Terminal};

/// Puts any client terminal into a known state before a snapshot: main
/// screen, soft reset, no scroll region, default modes, cleared.
const RESET: &str = "\x1b[?1049l\x1b[!p\x1b[r\x1b[m\x1b[?25h\x1b[?1l\x1b>\x1b[?2004l\
\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[H\x1b[2J";

/// Writes the last `count` scrollback lines so they scroll into the
/// client's own scrollback, leaving the cursor at the top of a clear screen.
fn write_scrollback(term: &mut Terminal, count: usize, viewport: Size, out: &mut Vec<u8>) {
    if count == 0 || term.screen().alternate_screen() {
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
/// which the program's raw output can follow: text, colors, cursor, modes,
/// alternate screen, title and scroll region, with `scrollback` lines above.
pub fn exact_snapshot(term: &mut Terminal, scrollback: usize) -> Vec<u8> {
    let mut out = RESET.as_bytes().to_vec();
    let size = term.size();
    write_scrollback(term, scrollback, size, &mut out);
    let screen = term.screen();
    let alternate = screen.alternate_screen();
    if alternate {
        // Entering saves the main screen's cursor, as the program's did.
        write_saved_cursor_position(&term.saved_cursor(false), &mut out);
        out.extend_from_slice(b"\x1b[?1049h");
    }
    out.extend_from_slice(screen.state_formatted().as_bytes());
    write_saved_cursor_position(&term.saved_cursor(alternate), &mut out);
    out.extend_from_slice(b"\x1b7");
    if let Some((top, bottom)) = term.scroll_region() {
        let _ = write!(PushStr(&mut out), "\x1b[{};{}r", top + 1, bottom + 1);
    }
    // Put the cursor and pen back (cursor_state_formatted may redraw the
    // last cell with the current pen, so reset it first).
    out.extend_from_slice(b"\x1b[m");
    out.extend_from_slice(screen.cursor_state_formatted().as_bytes());
    out.extend_from_slice(b"\x1b[m");
    out.extend_from_slice(screen.attributes_formatted().as_bytes());
    write_title(term.title(), &mut out);
    out
}

/// Moves to a saved cursor's place with its attributes, ready for a save.
fn write_saved_cursor_position(saved: &super::terminal::SavedCursor, out: &mut Vec<u8>) {
    // A cursor saved in pending wrap cannot be placed: the last column is
    // the nearest.
    let _ = write!(
        PushStr(out),
        "\x1b[{};{}H\x1b[m",
        saved.row + 1,
        saved.col + 1
    );
    out.extend_from_slice(saved.attributes.as_bytes());
}

/// What a client whose view is painted cell by cell was last sent.
#[derive(Clone)]
pub struct Painted {
    /// The painted area: the screen cropped to the client's terminal.
    area: Size,
    cells: Vec<vt100::Cell>,
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
    let screen = term.screen();
    let size = term.size();
    let area = Size {
        rows: size.rows.min(viewport.rows),
        cols: size.cols.min(viewport.cols),
    };
    let previous = previous.filter(|p| p.area == area);
    if previous.is_none() {
        out.extend_from_slice(b"\x1b[m\x1b[H\x1b[2J");
    }
    let mut cells = Vec::with_capacity(area.rows as usize * area.cols as usize);
    let mut pen = CellWriter::default();
    for row in 0..area.rows {
        for col in 0..area.cols {
            let cell = screen.cell(row, col).cloned().unwrap_or_else(blank_cell);
            let index = cells.len();
            let changed = previous.is_none_or(|p| p.cells[index] != cell);
            let blank_first_paint = previous.is_none() && is_blank(&cell);
            if changed && !blank_first_paint && !cell.is_wide_continuation() {
                let fits = !cell.is_wide() || col + 1 < area.cols;
                pen.write_cell(out, row, col, &cell, fits);
            }
            cells.push(cell);
        }
    }
    out.extend_from_slice(b"\x1b[m");
    let cursor = cursor_in(screen, area);
    write_cursor(screen, cursor, out);
    let modes = screen.input_mode_formatted();
    if previous.is_none_or(|p| p.modes != modes) {
        out.extend_from_slice(modes.as_bytes());
    }
    let title = term.title().to_string();
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

fn blank_cell() -> vt100::Cell {
    // A default cell: taken from a blank 1x1 screen.
    let parser = vt100::Parser::new(std::num::NonZeroU16::MIN, std::num::NonZeroU16::MIN, 0);
    parser
        .screen()
        .cell(0, 0)
        .cloned()
        .expect("a 1x1 screen has a cell")
}

fn is_blank(cell: &vt100::Cell) -> bool {
    !cell.has_contents()
        && cell.bgcolor() == vt100::Color::Default
        && !cell.inverse()
        && !cell.underline()
}

fn cursor_in(screen: &vt100::Screen, area: Size) -> Option<(u16, u16)> {
    let (row, col) = screen.cursor_position();
    let col = col.min(screen.size().1.get() - 1);
    (row < area.rows && col < area.cols).then_some((row, col))
}

fn write_cursor(screen: &vt100::Screen, cursor: Option<(u16, u16)>, out: &mut Vec<u8>) {
    match cursor {
        Some((row, col)) => {
            let _ = write!(PushStr(out), "\x1b[{};{}H", row + 1, col + 1);
            let visible = if screen.hide_cursor() { "l" } else { "h" };
            let _ = write!(PushStr(out), "\x1b[?25{visible}");
        }
        // The cursor is outside this client's view: hide it.
        None => out.extend_from_slice(b"\x1b[?25l"),
    }
}

/// Writes cells, moving the cursor and changing the pen only when needed.
#[derive(Default)]
struct CellWriter {
    at: Option<(u16, u16)>,
    pen: Option<Pen>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct Pen {
    fg: vt100::Color,
    bg: vt100::Color,
    bold: bool,
    dim: bool,
    italic: bool,
    underline: bool,
    inverse: bool,
}

impl Pen {
    fn of(cell: &vt100::Cell) -> Pen {
        Pen {
            fg: cell.fgcolor(),
            bg: cell.bgcolor(),
            bold: cell.bold(),
            dim: cell.dim(),
            italic: cell.italic(),
            underline: cell.underline(),
            inverse: cell.inverse(),
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        let mut sgr = String::from("\x1b[0");
        for (on, code) in [
            (self.bold, ";1"),
            (self.dim, ";2"),
            (self.italic, ";3"),
            (self.underline, ";4"),
            (self.inverse, ";7"),
        ] {
            if on {
                sgr.push_str(code);
            }
        }
        color(&mut sgr, self.fg, 30, 38);
        color(&mut sgr, self.bg, 40, 48);
        sgr.push('m');
        out.extend_from_slice(sgr.as_bytes());
    }
}

fn color(sgr: &mut String, color: vt100::Color, base: u8, extended: u8) {
    let _ = match color {
        vt100::Color::Default => Ok(()),
        vt100::Color::Idx(i) if i < 8 => write!(sgr, ";{}", base + i),
        vt100::Color::Idx(i) if i < 16 => write!(sgr, ";{}", base + 60 + i - 8),
        vt100::Color::Idx(i) => write!(sgr, ";{extended};5;{i}"),
        vt100::Color::Rgb(r, g, b) => write!(sgr, ";{extended};2;{r};{g};{b}"),
    };
}

impl CellWriter {
    fn write_cell(
        &mut self,
        out: &mut Vec<u8>,
        row: u16,
        col: u16,
        cell: &vt100::Cell,
        fits: bool,
    ) {
        if self.at != Some((row, col)) {
            let _ = write!(PushStr(out), "\x1b[{};{}H", row + 1, col + 1);
        }
        let pen = Pen::of(cell);
        if self.pen != Some(pen) {
            pen.write(out);
            self.pen = Some(pen);
        }
        if !cell.has_contents() {
            // Erase rather than print a space, so the cell stays empty.
            out.extend_from_slice(b"\x1b[X");
            self.at = Some((row, col));
            return;
        }
        let (text, width) = match (fits, cell.is_wide()) {
            (true, wide) => (cell.contents(), if wide { 2 } else { 1 }),
            (false, _) => (" ", 1),
        };
        out.extend_from_slice(text.as_bytes());
        self.at = Some((row, col + width));
    }
}

/// Lets `write!` append to a byte vector.
struct PushStr<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for PushStr<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}
