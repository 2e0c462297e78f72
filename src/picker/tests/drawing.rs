//! The picker drawn with ratatui's `TestBackend`: the list, the preview
//! (a screen in the engine's model), small sizes and wide characters; and
//! random byte streams and sizes that must never panic it.

use proptest::prelude::*;

use super::{NOW, picker_with, press, render, row, three};
use crate::gateway::access::Access;
use crate::picker::preview::screen_of;
use crate::picker::{Action, KeyDecoder, SessionRow};
use crate::wire::{Participant, Role};

#[test]
fn the_list_shows_owner_state_access_who_idle_and_attention() {
    let mut mine = row(1, "build", NOW - 5);
    mine.participants = vec![
        Participant {
            name: "alice".into(),
            role: Role::Writer,
            client: None,
        },
        Participant {
            name: "carol".into(),
            role: Role::Observer,
            client: None,
        },
    ];
    let mut theirs = row(2, "bob/logs", NOW - 7200);
    theirs.running = false;
    theirs.exit_status = Some(130);
    theirs.access = Access::Read;
    theirs.attention = true;
    let mut picker = picker_with(vec![mine, theirs]);
    let screen = render(&mut picker, 80, 30, None);
    let logs = screen.lines().find(|l| l.starts_with('!')).unwrap();
    assert!(logs.trim_start().starts_with('!'), "{logs}");
    for text in ["exited 130", "read", "2h"] {
        assert!(logs.contains(text), "missing {text}: {logs}");
    }
    let build = screen.lines().find(|l| l.contains("build")).unwrap();
    for text in ["running", "owner", "alice, carol(r)", "5s"] {
        assert!(build.contains(text), "missing {text}: {build}");
    }
}

#[test]
fn the_preview_shows_the_selected_screen() {
    let preview = screen_of(
        crate::wire::Size::new(24, 80),
        b"\x1b[31mhello from the program\x1b[m\r\n$ ",
    );
    let mut picker = three();
    for (cols, rows) in [(120, 30), (80, 24)] {
        let screen = render(&mut picker, cols, rows, Some(&preview));
        assert!(
            screen.contains("hello from the program"),
            "{cols}x{rows}: {screen}"
        );
        assert!(screen.contains("80x24"), "{screen}");
    }
}

#[test]
fn small_terminals_fit_and_tiny_ones_say_so() {
    let mut picker = three();
    let screen = render(&mut picker, 40, 10, None);
    assert!(screen.contains("build"), "{screen}");
    assert!(screen.contains("attach"), "{screen}");
    let screen = render(&mut picker, 39, 10, None);
    assert!(screen.contains("at least"), "{screen}");
    assert!(screen.contains("39x10"), "{screen}");
    for (cols, rows) in [(1, 1), (0, 0), (2, 40), (200, 1)] {
        render(&mut picker, cols, rows, None);
    }
}

#[test]
fn long_names_and_wide_characters_never_break_the_layout() {
    let long = "a".repeat(63);
    let mut picker = picker_with(vec![row(1, &long, NOW), row(2, "short", NOW - 1)]);
    let preview = screen_of(
        crate::wire::Size::new(24, 80),
        "日本語のテキスト ".repeat(20).as_bytes(),
    );
    press(&mut picker, b"n");
    press(&mut picker, "名前".as_bytes());
    for (cols, rows) in [(40, 10), (41, 18), (99, 30), (100, 12)] {
        let screen = render(&mut picker, cols, rows, Some(&preview));
        for line in screen.lines() {
            let width: usize = line
                .chars()
                .map(|c| unicode_width::UnicodeWidthChar::width(c).unwrap_or(0))
                .sum();
            assert!(
                width <= cols as usize,
                "{cols}x{rows} line too wide: {line}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300),
        rng_seed: proptest::test_runner::RngSeed::Fixed(
            std::env::var("PROPTEST_RNG_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(6)
        ),
        ..ProptestConfig::default()
    })]

    /// Random bytes (keys, escape fragments, pastes, garbage) and random
    /// sizes down to 0x0 never panic the decoder, the state machine or
    /// the drawing, and the selection always points at a listed row.
    #[test]
    fn random_input_and_sizes_never_break_the_picker(
        chunks in proptest::collection::vec(
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..40),
                proptest::collection::vec(prop_oneof![
                    Just(b"\x1b[".to_vec()), Just(b"\x1bO".to_vec()), Just(b"\x1b[200~".to_vec()),
                    Just(b"\x1b[201~".to_vec()), Just(b"n".to_vec()), Just(b"/".to_vec()),
                    Just(b"K".to_vec()), Just(b"\r".to_vec()), Just(b"\x1b".to_vec()), Just(b"j".to_vec()),
                ], 0..10).prop_map(|parts| parts.concat()),
            ],
            1..20,
        ),
        sizes in proptest::collection::vec((0u16..130, 0u16..50), 1..4),
    ) {
        let mut picker = three();
        let mut decoder = KeyDecoder::new();
        for (i, chunk) in chunks.iter().enumerate() {
            let mut events = Vec::new();
            decoder.feed(chunk, &mut events);
            for event in &events {
                if let Some(Action::Kill { id }) = picker.on_event(event) {
                    let rows: Vec<SessionRow> = picker.rows.iter().filter(|r| r.id != id).cloned().collect();
                    picker.set_rows(rows);
                }
            }
            let (cols, rows) = sizes[i % sizes.len()];
            render(&mut picker, cols, rows, None);
            if let Some(selected) = picker.selected {
                prop_assert!(picker.rows.iter().any(|r| r.id == selected));
            }
        }
    }
}

#[test]
fn a_session_on_a_machine_that_cannot_be_reached_shows_unreachable() {
    let mut far = row(1, "alice/far", NOW - 5);
    far.unreachable = true;
    let mut picker = picker_with(vec![far]);
    let screen = render(&mut picker, 80, 30, None);
    let line = screen.lines().find(|l| l.contains("far")).unwrap();
    assert!(line.contains("unreachable"), "{line}");
    assert!(!line.contains("running"), "{line}");
}
