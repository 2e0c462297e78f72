//! What a program's notification sequences say (SPEC section 11): OSC 9
//! (iTerm2's form; ConEmu's numbered commands, progress `9;4` among them,
//! are not notifications), OSC 777 `notify` (`TITLE: BODY`) and OSC 99
//! (kitty's protocol: a title and a body, possibly in chunks, possibly
//! base64), and the cleaning every message gets, whatever its source:
//! only printable characters, at most [`MESSAGE_CHARS`].
//!
//! Owns the reading of one sequence's parameters and the chunks of a
//! kitty notification still being sent. It must not decide whether a
//! session is marked (the hub does) or see any other output.

use base64::Engine as _;

/// A message is cut to this many characters.
pub const MESSAGE_CHARS: usize = 200;
/// Bytes of a kitty notification's chunks kept before it is complete.
const KITTY_CHUNK_BYTES: usize = 4096;

/// The text a person may see: escape sequences and control characters
/// removed (read by `vte`, so an escape sequence goes whole and invalid
/// UTF-8 becomes U+FFFD), bidirectional overrides removed, runs of
/// spaces kept, ends trimmed, cut at [`MESSAGE_CHARS`] characters.
/// `None` when nothing printable is left.
pub fn clean(text: &[u8]) -> Option<String> {
    struct Printable(String);
    impl vte::Perform for Printable {
        fn print(&mut self, c: char) {
            if !c.is_control() && !is_bidi_control(c) {
                self.0.push(c);
            }
        }
        fn execute(&mut self, byte: u8) {
            // A tab or line break between words stays a space.
            if matches!(byte, b'\t' | b'\n' | b'\r') {
                self.0.push(' ');
            }
        }
    }
    let mut parser = vte::Parser::new();
    let mut printable = Printable(String::new());
    parser.advance(&mut printable, text);
    let trimmed = printable.0.trim();
    let cut: String = trimmed.chars().take(MESSAGE_CHARS).collect();
    let cut = cut.trim_end().to_string();
    (!cut.is_empty()).then_some(cut)
}

/// Characters that reorder the text around them on screen.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The parameters after the first, joined as the program wrote them (a
/// `;` in a message splits it into parameters).
fn rest(params: &[&[u8]]) -> Vec<u8> {
    params.join(&b';')
}

/// What an OSC sequence means for attention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Not a notification (or a kitty chunk still to be completed).
    None,
    /// A notification, with its cleaned message if it has one.
    Raised(Option<String>),
}

/// Reads notification sequences; holds a kitty notification sent in
/// chunks until its last one.
#[derive(Debug, Default)]
pub struct Notifications {
    kitty: Option<KittyPending>,
}

#[derive(Debug, Default)]
struct KittyPending {
    id: Vec<u8>,
    title: Vec<u8>,
    body: Vec<u8>,
}

impl Notifications {
    /// The meaning of one dispatched OSC sequence, given its parameters
    /// as `vte` splits them on `;`.
    pub fn osc(&mut self, params: &[&[u8]]) -> Notice {
        match params {
            [b"9", rest_params @ ..] => osc9(rest_params),
            [b"777", b"notify", rest_params @ ..] => osc777(rest_params),
            [b"99", metadata, payload @ ..] => self.kitty(metadata, payload),
            _ => Notice::None,
        }
    }

    fn kitty(&mut self, metadata: &[u8], payload: &[&[u8]]) -> Notice {
        let mut id: &[u8] = b"";
        let (mut done, mut base64, mut kind): (bool, bool, &[u8]) = (true, false, b"title");
        for pair in metadata.split(|b| *b == b':') {
            match pair.split_once_byte(b'=') {
                Some((b"i", value)) => id = value,
                Some((b"d", value)) => done = value != b"0",
                Some((b"e", value)) => base64 = value == b"1",
                Some((b"p", value)) => kind = value,
                _ => {}
            }
        }
        if !matches!(kind, b"title" | b"body") {
            // Closing, queries, icons and buttons are not notifications.
            return Notice::None;
        }
        let mut text = rest(payload);
        if base64 {
            text = base64::engine::general_purpose::STANDARD
                .decode(&text)
                .unwrap_or_default();
        }
        let pending = match &mut self.kitty {
            Some(pending) if pending.id == id => pending,
            _ => self.kitty.insert(KittyPending {
                id: id.to_vec(),
                ..KittyPending::default()
            }),
        };
        let part = if kind == b"body" {
            &mut pending.body
        } else {
            &mut pending.title
        };
        let room = KITTY_CHUNK_BYTES.saturating_sub(part.len());
        part.extend_from_slice(&text[..text.len().min(room)]);
        if !done {
            return Notice::None;
        }
        let pending = self.kitty.take().unwrap_or_default();
        Notice::Raised(title_and_body(&pending.title, &pending.body))
    }
}

/// `OSC 9 ; TEXT`, unless TEXT is one of ConEmu's numbered commands
/// (`9;4;…` progress, `9;9;…` the working directory and the like).
fn osc9(params: &[&[u8]]) -> Notice {
    let conemu_command = params.len() >= 2
        && std::str::from_utf8(params[0])
            .ok()
            .and_then(|n| n.parse::<u8>().ok())
            .is_some_and(|n| (1..=12).contains(&n));
    if conemu_command {
        return Notice::None;
    }
    Notice::Raised(clean(&rest(params)))
}

/// `OSC 777 ; notify ; TITLE ; BODY`.
fn osc777(params: &[&[u8]]) -> Notice {
    let (title, body) = match params {
        [] => (&b""[..], Vec::new()),
        [title, body @ ..] => (*title, rest(body)),
    };
    Notice::Raised(title_and_body(title, &body))
}

/// `TITLE: BODY`, or whichever of the two is there.
fn title_and_body(title: &[u8], body: &[u8]) -> Option<String> {
    match (clean(title), clean(body)) {
        (Some(title), Some(body)) => clean(format!("{title}: {body}").as_bytes()),
        (title, body) => title.or(body),
    }
}

trait SplitOnce {
    fn split_once_byte(&self, separator: u8) -> Option<(&[u8], &[u8])>;
}

impl SplitOnce for [u8] {
    fn split_once_byte(&self, separator: u8) -> Option<(&[u8], &[u8])> {
        let at = memchr::memchr(separator, self)?;
        Some((&self[..at], &self[at + 1..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn osc(notifications: &mut Notifications, sequence: &str) -> Notice {
        let params: Vec<&[u8]> = sequence.as_bytes().split(|b| *b == b';').collect();
        notifications.osc(&params)
    }

    fn raised(text: &str) -> Notice {
        Notice::Raised(Some(text.to_string()))
    }

    #[test]
    fn osc9_is_a_notification_and_conemu_commands_are_not() {
        let mut n = Notifications::default();
        assert_eq!(osc(&mut n, "9;Build done"), raised("Build done"));
        assert_eq!(
            osc(&mut n, "9;3 tests failed; see the log"),
            raised("3 tests failed; see the log")
        );
        assert_eq!(osc(&mut n, "9;4;1;50"), Notice::None);
        assert_eq!(osc(&mut n, "9;9;/home/me"), Notice::None);
        assert_eq!(osc(&mut n, "9;"), Notice::Raised(None));
        assert_eq!(osc(&mut n, "2;a title"), Notice::None);
    }

    #[test]
    fn osc777_joins_title_and_body() {
        let mut n = Notifications::default();
        assert_eq!(
            osc(&mut n, "777;notify;Claude;Needs your input"),
            raised("Claude: Needs your input")
        );
        assert_eq!(
            osc(&mut n, "777;notify;;only a body"),
            raised("only a body")
        );
        assert_eq!(
            osc(&mut n, "777;notify;only a title"),
            raised("only a title")
        );
        assert_eq!(osc(&mut n, "777;precmd"), Notice::None);
    }

    #[test]
    fn kitty_notifications_in_chunks_and_base64() {
        let mut n = Notifications::default();
        assert_eq!(osc(&mut n, "99;;Hello"), raised("Hello"));
        assert_eq!(osc(&mut n, "99;i=1:d=0;Agent"), Notice::None);
        assert_eq!(
            osc(&mut n, "99;i=1:p=body;waits for you"),
            raised("Agent: waits for you")
        );
        // "Done" in base64.
        assert_eq!(osc(&mut n, "99;e=1;RG9uZQ=="), raised("Done"));
        assert_eq!(osc(&mut n, "99;p=close;"), Notice::None);
        assert_eq!(osc(&mut n, "99;i=x:p=?;"), Notice::None);
    }

    #[test]
    fn messages_are_cleaned_and_cut() {
        assert_eq!(clean(b"a\x1b[31mred\x1b[0m\x07 b"), Some("ared b".into()));
        assert_eq!(
            clean(b"bad \xff\xfe utf8"),
            Some("bad \u{fffd}\u{fffd} utf8".into())
        );
        assert_eq!(clean(b"line\nbreak\ttab"), Some("line break tab".into()));
        assert_eq!(clean("x\u{202e}y\u{0085}z".as_bytes()), Some("xyz".into()));
        assert_eq!(clean(b"\x1b]0;title\x07\x1b[2J"), None);
        let long = "é".repeat(10_000);
        assert_eq!(
            clean(long.as_bytes()).unwrap().chars().count(),
            MESSAGE_CHARS
        );
    }
}
