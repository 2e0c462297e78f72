//! The answers to terminal queries (cursor position, device attributes,
//! mode reports, colors), written from the session's state so that every
//! query gets exactly one answer, from here.
//!
//! Must not change the terminal's state.

use alacritty_terminal::term::TermMode;

use super::Terminal;
use crate::engine::queries::Query;
use crate::wire::Size;

/// Writes the answer a real terminal would give, using the session's state.
pub(super) fn answer(query: Query, term: &Terminal, replies: &mut Vec<u8>) {
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
        Query::KittyKeyboard { .. } | Query::ClipboardWrite | Query::ClipboardRead => Ok(()),
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
