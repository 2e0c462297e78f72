//! Fuzz target: the decoders of a client's keystrokes. The prefix-key
//! reader every attached client's input goes through
//! (`ssh::prefix::PrefixReader`, with its prefix from `keys.prefix` read
//! by `KeyChord::parse`) and the picker's key decoder
//! (`picker::keys::KeyDecoder`, terminput). The input is a chord's text,
//! a newline, then the keystrokes, fed whole and again in reads cut where
//! the bytes say. Properties: the prefix reader's actions do not depend
//! on how the bytes were cut, match a plain model of its rules, and
//! forward every byte that is not part of a prefix command; after a
//! `flush` the picker's decoder waits for nothing.
#![no_main]

use foyer::config::KeyChord;
use foyer::picker::keys::KeyDecoder;
use foyer::ssh::prefix::{InputAction, PrefixReader};
use libfuzzer_sys::fuzz_target;

/// `keys.prefix`'s default, `C-\`.
const DEFAULT_PREFIX: u8 = 0x1c;

fuzz_target!(|data: &[u8]| {
    let (chord, input) = match data.iter().position(|b| *b == b'\n') {
        Some(at) if at <= 8 => (&data[..at], &data[at + 1..]),
        _ => (&[][..], data),
    };
    let prefix = std::str::from_utf8(chord)
        .ok()
        .and_then(|text| KeyChord::parse(text).ok())
        .map_or(DEFAULT_PREFIX, |chord| {
            assert!(chord.byte < 0x20, "{chord:?}");
            assert_eq!(KeyChord::parse(&chord.name()), Ok(chord));
            chord.byte
        });
    let reads = cut(input);

    let mut whole = Vec::new();
    PrefixReader::new(prefix).feed(input, &mut whole);
    let mut pieces = Vec::new();
    let mut reader = PrefixReader::new(prefix);
    for read in &reads {
        reader.feed(read, &mut pieces);
    }
    assert_eq!(joined(&whole), joined(&pieces));
    assert_eq!(joined(&whole), model(prefix, input));

    let mut decoder = KeyDecoder::new();
    let mut events = Vec::new();
    for read in &reads {
        decoder.feed(read, &mut events);
    }
    decoder.flush(&mut events);
    assert!(!decoder.is_waiting());
});

/// The input cut into reads: a read ends after each byte whose low three
/// bits are all set.
fn cut(input: &[u8]) -> Vec<&[u8]> {
    input.split_inclusive(|b| b & 7 == 7).collect()
}

/// Actions with consecutive forwarded bytes joined (how they are cut into
/// `Forward`s depends on the reads).
fn joined(actions: &[InputAction]) -> Vec<InputAction> {
    let mut out: Vec<InputAction> = Vec::new();
    for action in actions {
        match (out.last_mut(), action) {
            (Some(InputAction::Forward(last)), InputAction::Forward(more)) => {
                last.extend_from_slice(more);
            }
            (_, InputAction::Forward(more)) if more.is_empty() => {}
            _ => out.push(action.clone()),
        }
    }
    out
}

/// The rules as the documentation states them: `prefix d` (or `prefix
/// C-d`) detaches, `prefix ?` shows the keys, `prefix prefix` sends one
/// prefix, any other key after the prefix is dropped with it, and every
/// other byte is forwarded as it is.
fn model(prefix: u8, input: &[u8]) -> Vec<InputAction> {
    let mut actions = Vec::new();
    let mut bytes = input.iter();
    while let Some(&byte) = bytes.next() {
        if byte != prefix {
            actions.push(InputAction::Forward(vec![byte]));
            continue;
        }
        match bytes.next() {
            Some(b'd' | 0x04) => actions.push(InputAction::Detach),
            Some(b'?') => actions.push(InputAction::Help),
            Some(&b) if b == prefix => actions.push(InputAction::Forward(vec![b])),
            _ => {}
        }
    }
    joined(&actions)
}
