//! Which scrollback lines a client's terminal is owed before its next
//! view: those that scrolled into the scrollback after the point its
//! terminal last saw (`seen`) and are still there, oldest first, a page at
//! a time: a page holds what fits in the view's byte budget, and a client
//! owed more gets the rest in the next pages before its view, so neither
//! a line nor the server's memory bound (`sessions.client_buffer`) gives.
//!
//! Must not render a view or choose a client's feed (`clients.rs` does).

use crate::engine::terminal::{HistoryMark, Terminal};

/// What writing a line costs beyond its text: placing the cursor, erasing
/// the row, the pen reset and the line feed.
const LINE_OVERHEAD: usize = 16;
/// Lines formatted at a time while filling a page.
const WINDOW: usize = 256;

/// A page of owed lines, oldest first.
pub struct Owed {
    pub lines: Vec<String>,
    /// Where the client's terminal stands once it has them.
    pub seen_after: HistoryMark,
    /// Whether more lines are owed after these.
    pub more: bool,
}

/// The next page of lines scrolled off since `seen`, cut to `width`
/// columns, at most `max_bytes` of them (but at least one). Lines that
/// already left the scrollback are passed over.
pub fn page(term: &Terminal, seen: HistoryMark, width: u16, max_bytes: usize) -> Owed {
    let now = term.history_mark();
    let owed = usize::try_from(now.lines_since(seen)).unwrap_or(usize::MAX);
    let available = owed.min(term.scrollback_len());
    let gone = owed - available;
    let mut lines = Vec::new();
    let mut bytes = 0;
    'filling: while lines.len() < available {
        let left = available - lines.len();
        let count = left.min(WINDOW);
        for line in term.scrollback_window(left - count, count, width, true) {
            let cost = line.len() + LINE_OVERHEAD;
            if bytes + cost > max_bytes && !lines.is_empty() {
                break 'filling;
            }
            bytes += cost;
            lines.push(line);
        }
    }
    let more = lines.len() < available;
    let seen_after = if gone + lines.len() == owed {
        now
    } else {
        seen.advanced((gone + lines.len()) as u64)
    };
    Owed {
        lines,
        seen_after,
        more,
    }
}
