//! End-to-end: `pause`, `resume` and `signal` (SPEC §4) and the
//! WebSocket's signal message (SPEC §7), through the real OpenSSH client
//! and a real WebSocket client: a counting program stops counting while
//! paused and goes on after resume, `paused` shows in `ls` and survives a
//! restart of the server, a program that traps INT reports it, and
//! readers are refused.

mod common;
mod web_support;

use std::time::Duration;

use common::{Server, Ssh, eventually};

const COUNT: &str = "bash -c 'i=0; while :; do echo $i; i=$((i+1)); sleep 0.2; done'";

/// The last number a counting program printed.
fn last_number(ssh: &Ssh, name: &str) -> u64 {
    ssh.ok(&format!("capture {name}"))
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .next_back()
        .unwrap_or(0)
}

fn state(ssh: &Ssh, name: &str) -> String {
    common::listed(ssh, name)["state"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Checks that the counter does not move for a second.
fn assert_stopped(ssh: &Ssh, name: &str) -> u64 {
    // The stop reaches the program a moment after the state shows.
    std::thread::sleep(Duration::from_millis(500));
    let stopped_at = last_number(ssh, name);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        last_number(ssh, name),
        stopped_at,
        "counted on while paused"
    );
    stopped_at
}

#[test]
fn a_paused_program_stops_counting_and_goes_on_after_resume() {
    let server = Server::start();
    let boss = server.user("boss", true);
    let alice = server.user("alice", false);
    alice.ok(&format!("new count -d -- {COUNT}"));
    eventually("counting", || last_number(&alice, "count") >= 3);
    let term = alice.term("attach count", 24, 80);
    term.wait_for_text("3");

    assert_eq!(alice.ok("pause count"), "");
    eventually("paused in ls --json", || state(&alice, "count") == "paused");
    let found = common::listed(&alice, "count");
    assert_eq!(found["exit_status"], serde_json::Value::Null, "{found}");
    let table = alice.ok("ls");
    assert!(
        table
            .lines()
            .any(|l| l.contains("count") && l.contains("paused")),
        "{table}"
    );
    term.wait_for_text("[foyer: session count paused]");
    let stopped_at = assert_stopped(&alice, "count");
    // Pausing again changes nothing and says so.
    let again = alice.run("pause count");
    assert_eq!(again.status, 1, "{}", again.stderr);
    assert_eq!(again.stderr, "session alice/count is already paused\n");

    alice.ok("resume count");
    eventually("running in ls --json", || {
        state(&alice, "count") == "running"
    });
    eventually("counting again", || {
        last_number(&alice, "count") > stopped_at + 2
    });
    let wanted = format!("{}", stopped_at + 3);
    term.wait_for_text(&wanted);
    let raw = String::from_utf8_lossy(&term.raw_output()).into_owned();
    assert_eq!(
        raw.matches("[foyer: session count paused]").count(),
        1,
        "the notice is shown once"
    );
    let not_paused = alice.run("resume count");
    assert_eq!(not_paused.status, 1);
    assert_eq!(not_paused.stderr, "session alice/count is not paused\n");

    let audit = common::json_rows(&boss.ok("audit alice/count --json"));
    for action in ["pause", "resume"] {
        assert!(
            audit
                .iter()
                .any(|r| r["action"] == action && r["actor"] == "alice"),
            "{action}: {audit:?}"
        );
    }
    let help = alice.ok("help");
    for usage in ["pause NAME", "resume NAME", "signal NAME SIG"] {
        assert!(help.contains(usage), "{help}");
    }
}

#[test]
fn signal_delivers_named_and_numbered_signals_to_the_program() {
    let server = Server::start();
    let boss = server.user("boss", true);
    let alice = server.user("alice", false);
    alice.ok(
        "new trap -d -- bash -c 'trap \"echo got-INT\" INT; trap \"echo got-USR1\" USR1; \
         echo armed; while :; do sleep 0.1; done'",
    );
    eventually("the traps set", || {
        alice.ok("capture trap").contains("armed")
    });
    assert_eq!(alice.ok("signal trap INT"), "");
    eventually("INT reported", || {
        alice.ok("capture trap").contains("got-INT")
    });
    alice.ok("signal trap 10");
    eventually("USR1 reported", || {
        alice.ok("capture trap").contains("got-USR1")
    });
    assert_eq!(state(&alice, "trap"), "running");

    let bad = alice.run("signal trap BOGUS");
    assert_eq!(bad.status, 2, "{}", bad.stderr);
    assert!(
        bad.stderr.contains("usage: ssh HOST signal NAME SIG"),
        "{}",
        bad.stderr
    );
    let missing = alice.run("signal nothing INT");
    assert_eq!(missing.status, 1);
    assert_eq!(missing.stderr, "no session named nothing\n");

    alice.ok("signal trap TERM");
    eventually("the program ended by TERM", || {
        common::listed(&alice, "trap")["exit_status"] == 143
    });
    let exited = alice.run("signal trap INT");
    assert_eq!(exited.status, 1);
    assert_eq!(exited.stderr, "session alice/trap has exited\n");

    let audit = common::json_rows(&boss.ok("audit alice/trap --json"));
    assert!(
        audit.iter().any(|r| r["action"] == "signal"
            && r["actor"] == "alice"
            && r["detail"].as_str().is_some_and(|d| d.starts_with("INT"))),
        "{audit:?}"
    );
}

#[test]
fn readers_may_not_pause_resume_or_signal() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let bob = server.user("bob", false);
    alice.ok(&format!("new count -d -- {COUNT}"));
    alice.ok("share count bob");
    eventually("counting", || last_number(&alice, "count") >= 2);
    for (verb, message) in [
        ("pause alice/count", "you may not pause alice/count\n"),
        ("resume alice/count", "you may not resume alice/count\n"),
        ("signal alice/count INT", "you may not signal alice/count\n"),
    ] {
        let refused = bob.run(verb);
        assert_eq!(refused.status, 1, "{verb}: {}", refused.stderr);
        assert_eq!(refused.stderr, message, "{verb}");
    }
    assert_eq!(state(&alice, "count"), "running");
    alice.ok("share count bob --write");
    bob.ok("pause alice/count");
    eventually("paused by a writer", || {
        state(&bob, "alice/count") == "paused"
    });
}

#[test]
fn paused_survives_a_restart_of_the_server() {
    let mut server = Server::start();
    let alice = server.user("alice", false);
    alice.ok(&format!("new count -d -- {COUNT}"));
    eventually("counting", || last_number(&alice, "count") >= 2);
    alice.ok("pause count");
    eventually("paused", || state(&alice, "count") == "paused");
    server.restart();
    let alice = Ssh {
        port: server.port,
        ..alice
    };
    assert_eq!(state(&alice, "count"), "paused");
    let stopped_at = assert_stopped(&alice, "count");
    alice.ok("resume count");
    eventually("counting again", || {
        last_number(&alice, "count") > stopped_at + 2
    });
    assert_eq!(state(&alice, "count"), "running");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_websockets_signal_message_reaches_the_program_from_writers_only() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let bob = server.user("bob", false);
    let setup = alice.clone();
    tokio::task::spawn_blocking(move || {
        setup.ok(
            "new trap -d -- bash -c 'trap \"echo got-INT\" INT; echo armed; \
             while :; do sleep 0.1; done'",
        );
        setup.ok("share trap bob");
        eventually("the trap set", || {
            setup.ok("capture trap").contains("armed")
        });
    })
    .await
    .unwrap();

    // A reader's signal message is ignored.
    let bobs = web_support::sign_in(&bob, "alice/trap").await;
    let mut reader = web_support::connect(&server, "alice/trap", &bobs).await;
    reader
        .wait_for("hello", |c| c.text_of("hello").is_some())
        .await;
    assert_eq!(reader.text_of("hello").unwrap()["access"], "read");
    reader
        .send_text(r#"{"type":"signal","signal":"INT"}"#)
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let check = alice.clone();
    let screen = tokio::task::spawn_blocking(move || check.ok("capture trap"))
        .await
        .unwrap();
    assert!(!screen.contains("got-INT"), "a reader signalled: {screen}");

    let cookie = web_support::sign_in(&alice, "trap").await;
    let mut client = web_support::connect(&server, "alice/trap", &cookie).await;
    client.resize(80, 24).await;
    client
        .wait_for("hello", |c| c.text_of("hello").is_some())
        .await;
    client
        .send_text(r#"{"type":"signal","signal":"INT"}"#)
        .await;
    client.wait_for_text("got-INT").await;
    // The reader is still connected: the message closed nothing.
    reader.wait_for_text("got-INT").await;
}
