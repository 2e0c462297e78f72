//! Fuzz target: a program's output as the session's hub reads it for
//! attention and queries (`engine::queries::QueryFilter`, vte underneath):
//! OSC 9, OSC 777 `notify` and OSC 99 notifications
//! (`engine::notification`), OSC 52 clipboard writes and reads, and the
//! terminal queries the hub answers. The first byte sets the size of the
//! reads the output is cut into (a program's writes arrive in any cuts).
//! Properties: every output range lies inside the buffer, in order and
//! without overlap; what is held back for the next read stays bounded; a
//! notification's message is at most 200 printable characters with no
//! control or bidirectional-override character; a clipboard write is
//! passed on as one whole `OSC 52 … BEL`. The whole input is also read as
//! one sequence's parameters (`Notifications::osc`) and cleaned
//! (`notification::clean`) with the same checks.
#![no_main]

use foyer::engine::notification::{self, MESSAGE_CHARS, Notice, Notifications};
use foyer::engine::queries::{Piece, QueryFilter};
use libfuzzer_sys::fuzz_target;

/// Bytes the filter may hold back between reads: an unfinished clipboard
/// write (1 MiB) is the most.
const MAX_HELD: usize = (1 << 20) + 1;

fuzz_target!(|data: &[u8]| {
    let Some((&size, output)) = data.split_first() else {
        return;
    };
    let read = usize::from(size).max(1);
    let mut filter = QueryFilter::new();
    let mut pieces = Vec::new();
    for chunk in output.chunks(read) {
        filter.feed(chunk, &mut pieces);
        let buffer = filter.buffer().len();
        assert!(buffer <= chunk.len() + MAX_HELD, "{buffer} bytes held");
        let mut end = 0;
        for piece in &pieces {
            if let Piece::Output(range) = piece {
                assert!(range.start >= end && range.start < range.end, "{pieces:?}");
                assert!(range.end <= buffer, "{range:?} beyond {buffer}");
                end = range.end;
            }
        }
        if let Some(message) = filter.take_notice() {
            check_message(message.as_deref());
        }
        for write in filter.take_clipboard() {
            assert!(write.starts_with(b"\x1b]52;") && write.ends_with(b"\x07"));
        }
    }
    let _ = filter.at_safe_point();
    filter.release_spare_memory();

    let params: Vec<&[u8]> = output.split(|b| *b == b';').collect();
    let mut notifications = Notifications::default();
    for _ in 0..2 {
        if let Notice::Raised(message) = notifications.osc(&params) {
            check_message(message.as_deref());
        }
    }
    check_message(notification::clean(output).as_deref());
});

fn check_message(message: Option<&str>) {
    let Some(message) = message else {
        return;
    };
    assert!(!message.is_empty());
    assert!(message.chars().count() <= MESSAGE_CHARS, "{message:?}");
    assert_eq!(message, message.trim(), "untrimmed");
    for c in message.chars() {
        assert!(!c.is_control(), "{message:?}");
        assert!(
            !matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'),
            "{message:?}"
        );
    }
}
