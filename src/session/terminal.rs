//! The session's terminal state: a `vt100` parser with scrollback, plus what
//! vt100 does not keep (title, scroll region, attention) and the answers to
//! terminal queries, which must come from here exactly once.
//!
//! Owns the truth about the screen. It must not know about clients, channels
//! or the PTY; it turns output bytes into state, pass-through bytes and
//! replies.

use std::num::NonZeroU16;

use super::queries::{Marker, Piece, Query, QueryFilter};
use super::scrollback::CompactScrollback;

/// Scrollback lines vt100 keeps as cells (the newest); older ones are kept
/// compact. vt100 pulls these back onto the screen when it grows taller.
const CELL_SCROLLBACK_LINES: usize = 100;

/// Rows and columns of a terminal, both at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Size {
    pub rows: u16,
    pub cols: u16,
}

impl Size {
    /// Largest size accepted from a client; anything bigger is clamped.
    pub const MAX: u16 = 1000;

    pub fn new(rows: u32, cols: u32) -> Size {
        let clamp = |v: u32| v.clamp(1, Size::MAX as u32) as u16;
        Size {
            rows: clamp(rows),
            cols: clamp(cols),
        }
    }

    fn nonzero(self) -> (NonZeroU16, NonZeroU16) {
        let nz = |v: u16| NonZeroU16::new(v.max(1)).unwrap_or(NonZeroU16::MIN);
        (nz(self.rows), nz(self.cols))
    }
}

/// Events vt100 reports through callbacks, and the lines that scroll past
/// its scrollback.
pub struct Events {
    title: String,
    attention: bool,
    older: CompactScrollback,
}

impl vt100::Callbacks for Events {
    fn on_scroll(&mut self, row: vt100::capture::RowContents<'_>, alternate_screen: bool) {
        // The alternate screen has no scrollback, as in vt100 and xterm.
        if !alternate_screen {
            self.older.push(row);
        }
    }

    fn audible_bell(&mut self, _: &mut vt100::Screen) {
        self.attention = true;
    }

    fn set_window_title(&mut self, _: &mut vt100::Screen, title: &[u8]) {
        // Control characters in a title could inject sequences on reattach.
        self.title = String::from_utf8_lossy(title)
            .chars()
            .filter(|c| !c.is_control())
            .take(512)
            .collect();
    }

    fn unhandled_osc(&mut self, _: &mut vt100::Screen, params: &[&[u8]]) {
        // OSC 9 (iTerm2/ConEmu notification) and OSC 777 (notify).
        if matches!(params.first(), Some(&b"9") | Some(&b"777")) {
            self.attention = true;
        }
    }
}

/// A scroll region as 0-based inclusive rows, when not the whole screen.
pub type ScrollRegion = Option<(u16, u16)>;

/// A cursor saved by `ESC 7` (or `CSI ? 1049 h`): its position, and the
/// SGR of the attributes saved with it. As in vt100, positions are saved
/// per screen and attributes once for both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedCursor {
    pub row: u16,
    pub col: u16,
    pub attributes: String,
}

pub struct Terminal {
    parser: vt100::Parser<Events>,
    filter: QueryFilter,
    pieces: Vec<Piece>,
    /// Scroll regions of the main and alternate screens, kept as vt100
    /// keeps them (it does not expose them).
    regions: [ScrollRegion; 2],
    /// Cursor positions saved on the main and alternate screens, and the
    /// attributes saved last, likewise.
    saved: [(u16, u16); 2],
    saved_attributes: String,
    /// The open synchronized-output frame, numbered from 1, if any.
    sync_frame: Option<u64>,
    sync_frames_begun: u64,
}

impl Terminal {
    pub fn new(size: Size, scrollback_lines: usize) -> Terminal {
        let (rows, cols) = size.nonzero();
        let cell_lines = scrollback_lines.min(CELL_SCROLLBACK_LINES);
        let events = Events {
            title: String::new(),
            attention: false,
            older: CompactScrollback::new(scrollback_lines - cell_lines),
        };
        Terminal {
            parser: vt100::Parser::new_with_callbacks(rows, cols, cell_lines, events),
            filter: QueryFilter::new(),
            pieces: Vec::new(),
            regions: [None, None],
            saved: [(0, 0); 2],
            saved_attributes: String::new(),
            sync_frame: None,
            sync_frames_begun: 0,
        }
    }

    pub fn screen(&self) -> &vt100::Screen {
        self.parser.screen()
    }

    pub fn size(&self) -> Size {
        let (rows, cols) = self.parser.screen().size();
        Size {
            rows: rows.get(),
            cols: cols.get(),
        }
    }

    pub fn title(&self) -> &str {
        &self.parser.callbacks().title
    }

    /// The active screen's scroll region, 0-based inclusive.
    pub fn scroll_region(&self) -> ScrollRegion {
        self.regions[self.parser.screen().alternate_screen() as usize]
    }

    /// The synchronized-output frame the program has open, if any: a number
    /// that differs for each frame.
    pub fn sync_frame(&self) -> Option<u64> {
        self.sync_frame
    }

    /// The cursor saved on the main (`alternate` false) or alternate screen.
    /// Never saved means the top-left corner, as in vt100.
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
        let screen = self.parser.screen();
        let (row, col) = screen.cursor_position();
        // Kept as vt100 keeps it: past the last column in pending wrap.
        self.saved[alternate] = (row, col);
        self.saved_attributes = screen.attributes_formatted();
    }

    fn apply_marker(&mut self, marker: Marker) {
        let alternate = self.parser.screen().alternate_screen() as usize;
        match marker {
            Marker::ScrollRegion { top, bottom } => {
                // As vt100 (and xterm) read DECSTBM: defaults, clamping, and
                // an empty region meaning the whole screen.
                let rows = self.size().rows;
                let top = top.max(1) - 1;
                let bottom = if bottom == 0 { rows } else { bottom }.min(rows) - 1;
                let whole = top == 0 && bottom == rows - 1;
                self.regions[alternate] = (top < bottom && !whole).then_some((top, bottom));
            }
            Marker::EnterAlternate => {
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
                    self.parser.callbacks_mut().older.clear();
                }
            }
            Marker::Reset => {
                self.parser.callbacks_mut().older.clear();
                self.sync_frame = None;
                self.regions = [None, None];
                self.saved = [(0, 0); 2];
                self.saved_attributes.clear();
            }
        }
    }

    /// True once since the last call if the program rang the bell or sent a
    /// notification.
    pub fn take_attention(&mut self) -> bool {
        std::mem::take(&mut self.parser.callbacks_mut().attention)
    }

    pub fn resize(&mut self, size: Size) {
        let (rows, cols) = size.nonzero();
        let alternate = self.parser.screen().alternate_screen() as usize;
        let row_before = self.parser.screen().cursor_position().0;
        self.parser.set_size(rows, cols);
        // Resizing resets scroll regions, in vt100 as in xterm. vt100 moves
        // a saved cursor by the rows it moved the cursor (lines pulled from
        // or pushed to scrollback), and keeps it on the screen.
        self.regions = [None, None];
        let shift = i32::from(self.parser.screen().cursor_position().0) - i32::from(row_before);
        for (grid, (row, col)) in self.saved.iter_mut().enumerate() {
            let moved = i32::from(*row) + if grid == alternate { shift } else { 0 };
            *row = moved.clamp(0, i32::from(rows.get()) - 1) as u16;
            *col = (*col).min(cols.get() - 1);
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
                    let bytes = &self.filter.buffer()[range.clone()];
                    self.parser.process(bytes);
                    pass_through.extend_from_slice(bytes);
                }
                Piece::Query(query) => answer(
                    *query,
                    self.parser.screen(),
                    self.sync_frame.is_some(),
                    replies,
                ),
                Piece::Marker(marker) => pending_marker = Some(*marker),
            }
            if let Some(marker) = pending_marker.take() {
                self.apply_marker(marker);
            }
        }
        self.pieces = pieces;
    }

    /// The screen's rows after the last `scrollback` scrollback lines, as
    /// plain text or with colors (`ansi`), trailing blanks not trimmed.
    pub fn capture_rows(&mut self, scrollback: usize, ansi: bool) -> Vec<String> {
        let width = self.size().cols;
        let mut lines = self.collect_scrollback(scrollback, width, ansi);
        let screen = self.parser.screen();
        if ansi {
            lines.extend(screen.rows_formatted(0, width));
        } else {
            lines.extend(screen.rows(0, width));
        }
        lines
    }

    /// The last `count` scrollback lines (oldest first), each formatted and
    /// cropped to `width` columns. Empty on the alternate screen.
    pub fn scrollback_rows(&mut self, count: usize, width: u16) -> Vec<String> {
        self.collect_scrollback(count, width, true)
    }

    /// Lines in the scrollback, compact and vt100's.
    pub fn scrollback_len(&self) -> usize {
        self.parser.callbacks().older.len() + self.parser.screen().scrollback_len()
    }

    /// The newest `count` scrollback lines: the compact ones first, then
    /// vt100's, read by scrolling its view back a screenful at a time (the
    /// view is always left at the live screen).
    fn collect_scrollback(&mut self, count: usize, width: u16, formatted: bool) -> Vec<String> {
        let (screen, events) = self.parser.screen_and_callbacks_mut();
        let recent = count.min(screen.scrollback_len());
        let older = count - recent;
        let mut lines = Vec::with_capacity(recent + older.min(events.older.len()));
        if formatted {
            lines.extend(events.older.newest(older, width));
        } else {
            lines.extend(events.older.newest_plain(older, width));
        }
        let rows = screen.size().0.get() as usize;
        let mut offset = recent;
        while offset > 0 {
            screen.set_scrollback(offset);
            let take = offset.min(rows);
            if formatted {
                lines.extend(screen.rows_formatted(0, width).take(take));
            } else {
                lines.extend(screen.rows(0, width).take(take));
            }
            offset -= take;
        }
        screen.set_scrollback(0);
        lines
    }
}

/// Writes the answer a real terminal would give, using the session's state.
fn answer(query: Query, screen: &vt100::Screen, in_sync_frame: bool, replies: &mut Vec<u8>) {
    use std::io::Write;
    let (rows, cols) = screen.size();
    let (row, col) = screen.cursor_position();
    let col = col.min(cols.get() - 1);
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
                2026 if in_sync_frame => 1,
                2026 => 2,
                _ => private_mode_state(screen, mode),
            };
            write!(replies, "\x1b[?{mode};{state}$y")
        }
        Query::TextAreaSize => write!(replies, "\x1b[8;{};{}t", rows.get(), cols.get()),
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
fn private_mode_state(screen: &vt100::Screen, mode: u16) -> u8 {
    use vt100::MouseProtocolMode as Mouse;
    let flag = |on: bool| if on { 1 } else { 2 };
    match mode {
        1 => flag(screen.application_cursor()),
        25 => flag(!screen.hide_cursor()),
        47 | 1047 | 1049 => flag(screen.alternate_screen()),
        1000 => flag(screen.mouse_protocol_mode() == Mouse::PressRelease),
        1002 => flag(screen.mouse_protocol_mode() == Mouse::ButtonMotion),
        1003 => flag(screen.mouse_protocol_mode() == Mouse::AnyMotion),
        1006 => flag(screen.mouse_protocol_encoding() == vt100::MouseProtocolEncoding::Sgr),
        2004 => flag(screen.bracketed_paste()),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(term.screen().contents(), "abcdef");
    }

    #[test]
    fn title_and_bell_are_tracked() {
        let mut term = Terminal::new(Size::new(24, 80), 100);
        run(&mut term, b"\x1b]2;my \x1btitle\x07\x07");
        assert_eq!(term.title(), "my ");
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
        assert_eq!(term.screen().scrollback(), 0);
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
        assert!(colored[0].contains("\x1b[31m"), "{:?}", colored[0]);
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
