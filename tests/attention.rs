//! End-to-end: attention (SPEC §11) through the real OpenSSH client and
//! the JSON API: every source raises it with its message (the progress
//! form does not), hostile messages arrive clean and cut, the picker lists
//! attention first with the message and the waiting time, and each way of
//! clearing it holds and is audited (a reader can neither clear it by
//! attaching nor `ack` it).

mod common;
mod web_support;

use common::{BASH, Server, Ssh, eventually};

fn wants_attention(ssh: &Ssh, name: &str) -> bool {
    common::listed(ssh, name)["attention"] == true
}

/// Waits for `name` to want attention and gives its message.
fn raised_message(ssh: &Ssh, name: &str) -> serde_json::Value {
    eventually(&format!("{name} wants attention"), || {
        wants_attention(ssh, name)
    });
    let found = common::listed(ssh, name);
    let since = found["attention_since"].as_str().unwrap_or_default();
    assert!(since.ends_with('Z') && since.contains('T'), "{found}");
    found["attention_message"].clone()
}

/// A session whose program writes `printf FORMAT` (bash's printf, so
/// `\e`, `\a` and octal escapes work), then waits.
fn printing(ssh: &Ssh, name: &str, format: &str) {
    ssh.ok(&format!(
        "new {name} -d -- bash -c \"printf '{format}'; echo; echo PRINTED; exec sleep 600\""
    ));
}

#[test]
fn each_source_raises_attention_with_its_message_and_progress_does_not() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let cases: [(&str, &str, Option<&str>); 6] = [
        ("bell", r"\a", None),
        ("osc9", r"\e]9;Build done\a", Some("Build done")),
        ("osc9st", r"\e]9;Tests failed\e\\\\", Some("Tests failed")),
        (
            "osc777",
            r"\e]777;notify;Claude;Needs your input\a",
            Some("Claude: Needs your input"),
        ),
        (
            "kitty",
            r"\e]99;i=7:d=0;Agent\e\\\\\e]99;i=7:p=body;waits for you\e\\\\",
            Some("Agent: waits for you"),
        ),
        ("kittyb64", r"\e]99;e=1;RG9uZQ==\a", Some("Done")),
    ];
    for (name, format, _) in &cases {
        printing(&alice, name, format);
    }
    printing(&alice, "progress", r"\e]9;4;1;50\a");
    for (name, _, message) in &cases {
        let expected = message.map_or(serde_json::Value::Null, Into::into);
        assert_eq!(raised_message(&alice, name), expected, "{name}");
    }
    let table = alice.ok("ls");
    assert!(table.lines().any(|l| l.starts_with("!osc9 ")), "{table}");

    // The progress report was read (the text after it is on the screen)
    // and did not mark the session.
    eventually("the progress session printed", || {
        alice.ok("capture progress").contains("PRINTED")
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    let progress = common::listed(&alice, "progress");
    assert_eq!(progress["attention"], false, "{progress}");
    assert_eq!(progress["attention_message"], serde_json::Value::Null);
    assert_eq!(progress["attention_since"], serde_json::Value::Null);

    // The verb, on a session whose program is quiet.
    alice.ok(&format!("new quiet -d -- {BASH}"));
    assert!(!wants_attention(&alice, "quiet"));
    alice.ok("notify quiet -- Deploy needs approval");
    assert_eq!(
        common::listed(&alice, "quiet")["attention_message"],
        "Deploy needs approval"
    );
    // A newer notification replaces the message and keeps the time.
    let since = common::listed(&alice, "quiet")["attention_since"].clone();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    alice.ok("notify quiet second message");
    let found = common::listed(&alice, "quiet");
    assert_eq!(found["attention_message"], "second message");
    assert_eq!(found["attention_since"], since);
}

#[test]
fn hostile_messages_arrive_clean_and_cut() {
    let server = Server::start();
    let alice = server.user("alice", false);
    // A control character, an escape sequence that ends the OSC early,
    // invalid UTF-8, and a 10,000-character message.
    printing(&alice, "controls", r"\e]9;a\001b\e[31mc\a");
    printing(&alice, "latin1", r"\e]9;caf\351 au lait\a");
    alice.ok(
        "new long -d -- bash -c \"printf '\\e]9;%s\\a' $(head -c 10000 /dev/zero | tr '\\\\0' x); exec sleep 600\"",
    );
    assert_eq!(raised_message(&alice, "controls"), "ab");
    assert_eq!(raised_message(&alice, "latin1"), "caf\u{fffd} au lait");
    assert_eq!(raised_message(&alice, "long"), "x".repeat(200));

    // The verb cleans likewise.
    alice.ok(&format!("new quiet -d -- {BASH}"));
    alice.ok(r"notify quiet -- 'one\x07two'");
    let message = raised_message(&alice, "quiet");
    assert_eq!(message, r"one\x07two", "escapes are not honoured by notify");

    // The API, with control characters and escape sequences in its JSON.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let token = web_support::api_token(&alice);
        let url = format!(
            "{}/api/sessions/alice/quiet/notify",
            web_support::base(&server)
        );
        let body = serde_json::json!({
            "message": format!("\u{1b}[31mred\u{7}\u{1} and\u{202e} more {}", "y".repeat(10_000))
        });
        let response = web_support::http()
            .post(&url)
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let json: serde_json::Value = response.json().await.unwrap();
        let message = json["attention_message"].as_str().unwrap().to_string();
        assert!(message.starts_with("red and more yyy"), "{message}");
        assert_eq!(message.chars().count(), 200, "{message}");
        // A malformed body is a clear error that changes nothing.
        let response = web_support::http()
            .post(&url)
            .bearer_auth(&token)
            .body("{\"text\": 1}")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
    });
}

#[test]
fn clearing_holds_for_each_way_and_is_audited() {
    let server = Server::start();
    let boss = server.user("boss", true);
    let alice = server.user("alice", false);
    let bob = server.user("bob", false);
    let carol = server.user("carol", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    alice.ok("share work bob");
    alice.ok("share work carol --write");

    // A reader attaching does not clear it, and a reader may not ack.
    alice.ok("notify work -- first");
    let reader = bob.term("attach alice/work", 24, 80);
    reader.wait_for_text("$");
    assert!(wants_attention(&alice, "work"));
    let refused = bob.run("ack alice/work");
    assert_eq!(refused.status, 1, "{}", refused.stderr);
    assert_eq!(refused.stderr, "you may not ack alice/work\n");
    assert!(wants_attention(&alice, "work"));
    let refused = bob.run("notify alice/work -- hello");
    assert_eq!(refused.status, 1, "{}", refused.stderr);

    // A writer attaching clears it.
    let mut writer = carol.term("attach alice/work", 24, 80);
    writer.wait_for_text("$");
    eventually("cleared by carol's attach", || {
        !wants_attention(&alice, "work")
    });
    let cleared = common::listed(&alice, "work");
    assert_eq!(cleared["attention_message"], serde_json::Value::Null);
    assert_eq!(cleared["attention_since"], serde_json::Value::Null);

    // With a writer attached, the program's bell does not mark it (the
    // writer hears it) but `notify` does.
    writer.type_line("printf '\\a'; echo rang-$((6*7))");
    writer.wait_for_text("rang-42");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        !wants_attention(&alice, "work"),
        "a bell with a writer attached"
    );
    alice.ok("notify work -- second");
    assert!(wants_attention(&alice, "work"));
    writer.detach();
    assert_eq!(writer.wait_exit(), 0);

    // `ack` by someone with write access clears it.
    carol.ok("ack alice/work");
    assert!(!wants_attention(&alice, "work"));
    // Nothing to ack is fine.
    carol.ok("ack alice/work");

    // Its program ending clears it; then `notify` is refused.
    alice.ok("notify work -- third");
    alice.ok("send work 'exit\\n'");
    eventually("work exited", || {
        common::listed(&alice, "work")["state"] == "exited"
    });
    eventually("cleared by the end", || !wants_attention(&alice, "work"));
    let refused = alice.run("notify work -- too late");
    assert_eq!(refused.status, 1);
    assert_eq!(refused.stderr, "session alice/work has exited\n");
    drop(reader);

    let audit = common::json_rows(&boss.ok("audit alice/work --json"));
    let rows = |action: &str| -> Vec<(String, String)> {
        audit
            .iter()
            .filter(|r| r["action"] == action)
            .map(|r| {
                (
                    r["actor"].as_str().unwrap_or("-").to_string(),
                    r["detail"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    };
    let mut raised = rows("attention");
    raised.sort();
    assert_eq!(
        raised,
        [("-", "first"), ("-", "second"), ("-", "third")]
            .map(|(a, d)| (a.to_string(), d.to_string())),
        "{audit:?}"
    );
    let mut acks = rows("ack");
    acks.sort();
    assert_eq!(
        acks,
        [
            ("-", "the session ended"),
            ("carol", "ack"),
            ("carol", "attached as a writer")
        ]
        .map(|(a, d)| (a.to_string(), d.to_string())),
        "{audit:?}"
    );
    assert_eq!(rows("notify").len(), 3, "{audit:?}");
}

#[test]
fn the_picker_lists_attention_first_with_the_message_and_waiting_time() {
    let server = Server::start();
    let alice = server.user("alice", false);
    alice.ok(&format!("new calm -d -- {BASH}"));
    alice.ok(&format!("new agent -d -- {BASH}"));
    alice.ok(&format!("new later -d -- {BASH}"));
    // The most recently active session would come first without attention.
    alice.ok("send later 'echo hi\\n'");
    alice.ok("notify agent -- Claude needs your input");
    let term = alice.term("", 24, 100);
    term.wait_for_text("! agent waiting");
    term.wait_for_text("Claude needs your input");
    let screen = term.screen();
    // The list only: the preview stands beside it, after a box corner.
    let rows: Vec<String> = (0..24)
        .map(|row| {
            let text = screen.contents_between(row, 0, row, 100);
            text.split(['┌', '│'])
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    let row_of = |name: &str| {
        rows.iter()
            .position(|r| r.split_whitespace().any(|w| w == name))
            .unwrap_or_else(|| panic!("{name} not listed: {rows:#?}"))
    };
    assert!(row_of("agent") < row_of("later"), "{rows:#?}");
    assert!(row_of("agent") < row_of("calm"), "{rows:#?}");
    let agent = &rows[row_of("agent")];
    assert!(agent.trim_start().starts_with('!'), "{agent}");
    let line = rows.iter().find(|r| r.contains("! agent waiting")).unwrap();
    let waited = line
        .split("waiting ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .unwrap();
    assert!(
        waited.ends_with('s') && waited[..waited.len() - 1].parse::<u32>().is_ok(),
        "{line}"
    );
}

/// A program's OSC 52 clipboard write, as its clients' terminals get it.
const CLIPBOARD_PREFIX: &str = "\x1b]52;c;";

fn clipboard_writes(term: &common::Term) -> Vec<String> {
    let raw = String::from_utf8_lossy(&term.raw_output()).into_owned();
    raw.split(CLIPBOARD_PREFIX)
        .skip(1)
        .map(|rest| rest.split('\x07').next().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn clipboard_writes_reach_only_the_last_typers_clients() {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let server = Server::start();
    let alice = server.user("alice", false);
    let bob = server.user("bob", false);
    let carol = server.user("carol", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    alice.ok("share work bob");
    alice.ok("share work carol --write");
    let alices = alice.term("attach work", 24, 80);
    alices.wait_for_text("$");
    let carols = carol.term("attach alice/work", 24, 80);
    let carols_second = carol.term("attach alice/work", 24, 80);
    let bobs = bob.term("attach alice/work", 24, 80);
    for term in [&carols, &carols_second, &bobs] {
        term.wait_for_text("$");
    }
    // Carol types a command whose program copies to the clipboard.
    carols.type_line("printf '\\e]52;c;%s\\a' $(printf from-carol | base64); echo copied-1");
    carols.wait_for_text("copied-1");
    alices.wait_for_text("copied-1");
    bobs.wait_for_text("copied-1");
    eventually("carol's clients get the write", || {
        clipboard_writes(&carols) == [b64("from-carol")]
            && clipboard_writes(&carols_second) == [b64("from-carol")]
    });
    assert!(clipboard_writes(&alices).is_empty(), "another writer");
    assert!(clipboard_writes(&bobs).is_empty(), "an observer");

    // Then alice types: the next write is hers alone.
    alices.type_line("printf '\\e]52;c;%s\\a' $(printf from-alice | base64); echo copied-2");
    for term in [&alices, &carols, &bobs] {
        term.wait_for_text("copied-2");
    }
    eventually("alice's client gets the write", || {
        clipboard_writes(&alices) == [b64("from-alice")]
    });
    assert_eq!(clipboard_writes(&carols), [b64("from-carol")]);
    assert!(clipboard_writes(&bobs).is_empty());
    // A program reading the clipboard gets no answer from anyone.
    alices.type_line("printf '\\e]52;c;?\\a'; echo asked");
    alices.wait_for_text("asked");
    for term in [&alices, &carols, &bobs] {
        let raw = String::from_utf8_lossy(&term.raw_output()).into_owned();
        assert!(!raw.contains("\x1b]52;c;?"), "a read passed on");
    }
}
