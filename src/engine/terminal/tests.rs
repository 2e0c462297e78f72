//! Unit tests of the terminal state: query answers, title and bell, the
//! two forms of scrollback.

use super::*;
use std::num::NonZeroU16;

fn run(term: &mut Terminal, bytes: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let (mut out, mut replies) = (Vec::new(), Vec::new());
    term.process(bytes, &mut out, &mut replies);
    (out, replies)
}

#[test]
fn answers_cursor_position_at_the_point_of_the_query() {
    let mut term = Terminal::new(Size::new(24, 80), 100);
    let (out, replies) = run(&mut term, b"abc\x1b[6ndef");
    assert_eq!(replies, b"\x1b[1;4R");
    assert_eq!(out, b"abcdef");
    assert_eq!(term.contents(), "abcdef");
}

#[test]
fn title_and_bell_are_tracked() {
    let mut term = Terminal::new(Size::new(24, 80), 100);
    run(&mut term, b"\x1b]2;my \x1btitle\x07\x07");
    assert_eq!(term.title().trim_end(), "my");
    assert_eq!(term.take_attention(), Some(Raised { message: None }));
    assert_eq!(term.take_attention(), None);
}

#[test]
fn notifications_carry_their_message_and_progress_does_not_count() {
    let mut term = Terminal::new(Size::new(24, 80), 100);
    let (out, _) = run(&mut term, b"a\x1b]9;4;1;40\x07b");
    assert_eq!(out, b"a\x1b]9;4;1;40\x07b");
    assert_eq!(term.take_attention(), None);
    // Split across chunks, ST-terminated, with a bell in the same chunk.
    run(&mut term, b"\x07\x1b]777;notify;Claude;Needs");
    run(&mut term, b" you\x1b\\");
    let message = Some("Claude: Needs you".to_string());
    assert_eq!(
        term.take_attention(),
        Some(Raised {
            message: message.clone()
        })
    );
    // A later notification replaces the message; a bell keeps it.
    run(&mut term, b"\x1b]9;first\x07\x1b]9;second\x07\x07");
    let message = Some("second".to_string());
    assert_eq!(term.take_attention(), Some(Raised { message }));
}

#[test]
fn scrollback_rows_are_the_newest_lines_oldest_first() {
    let mut term = Terminal::new(Size::new(3, 10), 100);
    let text: String = (1..=8).map(|i| format!("line{i}\r\n")).collect();
    run(&mut term, text.as_bytes());
    let lines = term.scrollback_rows(4, 10);
    let plain: Vec<String> = lines
        .iter()
        .map(|l| String::from_utf8(strip(l.as_bytes())).unwrap())
        .collect();
    assert_eq!(plain, vec!["line3", "line4", "line5", "line6"]);
}

fn plain_scrollback(term: &mut Terminal, count: usize) -> Vec<String> {
    term.scrollback_rows(count, 10)
        .iter()
        .map(|l| String::from_utf8(strip(l.as_bytes())).unwrap())
        .collect()
}

#[test]
fn scrollback_past_the_cell_lines_is_kept_compact_and_in_order() {
    let mut term = Terminal::new(Size::new(3, 10), 1000);
    let text: String = (1..=600)
        .map(|i| format!("\x1b[3{}ml{i}\r\n", i % 8))
        .collect();
    run(&mut term, text.as_bytes());
    // 598 lines left the 3-row screen (the last line and the cursor's
    // empty row stay).
    assert_eq!(term.scrollback_len(), 598);
    let lines = plain_scrollback(&mut term, 1000);
    let expected: Vec<String> = (1..=598).map(|i| format!("l{i}")).collect();
    assert_eq!(lines, expected);
    let colored = term.scrollback_rows(598, 10);
    assert!(colored[0].contains(";31m"), "{:?}", colored[0]);
    assert_eq!(plain_scrollback(&mut term, 2), vec!["l597", "l598"]);
}

#[test]
fn erasing_the_scrollback_erases_the_compact_lines_too() {
    for erase in [&b"\x1b[H\x1b[2J\x1b[3J"[..], b"\x1bc"] {
        let mut term = Terminal::new(Size::new(3, 10), 1000);
        let text: String = (1..=300).map(|i| format!("l{i}\r\n")).collect();
        run(&mut term, text.as_bytes());
        run(&mut term, erase);
        assert_eq!(term.scrollback_len(), 0);
        run(&mut term, b"a\r\nb\r\nc\r\nd\r\ne");
        assert_eq!(plain_scrollback(&mut term, 10), vec!["a", "b"]);
    }
}

#[test]
fn the_alternate_screen_keeps_no_scrollback() {
    let mut term = Terminal::new(Size::new(3, 10), 1000);
    let text: String = (1..=300).map(|i| format!("l{i}\r\n")).collect();
    run(&mut term, b"\x1b[?1049h");
    run(&mut term, text.as_bytes());
    run(&mut term, b"\x1b[?1049l");
    assert_eq!(term.scrollback_len(), 0);
}

#[test]
fn giving_back_spare_memory_changes_nothing_shown() {
    // The same output into two terminals; one gives back its spare
    // memory at points that matter (history grown, inside a sequence,
    // on the alternate screen), the other never does.
    let mut kept = Terminal::new(Size::new(5, 20), 1000);
    let mut released = Terminal::new(Size::new(5, 20), 1000);
    let lines: String = (1..=300)
        .map(|i| format!("\x1b[3{}mline {i}\r\n", i % 8))
        .collect();
    let pieces: [&[u8]; 6] = [
        lines.as_bytes(),
        b"\x1b[1;31",
        b"mred\r\nmore\r\n",
        b"\x1b[?1049hvim-like\r\n",
        b"\x1b[?1049l",
        lines.as_bytes(),
    ];
    for piece in pieces {
        let (kept_out, kept_replies) = run(&mut kept, piece);
        released.release_spare_memory();
        let (out, replies) = run(&mut released, piece);
        assert_eq!((out, replies), (kept_out, kept_replies));
        assert_eq!(released.contents(), kept.contents());
        assert_eq!(released.cursor_position(), kept.cursor_position());
        assert_eq!(released.pen(), kept.pen());
        assert_eq!(released.scrollback_len(), kept.scrollback_len());
        assert_eq!(
            released.scrollback_rows(1000, 20),
            kept.scrollback_rows(1000, 20)
        );
    }
    // Growing taller still pulls the newest lines back from the history.
    kept.resize(Size::new(10, 20));
    released.release_spare_memory();
    released.resize(Size::new(10, 20));
    assert_eq!(released.contents(), kept.contents());
    assert!(
        released.contents().contains("line 296"),
        "{}",
        released.contents()
    );
}

fn strip(bytes: &[u8]) -> Vec<u8> {
    let mut parser =
        vt100::Parser::new(NonZeroU16::new(1).unwrap(), NonZeroU16::new(40).unwrap(), 0);
    parser.process(bytes);
    parser.screen().contents().trim_end().as_bytes().to_vec()
}

#[test]
fn the_alternate_grid_given_back_changes_nothing_shown() {
    // Saved cursors on both screens, the alternate screen entered each
    // way, resizes and a reset, with the alternate grid given back before
    // every step on one terminal and never on the other.
    enum Step {
        Output(&'static [u8]),
        Resize(u32, u32),
    }
    let steps = [
        Step::Output(b"\x1b[3;5H\x1b7main\r\n"),
        Step::Output(b"\x1b[?1049h\x1b[2;2H\x1b[32m\x1b7alt"),
        Step::Output(b"\x1b[?1049l"),
        Step::Output(b"\x1b8X"),
        Step::Output(b"\x1b[?47h\x1b8Y"),
        Step::Output(b"\x1b[?47l\x1b8Z"),
        Step::Resize(7, 30),
        Step::Output(b"\x1b[?1047hwide\x1b[?1047l"),
        Step::Resize(4, 12),
        Step::Output(b"\x1b[?1049h\x1b[44m\x1b[2Jblue\x1b8W"),
        Step::Resize(6, 16),
        Step::Output(b"\x1b[?1049l\x1bc\x1b[?1049hafter reset\x1b8V"),
        Step::Output(b"\x1b[?1049l"),
    ];
    let mut kept = Terminal::new(Size::new(5, 20), 1000);
    let mut released = Terminal::new(Size::new(5, 20), 1000);
    let mut shown = String::new();
    for step in steps {
        released.release_spare_memory();
        match step {
            Step::Output(bytes) => {
                let kept_out = run(&mut kept, bytes);
                assert_eq!(run(&mut released, bytes), kept_out);
            }
            Step::Resize(rows, cols) => {
                kept.resize(Size::new(rows, cols));
                released.resize(Size::new(rows, cols));
            }
        }
        assert_eq!(released.alternate_screen(), kept.alternate_screen());
        assert_eq!(released.contents(), kept.contents());
        assert_eq!(released.cursor_position(), kept.cursor_position());
        assert_eq!(released.pen(), kept.pen());
        for alternate in [false, true] {
            assert_eq!(
                released.saved_cursor(alternate),
                kept.saved_cursor(alternate)
            );
        }
        shown.push_str(&kept.contents());
    }
    // Every restored cursor wrote its letter somewhere.
    for letter in ["X", "Y", "Z", "W", "V"] {
        assert!(shown.contains(letter), "{letter} in {shown:?}");
    }
}
