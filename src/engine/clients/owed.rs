//! Which scrollback lines a client's terminal is owed before its next
//! view: those that scrolled into the scrollback after the point its
//! terminal last saw (`seen`), as many as the scrollback still holds and
//! as fit in the view's byte budget (the newest kept).
//!
//! Must not render a view or choose a client's feed (`clients.rs` does).

use crate::engine::terminal::{HistoryMark, Terminal};

/// The lines owed, oldest first, and where the client's terminal stands
/// once it has them.
pub struct Owed {
    pub lines: Vec<String>,
    pub seen_after: HistoryMark,
}

/// The lines scrolled off since `seen`, cut to `width` columns, at most
/// `max_bytes` of them (on the alternate screen too: the main screen's
/// history went to the compact scrollback when it was taken).
pub fn lines(term: &mut Terminal, seen: HistoryMark, width: u16, max_bytes: usize) -> Owed {
    let now = term.history_mark();
    let since = usize::try_from(now.lines_since(seen)).unwrap_or(usize::MAX);
    let count = since.min(term.scrollback_len());
    let mut lines = if count == 0 {
        Vec::new()
    } else {
        term.scrollback_rows(count, width)
    };
    let mut total: usize = lines.iter().map(|l| l.len() + LINE_OVERHEAD).sum();
    let mut dropped = 0;
    while total > max_bytes && dropped < lines.len() {
        total -= lines[dropped].len() + LINE_OVERHEAD;
        dropped += 1;
    }
    lines.drain(..dropped);
    Owed {
        lines,
        seen_after: now,
    }
}

/// What writing a line costs beyond its text: placing the cursor, erasing
/// the row, the pen reset and the line feed.
const LINE_OVERHEAD: usize = 16;
