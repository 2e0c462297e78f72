//! End-to-end: attached clients through the real OpenSSH client in a PTY.
//! Each test asserts on the screen the client's terminal shows.

mod common;

use common::{BASH, Server, Ssh, Term, assert_same_cells, eventually};

fn clients(ssh: &Ssh) -> u64 {
    let json: serde_json::Value = serde_json::from_str(&ssh.ok("ls --json")).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .map(|s| s["clients"].as_u64().unwrap())
        .sum()
}

#[test]
fn new_attaches_and_detach_prints_the_name() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let mut term = alice.term(&format!("new work -- {BASH}"), 24, 80);
    term.wait_for_text("$ ");
    term.type_line("echo $((40+2))-answer");
    term.wait_for_text("42-answer");
    term.detach();
    assert_eq!(term.wait_exit(), 0);
    assert!(
        term.contents().contains("[detached from work]"),
        "{}",
        term.contents()
    );
    assert!(
        alice.ok("ls").contains("running"),
        "the session outlives the connection"
    );
}

#[test]
fn reattach_restores_screen_modes_title_and_scrollback() {
    let server = Server::start();
    let alice = server.user("alice", false);
    // A program that prints history, then sets every mode a reattach must
    // restore, draws on the alternate screen and waits.
    let script = r#"for i in $(seq 1 60); do echo history-$i; done; printf '\e]2;my-title\a\e[?1049h\e[?1h\e[?2004h\e[?1000h\e[?1006h\e[2;5H\e[1;31mRED\e[0m \e[44mBLUE\e[0m\e[5;10Hcursor-here'; exec sleep 600"#;
    alice.ok(&format!(
        "new modes -d -- bash -c '{}'",
        script.replace('\'', "'\\''")
    ));
    let first = alice.term("attach modes", 24, 80);
    first.wait_for_text("cursor-here");
    let before = first.screen();
    first.detach();
    drop(first);

    let second = alice.term("attach modes", 24, 80);
    second.wait_for_text("cursor-here");
    let after = second.screen();
    assert_same_cells(&before, &after, 24, 80);
    assert_eq!(after.cursor_position(), (4, 20));
    assert!(after.alternate_screen(), "alternate screen restored");
    assert!(
        after.application_cursor(),
        "application cursor keys restored"
    );
    assert!(after.bracketed_paste(), "bracketed paste restored");
    assert_eq!(
        after.mouse_protocol_mode(),
        vt100::MouseProtocolMode::PressRelease
    );
    assert_eq!(
        after.mouse_protocol_encoding(),
        vt100::MouseProtocolEncoding::Sgr
    );
    let raw = String::from_utf8_lossy(&second.raw_output()).into_owned();
    assert!(raw.contains("\x1b]2;my-title\x07"), "title restored");
    assert_eq!(after.cell(1, 4).unwrap().fgcolor(), vt100::Color::Idx(1));
    assert!(after.cell(1, 4).unwrap().bold());
}

#[test]
fn reattach_writes_scrollback_above_the_screen() {
    let server = Server::start();
    let alice = server.user("alice", false);
    alice.ok("new hist -d -- bash -c 'seq 1 300; exec sleep 600'");
    eventually("output", || alice.ok("capture hist").contains("300"));
    let term = alice.term("attach hist", 24, 80);
    term.wait_for_text("300");
    // The client's own scrollback holds the lines above the screen.
    let mut screen = term.screen();
    screen.set_scrollback(usize::MAX);
    let top = screen.contents();
    assert_eq!(
        top.lines().next(),
        Some("1"),
        "every line is in the client's scrollback: {top}"
    );
}

#[test]
fn vim_screen_survives_reattach() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let file = server.dir.path().join("notes.txt");
    std::fs::write(
        &file,
        (1..=40)
            .map(|i| format!("line {i} of the notes\n"))
            .collect::<String>(),
    )
    .unwrap();
    let first = alice.term(
        &format!("new vim -- vim -u NONE -N {}", file.display()),
        24,
        80,
    );
    first.wait_for_text("line 1 of the notes");
    first.send(b":set number\r");
    first.send(b"20Gityped-in-vim \x1b");
    first.wait_for_text("typed-in-vim");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let before = first.screen();
    first.detach();
    drop(first);

    let second = alice.term("attach vim", 24, 80);
    second.wait_for_text("typed-in-vim");
    let after = second.screen();
    assert_same_cells(&before, &after, 24, 80);
    assert_eq!(before.cursor_position(), after.cursor_position());
    // And vim still works: quit without saving.
    second.send(b":q!\r");
    second.wait_for_text("exited with status 0");
}

#[test]
fn writers_share_input_and_observers_cannot_type() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let admin = server.user("root", true);
    alice.ok(&format!("new pair -d -- {BASH}"));
    let one = alice.term("attach pair", 24, 80);
    let two = alice.term("attach pair", 24, 80);
    let observer = admin.term("attach alice/pair", 24, 80);
    eventually("three clients", || clients(&alice) == 3);

    one.type_line("echo from-one-$((1+1))");
    two.wait_for_text("from-one-2");
    two.type_line("echo from-two-$((2+2))");
    one.wait_for_text("from-two-4");
    observer.wait_for_text("from-two-4");

    observer.type_line("echo observer-typed-$((3+3))");
    one.type_line("echo after-observer");
    one.wait_for_text("after-observer");
    observer.wait_for_text("after-observer");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        !one.contents().contains("observer-typed"),
        "observer keystrokes reached the program"
    );
    let capture = alice.ok("capture pair");
    assert!(!capture.contains("observer-typed"), "{capture}");
}

#[test]
fn pty_follows_the_smallest_writer_and_other_sizes_see_the_top_left() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let admin = server.user("root", true);
    alice.ok(&format!("new sizes -d -- {BASH}"));
    let big = alice.term("attach sizes", 30, 100);
    let small = alice.term("attach sizes", 20, 60);
    let tiny_observer = admin.term("watch alice/sizes", 10, 40);
    eventually("three clients", || clients(&alice) == 3);

    small.type_line("clear; stty size");
    small.wait_for_text("20 60");
    big.wait_for_text("20 60");
    tiny_observer.wait_for_text("20 60");

    // The big client shows the 20x60 screen at its top-left, blank beyond.
    let big_screen = big.screen();
    let small_screen = small.screen();
    assert_same_cells(&small_screen, &big_screen, 20, 60);
    for row in 0..30 {
        for col in 60..100 {
            assert_eq!(
                big_screen.cell(row, col).unwrap().contents(),
                "",
                "beyond the PTY at {row},{col}"
            );
        }
    }
    // The tiny observer shows the top-left 10x40 part.
    let observer_screen = tiny_observer.screen();
    assert_same_cells(&small_screen, &observer_screen, 10, 40);

    // The small writer leaves: the PTY grows to the remaining writer.
    small.detach();
    eventually("two clients", || clients(&alice) == 2);
    big.type_line("clear; stty size");
    big.wait_for_text("30 100");
    drop(small);
    drop(tiny_observer);
}

#[test]
fn program_exit_is_shown_and_recorded() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let mut term = alice.term(&format!("new quick -- {BASH}"), 24, 80);
    term.wait_for_text("$ ");
    term.type_line("echo bye; exit 3");
    term.wait_for_text("[foyer: session quick exited with status 3]");
    assert_eq!(term.wait_exit(), 0);
    assert!(alice.ok("ls").contains("exited 3"));
    assert!(alice.ok("capture quick").contains("bye"));

    // Attaching to an exited session shows its last screen and the status.
    let again = alice.term("attach quick", 24, 80);
    again.wait_for_text("bye");
    again.wait_for_text("exited with status 3");
}

#[test]
fn double_prefix_sends_one_prefix_byte() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let script = "stty raw -echo; head -c 3 | od -An -tx1; exec sleep 600";
    let term = alice.term(&format!("new bytes -- bash -c '{script}'"), 24, 80);
    eventually("attached", || clients(&alice) == 1);
    std::thread::sleep(std::time::Duration::from_millis(300));
    term.send(b"a\x1c\x1cb");
    term.wait_for_text("61 1c 62");
}

#[test]
fn help_key_shows_the_keys() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let term = alice.term(&format!("new helpme -- {BASH}"), 24, 80);
    term.wait_for_text("$ ");
    term.send(b"\x1c?");
    term.wait_for_text("C-\\ d detach");
}

#[test]
fn terminal_queries_get_exactly_one_answer() {
    let server = Server::start();
    let alice = server.user("alice", false);
    // Asks for the cursor position, reads one answer, then checks nothing
    // else arrives; done once with no client, once with three attached.
    let probe = r#"stty raw -echo; printf 'ab\e[6n'; IFS= read -rs -d R reply; IFS= read -rs -t 1 -n 1 extra; stty sane; echo; echo "answer=${reply#*[} extra=[${extra}]"; exec sleep 600"#;
    let quoted = probe.replace('\'', "'\\''");
    alice.ok(&format!("new alone -d -- bash -c '{quoted}'"));
    eventually("answered with nobody attached", || {
        alice.ok("capture alone").contains("answer=1;3 extra=[]")
    });

    alice.ok(&format!("new crowd -d -- bash -c 'sleep 2; {quoted}'"));
    let terms: Vec<Term> = (0..3).map(|_| alice.term("attach crowd", 24, 80)).collect();
    for term in &terms {
        term.wait_for_text("answer=");
    }
    let capture = alice.ok("capture crowd");
    assert!(capture.contains("answer=1;3 extra=[]"), "{capture}");
}

#[test]
fn dropped_connection_detaches() {
    let server = Server::start();
    let alice = server.user("alice", false);
    alice.ok(&format!("new drop -d -- {BASH}"));
    let term = alice.term("attach drop", 24, 80);
    eventually("attached", || clients(&alice) == 1);
    drop(term);
    eventually("detached", || clients(&alice) == 0);
    alice.ok("send drop 'echo still-alive\\n'");
    eventually("session still works", || {
        alice.ok("capture drop").contains("still-alive")
    });
}

#[test]
fn binary_garbage_and_instant_exits_harm_nothing() {
    let server = Server::start();
    let alice = server.user("alice", false);
    alice.ok("new noise -d -- bash -c 'head -c 2000000 /dev/urandom; exec sleep 600'");
    let watcher = alice.term("watch noise", 24, 80);
    let mut gone = alice.term("new instant -- true", 24, 80);
    gone.wait_for_text("[foyer: session instant exited with status 0]");
    assert_eq!(gone.wait_exit(), 0);
    let missing = alice.run("new broken -d -- /no/such/program");
    assert_eq!(missing.status, 1);
    assert!(
        missing.stderr.contains("cannot start"),
        "{}",
        missing.stderr
    );
    assert_eq!(missing.stderr.lines().count(), 1);
    eventually("garbage fully read", || {
        alice.ok("ls --json").contains("\"noise\"")
    });
    assert_eq!(alice.run("capture noise").status, 0);
    assert_eq!(alice.run("capture noise --ansi").status, 0);
    drop(watcher);
    alice.ok(&format!("new calm -d -- {BASH}"));
    alice.ok("send calm 'echo calm-$((5+5))\\n'");
    eventually("others keep working", || {
        alice.ok("capture calm").contains("calm-10")
    });
}
