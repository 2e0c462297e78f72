//! Catching a client's own history up: the scrollback lines that scrolled
//! off while a client was behind (or was being painted) are written into
//! its terminal's history, in order, before its next view, so the person
//! scrolling back in their terminal finds every line.
//!
//! How: on the main screen with no scroll region, up to a screenful of
//! lines is written over the top rows, then as many line feeds at the
//! bottom row scroll exactly those rows into the terminal's history; then
//! the next screenful. The screen is then cleared row by row: `ED 2` is
//! never used here, since Alacritty, VTE (GNOME Terminal) and others push
//! the screen into their history on it, which would put the rows that were
//! on screen between the caught-up lines.
//!
//! Must not decide which lines a client is owed (`clients.rs` does).

use std::io::Write as _;

use super::{Blank, Painted, RESET_MODES, paint_from, write_exact_state};
use crate::engine::terminal::Terminal;
use crate::wire::Size;

/// Leaves the alternate screen (its history is the main screen's), drops
/// any scroll region and origin or insert mode, default pen.
const TO_MAIN_SCREEN: &str = "\x1b[?1049l\x1b[r\x1b[?6l\x1b[4l\x1b[m";

/// Writes `lines` (oldest first, each fitting the viewport's width) into
/// the history of a terminal of `viewport`'s size, and leaves its screen
/// blank.
fn push_history(lines: &[String], viewport: Size, out: &mut Vec<u8>) {
    let rows = usize::from(viewport.rows.max(1));
    for chunk in lines.chunks(rows) {
        for (row, line) in chunk.iter().enumerate() {
            // Erased before it is written: an erase after a full-width line
            // would take its last character (the cursor waits there).
            let _ = write!(out, "\x1b[{};1H\x1b[2K", row + 1);
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\x1b[m");
        }
        let _ = write!(out, "\x1b[{rows};1H");
        out.extend(std::iter::repeat_n(b'\n', chunk.len()));
    }
    clear_rows(rows, out);
}

fn clear_rows(rows: usize, out: &mut Vec<u8>) {
    for row in 1..=rows {
        let _ = write!(out, "\x1b[{row};1H\x1b[2K");
    }
    out.extend_from_slice(b"\x1b[H");
}

/// A page of `lines` into the history of a client of `viewport`'s size,
/// when more are to follow before its view.
pub fn history_page(lines: &[String], viewport: Size, out: &mut Vec<u8>) {
    out.extend_from_slice(TO_MAIN_SCREEN.as_bytes());
    push_history(lines, viewport, out);
}

/// For a client of the PTY's size back from behind: `lines` into its
/// history, then the exact state, after which raw output can follow.
pub fn caught_up_snapshot(term: &Terminal, lines: &[String]) -> Vec<u8> {
    let mut out = RESET_MODES.as_bytes().to_vec();
    out.extend_from_slice(TO_MAIN_SCREEN.as_bytes());
    push_history(lines, term.size(), &mut out);
    write_exact_state(term, &mut out);
    out
}

/// For a painted client: `lines` into its history, then a whole paint.
pub fn caught_up_paint(
    term: &Terminal,
    viewport: Size,
    lines: &[String],
    out: &mut Vec<u8>,
) -> Painted {
    out.extend_from_slice(TO_MAIN_SCREEN.as_bytes());
    push_history(lines, viewport, out);
    paint_from(term, viewport, None, Blank::Cleared, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alacritty_terminal::event::VoidListener;
    use alacritty_terminal::grid::Dimensions;
    use alacritty_terminal::index::{Column, Line};
    use alacritty_terminal::term::test::TermSize;
    use alacritty_terminal::term::{Config, Term};
    use alacritty_terminal::vte::ansi::Processor;

    /// A terminal that pushes its screen into history on `ED 2`, as
    /// Alacritty itself does.
    fn alacritty(rows: usize, cols: usize) -> Term<VoidListener> {
        let config = Config {
            scrolling_history: 1000,
            ..Config::default()
        };
        Term::new(config, &TermSize::new(cols, rows), VoidListener)
    }

    fn history(term: &Term<VoidListener>) -> Vec<String> {
        let grid = term.grid();
        (1..=grid.history_size() as i32)
            .rev()
            .map(|depth| {
                let row = &grid[Line(-depth)];
                (0..grid.columns())
                    .map(|c| row[Column(c)].c)
                    .collect::<String>()
                    .trim_end()
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn lines_land_in_the_history_in_order_and_nothing_else_does() {
        let mut client = alacritty(4, 10);
        let mut parser: Processor = Processor::new();
        parser.advance(&mut client, b"old0\r\nold1\r\non screen\r\n\x1b[?1049halt");
        let lines: Vec<String> = (1..=9)
            .map(|n| format!("\x1b[3{}mline{n}", n % 7))
            .collect();
        let mut out = Vec::new();
        out.extend_from_slice(TO_MAIN_SCREEN.as_bytes());
        push_history(&lines, Size { rows: 4, cols: 10 }, &mut out);
        parser.advance(&mut client, &out);
        let expected: Vec<String> = (1..=9).map(|n| format!("line{n}")).collect();
        assert_eq!(history(&client), expected);
        let screen: String = (0..4)
            .flat_map(|r| (0..10).map(move |c| (r, c)))
            .map(|(r, c)| client.grid()[Line(r)][Column(c)].c)
            .collect();
        assert_eq!(screen.trim(), "", "the screen is left blank");
        // A following clear pushes nothing more.
        parser.advance(&mut client, b"\x1b[H\x1b[2J");
        assert_eq!(history(&client).len(), 9);
    }
}
