//! The older part of a session's scrollback, kept compact: each line that
//! leaves the screen model's own (short) history is stored as its text with
//! the SGR changes inline, about the size of the line's text, instead of
//! the model's cells at 24 bytes a cell.
//!
//! Owns only those lines, oldest first, up to a capacity. It must not parse
//! terminal output: the terminal hands it finished lines (written by
//! `cells::write_row`) and decides when it is cleared.

use std::collections::VecDeque;

use unicode_width::UnicodeWidthChar;

/// Lines that left the screen model's history, oldest first: their bytes
/// one after another in one ring, so a line costs no allocation of its own.
pub struct CompactScrollback {
    text: VecDeque<u8>,
    lengths: VecDeque<u32>,
    capacity: usize,
}

impl CompactScrollback {
    pub fn new(capacity: usize) -> CompactScrollback {
        CompactScrollback {
            text: VecDeque::new(),
            lengths: VecDeque::new(),
            capacity,
        }
    }

    pub fn len(&self) -> usize {
        self.lengths.len()
    }

    /// Keeps a line (text with inline SGR, starting from the default pen);
    /// the oldest line goes when full.
    pub fn push(&mut self, line: &[u8]) {
        if self.capacity == 0 {
            return;
        }
        if self.lengths.len() == self.capacity {
            self.pop_oldest();
        }
        self.text.extend(line);
        self.lengths.push_back(line.len() as u32);
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

    /// `count` lines older than the newest `skip`, oldest first, cropped to
    /// `width` columns, with their colors (`formatted`) or as plain text.
    pub fn before_newest(
        &self,
        skip: usize,
        count: usize,
        width: u16,
        formatted: bool,
    ) -> impl Iterator<Item = String> + '_ {
        let end = self.lengths.len().saturating_sub(skip);
        let count = count.min(end);
        let skip = end - count;
        let start: usize = self.lengths.iter().take(skip).map(|&l| l as usize).sum();
        self.lengths
            .iter()
            .skip(skip)
            .take(count)
            .scan(start, move |offset, &length| {
                let line: Vec<u8> = self
                    .text
                    .range(*offset..*offset + length as usize)
                    .copied()
                    .collect();
                *offset += length as usize;
                let line = String::from_utf8(line).unwrap_or_default();
                // A character takes at least as many bytes as columns, so
                // a line no longer in bytes than `width` needs no cut (the
                // common case, and on the path of every observer caught
                // up).
                if formatted && line.len() <= usize::from(width) {
                    return Some(line);
                }
                Some(crop(&line, width, formatted))
            })
    }
}

/// A stored line cut to `width` columns; without its SGR sequences unless
/// `formatted`.
fn crop(line: &str, width: u16, formatted: bool) -> String {
    let mut out = String::with_capacity(line.len());
    let mut columns = 0usize;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // Only `CSI ... m` is stored.
            let mut sequence = String::from(c);
            for c in chars.by_ref() {
                sequence.push(c);
                if c == 'm' {
                    break;
                }
            }
            if formatted {
                out.push_str(&sequence);
            }
            continue;
        }
        let cell = c.width().unwrap_or(0);
        if columns + cell > width as usize {
            break;
        }
        columns += cell;
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_lines_with_their_colors() {
        let mut store = CompactScrollback::new(2);
        for line in ["one", "\x1b[0;31mtwo", "three"] {
            store.push(line.as_bytes());
        }
        assert_eq!(store.len(), 2);
        let lines: Vec<String> = store.before_newest(0, 5, 10, true).collect();
        assert_eq!(
            lines,
            vec!["\x1b[0;31mtwo".to_string(), "three".to_string()]
        );
        // Cut at the width, the colors kept, and no cut when it fits.
        let cut: Vec<String> = store.before_newest(1, 1, 2, true).collect();
        assert_eq!(cut, vec!["\x1b[0;31mtw".to_string()]);
        let wide: Vec<String> = store.before_newest(0, 1, 5, true).collect();
        assert_eq!(wide, vec!["three".to_string()]);
        let plain: Vec<String> = store.before_newest(0, 1, 10, false).collect();
        assert_eq!(plain, vec!["three".to_string()]);
        let older: Vec<String> = store.before_newest(1, 5, 10, false).collect();
        assert_eq!(older, vec!["two".to_string()]);
    }

    #[test]
    fn crops_to_a_narrower_width_counting_wide_characters() {
        let mut store = CompactScrollback::new(4);
        store.push("\x1b[0;1mabcdefghij".as_bytes());
        store.push("界面宽".as_bytes());
        let lines: Vec<String> = store.before_newest(0, 4, 4, false).collect();
        assert_eq!(lines, vec!["abcd".to_string(), "界面".to_string()]);
        let lines: Vec<String> = store.before_newest(0, 4, 3, true).collect();
        assert_eq!(lines, vec!["\x1b[0;1mabc".to_string(), "界".to_string()]);
    }
}
