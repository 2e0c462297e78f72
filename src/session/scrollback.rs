//! The older part of a session's scrollback, kept compact: each line that
//! scrolls past vt100's own (short) scrollback is stored as its text with
//! the SGR changes inline (vt100's "basic formatted" form), about the size
//! of the line's text, instead of vt100's cell grid at about 32 bytes a
//! cell.
//!
//! Owns only those lines, oldest first, up to a capacity. It must not parse
//! terminal output: vt100 hands it finished rows (`Callbacks::on_scroll`)
//! and the terminal decides when it is cleared.

use std::collections::VecDeque;

/// Lines that scrolled off vt100's scrollback, oldest first: their bytes
/// one after another in one ring, so a line costs no allocation of its own.
pub struct CompactScrollback {
    text: VecDeque<u8>,
    lengths: VecDeque<u32>,
    capacity: usize,
    /// Reused for formatting each line.
    scratch: String,
}

impl CompactScrollback {
    pub fn new(capacity: usize) -> CompactScrollback {
        CompactScrollback {
            text: VecDeque::new(),
            lengths: VecDeque::new(),
            capacity,
            scratch: String::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.lengths.len()
    }

    /// Keeps a row that left vt100's scrollback; the oldest line goes when
    /// full. Each line starts from default attributes, so it stands alone.
    pub fn push(&mut self, row: vt100::capture::RowContents<'_>) {
        if self.capacity == 0 {
            return;
        }
        self.scratch.clear();
        let mut state = vt100::capture::BasicFormattedCaptureState::new();
        // Writing to a String cannot fail.
        let _ = row.write_formatted_basic(&mut self.scratch, &mut state);
        if self.lengths.len() == self.capacity {
            self.pop_oldest();
        }
        self.text.extend(self.scratch.as_bytes());
        self.lengths.push_back(self.scratch.len() as u32);
    }

    fn pop_oldest(&mut self) {
        if let Some(length) = self.lengths.pop_front() {
            self.text.drain(..length as usize);
        }
    }

    pub fn clear(&mut self) {
        self.text.clear();
        self.lengths.clear();
    }

    /// The newest `count` lines, oldest first, cropped to `width` columns,
    /// with their colors (`formatted`) or as plain text.
    pub fn newest(&self, count: usize, width: u16) -> impl Iterator<Item = String> + '_ {
        let skip = self.lengths.len().saturating_sub(count);
        let start: usize = self.lengths.iter().take(skip).map(|&l| l as usize).sum();
        self.lengths
            .iter()
            .skip(skip)
            .scan(start, |offset, &length| {
                let line: Vec<u8> = self
                    .text
                    .range(*offset..*offset + length as usize)
                    .copied()
                    .collect();
                *offset += length as usize;
                Some(String::from_utf8(line).unwrap_or_default())
            })
            .map(move |line| {
                let cropped = vt100::capture::basic_formatted_rows(&line, width)
                    .next()
                    .unwrap_or("");
                cropped.to_string()
            })
    }

    /// Like [`newest`](Self::newest), without the colors.
    pub fn newest_plain(&self, count: usize, width: u16) -> impl Iterator<Item = String> + '_ {
        self.newest(count, width)
            .map(|line| vt100::capture::basic_formatted_to_plain(&line).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::NonZeroU16;

    struct Collect(CompactScrollback);

    impl vt100::Callbacks for Collect {
        fn on_scroll(&mut self, row: vt100::capture::RowContents<'_>, alternate: bool) {
            if !alternate {
                self.0.push(row);
            }
        }
    }

    fn parser(capacity: usize) -> vt100::Parser<Collect> {
        let nz = |v| NonZeroU16::new(v).unwrap();
        vt100::Parser::new_with_callbacks(
            nz(2),
            nz(10),
            0,
            Collect(CompactScrollback::new(capacity)),
        )
    }

    #[test]
    fn keeps_the_newest_lines_with_their_colors() {
        let mut parser = parser(2);
        parser.process(b"one\r\n\x1b[31mtwo\x1b[m\r\nthree\r\nfour\r\nfive");
        let store = &parser.callbacks().0;
        assert_eq!(store.len(), 2);
        let lines: Vec<String> = store.newest(5, 10).collect();
        assert_eq!(lines, vec!["\x1b[31mtwo".to_string(), "three".to_string()]);
        let plain: Vec<String> = store.newest_plain(1, 10).collect();
        assert_eq!(plain, vec!["three".to_string()]);
    }

    #[test]
    fn crops_to_a_narrower_width() {
        let mut parser = parser(4);
        parser.process(b"\x1b[1mabcdefghij\r\nx\r\ny\r\nz");
        let store = &parser.callbacks().0;
        let lines: Vec<String> = store.newest_plain(4, 4).collect();
        assert_eq!(lines, vec!["abcd".to_string(), "x".to_string()]);
    }
}
