//! Turns the raw bytes a client's terminal sends into key and paste
//! events, with `terminput` doing the decoding. This module only collects
//! the bytes of a sequence until it is whole.
//!
//! Must not grow without bound: a sequence that never ends is dropped
//! after [`MAX_SEQUENCE`] bytes (a paste after [`MAX_PASTE`]), and bytes
//! that decode to nothing are skipped.

use terminput::Event;

/// Longest escape sequence collected before it is dropped as garbage.
const MAX_SEQUENCE: usize = 256;
/// Longest bracketed paste kept; the picker's text fields are short.
const MAX_PASTE: usize = 64 * 1024;
const ESC: u8 = 0x1b;
const PASTE_START: &[u8] = b"\x1b[200~";
const PASTE_END: &[u8] = b"\x1b[201~";

/// Collects bytes into whole input events.
#[derive(Debug, Default)]
pub struct KeyDecoder {
    pending: Vec<u8>,
}

impl KeyDecoder {
    pub fn new() -> Self {
        KeyDecoder::default()
    }

    /// Decodes `bytes` (one read from the client) into `events`, in order.
    /// An ESC at the very end of a read is the Esc key: terminals send an
    /// escape sequence in one write.
    pub fn feed(&mut self, bytes: &[u8], events: &mut Vec<Event>) {
        for (index, &byte) in bytes.iter().enumerate() {
            self.pending.push(byte);
            let more_follows = index + 1 < bytes.len();
            if self.pending.starts_with(PASTE_START) {
                self.feed_paste(events);
                continue;
            }
            if self.pending == [ESC] && more_follows {
                continue;
            }
            self.decode(events);
        }
    }

    /// Inside a bracketed paste only the end marker matters, so each byte
    /// costs O(1) however long the paste is.
    /// Whether bytes wait for the rest of a sequence or paste.
    pub fn is_waiting(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Gives up waiting (the client sent nothing more for a while): a
    /// paste so far is delivered, an unfinished sequence dropped. So a
    /// stray paste start or escape fragment cannot swallow later keys.
    pub fn flush(&mut self, events: &mut Vec<Event>) {
        if self.pending.starts_with(PASTE_START) {
            let text = &self.pending[PASTE_START.len()..];
            events.push(Event::Paste(String::from_utf8_lossy(text).into_owned()));
        }
        self.pending.clear();
    }

    fn feed_paste(&mut self, events: &mut Vec<Event>) {
        if self.pending.len() >= PASTE_START.len() + PASTE_END.len()
            && self.pending.ends_with(PASTE_END)
        {
            let text = &self.pending[PASTE_START.len()..self.pending.len() - PASTE_END.len()];
            events.push(Event::Paste(String::from_utf8_lossy(text).into_owned()));
            self.pending.clear();
        } else if self.pending.len() > MAX_PASTE {
            self.pending.clear();
        }
    }

    fn decode(&mut self, events: &mut Vec<Event>) {
        if zero_mouse_coordinate(&self.pending) {
            self.pending.clear();
            return;
        }
        match Event::parse_from(&self.pending) {
            Ok(Some(event)) => {
                events.push(event);
                self.pending.clear();
            }
            Ok(None) => {
                if self.pending.len() > MAX_SEQUENCE {
                    self.pending.clear();
                }
            }
            Err(_) => self.pending.clear(),
        }
    }
}

/// Whether `sequence` is a whole mouse report (SGR `ESC [ < B ; X ; Y M`
/// or `m`, rxvt `ESC [ B ; X ; Y M`) with a column or row of 0. Reports
/// are 1-based and terminput subtracts 1 from each unchecked, which
/// panics where overflow is checked (debug builds): the picker uses no
/// mouse, so such a report is dropped before terminput sees it. Found by
/// the fuzz target `input_keys`.
fn zero_mouse_coordinate(sequence: &[u8]) -> bool {
    let Some(body) = sequence.strip_prefix(b"\x1b[") else {
        return false;
    };
    let Some((b'M' | b'm', body)) = body.split_last() else {
        return false;
    };
    let body = body.strip_prefix(b"<").unwrap_or(body);
    body.split(|b| *b == b';').skip(1).take(2).any(|field| {
        std::str::from_utf8(field)
            .ok()
            .and_then(|field| field.parse::<u16>().ok())
            == Some(0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use terminput::{KeyCode, KeyEvent, KeyModifiers};

    fn decode(chunks: &[&[u8]]) -> Vec<Event> {
        let mut decoder = KeyDecoder::new();
        let mut events = Vec::new();
        for chunk in chunks {
            decoder.feed(chunk, &mut events);
        }
        events
    }

    fn key(code: KeyCode) -> Event {
        Event::Key(KeyEvent::new(code))
    }

    #[test]
    fn letters_arrows_and_enter() {
        assert_eq!(
            decode(&[b"j\x1b[Ak\r"]),
            vec![
                key(KeyCode::Char('j')),
                key(KeyCode::Up),
                key(KeyCode::Char('k')),
                key(KeyCode::Enter)
            ]
        );
    }

    #[test]
    fn a_lone_escape_is_the_esc_key() {
        assert_eq!(decode(&[b"\x1b"]), vec![key(KeyCode::Esc)]);
    }

    #[test]
    fn application_mode_arrows_and_utf8_split_across_reads() {
        assert_eq!(
            decode(&[
                b"\x1bOB",
                "é".as_bytes()[..1].as_ref(),
                &"é".as_bytes()[1..]
            ]),
            vec![key(KeyCode::Down), key(KeyCode::Char('é'))]
        );
    }

    #[test]
    fn control_keys_carry_the_modifier() {
        assert_eq!(
            decode(&[b"\x15"]),
            vec![Event::Key(
                KeyEvent::new(KeyCode::Char('u')).modifiers(KeyModifiers::CTRL)
            )]
        );
    }

    #[test]
    fn a_bracketed_paste_is_one_event_even_across_reads() {
        assert_eq!(
            decode(&[b"\x1b[200~hello q", b"uit\x1b[201~j"]),
            vec![Event::Paste("hello quit".into()), key(KeyCode::Char('j'))]
        );
    }

    #[test]
    fn flushing_ends_a_paste_that_never_closes_and_drops_a_fragment() {
        let mut decoder = KeyDecoder::new();
        let mut events = Vec::new();
        decoder.feed(b"\x1b[200~abc", &mut events);
        assert!(events.is_empty() && decoder.is_waiting());
        decoder.flush(&mut events);
        decoder.feed(b"\x1b[1;", &mut events);
        decoder.flush(&mut events);
        decoder.feed(b"q", &mut events);
        assert_eq!(
            events,
            vec![Event::Paste("abc".into()), key(KeyCode::Char('q'))]
        );
        assert!(!decoder.is_waiting());
    }

    /// Found by the fuzz target `input_keys`: terminput panicked (attempt
    /// to subtract with overflow) on a mouse report at column or row 0.
    #[test]
    fn a_mouse_report_at_column_or_row_zero_is_dropped() {
        for report in [
            &b"\x1b[<0;0;10m"[..],
            b"\x1b[<0;10;0M",
            b"\x1b[<0;+0;1M",
            b"\x1b[32;0;5M",
            b"\x1b[35;4;00M",
        ] {
            assert_eq!(
                decode(&[report, b"q"]),
                vec![key(KeyCode::Char('q'))],
                "{report:?}"
            );
        }
        // A report at 1;1 still decodes (as a mouse event, which the picker ignores).
        assert!(matches!(decode(&[b"\x1b[<0;1;1M"])[..], [Event::Mouse(_)]));
    }

    #[test]
    fn an_endless_sequence_is_dropped_and_decoding_goes_on() {
        let mut endless = b"\x1b[".to_vec();
        endless.extend(std::iter::repeat_n(b'1', 1000));
        let events = decode(&[&endless, b"x", b"q"]);
        assert_eq!(events.last(), Some(&key(KeyCode::Char('q'))));
    }
}
