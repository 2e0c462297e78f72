//! Unit tests of the query filter: queries stripped, sequences held,
//! markers placed, safe points, long sequences.

use super::*;

fn split(filter: &mut QueryFilter, chunk: &[u8]) -> (Vec<u8>, Vec<Query>) {
    let mut pieces = Vec::new();
    filter.feed(chunk, &mut pieces);
    let mut out = Vec::new();
    let mut queries = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Output(range) => out.extend_from_slice(&filter.buffer()[range]),
            Piece::Query(q) => queries.push(q),
            Piece::Marker(_) => {}
        }
    }
    (out, queries)
}

#[test]
fn strips_queries_and_keeps_the_rest() {
    let mut f = QueryFilter::new();
    let (out, q) = split(&mut f, b"ab\x1b[6nc\x1b[1mX\x1b[>cY\x1b]11;?\x07Z");
    assert_eq!(out, b"abc\x1b[1mXYZ");
    assert_eq!(
        q,
        vec![
            Query::CursorPosition { private: false },
            Query::SecondaryAttributes,
            Query::Color(11)
        ]
    );
}

#[test]
fn holds_a_split_sequence_until_complete() {
    let mut f = QueryFilter::new();
    let (out, q) = split(&mut f, b"hello\x1b[");
    assert_eq!(out, b"hello");
    assert!(q.is_empty());
    let (out, q) = split(&mut f, b"6");
    assert!(out.is_empty() && q.is_empty());
    let (out, q) = split(&mut f, b"nworld\x1b[3");
    assert_eq!(out, b"world");
    assert_eq!(q, vec![Query::CursorPosition { private: false }]);
    let (out, _) = split(&mut f, b"1mred");
    assert_eq!(out, b"\x1b[31mred");
}

#[test]
fn plain_sequences_pass_whole_and_queries_behind_them_are_found() {
    let mut f = QueryFilter::new();
    let chunk = b"\x1b[38;5;123m\x1b[12;40Ha\x1b[K\x1b[6n\x1b[0mb\x1b[?25lc\x1b[2;20r";
    let mut pieces = Vec::new();
    f.feed(chunk, &mut pieces);
    assert!(pieces.contains(&Piece::Query(Query::CursorPosition { private: false })));
    assert!(pieces.contains(&Piece::Marker(Marker::ScrollRegion { top: 2, bottom: 20 })));
    let (out, q) = split(&mut f, b"\x1b[1;31mx\x1b[5n\x1b[38:2:1:2:3m");
    assert_eq!(out, b"\x1b[1;31mx\x1b[38:2:1:2:3m");
    assert_eq!(q, vec![Query::Status]);
    // Cut short at the chunk's end: held until it is complete.
    let (out, q) = split(&mut f, b"y\x1b[38;5");
    assert_eq!((out.as_slice(), q.len()), (&b"y"[..], 0));
    let (out, _) = split(&mut f, b";9mz");
    assert_eq!(out, b"\x1b[38;5;9mz");
}

#[test]
fn st_terminated_osc_query_is_removed_whole() {
    let mut f = QueryFilter::new();
    let (out, q) = split(&mut f, b"x\x1b]10;?\x1b\\y");
    assert_eq!(out, b"xy");
    assert_eq!(q, vec![Query::Color(10)]);
    let (out, q) = split(&mut f, b"\x1b]2;title\x1b");
    assert!(q.is_empty());
    let (rest, _) = split(&mut f, b"\\z");
    let mut all = out;
    all.extend(rest);
    assert_eq!(all, b"\x1b]2;title\x1b\\z");
}

#[test]
fn marks_scroll_region_changes_in_place() {
    let mut f = QueryFilter::new();
    let mut pieces = Vec::new();
    f.feed(b"a\x1b[2;10rb", &mut pieces);
    assert_eq!(
        pieces,
        vec![
            Piece::Output(0..8),
            Piece::Marker(Marker::ScrollRegion { top: 2, bottom: 10 }),
            Piece::Output(8..9)
        ]
    );
}

#[test]
fn save_markers_stand_before_their_sequence() {
    let mut f = QueryFilter::new();
    let mut pieces = Vec::new();
    f.feed(b"ab\x1b7c\x1b[?1049h", &mut pieces);
    assert_eq!(
        pieces,
        vec![
            Piece::Output(0..2),
            Piece::Marker(Marker::SaveCursor),
            Piece::Output(2..5),
            Piece::Marker(Marker::EnterAlternate),
            Piece::Output(5..13),
            Piece::Marker(Marker::EnteredAlternate)
        ]
    );
}

#[test]
fn a_long_notification_split_across_chunks_is_still_seen_to_end() {
    let mut f = QueryFilter::new();
    let mut pieces = Vec::new();
    let mut first = b"\x1b]9;".to_vec();
    first.extend(std::iter::repeat_n(b'x', 2 * MAX_HELD_SEQUENCE_BYTES));
    f.feed(&first, &mut pieces);
    f.feed(b"xxxx", &mut pieces);
    f.feed(b"xx\x07after", &mut pieces);
    assert!(
        pieces.contains(&Piece::Marker(Marker::Notification)),
        "{pieces:?}"
    );
    let message = f.take_notice().unwrap().unwrap();
    assert_eq!(message.len(), crate::engine::notification::MESSAGE_CHARS);
    // And plain output after it is skipped over quickly again.
    f.feed(b"plain \x1b[6n", &mut pieces);
    assert!(pieces.contains(&Piece::Query(Query::CursorPosition { private: false })));
}

#[test]
fn safe_points_are_outside_sequences_and_between_characters() {
    let mut f = QueryFilter::new();
    let mut pieces = Vec::new();
    f.feed(b"plain", &mut pieces);
    assert!(f.at_safe_point());
    f.feed(b"a\x1b[3", &mut pieces);
    assert!(
        f.at_safe_point(),
        "the held sequence has not been passed on"
    );
    f.feed(b"1mcaf\xc3", &mut pieces);
    assert!(!f.at_safe_point(), "inside a two-byte character");
    f.feed(b"\xa9 \xe2\x94", &mut pieces);
    assert!(!f.at_safe_point(), "inside a three-byte character");
    f.feed(b"\x80", &mut pieces);
    assert!(f.at_safe_point());
    let mut long = b"\x1b]2;".to_vec();
    long.extend(std::iter::repeat_n(b't', 2 * MAX_HELD_SEQUENCE_BYTES));
    f.feed(&long, &mut pieces);
    assert!(!f.at_safe_point(), "inside a sequence passed through");
    f.feed(b"\x07", &mut pieces);
    assert!(f.at_safe_point());
}

#[test]
fn endless_sequence_is_passed_through_not_hoarded() {
    let mut f = QueryFilter::new();
    let mut chunk = b"\x1b]1337;File=".to_vec();
    chunk.extend(std::iter::repeat_n(b'A', 2 * MAX_HELD_SEQUENCE_BYTES));
    let (out, _) = split(&mut f, &chunk);
    assert_eq!(out.len(), chunk.len());
}

#[test]
fn clipboard_writes_are_taken_out_and_reads_swallowed() {
    let mut f = QueryFilter::new();
    let (out, q) = split(
        &mut f,
        b"a\x1b]52;c;aGk=\x07b\x1b]52;;cGFzdGU=\x1b\\c\x1b]52;c;?\x07d",
    );
    assert_eq!(out, b"abcd");
    assert_eq!(
        q,
        vec![
            Query::ClipboardWrite,
            Query::ClipboardWrite,
            Query::ClipboardRead
        ]
    );
    assert_eq!(
        f.take_clipboard(),
        vec![
            b"\x1b]52;c;aGk=\x07".to_vec(),
            b"\x1b]52;;cGFzdGU=\x07".to_vec()
        ]
    );
    assert!(f.take_clipboard().is_empty());
}

#[test]
fn a_long_clipboard_write_is_held_whole_and_a_longer_one_dropped() {
    let mut f = QueryFilter::new();
    let data = vec![b'A'; 3 * MAX_HELD_SEQUENCE_BYTES];
    let (out, _) = split(&mut f, &[b"x\x1b]52;c;".as_slice(), &data[..5000]].concat());
    assert_eq!(out, b"x");
    let (out, q) = split(&mut f, &[&data[5000..], b"\x07y".as_slice()].concat());
    assert_eq!(
        (out.as_slice(), q),
        (&b"y"[..], vec![Query::ClipboardWrite])
    );
    assert_eq!(f.take_clipboard()[0].len(), 8 + data.len());

    let huge = vec![b'B'; MAX_CLIPBOARD_BYTES];
    let (out, _) = split(&mut f, &[b"p\x1b]52;c;".as_slice(), &huge].concat());
    assert_eq!(out, b"p");
    let (out, _) = split(&mut f, b"BBBB");
    assert!(out.is_empty());
    let (out, q) = split(&mut f, b"BB\x1b\\q\x1b[6n");
    assert_eq!(out, b"q", "dropped whole, its terminator included");
    assert_eq!(q, vec![Query::CursorPosition { private: false }]);
    assert!(f.take_clipboard().is_empty());
    assert!(f.at_safe_point());
}
