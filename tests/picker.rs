//! End-to-end: the picker through the real OpenSSH client in a PTY
//! (`ssh -t host` with no command). Each test asserts on the screen the
//! client's terminal shows.

mod common;

use common::{BASH, Server, Ssh, Term, eventually};

fn session_names(ssh: &Ssh) -> Vec<String> {
    let json: serde_json::Value = serde_json::from_str(&ssh.ok("ls --json")).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

/// Waits until two pickers show the same (masked) screen; panics with both.
fn assert_same_screen(what: &str, a: &Term, b: &Term) {
    let deadline = std::time::Instant::now() + common::PATIENCE;
    while masked(a) != masked(b) {
        if std::time::Instant::now() > deadline {
            panic!(
                "{what}: screens differ\n{}\n----\n{}",
                a.contents(),
                b.contents()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The screen's text with digits masked, so idle times that ticked over
/// between two captures compare equal, and line ends trimmed (a cell
/// written blank and one never written look the same).
fn masked(term: &Term) -> String {
    term.contents()
        .lines()
        .map(|line| {
            line.trim_end()
                .chars()
                .map(|c| if c.is_ascii_digit() { '#' } else { c })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_picker_lists_previews_attaches_and_comes_back_after_a_detach() {
    let server = Server::start();
    let alice = server.user("alice", false);
    alice.ok(&format!("new one -d -- {BASH}"));
    alice.ok(&format!("new two -d -- {BASH}"));
    alice.ok("send one 'echo preview-marker-$((6*7))\\n'");

    let mut term = alice.term("", 30, 110);
    term.wait_for_text("NAME");
    term.wait_for_text("two");
    // Select "one" with the filter, then see its screen in the preview.
    term.send(b"/one\r");
    term.wait_for_text("preview-marker-42");
    // The preview follows the program's output live.
    alice.ok("send one 'echo live-$((2+3))-update\\n'");
    term.wait_for_text("live-5-update");

    term.send(b"\r");
    term.wait_for("the session, not the picker", |s| {
        !s.contents().contains("NAME")
    });
    term.type_line("echo attached-$((1+1))");
    term.wait_for_text("attached-2");
    term.detach();
    term.wait_for_text("[detached from one]");
    term.wait_for_text("NAME");
    // The filter is kept across the attachment; Esc clears it.
    assert!(term.contents().contains("/one"), "{}", term.contents());
    term.send(b"\x1b");
    term.wait_for_text("two");

    term.send(b"q");
    assert_eq!(term.wait_exit(), 0);
}

#[test]
fn n_creates_a_session_with_a_preset_that_ls_then_shows() {
    let server = Server::start_with_config(
        r#"
[[presets]]
name = "quiet-bash"
command = ["env", "PS1=$ ", "bash", "--norc", "--noprofile"]
"#,
    );
    let alice = server.user("alice", false);
    let mut term = alice.term("", 24, 80);
    term.wait_for_text("No sessions yet");

    // A bad name gets an inline error naming the rule.
    term.send(b"nBad Name\r");
    term.wait_for_text("use 1-63 of a-z 0-9");
    term.send(b"\x15fresh\r");
    term.wait_for_text("quiet-bash");
    term.send(b"j\r");
    term.wait_for("the new session's prompt", |s| {
        let text = s.contents();
        !text.contains("quiet-bash") && text.contains("$ ")
    });
    term.type_line("echo in-fresh-$((3*3))");
    term.wait_for_text("in-fresh-9");
    assert!(session_names(&alice).contains(&"fresh".to_string()));

    term.detach();
    term.wait_for_text("[detached from fresh]");
    term.send(b"\x1b");
    assert_eq!(term.wait_exit(), 0);
}

#[test]
fn the_list_updates_live_and_capital_k_kills_after_asking() {
    let server = Server::start();
    let alice = server.user("alice", false);
    alice.ok(&format!("new first -d -- {BASH}"));
    let term = alice.term("", 24, 80);
    term.wait_for_text("first");

    // A session created elsewhere appears without a key pressed.
    alice.ok(&format!("new second -d -- {BASH}"));
    term.wait_for_text("second");
    // So does a client attaching to it.
    let watcher = alice.term("watch second", 24, 80);
    term.wait_for_text("alice(r)");
    drop(watcher);

    term.send(b"/second\r");
    term.send(b"K");
    term.wait_for_text("Kill second?");
    term.send(b"y");
    eventually("second to be killed", || {
        !session_names(&alice).contains(&"second".to_string())
    });
    term.wait_for_text("killed second");
    assert!(session_names(&alice).contains(&"first".to_string()));
}

#[test]
fn a_window_resize_redraws_without_leftovers() {
    let server = Server::start();
    let alice = server.user("alice", false);
    alice.ok(&format!("new alpha -d -- {BASH}"));
    alice.ok("send alpha 'echo some-output\\n'");

    let big = alice.term("", 30, 120);
    big.wait_for_text("some-output");
    big.resize(20, 60);
    let small = alice.term("", 20, 60);
    small.wait_for_text("some-output");
    // The resized picker shows exactly what a picker started at that
    // size shows: nothing is left over from the wider layout.
    assert_same_screen("resized", &big, &small);

    // Below 40x10 it says so, and grows back.
    big.resize(8, 30);
    big.wait_for_text("30x8");
    big.resize(20, 60);
    assert_same_screen("regrown", &big, &small);
}

#[test]
fn a_session_you_may_only_read_is_watched_and_input_never_reaches_it() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let admin = server.user("root-admin", true);
    alice.ok(&format!("new private -d -- {BASH}"));

    let term = admin.term("", 24, 80);
    term.wait_for_text("alice/private");
    term.send(b"\r");
    term.wait_for("the session", |s| !s.contents().contains("NAME"));
    term.send(b"echo typed-by-admin\r");
    term.detach();
    term.wait_for_text("[detached from alice/private]");
    let screen = alice.ok("capture private");
    assert!(!screen.contains("typed-by-admin"), "{screen}");
}

#[test]
fn without_a_terminal_the_shell_request_prints_help() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let out = alice
        .command()
        .arg("-T")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("attach"));
}

#[test]
fn resize_storms_and_broken_input_never_wedge_the_picker() {
    let server = Server::start();
    let alice = server.user("alice", false);
    alice.ok(&format!("new one -d -- {BASH}"));
    alice.ok(&format!("new two -d -- {BASH}"));
    let term = alice.term("", 24, 80);
    term.wait_for_text("NAME");
    let sizes = [
        (1, 1),
        (2, 200),
        (60, 20),
        (10, 40),
        (9, 39),
        (50, 150),
        (3, 3),
    ];
    for i in 0..42 {
        let (rows, cols) = sizes[i % sizes.len()];
        term.resize(rows, cols);
        // Let ssh see most sizes (it reports only the size it finds when
        // it handles SIGWINCH).
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // Escape fragments and a paste that never ends, then keys.
    term.send(b"\x1b[1;");
    term.send(b"\x1bO");
    term.send(b"\x1b[200~half a paste");
    // End at a size other than the first: when the sizes between are
    // lost to SIGWINCH coalescing, ssh reports the same size and the
    // server rightly has nothing to redraw, while the local terminal
    // model dropped its cells when it shrank.
    term.resize(30, 100);
    eventually("the help to open once the broken input is given up", || {
        term.send(b"?");
        std::thread::sleep(std::time::Duration::from_millis(200));
        term.contents().contains("any key closes")
    });
    term.send(b"\x1b");
    let fresh = alice.term("", 30, 100);
    fresh.wait_for_text("NAME");
    assert_same_screen("after the storm", &term, &fresh);
    assert!(alice.ok("ls").contains("two"));
}

#[test]
fn s_shares_the_selected_session_with_a_user() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let bob = server.user("bob", false);
    alice.ok(&format!("new pair -d -- {BASH}"));
    let term = alice.term("", 24, 80);
    term.wait_for_text("pair");
    term.send(b"s");
    term.wait_for_text("Share pair with:");
    term.send(b"nobody\r");
    term.wait_for_text("no user named nobody");
    term.send(b"\x15bob\t\r");
    term.wait_for_text("alice/pair shared with bob (write)");
    assert!(bob.ok("ls").contains("alice/pair"));
    // Bob's picker lists it with his access.
    let theirs = bob.term("", 24, 80);
    theirs.wait_for_text("alice/pair");
    theirs.wait_for_text("write");
}

/// SPEC §6: the list shows who is attached at every width from 80 up,
/// also where the preview sits beside it (from 100 columns).
#[test]
fn who_is_attached_shows_at_every_width_from_80() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let bob = server.user("bob", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    alice.ok("share work bob");
    let _watcher = bob.term("watch alice/work", 24, 80);
    eventually("bob to be attached", || {
        common::json_rows(&alice.ok("ls --json"))[0]["clients"] == 1
    });
    for cols in [80, 100, 104, 120] {
        let term = alice.term("", 30, cols);
        term.wait_for(&format!("WHO and bob(r) at {cols} columns"), |s| {
            let text = s.contents();
            let header = text
                .lines()
                .any(|l| l.contains("NAME") && l.contains("WHO"));
            let row = text
                .lines()
                .any(|l| l.contains("work") && l.contains("bob(r)"));
            header && row
        });
    }
}
