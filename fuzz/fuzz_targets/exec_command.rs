//! Fuzz target: the command line of an SSH exec request, as the handler
//! gets it (bytes, read as UTF-8 with replacement) and `ssh::verbs::parse`
//! reads it (shell-words, then clap), plus `send`'s escapes
//! (`verbs::decode_escapes`). Properties: an unknown verb's message names
//! it without control characters (it is printed to the client's
//! terminal); a usage error has a message; a help request for any verb
//! has text; the escapes decode to no more bytes than the text has.
#![no_main]

use foyer::ssh::verbs::{self, ParseError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    match verbs::parse(&line) {
        Ok(verb) => {
            let _ = format!("{verb:?}");
        }
        Err(ParseError::Unknown(word)) => {
            assert!(!word.chars().any(char::is_control), "{word:?}");
            assert!(
                ParseError::Unknown(word)
                    .message()
                    .starts_with("unknown command: ")
            );
        }
        Err(error @ ParseError::Usage(_)) => assert!(!error.message().is_empty()),
    }
    let decoded = verbs::decode_escapes(&line);
    assert!(decoded.len() <= line.len(), "{line:?} -> {decoded:?}");
    let first = line.split_whitespace().next();
    assert!(!verbs::usage_line(first).is_empty());
});
