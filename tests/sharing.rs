//! End-to-end: `share` and `unshare` through the real OpenSSH client, and
//! their effect on clients already attached (SPEC §3, §4).

mod common;

use common::{BASH, Server, Ssh, eventually};

fn sees(ssh: &Ssh, label: &str) -> Option<String> {
    let json: serde_json::Value = serde_json::from_str(&ssh.ok("ls --json")).unwrap();
    json.as_array().unwrap().iter().find_map(|s| {
        let shown = format!("{}/{}", s["owner"].as_str()?, s["name"].as_str()?);
        (shown == label).then(|| s["access"].as_str().unwrap().to_string())
    })
}

#[test]
fn read_access_lets_a_user_see_watch_and_capture_but_not_type() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let bob = server.user("bob", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    alice.ok("send work 'echo hello-bob\\n'");

    assert_eq!(sees(&bob, "alice/work"), None);
    let hidden = bob.run("capture alice/work");
    assert_eq!(hidden.status, 1);
    assert_eq!(hidden.stderr, "no session named alice/work\n");

    assert_eq!(
        alice.ok("share work bob"),
        "alice/work shared with bob (read)\n"
    );
    assert_eq!(sees(&bob, "alice/work").as_deref(), Some("read"));
    eventually("bob's capture to show alice's output", || {
        bob.ok("capture alice/work").contains("hello-bob")
    });
    let typed = bob.run("send alice/work 'echo from-bob\\n'");
    assert_eq!(typed.status, 1);
    assert_eq!(typed.stderr, "you may not type into alice/work\n");

    // Attaching with read access is watching: keystrokes go nowhere.
    let term = bob.term("attach alice/work", 24, 80);
    term.wait_for_text("hello-bob");
    term.type_line("echo typed-by-bob");
    alice.ok("send work 'echo marker-after\\n'");
    term.wait_for_text("marker-after");
    assert!(!alice.ok("capture work").contains("typed-by-bob"));
}

#[test]
fn write_access_types_and_a_downgrade_stops_it_at_once() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let bob = server.user("bob", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    alice.ok("share work bob --write");
    assert_eq!(sees(&bob, "alice/work").as_deref(), Some("write"));

    let term = bob.term("attach alice/work", 24, 80);
    term.wait_for_text("$ ");
    term.type_line("echo bob-$((20+1))");
    term.wait_for_text("bob-21");

    // Downgraded while attached: still watching, no longer typing. The
    // hub has the change queued before `share` returns, so every key bob
    // sends after it arrives too late.
    assert_eq!(
        alice.ok("share work bob"),
        "alice/work shared with bob (read)\n"
    );
    term.type_line("echo never-reaches");
    alice.ok("send work 'echo still-watching\n'");
    term.wait_for_text("still-watching");
    let after = alice.ok("capture work");
    assert!(!after.contains("never-reaches"), "{after}");
    assert!(after.contains("bob-21"), "{after}");
}

#[test]
fn unshare_detaches_attached_clients_with_a_message() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let bob = server.user("bob", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    alice.ok("share work bob --write");
    let mut term = bob.term("attach alice/work", 24, 80);
    term.wait_for_text("$ ");
    let mut stream = bob
        .command()
        .arg("watch alice/work")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The stream is live once it carries what the session prints next.
    let chunks = common::read_chunks(stream.stdout.take().unwrap());
    let mut seen = Vec::new();
    eventually("bob's stream to carry the session's output", || {
        alice.ok("send work 'echo stream-$((5*5))\\n'");
        while let Ok(chunk) = chunks.recv_timeout(std::time::Duration::from_millis(200)) {
            seen.extend(chunk);
        }
        String::from_utf8_lossy(&seen).contains("stream-25")
    });

    assert_eq!(
        alice.ok("unshare work bob"),
        "bob no longer has access to alice/work\n"
    );
    term.wait_for_text("[foyer: your access to alice/work was revoked]");
    assert_eq!(term.wait_exit(), 0);
    let out = stream.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "your access to alice/work was revoked\n"
    );
    assert_eq!(sees(&bob, "alice/work"), None);
    // Alice's session goes on.
    alice.ok("send work 'echo alice-goes-on\\n'");
    eventually("alice's session to go on", || {
        alice.ok("capture work").contains("alice-goes-on")
    });
}

#[test]
fn only_the_owner_or_an_admin_shares_and_mistakes_are_refused() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let bob = server.user("bob", false);
    server.user("carol", false);
    let admin = server.user("boss", true);
    alice.ok(&format!("new work -d -- {BASH}"));
    alice.ok("share work bob");

    let cases: [(&Ssh, &str, &str); 5] = [
        (
            &bob,
            "share alice/work carol",
            "only the owner may share alice/work\n",
        ),
        (&alice, "share work nobody", "no user named nobody\n"),
        (&alice, "share work alice", "alice owns alice/work\n"),
        (
            &alice,
            "unshare work carol",
            "carol has no access to alice/work to take away\n",
        ),
        (&alice, "share nothing bob", "no session named nothing\n"),
    ];
    for (who, command, message) in cases {
        let out = who.run(command);
        assert_eq!(out.status, 1, "{command}");
        assert_eq!(out.stderr, message, "{command}");
    }
    let usage = alice.run("share work");
    assert_eq!(usage.status, 2);

    // An admin reads everything; a write grant lets them type.
    assert_eq!(sees(&admin, "alice/work").as_deref(), Some("read"));
    admin.ok("share alice/work carol");
    alice.ok("share work boss --write");
    assert_eq!(sees(&admin, "alice/work").as_deref(), Some("write"));
    admin.ok("send alice/work 'echo admin-typed\\n'");
    eventually("the admin's text to arrive", || {
        alice.ok("capture work").contains("admin-typed")
    });
    // Unsharing an admin leaves them their admin's read access.
    alice.ok("unshare work boss");
    assert_eq!(sees(&admin, "alice/work").as_deref(), Some("read"));
}

#[test]
fn grants_survive_a_server_restart() {
    let mut server = Server::start();
    let alice = server.user("alice", false);
    let bob = server.user("bob", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    alice.ok("share work bob --write");
    server.restart();
    let bob = Ssh {
        port: server.port,
        ..bob
    };
    assert_eq!(sees(&bob, "alice/work").as_deref(), Some("write"));
}

#[test]
fn an_upgrade_to_write_reaches_an_attached_reader_at_once_but_not_a_watcher() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let bob = server.user("bob", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    alice.ok("share work bob");
    let reader = bob.term("attach alice/work", 24, 80);
    let watcher = bob.term("watch alice/work", 24, 80);
    reader.wait_for_text("$ ");
    watcher.wait_for_text("$ ");
    reader.type_line("echo read-only-$((1+1))");
    alice.ok("send work 'echo marker-one\n'");
    reader.wait_for_text("marker-one");
    assert!(!alice.ok("capture work").contains("read-only-2"));

    assert_eq!(
        alice.ok("share work bob --write"),
        "alice/work shared with bob (write)\n"
    );
    reader.type_line("echo upgraded-$((2+2))");
    reader.wait_for_text("upgraded-4");
    watcher.type_line("echo watching-$((3+3))");
    alice.ok("send work 'echo marker-two\n'");
    watcher.wait_for_text("marker-two");
    let screen = alice.ok("capture work");
    assert!(
        !screen.contains("watching-6"),
        "a watcher chose read-only: {screen}"
    );
}
