//! End-to-end: contract breaks found by trying the product as a new user
//! would (issue 30), each through the real OpenSSH client: a synchronized
//! frame is held until `sessions.sync_timeout` also when the program
//! opens it after an earlier frame was given up on (SPEC §5), and
//! `serve --stop-sessions` records
//! the programs' exit statuses (SPEC §3, docs/operations.md).

mod common;

use std::time::{Duration, Instant};

use common::{Server, Ssh, eventually};

/// The session `name` of `ls --json`.
fn session(ssh: &Ssh, name: &str) -> serde_json::Value {
    common::json_rows(&ssh.ok("ls --json"))
        .into_iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no session {name}"))
}

/// Presses Enter in `term` and checks that the frame the program then
/// opens (and never closes) shows `text` after about the sync timeout
/// (2s), never within the first second.
fn frame_waits_for_the_timeout(term: &common::Term, text: &str) {
    let asked = Instant::now();
    term.send(b"\r");
    std::thread::sleep(Duration::from_secs(1));
    let early = term.contents();
    assert!(
        !early.contains(text),
        "the open frame was shown {:?} after Enter, before sync_timeout (2s):\n{early}",
        asked.elapsed()
    );
    term.wait_for_text(text);
    let shown = asked.elapsed();
    assert!(
        shown >= Duration::from_millis(1500),
        "shown after {shown:?}"
    );
    assert!(
        shown < Duration::from_secs(8),
        "flushed only after {shown:?}"
    );
}

#[test]
fn a_frame_opened_after_one_was_given_up_waits_for_the_sync_timeout_too() {
    let server = Server::start_with_config("[sessions]\nsync_timeout = \"2s\"\n");
    let alice = server.user("alice", false);
    // Each frame opened in one write with a line before it, and never
    // closed; the second is opened after the first was given up on.
    alice.ok("new frame -d -- bash -c 'echo ready; read; \
         printf \"line\\n\\033[?2026hFIRST\"; read; \
         printf \"line\\n\\033[?2026hSECOND\"; sleep 600'");
    let term = alice.term("attach frame", 24, 80);
    term.wait_for_text("ready");
    frame_waits_for_the_timeout(&term, "FIRST");
    frame_waits_for_the_timeout(&term, "SECOND");
}

#[test]
fn stop_sessions_records_the_programs_exit_statuses() {
    let config = "[sessions]\nkill_grace = \"1s\"\n";
    let mut server = Server::start_with(config, &["--stop-sessions"]);
    let boss = server.user("boss", true);
    let alice = server.user("alice", false);
    alice.ok("new hup -d -- sleep 1000");
    alice.ok("new stubborn -d -- bash -c 'trap \"\" HUP; echo armed; sleep 1000'");
    eventually("the HUP trap set", || {
        alice.ok("capture stubborn").contains("armed")
    });
    server.stop();
    server.start_again();
    let alice = Ssh {
        port: server.port,
        ..alice
    };
    let boss = Ssh {
        port: server.port,
        ..boss
    };
    // A hung-up `sleep` dies of SIGHUP (128 + 1); a program ignoring it is
    // killed after the grace (128 + 9).
    for (name, status) in [("hup", 129), ("stubborn", 137)] {
        let found = session(&alice, name);
        assert_eq!(found["state"], "exited", "{found}");
        assert_eq!(found["exit_status"], status, "{name}: {found}");
    }
    let audit = common::json_rows(&boss.ok("audit --json"));
    for (label, status) in [
        ("alice/hup", "status 129"),
        ("alice/stubborn", "status 137"),
    ] {
        let exits: Vec<_> = audit
            .iter()
            .filter(|r| r["action"] == "exit" && r["session"] == label)
            .map(|r| r["detail"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(exits, [status], "{label}: {audit:?}");
    }
}

#[test]
fn a_frame_opened_as_the_last_one_closes_gets_a_timeout_of_its_own() {
    let server = Server::start_with_config("[sessions]\nsync_timeout = \"2s\"\n");
    let alice = server.user("alice", false);
    // A frame drawn for 1.5 s, then closed and the next one opened in the
    // same write, never closed.
    alice.ok(
        "new frame -d -- bash -c 'echo ready; read; printf \"\\033[?2026hA\"; sleep 1.5; \
         printf \"B\\033[?2026l\\033[?2026hC\"; sleep 600'",
    );
    let term = alice.term("attach frame", 24, 80);
    term.wait_for_text("ready");
    term.send(b"\r");
    term.wait_for_text("AB");
    let closed = Instant::now();
    std::thread::sleep(Duration::from_secs(1));
    let early = term.contents();
    assert!(
        !early.contains("ABC"),
        "the second frame was shown {:?} after it began, before sync_timeout (2s):\n{early}",
        closed.elapsed()
    );
    term.wait_for_text("ABC");
    let shown = closed.elapsed();
    assert!(
        shown >= Duration::from_millis(1500),
        "shown after {shown:?}"
    );
}
