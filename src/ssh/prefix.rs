//! Watches a client's keystrokes for the prefix key (`keys.prefix`,
//! `Ctrl-\` by default) and the command key after it. Everything else is
//! passed on as the raw bytes the client sent.
//!
//! Owns only the one-byte state "prefix seen". Must not decode other keys:
//! keystrokes bound for the program stay byte-exact.

/// What a client's input amounts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputAction {
    /// Bytes for the program.
    Forward(Vec<u8>),
    /// `prefix d`: leave the session.
    Detach,
    /// `prefix ?`: show the keys.
    Help,
}

#[derive(Debug, Clone)]
pub struct PrefixReader {
    prefix: u8,
    prefix_seen: bool,
}

impl PrefixReader {
    pub fn new(prefix: u8) -> Self {
        PrefixReader {
            prefix,
            prefix_seen: false,
        }
    }

    /// Splits `bytes` into actions, in order. A prefix at the end of
    /// `bytes` waits for the next call.
    pub fn feed(&mut self, bytes: &[u8], actions: &mut Vec<InputAction>) {
        let mut plain = Vec::new();
        for &byte in bytes {
            if self.prefix_seen {
                self.prefix_seen = false;
                let action = match byte {
                    b'd' | 0x04 => Some(InputAction::Detach),
                    b'?' => Some(InputAction::Help),
                    b if b == self.prefix => {
                        plain.push(b);
                        None
                    }
                    // Any other key after the prefix is ignored, as in tmux.
                    _ => None,
                };
                if let Some(action) = action {
                    flush(&mut plain, actions);
                    actions.push(action);
                }
            } else if byte == self.prefix {
                self.prefix_seen = true;
            } else {
                plain.push(byte);
            }
        }
        flush(&mut plain, actions);
    }
}

fn flush(plain: &mut Vec<u8>, actions: &mut Vec<InputAction>) {
    if !plain.is_empty() {
        actions.push(InputAction::Forward(std::mem::take(plain)));
    }
}

/// The text `prefix ?` shows.
pub fn help_text(prefix_name: &str) -> String {
    format!(
        "\r\n[foyer keys: {p} d detach · {p} {p} send {p} to the program · {p} ? this help]\r\n",
        p = prefix_name
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(reader: &mut PrefixReader, bytes: &[u8]) -> Vec<InputAction> {
        let mut actions = Vec::new();
        reader.feed(bytes, &mut actions);
        actions
    }

    #[test]
    fn plain_bytes_pass_through() {
        let mut r = PrefixReader::new(0x1c);
        assert_eq!(
            run(&mut r, b"ls\r"),
            vec![InputAction::Forward(b"ls\r".to_vec())]
        );
    }

    #[test]
    fn prefix_d_detaches_after_earlier_bytes() {
        let mut r = PrefixReader::new(0x1c);
        assert_eq!(
            run(&mut r, b"ab\x1cdcd"),
            vec![
                InputAction::Forward(b"ab".to_vec()),
                InputAction::Detach,
                InputAction::Forward(b"cd".to_vec())
            ]
        );
    }

    #[test]
    fn double_prefix_sends_one_and_split_prefix_waits() {
        let mut r = PrefixReader::new(0x1c);
        assert_eq!(
            run(&mut r, b"\x1c\x1c"),
            vec![InputAction::Forward(vec![0x1c])]
        );
        assert!(run(&mut r, b"\x1c").is_empty());
        assert_eq!(run(&mut r, b"?"), vec![InputAction::Help]);
        assert!(run(&mut r, b"\x1cx").is_empty());
    }
}
