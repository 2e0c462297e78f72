//! Finds terminal queries in a program's output (cursor position, device
//! attributes, mode and color reports) so the hub can answer each exactly
//! once and strip it from what clients receive; otherwise every attached
//! terminal would answer too, and none would answer with nobody attached.
//!
//! Owns only the splitting of output into pass-through ranges and queries,
//! with `vte` doing the escape-sequence parsing. It must not render, answer
//! or hold any session state beyond an incomplete trailing sequence.

use std::ops::Range;

use super::notification::{Notice, Notifications};

/// An incomplete escape sequence longer than this is passed through instead
/// of being held back: real queries are a few bytes long.
const MAX_HELD_SEQUENCE_BYTES: usize = 4096;
/// A clipboard write (OSC 52) is held whole up to this size, to be routed
/// to one person's clients; a longer one is dropped, never passed on.
const MAX_CLIPBOARD_BYTES: usize = 1 << 20;

/// A query the hub answers itself, or a sequence it swallows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Query {
    /// `CSI 5 n`
    Status,
    /// `CSI 6 n` (`private`: `CSI ? 6 n`)
    CursorPosition { private: bool },
    /// `CSI c`
    PrimaryAttributes,
    /// `CSI > c`
    SecondaryAttributes,
    /// `CSI > q`
    Version,
    /// `CSI ? Ps $ p`
    PrivateMode(u16),
    /// `CSI 18 t`
    TextAreaSize,
    /// `OSC 10/11/12 ; ?`: foreground, background, cursor color.
    Color(u8),
    /// Kitty keyboard protocol query or push/pop: not supported, so
    /// swallowed (clients stay in legacy key encoding, which the prefix
    /// detection relies on).
    KittyKeyboard { query: bool },
    /// `OSC 52 ; Pc ; DATA`: a clipboard write, for the clients of the
    /// person who typed last only ([`QueryFilter::take_clipboard`]).
    ClipboardWrite,
    /// `OSC 52 ; Pc ; ?`: a clipboard read, swallowed (no client's
    /// clipboard is given to a program).
    ClipboardRead,
}

/// A sequence that passes through but changes state the screen model does
/// not expose, which a reattaching client needs (the scroll region).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// `CSI top ; bottom r` as written (1-based, 0 for "default").
    ScrollRegion { top: u16, bottom: u16 },
    /// `CSI ? 1049 h`: the cursor is saved, then the alternate screen is
    /// cleared and entered. Placed before the sequence.
    EnterAlternate,
    /// Follows `CSI ? 1049 h` (after `EnterAlternate`), once the alternate
    /// screen is entered.
    EnteredAlternate,
    /// `CSI ? 1049 l`: the program leaves the alternate screen.
    LeaveAlternate,
    /// `ESC 7`: the cursor (position and attributes) is saved. Placed
    /// before the sequence.
    SaveCursor,
    /// `ESC c`: full reset.
    Reset,
    /// `CSI 3 J`: the scrollback is erased.
    EraseScrollback,
    /// `CSI ? 2026 h` / `l`: a synchronized-output frame begins or ends.
    SyncFrame { open: bool },
    /// `OSC 9`, `OSC 777 ; notify` or `OSC 99`: the program asks for the
    /// user's attention. Its message: [`QueryFilter::take_notice`].
    Notification,
}

impl Marker {
    /// Whether the marker stands before its sequence (the state it needs
    /// is the one before) rather than after it.
    fn goes_before(self) -> bool {
        matches!(self, Marker::EnterAlternate | Marker::SaveCursor)
    }
}

/// One piece of a processed chunk, in output order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Bytes to pass on: a range into [`QueryFilter::buffer`].
    Output(Range<usize>),
    Query(Query),
    /// Follows the `Output` that holds the marked sequence.
    Marker(Marker),
}

#[derive(Default)]
struct Tracker {
    /// Index in the working buffer where the current escape sequence began.
    sequence_start: Option<usize>,
    /// `sequence_start` before the last ESC, to restore when that ESC turns
    /// out to be the first half of a string terminator (`ESC \`).
    previous_start: Option<usize>,
    found: Option<Query>,
    marker: Option<Marker>,
    finished: bool,
    notifications: Notifications,
    /// The message of the last notification found (`None` inside: none).
    notice: Option<Option<String>>,
    /// Clipboard writes found, as sequences to send on.
    clipboard: Vec<Vec<u8>>,
}

pub struct QueryFilter {
    parser: vte::Parser,
    tracker: Tracker,
    /// The held-back tail of the last chunk followed by the current chunk.
    buffer: Vec<u8>,
    held: Vec<u8>,
    last_was_esc: bool,
    /// The query just found ended with the ESC of `ESC \`: drop the `\`.
    swallow_terminator: bool,
    /// A sequence too long to hold is being passed through: the parser
    /// still reads every byte of it, to see where (and how) it ends.
    passing_through: bool,
    /// The output passed on so far ends inside a character.
    split_character: bool,
    /// A clipboard write too long to hold is being dropped.
    discarding: bool,
}

impl Default for QueryFilter {
    fn default() -> Self {
        Self::new()
    }
}

impl QueryFilter {
    pub fn new() -> Self {
        QueryFilter {
            parser: vte::Parser::new(),
            tracker: Tracker::default(),
            buffer: Vec::new(),
            held: Vec::new(),
            last_was_esc: false,
            swallow_terminator: false,
            passing_through: false,
            split_character: false,
            discarding: false,
        }
    }

    /// The clipboard writes found since the last call, each as an
    /// `OSC 52` sequence ended by BEL.
    pub fn take_clipboard(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.tracker.clipboard)
    }

    /// The message of the last notification marked since the last call
    /// (`Some(None)`: a notification without a message).
    pub fn take_notice(&mut self) -> Option<Option<String>> {
        self.tracker.notice.take()
    }

    /// Frees the working buffer (only read during a feed, it keeps the
    /// capacity of the largest chunk fed) and what the held-back tail
    /// does not use.
    pub fn release_spare_memory(&mut self) {
        self.buffer = Vec::new();
        self.held.shrink_to_fit();
    }

    /// The bytes that `Piece::Output` ranges of the last `feed` refer to.
    pub fn buffer(&self) -> &[u8] {
        &self.buffer
    }

    /// Splits `chunk` (after any sequence held back last time) into pieces.
    /// A trailing incomplete escape sequence is held back for the next call.
    pub fn feed(&mut self, chunk: &[u8], pieces: &mut Vec<Piece>) {
        pieces.clear();
        self.buffer.clear();
        self.buffer.append(&mut self.held);
        let first_new = self.buffer.len();
        self.buffer.extend_from_slice(chunk);
        let mut emitted = 0;
        let mut index = first_new;
        while index < self.buffer.len() {
            if self.outside_sequences() {
                // Text and controls between sequences need no parsing: only
                // an ESC can start a sequence (C1 controls are not used in
                // UTF-8), so jump to the next one.
                match memchr::memchr(0x1b, &self.buffer[index..]) {
                    Some(offset) => index += offset,
                    None => break,
                }
                // Most of a TUI's output is colors and cursor moves: those
                // are neither queries nor markers, so skip them whole.
                if let Some(length) = plain_csi_length(&self.buffer[index..]) {
                    index += length;
                    continue;
                }
            }
            let byte = self.buffer[index];
            index += 1;
            let index = index - 1;
            self.note_escape(index, byte);
            self.parser.advance(&mut self.tracker, &[byte]);
            if std::mem::take(&mut self.swallow_terminator) && byte == b'\\' {
                emitted = emitted.max(index + 1);
            }
            if self.discarding && self.tracker.finished {
                // The end of a clipboard write too long to route: drop it
                // whole, its terminator included.
                self.discarding = false;
                self.tracker.found = None;
                self.tracker.clipboard.pop();
                emitted = index + 1;
                self.swallow_terminator = byte == 0x1b;
            }
            emitted = self.place_found(index, byte, emitted, pieces);
            if std::mem::take(&mut self.tracker.finished) {
                self.tracker.sequence_start = None;
                self.tracker.previous_start = None;
                self.passing_through = false;
            }
        }
        let (output_end, hold_from) = self.hold_from();
        let (output_end, hold_from) = (output_end.max(emitted), hold_from.max(emitted));
        // What this call passes on ends at `output_end` (nothing if 0).
        if output_end > 0 {
            self.split_character = ends_inside_character(&self.buffer[..output_end]);
        }
        if output_end > emitted {
            pieces.push(Piece::Output(emitted..output_end));
        }
        self.held.extend_from_slice(&self.buffer[hold_from..]);
        let rebase = |index: Option<usize>| index.map(|i| i.saturating_sub(hold_from));
        self.tracker.sequence_start = rebase(self.tracker.sequence_start);
        self.tracker.previous_start = rebase(self.tracker.previous_start);
    }

    /// Puts what the byte at `index` completed (a query to remove, a
    /// marker to place) among the pieces; returns how far the buffer has
    /// been placed.
    fn place_found(
        &mut self,
        index: usize,
        byte: u8,
        mut emitted: usize,
        pieces: &mut Vec<Piece>,
    ) -> usize {
        if let Some(query) = self.tracker.found.take() {
            // An OSC ended by `ESC \` is dispatched on the ESC: the
            // sequence began before it, and the `\` that follows is its.
            let ended_by_esc = byte == 0x1b;
            let start = if ended_by_esc {
                self.tracker.previous_start
            } else {
                self.tracker.sequence_start
            };
            let start = start.unwrap_or(index).max(emitted);
            if start > emitted {
                pieces.push(Piece::Output(emitted..start));
            }
            pieces.push(Piece::Query(query));
            emitted = index + 1;
            self.swallow_terminator = ended_by_esc;
        }
        if let Some(marker) = self.tracker.marker.take() {
            let split = if marker.goes_before() {
                self.tracker.sequence_start.unwrap_or(index).max(emitted)
            } else {
                index + 1
            };
            if split > emitted {
                pieces.push(Piece::Output(emitted..split));
            }
            pieces.push(Piece::Marker(marker));
            emitted = split;
            if marker == Marker::EnterAlternate {
                // And once the sequence has taken effect.
                pieces.push(Piece::Output(emitted..index + 1));
                pieces.push(Piece::Marker(Marker::EnteredAlternate));
                emitted = index + 1;
            }
        }
        emitted
    }

    /// Whether the output passed on so far ends outside any escape
    /// sequence and between characters: bytes written to a client there
    /// cannot change what the program draws.
    pub fn at_safe_point(&self) -> bool {
        !self.passing_through && !self.split_character
    }

    /// True between sequences, where vte would only print or execute.
    fn outside_sequences(&self) -> bool {
        self.tracker.sequence_start.is_none()
            && !self.last_was_esc
            && !self.swallow_terminator
            && !self.passing_through
    }

    /// Where the output passed on ends, and where the bytes held for the
    /// next call begin: both where the incomplete trailing sequence
    /// begins, or the buffer's end; a clipboard write too long to hold
    /// ends the output at its start and is not held (it is dropped).
    fn hold_from(&mut self) -> (usize, usize) {
        let end = self.buffer.len();
        if self.discarding {
            return (0, end);
        }
        let mut start = self.tracker.sequence_start;
        if self.last_was_esc {
            start = match (start, self.tracker.previous_start) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        let clipboard = start.is_some_and(|s| self.buffer[s..].starts_with(b"\x1b]52;"));
        let limit = if clipboard {
            MAX_CLIPBOARD_BYTES
        } else {
            MAX_HELD_SEQUENCE_BYTES
        };
        match start {
            Some(start) if end - start <= limit => (start, start),
            _ => {
                self.passing_through |= start.is_some();
                self.discarding = clipboard;
                self.tracker.sequence_start = None;
                self.tracker.previous_start = None;
                match start {
                    Some(start) if clipboard => (start, end),
                    _ => (end, end),
                }
            }
        }
    }

    fn note_escape(&mut self, index: usize, byte: u8) {
        if byte == 0x1b {
            self.tracker.previous_start = self.tracker.sequence_start;
            self.tracker.sequence_start = Some(index);
            self.last_was_esc = true;
            return;
        }
        if self.last_was_esc && byte == b'\\' && self.tracker.previous_start.is_some() {
            self.tracker.sequence_start = self.tracker.previous_start;
        }
        self.last_was_esc = false;
    }
}

/// The length of the complete control sequence `bytes` starts with, when
/// it is one nothing here looks for: `ESC [`, numeric parameters only (no
/// private marker, no intermediates) and a final byte that no query or
/// marker ends with. `None` for anything else, which the parser then reads.
fn plain_csi_length(bytes: &[u8]) -> Option<usize> {
    /// Final bytes of the sequences `csi_dispatch` looks at.
    const WATCHED_FINALS: &[u8] = b"ncqptuJrhl";
    if bytes.get(1) != Some(&b'[') {
        return None;
    }
    let parameters = bytes[2..]
        .iter()
        .take_while(|b| b.is_ascii_digit() || **b == b';' || **b == b':')
        .count();
    let end = 2 + parameters;
    let last = *bytes.get(end)?;
    let plain = (0x40..=0x7e).contains(&last) && !WATCHED_FINALS.contains(&last);
    plain.then_some(end + 1)
}

/// Whether `bytes` ends with the start of a UTF-8 character whose
/// continuation bytes have not come yet.
fn ends_inside_character(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(3)..];
    for (back, byte) in tail.iter().rev().enumerate() {
        let length = match byte {
            0x80..=0xbf => continue,
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf7 => 4,
            _ => return false,
        };
        return back + 1 < length;
    }
    false
}

fn first_param(params: &vte::Params) -> Option<u16> {
    params.iter().next().and_then(|p| p.first().copied())
}

impl vte::Perform for Tracker {
    fn print(&mut self, _c: char) {
        self.finished = true;
    }

    fn execute(&mut self, byte: u8) {
        // CAN and SUB abort a sequence; other controls may sit inside one.
        if byte == 0x18 || byte == 0x1a || self.sequence_start.is_none() {
            self.finished = true;
        }
    }

    fn hook(&mut self, _params: &vte::Params, _intermediates: &[u8], _ignore: bool, _c: char) {}

    fn unhook(&mut self) {
        self.finished = true;
    }

    fn osc_dispatch(&mut self, params: &[&[u8]], _bell_terminated: bool) {
        self.finished = true;
        if let Notice::Raised(message) = self.notifications.osc(params) {
            self.marker = Some(Marker::Notification);
            self.notice = Some(message);
        }
        if let [which, b"?"] = params {
            self.found = match *which {
                b"10" => Some(Query::Color(10)),
                b"11" => Some(Query::Color(11)),
                b"12" => Some(Query::Color(12)),
                _ => None,
            };
        }
        if let [b"52", selection, data @ ..] = params {
            let data = data.join(&b';');
            if data == b"?" {
                self.found = Some(Query::ClipboardRead);
            } else {
                let mut sequence = b"\x1b]52;".to_vec();
                sequence.extend_from_slice(selection);
                sequence.push(b';');
                sequence.extend_from_slice(&data);
                sequence.push(0x07);
                self.clipboard.push(sequence);
                self.found = Some(Query::ClipboardWrite);
            }
        }
    }

    fn csi_dispatch(&mut self, params: &vte::Params, intermediates: &[u8], ignore: bool, c: char) {
        self.finished = true;
        if ignore {
            return;
        }
        let first = first_param(params);
        self.found = match (intermediates, c, first) {
            (b"", 'n', Some(5)) => Some(Query::Status),
            (b"", 'n', Some(6)) => Some(Query::CursorPosition { private: false }),
            (b"?", 'n', Some(6)) => Some(Query::CursorPosition { private: true }),
            (b"", 'c', None | Some(0)) => Some(Query::PrimaryAttributes),
            (b">", 'c', None | Some(0)) => Some(Query::SecondaryAttributes),
            (b">", 'q', None | Some(0)) => Some(Query::Version),
            (b"?$", 'p', Some(mode)) => Some(Query::PrivateMode(mode)),
            (b"", 't', Some(18)) => Some(Query::TextAreaSize),
            (b"?", 'u', _) => Some(Query::KittyKeyboard { query: true }),
            (b">" | b"<" | b"=", 'u', _) => Some(Query::KittyKeyboard { query: false }),
            _ => None,
        };
        if intermediates.is_empty() && c == 'r' {
            let mut values = params.iter().map(|p| p.first().copied().unwrap_or(0));
            let top = values.next().unwrap_or(0);
            let bottom = values.next().unwrap_or(0);
            self.marker = Some(Marker::ScrollRegion { top, bottom });
        }
        let has_mode = |mode: u16| params.iter().any(|p| p.first() == Some(&mode));
        if matches!(intermediates, b"" | b"?") && c == 'J' && first == Some(3) {
            self.marker = Some(Marker::EraseScrollback);
        }
        if intermediates == b"?" && c == 'h' && has_mode(1049) {
            self.marker = Some(Marker::EnterAlternate);
        }
        if intermediates == b"?" && c == 'l' && has_mode(1049) {
            self.marker = Some(Marker::LeaveAlternate);
        }
        if intermediates == b"?" && (c == 'h' || c == 'l') && has_mode(2026) {
            self.marker = Some(Marker::SyncFrame { open: c == 'h' });
        }
    }

    fn esc_dispatch(&mut self, intermediates: &[u8], _ignore: bool, byte: u8) {
        self.finished = true;
        match (intermediates, byte) {
            (b"", b'c') => self.marker = Some(Marker::Reset),
            (b"", b'7') => self.marker = Some(Marker::SaveCursor),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
