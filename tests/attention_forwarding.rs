//! End-to-end: forwarding (SPEC §11) through the real OpenSSH client. An
//! SSH client attached to one session receives `OSC 9 OWNER/NAME:
//! MESSAGE` when another session its user may write to starts wanting
//! attention, and nobody else does; and a program flooding its terminal
//! with escape sequences while another session notifies over and over
//! shows the attached client exactly the program's own screen, cell by
//! cell.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{BASH, Server, Ssh, Term, assert_same_cells, eventually};

/// The OSC 9 notices in a client's output, as their text.
fn notices(term: &Term) -> Vec<String> {
    let raw = String::from_utf8_lossy(&term.raw_output()).into_owned();
    raw.split("\x1b]9;")
        .skip(1)
        .map(|rest| rest.split('\x07').next().unwrap_or_default().to_string())
        .collect()
}

fn wait_for_notice(term: &Term, text: &str) {
    eventually(&format!("the notice {text:?}"), || {
        notices(term).iter().any(|n| n == text)
    });
}

fn attached(ssh: &Ssh, name: &str) -> Term {
    let term = ssh.term(&format!("attach {name}"), 24, 80);
    term.wait_for_text("$");
    term
}

#[test]
fn notices_reach_the_clients_of_users_who_may_write_and_nobody_else() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let bob = server.user("bob", false);
    let dave = server.user("dave", false);
    for name in ["here", "other", "last"] {
        alice.ok(&format!("new {name} -d -- {BASH}"));
    }
    for name in ["writable", "readable", "private"] {
        dave.ok(&format!("new {name} -d -- {BASH}"));
    }
    dave.ok("share writable alice --write");
    dave.ok("share readable alice");
    bob.ok(&format!("new mine -d -- {BASH}"));
    let alices = attached(&alice, "here");
    let bobs = attached(&bob, "mine");

    alice.ok("notify other -- Build done");
    wait_for_notice(&alices, "alice/other: Build done");
    dave.ok("notify writable -- Needs review");
    wait_for_notice(&alices, "dave/writable: Needs review");
    // Not forwarded: a session alice may only read, one she may not see,
    // and the one she is attached to.
    dave.ok("notify readable -- read only");
    dave.ok("notify private -- not yours");
    alice.ok("notify here -- you are here");
    // Each forwarder takes events in order: once the last one is in, the
    // ones before it were either forwarded or passed over.
    alice.ok("notify last -- the end");
    wait_for_notice(&alices, "alice/last: the end");
    assert_eq!(
        notices(&alices),
        [
            "alice/other: Build done",
            "dave/writable: Needs review",
            "alice/last: the end"
        ],
        "only sessions alice may write to, other than hers"
    );
    // A session starting to want attention again after an ack is told
    // again; a newer message while it still wants attention is not.
    alice.ok("notify other -- replaced");
    alice.ok("ack other");
    alice.ok("notify other -- again");
    wait_for_notice(&alices, "alice/other: again");
    assert!(!notices(&alices).iter().any(|n| n.contains("replaced")));
    // Bob hears of none of it; his own session's notice reaches only him
    // through another client of his.
    let bob_elsewhere = {
        bob.ok(&format!("new elsewhere -d -- {BASH}"));
        attached(&bob, "elsewhere")
    };
    bob.ok("notify mine -- for bob");
    wait_for_notice(&bob_elsewhere, "bob/mine: for bob");
    assert!(notices(&bobs).is_empty(), "{:?}", notices(&bobs));
    assert!(!notices(&alices).iter().any(|n| n.contains("bob")));
    // The notices changed nothing on alice's screen.
    alices.type_line("echo still-$((6*7))");
    alices.wait_for_text("still-42");
}

#[test]
fn forwarding_can_be_turned_off() {
    let server = Server::start_with_config("[notify]\nforward = false\n");
    let alice = server.user("alice", false);
    alice.ok(&format!("new here -d -- {BASH}"));
    alice.ok(&format!("new other -d -- {BASH}"));
    let term = attached(&alice, "here");
    alice.ok("notify other -- quiet please");
    assert!(alice.ok("ls").contains("!other"));
    std::thread::sleep(Duration::from_secs(1));
    assert!(notices(&term).is_empty(), "{:?}", notices(&term));
}

#[test]
fn a_flooded_screen_stays_exact_while_notices_arrive() {
    let server = Server::start();
    let alice = server.user("alice", false);
    // Cursor moves, colors, multi-byte characters, titles and erased
    // lines, thousands of times in a scroll region; and ten times the
    // output stops for a moment where a byte written to the client would
    // change the screen: inside a title longer than the host holds back,
    // and between the two bytes of a character. It starts on Enter.
    let flood = r#"read; long=$(head -c 6000 /dev/zero | tr '\0' T); printf '\e[2;20r'; for round in $(seq 1 10); do for i in $(seq 1 1500); do printf '\e[%d;%dH\e[3%d;4%dm█éèêë─│%d\e[0m\e]2;t%d\a\e[%d;1H\e[K' $((i%22+1)) $((i%70+1)) $((i%8)) $(((i/8)%8)) $i $i $((i%23+1)); done; printf '\e]2;%s' "$long"; sleep 0.2; printf 'end\a\e[5;1Hcaf\303'; sleep 0.2; printf '\251 %d' $round; done; printf '\e[r\e[24;1HFLOOD-DONE'; exec sleep 600"#;
    alice.ok(&format!(
        "new flood -d -- bash -c '{}'",
        flood.replace('\'', "'\\''")
    ));
    alice.ok(&format!("new other -d -- {BASH}"));
    let term = alice.term("attach flood", 24, 80);
    eventually("the flood session attached", || {
        common::json_rows(&alice.ok("ls --json"))
            .iter()
            .any(|s| s["name"] == "flood" && s["clients"] == 1)
    });
    let done = Arc::new(AtomicBool::new(false));
    let notifier = {
        let (done, alice) = (done.clone(), alice.clone());
        std::thread::spawn(move || {
            let mut sent = 0;
            while !done.load(Ordering::Relaxed) {
                alice.ok(&format!("notify other -- round {sent}"));
                alice.ok("ack other");
                sent += 1;
            }
            sent
        })
    };
    // Let a few notices through before the flood starts, then flood.
    wait_for_notice(&term, "alice/other: round 1");
    let flood_starts = term.raw_output().len();
    term.send(b"\r");
    term.wait_for_text("FLOOD-DONE");
    done.store(true, Ordering::Relaxed);
    let sent = notifier.join().unwrap();
    let received = notices(&term);
    let raw = term.raw_output();
    let flood_ends = flood_starts
        + raw[flood_starts..]
            .windows(10)
            .position(|w| w == b"FLOOD-DONE")
            .unwrap();
    let during = String::from_utf8_lossy(&raw[flood_starts..flood_ends])
        .matches("\x1b]9;")
        .count();
    assert!(
        during >= 1,
        "{sent} sent, {} received, none during the flood",
        received.len()
    );
    for notice in &received {
        assert!(
            notice.starts_with("alice/other: round "),
            "a notice arrived cut or mixed: {notice:?}"
        );
    }
    // The program's own screen, as a fresh attach of the same size gets it.
    std::thread::sleep(Duration::from_millis(300));
    let flooded = term.screen();
    let fresh = alice.term("attach flood", 24, 80);
    fresh.wait_for_text("FLOOD-DONE");
    assert_same_cells(&flooded, &fresh.screen(), 24, 80);
}
