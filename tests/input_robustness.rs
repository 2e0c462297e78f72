//! Random bytes into every parser that reads network input: command lines,
//! the prefix-key reader and the output query filter. None may panic, and
//! each keeps its invariants (a stand-in until the cargo fuzz targets of
//! issue 3; these run on every CI run).

use foyer::engine::queries::{Piece, QueryFilter};
use foyer::ssh::prefix::{InputAction, PrefixReader};
use foyer::ssh::verbs;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0xf0e7),
        .. ProptestConfig::default()
    })]

    #[test]
    fn command_lines_parse_or_refuse(line in ".{0,200}", raw in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = verbs::parse(&line);
        let _ = verbs::parse(&String::from_utf8_lossy(&raw));
        let _ = verbs::decode_escapes(&line);
    }

    #[test]
    fn prefix_reader_passes_every_other_byte_through(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..20)) {
        let mut reader = PrefixReader::new(0x1c);
        let mut forwarded = Vec::new();
        let mut actions = Vec::new();
        for chunk in &chunks {
            actions.clear();
            reader.feed(chunk, &mut actions);
            for action in &actions {
                if let InputAction::Forward(bytes) = action {
                    forwarded.extend_from_slice(bytes);
                }
            }
        }
        let sent: Vec<u8> = chunks.concat();
        let plain = sent.iter().filter(|b| **b != 0x1c).count();
        let forwarded_plain = forwarded.iter().filter(|b| **b != 0x1c).count();
        // Only the byte after a prefix may be consumed.
        prop_assert!(forwarded_plain <= plain);
        prop_assert!(forwarded.len() <= sent.len());
    }

    #[test]
    fn query_filter_only_removes_what_it_reports(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..20)) {
        let mut filter = QueryFilter::new();
        let mut pieces = Vec::new();
        let mut passed = 0usize;
        let mut queries = 0usize;
        for chunk in &chunks {
            filter.feed(chunk, &mut pieces);
            for piece in &pieces {
                match piece {
                    Piece::Output(range) => {
                        prop_assert!(range.end <= filter.buffer().len());
                        passed += range.len();
                    }
                    Piece::Query(_) => queries += 1,
                    Piece::Marker(_) => {}
                }
            }
        }
        let total: usize = chunks.iter().map(Vec::len).sum();
        prop_assert!(passed <= total);
        if queries == 0 {
            // Without queries nothing is removed; some may still be held.
            prop_assert!(total - passed <= 4096 + 64);
        }
    }

    /// Fed whole, the filter skips plain sequences without parsing them;
    /// fed one byte at a time it never can (a sequence is never complete
    /// within one feed), so the two must agree on every byte and query.
    #[test]
    fn query_filter_skipping_plain_sequences_changes_nothing(
        tokens in proptest::collection::vec(output_token(), 0..60),
        cut in 1usize..40,
    ) {
        let stream: Vec<u8> = tokens.concat();
        let whole = filtered(&[stream.as_slice()]);
        let bytewise: Vec<&[u8]> = stream.chunks(1).collect();
        prop_assert_eq!(&whole, &filtered(&bytewise));
        let cut_up: Vec<&[u8]> = stream.chunks(cut).collect();
        prop_assert_eq!(&whole, &filtered(&cut_up));
    }
}

/// Pieces of a TUI's output: text, plain colour and cursor sequences,
/// and the queries and markers the filter looks for.
fn output_token() -> impl Strategy<Value = Vec<u8>> {
    let plain = (
        proptest::collection::vec(
            prop_oneof![Just(b'1'), Just(b'3'), Just(b'8'), Just(b';'), Just(b':')],
            0..8,
        ),
        prop_oneof![
            Just(b'm'),
            Just(b'H'),
            Just(b'K'),
            Just(b'A'),
            Just(b'S'),
            Just(b'r'),
            Just(b'n'),
            Just(b'c'),
            Just(b'J')
        ],
    )
        .prop_map(|(params, last)| [b"\x1b[".as_slice(), &params, &[last]].concat());
    let watched = prop_oneof![
        Just(b"\x1b[6n".to_vec()),
        Just(b"\x1b[5n".to_vec()),
        Just(b"\x1b[c".to_vec()),
        Just(b"\x1b[>c".to_vec()),
        Just(b"\x1b[?1049h".to_vec()),
        Just(b"\x1b[?1049l".to_vec()),
        Just(b"\x1b[?2026h".to_vec()),
        Just(b"\x1b[2;20r".to_vec()),
        Just(b"\x1b[3J".to_vec()),
        Just(b"\x1b]11;?\x1b\\".to_vec()),
        Just(b"\x1b7".to_vec()),
    ];
    prop_oneof![
        "[a-z \\n]{1,12}".prop_map(String::into_bytes),
        plain,
        watched,
        proptest::collection::vec(any::<u8>(), 1..4),
    ]
}

/// What the filter makes of `chunks`: the bytes it passes, with each query
/// and marker in place.
fn filtered(chunks: &[&[u8]]) -> Vec<String> {
    let mut filter = QueryFilter::new();
    let mut pieces = Vec::new();
    let mut passed = Vec::new();
    let mut out = Vec::new();
    for chunk in chunks {
        filter.feed(chunk, &mut pieces);
        for piece in &pieces {
            match piece {
                Piece::Output(range) => passed.extend_from_slice(&filter.buffer()[range.clone()]),
                other => {
                    out.push(format!(
                        "{:?}",
                        String::from_utf8_lossy(&std::mem::take(&mut passed))
                    ));
                    out.push(format!("{other:?}"));
                }
            }
        }
    }
    out.push(format!("{:?}", String::from_utf8_lossy(&passed)));
    out
}
