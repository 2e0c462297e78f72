//! The picker as bytes in, actions and drawn buffers out: every key of
//! SPEC §6, the filter and the dialogs, drawn with ratatui's
//! `TestBackend`; `drawing` holds the list and the preview at any size,
//! and random byte streams that must never panic the picker.

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::*;
use crate::engine::Terminal as Screen;
use crate::gateway::access::Access;
use crate::wire::SessionId;

mod drawing;

const NOW: i64 = 1_000_000;

fn row(id: i64, label: &str, last_active: i64) -> SessionRow {
    SessionRow {
        id: SessionId(id),
        label: label.into(),
        name: label.rsplit('/').next().unwrap_or(label).into(),
        owner: label.split_once('/').map_or("alice", |(o, _)| o).into(),
        running: true,
        paused: false,
        unreachable: false,
        exit_status: None,
        access: Access::Owner,
        may_manage: true,
        participants: Vec::new(),
        attention: false,
        attention_message: None,
        attention_since: None,
        last_active,
        command: vec!["bash".into(), "-l".into()],
    }
}

fn choices() -> Vec<Choice> {
    vec![
        Choice {
            label: "default: bash -l".into(),
            start: Start::Default,
        },
        Choice {
            label: "claude".into(),
            start: Start::Preset("claude".into()),
        },
    ]
}

fn picker_with(rows: Vec<SessionRow>) -> Picker {
    let mut picker = Picker::new("alice", "Ctrl-\\", choices(), true);
    picker.set_rows(rows);
    picker
}

fn three() -> Picker {
    picker_with(vec![
        row(1, "build", NOW - 5),
        row(2, "claude", NOW - 100),
        row(3, "bob/logs", NOW - 4000),
    ])
}

/// Feeds raw bytes as a client would send them; returns the actions.
fn press(picker: &mut Picker, bytes: &[u8]) -> Vec<Action> {
    let mut decoder = KeyDecoder::new();
    let mut events = Vec::new();
    decoder.feed(bytes, &mut events);
    events.iter().filter_map(|e| picker.on_event(e)).collect()
}

fn selected_label(picker: &Picker) -> String {
    picker
        .selected()
        .map(|r| r.label.clone())
        .unwrap_or_default()
}

fn render(picker: &mut Picker, cols: u16, rows: u16, preview: Option<&Screen>) -> String {
    let mut terminal = Terminal::new(TestBackend::new(cols, rows)).unwrap();
    terminal
        .draw(|frame| {
            let scene = Scene {
                preview,
                palette: Palette::Full,
                now: NOW,
            };
            draw(frame, picker, &scene);
        })
        .unwrap();
    let buffer = terminal.backend().buffer();
    let mut text = String::new();
    for y in 0..buffer.area.height {
        let mut x = 0;
        while x < buffer.area.width {
            let symbol = buffer[(x, y)].symbol();
            text.push_str(symbol);
            // A wide character covers the next cell too.
            x += unicode_width::UnicodeWidthStr::width(symbol).max(1) as u16;
        }
        text.push('\n');
    }
    text
}

#[test]
fn rows_are_sorted_attention_first_then_by_recent_activity() {
    let mut quiet = row(4, "quiet", NOW - 9000);
    quiet.attention = true;
    let picker = picker_with(vec![
        row(1, "old", NOW - 500),
        row(2, "new", NOW - 1),
        quiet,
    ]);
    let order: Vec<&str> = picker.visible().map(|r| r.label.as_str()).collect();
    assert_eq!(order, vec!["quiet", "new", "old"]);
    assert_eq!(selected_label(&picker), "quiet");
}

#[test]
fn arrows_and_j_k_move_and_stop_at_the_ends() {
    let mut picker = three();
    assert_eq!(selected_label(&picker), "build");
    press(&mut picker, b"j");
    assert_eq!(selected_label(&picker), "claude");
    press(&mut picker, b"\x1b[B\x1b[B\x1b[B");
    assert_eq!(selected_label(&picker), "bob/logs");
    press(&mut picker, b"k");
    assert_eq!(selected_label(&picker), "claude");
    press(&mut picker, b"\x1bOA\x1bOA");
    assert_eq!(selected_label(&picker), "build");
    press(&mut picker, b"G");
    assert_eq!(selected_label(&picker), "bob/logs");
    press(&mut picker, b"g");
    assert_eq!(selected_label(&picker), "build");
}

#[test]
fn enter_attaches_and_w_watches_the_selected_session() {
    let mut picker = three();
    press(&mut picker, b"j");
    assert_eq!(
        press(&mut picker, b"\r"),
        vec![Action::Attach {
            id: SessionId(2),
            watch: false
        }]
    );
    assert_eq!(
        press(&mut picker, b"w"),
        vec![Action::Attach {
            id: SessionId(2),
            watch: true
        }]
    );
}

#[test]
fn q_esc_and_ctrl_c_quit() {
    for key in [&b"q"[..], b"\x1b", b"\x03"] {
        let mut picker = three();
        assert_eq!(press(&mut picker, key), vec![Action::Quit], "key {key:?}");
    }
}

#[test]
fn the_selection_follows_its_session_when_the_list_changes() {
    let mut picker = three();
    press(&mut picker, b"j");
    assert_eq!(selected_label(&picker), "claude");
    // "build" becomes older than "bob/logs"; claude stays selected.
    picker.set_rows(vec![
        row(1, "build", NOW - 9000),
        row(2, "claude", NOW - 100),
        row(3, "bob/logs", NOW - 4000),
    ]);
    assert_eq!(selected_label(&picker), "claude");
    // claude (first) is gone: the selection stays at the same place.
    picker.set_rows(vec![
        row(1, "build", NOW - 9000),
        row(3, "bob/logs", NOW - 4000),
    ]);
    assert_eq!(selected_label(&picker), "bob/logs");
}

#[test]
fn slash_filters_by_name_or_command_and_esc_clears() {
    let mut picker = three();
    press(&mut picker, b"/lo");
    let shown: Vec<&str> = picker.visible().map(|r| r.label.as_str()).collect();
    assert_eq!(shown, vec!["bob/logs"]);
    assert_eq!(selected_label(&picker), "bob/logs");
    // Keys typed while filtering are text, not commands.
    assert!(press(&mut picker, b"q").is_empty());
    assert_eq!(picker.visible().count(), 0);
    press(&mut picker, b"\x7f\r");
    assert_eq!(picker.visible().count(), 1);
    // Filter kept after Enter; Esc in the list clears it before quitting.
    assert!(press(&mut picker, b"\x1b").is_empty());
    assert_eq!(picker.visible().count(), 3);
    assert_eq!(press(&mut picker, b"\x1b"), vec![Action::Quit]);
}

#[test]
fn n_asks_a_name_then_a_preset() {
    let mut picker = three();
    press(&mut picker, b"n");
    assert!(matches!(picker.dialog(), Some(Dialog::NewName { .. })));
    press(&mut picker, b"web");
    press(&mut picker, b"\r");
    assert!(matches!(picker.dialog(), Some(Dialog::NewCommand { .. })));
    assert_eq!(
        press(&mut picker, b"j\r"),
        vec![Action::Create {
            name: "web".into(),
            start: Start::Preset("claude".into())
        }]
    );
}

#[test]
fn n_refuses_bad_and_taken_names_inline_naming_the_rule() {
    let mut picker = three();
    press(&mut picker, b"nBad Name\r");
    match picker.dialog() {
        Some(Dialog::NewName {
            error: Some(error), ..
        }) => {
            assert!(error.contains("a-z 0-9 . _ -"), "{error}")
        }
        other => panic!("expected an error, got {other:?}"),
    }
    // Typing clears the error; a taken name gets its own.
    press(&mut picker, b"\x15build\r");
    match picker.dialog() {
        Some(Dialog::NewName {
            error: Some(error), ..
        }) => {
            assert_eq!(error, "a session named build already exists")
        }
        other => panic!("expected an error, got {other:?}"),
    }
    let screen = render(&mut picker, 80, 24, None);
    assert!(
        screen.contains("a session named build already exists"),
        "{screen}"
    );
}

#[test]
fn n_takes_a_typed_command() {
    let mut picker = three();
    press(&mut picker, b"ntop\r");
    press(&mut picker, b"jj\r");
    assert!(
        press(&mut picker, b"\r").is_empty(),
        "an empty command is refused"
    );
    assert_eq!(
        press(&mut picker, b"htop -d 5\r"),
        vec![Action::Create {
            name: "top".into(),
            start: Start::Command("htop -d 5".into())
        }]
    );
}

#[test]
fn presets_only_offers_no_typed_command() {
    let mut picker = Picker::new("alice", "Ctrl-\\", choices(), false);
    press(&mut picker, b"nx\r");
    assert_eq!(picker.choice_count(), 2);
    let screen = render(&mut picker, 80, 24, None);
    assert!(!screen.contains("a command…"), "{screen}");
    let mut bare = Picker::new("alice", "Ctrl-\\", Vec::new(), false);
    press(&mut bare, b"nx\r");
    match bare.dialog() {
        Some(Dialog::NewCommand { error: Some(e), .. }) => assert!(e.contains("only presets")),
        other => panic!("expected an error, got {other:?}"),
    }
    assert!(press(&mut bare, b"\r").is_empty());
}

#[test]
fn esc_steps_back_through_the_new_dialog() {
    let mut picker = three();
    press(&mut picker, b"nweb\r");
    press(&mut picker, b"\x1b");
    assert!(matches!(picker.dialog(), Some(Dialog::NewName { name, .. }) if name == "web"));
    press(&mut picker, b"\x1b");
    assert!(picker.dialog().is_none());
}

#[test]
fn capital_k_asks_before_killing() {
    let mut picker = three();
    press(&mut picker, b"K");
    assert!(matches!(picker.dialog(), Some(Dialog::ConfirmKill { .. })));
    assert!(press(&mut picker, b"n").is_empty());
    assert!(picker.dialog().is_none());
    press(&mut picker, b"K");
    assert_eq!(
        press(&mut picker, b"y"),
        vec![Action::Kill { id: SessionId(1) }]
    );
}

#[test]
fn capital_k_on_a_session_you_do_not_own_says_so() {
    let mut theirs = row(9, "bob/db", NOW);
    theirs.may_manage = false;
    theirs.access = Access::Read;
    let mut picker = picker_with(vec![theirs]);
    assert!(press(&mut picker, b"K").is_empty());
    assert!(picker.dialog().is_none());
    let screen = render(&mut picker, 80, 24, None);
    assert!(
        screen.contains("only the owner may kill bob/db"),
        "{screen}"
    );
}

#[test]
fn s_asks_a_user_and_read_or_write() {
    let mut picker = three();
    press(&mut picker, b"s");
    let screen = render(&mut picker, 80, 24, None);
    assert!(screen.contains("Share build with:"), "{screen}");
    assert!(screen.contains("read (watches)"), "{screen}");
    assert!(press(&mut picker, b"\r").is_empty(), "no user typed");
    let screen = render(&mut picker, 80, 24, None);
    assert!(screen.contains("type the name of the user"), "{screen}");
    press(&mut picker, b"bob\t");
    let screen = render(&mut picker, 80, 24, None);
    assert!(screen.contains("write (types into it)"), "{screen}");
    assert_eq!(
        press(&mut picker, b"\r"),
        vec![Action::Share {
            id: SessionId(1),
            user: "bob".into(),
            write: true
        }]
    );
    picker.share_failed(SessionId(1), "bob", true, "no user named bob".into());
    let screen = render(&mut picker, 80, 24, None);
    assert!(screen.contains("no user named bob"), "{screen}");
    press(&mut picker, b"\x1b");
    assert!(picker.dialog().is_none());
}

#[test]
fn s_on_a_session_you_do_not_own_says_so() {
    let mut theirs = row(9, "bob/db", NOW);
    theirs.may_manage = false;
    let mut picker = picker_with(vec![theirs]);
    press(&mut picker, b"s");
    assert!(picker.dialog().is_none());
    let screen = render(&mut picker, 80, 24, None);
    assert!(
        screen.contains("only the owner may share bob/db"),
        "{screen}"
    );
}

#[test]
fn question_mark_shows_the_keys() {
    let mut picker = three();
    press(&mut picker, b"?");
    let screen = render(&mut picker, 80, 24, None);
    for text in [
        "attach",
        "watch read-only",
        "filter",
        "Ctrl-\\ d comes back here",
    ] {
        assert!(screen.contains(text), "missing {text}: {screen}");
    }
}

#[test]
fn a_paste_is_never_taken_as_keys() {
    let mut picker = three();
    assert!(press(&mut picker, b"\x1b[200~qKy\x1b[201~").is_empty());
    assert!(picker.dialog().is_none());
    press(&mut picker, b"n\x1b[200~from-paste\x1b[201~");
    assert!(matches!(picker.dialog(), Some(Dialog::NewName { name, .. }) if name == "from-paste"));
}

#[test]
fn idle_labels_and_when_they_change() {
    use super::state::{idle_text, idle_text_changes_in};
    assert_eq!(idle_text(0), "0s");
    assert_eq!(idle_text(59), "59s");
    assert_eq!(idle_text(61), "1m");
    assert_eq!(idle_text(7200), "2h");
    assert_eq!(idle_text(3 * 86400), "3d");
    assert_eq!(idle_text(-5), "0s");
    assert_eq!(idle_text_changes_in(10), 1);
    assert_eq!(idle_text_changes_in(61), 59);
    assert_eq!(idle_text_changes_in(3600), 3600);
}
