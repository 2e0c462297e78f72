//! Random bytes into every parser that reads network input: command lines,
//! the prefix-key reader and the output query filter. None may panic, and
//! each keeps its invariants (a stand-in until the cargo fuzz targets of
//! issue 3; these run on every CI run).

use foyer::session::input::{InputAction, PrefixReader};
use foyer::session::queries::{Piece, QueryFilter};
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
}
