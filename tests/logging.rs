//! End-to-end: log lines of a connection carry its user, remote address
//! and session, in JSON with `log.format = "json"` (SPEC §9).

mod common;
mod web_support;

use common::{BASH, Server, eventually};

/// The fields of every span around a JSON log line, merged.
fn span_fields(line: &serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    let mut fields = serde_json::Map::new();
    for span in line["spans"].as_array().into_iter().flatten() {
        for (key, value) in span.as_object().unwrap() {
            fields.insert(key.clone(), value.clone());
        }
    }
    fields
}

#[test]
fn connection_lines_carry_user_peer_and_session() {
    let server = Server::start_with_config("[log]\nformat = \"json\"\n");
    let alice = server.user("alice", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    alice.ok("kill work");
    let mut found = None;
    eventually("the kill to be logged", || {
        found = server
            .log()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|l| l["message"] == "session killed");
        found.is_some()
    });
    let fields = span_fields(&found.unwrap());
    assert_eq!(fields["user"], "alice", "{fields:?}");
    assert_eq!(fields["session"], "alice/work", "{fields:?}");
    assert!(
        fields["peer"].as_str().unwrap().starts_with("127.0.0.1:"),
        "{fields:?}"
    );
    // Every line logged inside a signed-in connection names its user.
    let lines: Vec<serde_json::Value> = server
        .log()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let in_channels: Vec<_> = lines
        .iter()
        .filter(|l| {
            l["spans"]
                .as_array()
                .is_some_and(|s| s.iter().any(|s| s["name"] == "channel"))
        })
        .collect();
    assert!(!in_channels.is_empty());
    for line in in_channels {
        let fields = span_fields(line);
        assert!(
            fields.contains_key("user") && fields.contains_key("peer"),
            "{line}"
        );
    }
}

/// An event's own fields (at the top level of the line) merged with its
/// spans' (the span's win: they are what the line is about).
fn all_fields(line: &serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    let mut fields = line.as_object().cloned().unwrap_or_default();
    fields.extend(span_fields(line));
    fields
}

/// SPEC §9: with `log.format = "json"` every line the server writes is a
/// JSON object, the start-up announcements included (as events with the
/// address), and lines about a signed-in connection name its user and
/// peer.
#[test]
fn in_json_every_line_is_json_and_connection_lines_name_user_and_peer() {
    let server = Server::start_with_config(
        "[log]\nformat = \"json\"\n[metrics]\nlisten = \"127.0.0.1:0\"\n",
    );
    let alice = server.user("alice", false);
    alice.ok("whoami");
    alice.ok(&format!("new work -d -- {BASH}"));
    let mut term = alice.term("attach work", 24, 80);
    term.wait_for_text("$ ");
    term.detach();
    term.wait_for_text("[detached from work]");
    assert_eq!(term.wait_exit(), 0);
    eventually("the detach to be logged", || {
        server.log().contains("\"detached\"")
    });

    let log = server.log();
    let lines = json_lines(&log);
    let message = |line: &serde_json::Value| line["message"].as_str().map(str::to_string);
    // The message and the event's fields sit at the top level, beside
    // the level, the target and the time (not nested under `fields`).
    for line in &lines {
        assert!(line["message"].is_string(), "no top-level message: {line}");
        assert!(line.get("fields").is_none(), "nested fields: {line}");
        for key in ["level", "target", "timestamp"] {
            assert!(line[key].is_string(), "no {key}: {line}");
        }
    }
    for (listener, what) in [
        ("ssh", "SSH listening"),
        ("web", "web listening"),
        ("metrics", "metrics listening"),
    ] {
        let event = lines
            .iter()
            .find(|l| l["listener"] == listener)
            .unwrap_or_else(|| panic!("no {listener} listening event in:\n{log}"));
        assert_eq!(message(event).as_deref(), Some(what), "{event}");
        let address = event["address"].as_str().unwrap_or_default();
        assert!(address.starts_with("127.0.0.1:"), "{event}");
    }
    assert!(
        lines.iter().any(|l| l["command"]
            .as_str()
            .is_some_and(|c| c.starts_with("ssh -t -p "))),
        "no connect-with event in:\n{log}"
    );

    assert_names(&lines, "signed in", None);
    assert_names(&lines, "attached", Some("alice/work"));
    assert_names(&lines, "detached", Some("alice/work"));
}

/// Every line of `log` as a JSON object; panics at one that is not.
fn json_lines(log: &str) -> Vec<serde_json::Value> {
    log.lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|_| panic!("not JSON: {line}\nlog:\n{log}"));
            assert!(value.is_object(), "not an object: {line}");
            value
        })
        .collect()
}

/// The first line whose message is `what` names user alice, her peer
/// address and, when given, the session.
fn assert_names(lines: &[serde_json::Value], what: &str, session: Option<&str>) {
    let line = lines
        .iter()
        .find(|l| l["message"] == what)
        .unwrap_or_else(|| panic!("no `{what}` line in {lines:#?}"));
    let fields = all_fields(line);
    assert_eq!(fields.get("user"), Some(&"alice".into()), "{line}");
    assert!(
        fields
            .get("peer")
            .and_then(|p| p.as_str())
            .is_some_and(|p| p.starts_with("127.0.0.1:")),
        "{line}"
    );
    if let Some(session) = session {
        assert_eq!(fields.get("session"), Some(&session.into()), "{line}");
    }
}

/// The same for a browser: its sign-in, attach and detach lines name the
/// user, the browser's address and the session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_json_websocket_lines_name_user_peer_and_session() {
    let server = Server::start_with_config("[log]\nformat = \"json\"\n");
    let alice = server.user("alice", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    let cookie = web_support::sign_in(&alice, "work").await;
    let mut client = web_support::connect(&server, "alice/work", &cookie).await;
    client.resize(80, 24).await;
    client
        .wait_for("hello", |c| c.text_of("hello").is_some())
        .await;
    drop(client);
    eventually("the WebSocket's end to be logged", || {
        server.log().contains("\"WebSocket detached\"")
    });
    let lines = json_lines(&server.log());
    assert_names(&lines, "signed in by link", None);
    assert_names(&lines, "attached by WebSocket", Some("alice/work"));
    assert_names(&lines, "WebSocket detached", Some("alice/work"));
}

/// A server that cannot start says why as a JSON event too, and nothing
/// in plain text.
#[test]
fn in_json_a_failed_start_is_a_json_event() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    std::fs::write(
        dir.path().join("config/foyer.toml"),
        "[log]\nformat = \"json\"\n",
    )
    .unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let url = format!("sqlite://{}", dir.path().join("foyer.db").display());
    let out = common::foyer_on(dir.path(), &url)
        .args(["serve", "--ssh-listen", &address])
        .args(["--web-listen", "127.0.0.1:0"])
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&log);
    let stopped = lines
        .iter()
        .find(|l| l["message"] == "foyer stopped")
        .unwrap_or_else(|| panic!("no `foyer stopped` event in:\n{log}"));
    let error = stopped["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("ssh.listen") && error.contains(&address),
        "{stopped}"
    );
}

/// Session hosts write `data/hosts/hosts.log` in the gateway's format: in
/// JSON each line is an object with the message at the top level beside
/// the level, target and time, and the session it is about.
#[test]
fn in_json_the_hosts_log_lines_are_json_with_a_top_level_message() {
    let server = Server::start_with_config("[log]\nformat = \"json\"\n");
    let alice = server.user("alice", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    let path = server.dir.path().join("data/hosts/hosts.log");
    let mut text = String::new();
    eventually("the host to log the session's start", || {
        text = std::fs::read_to_string(&path).unwrap_or_default();
        text.contains("session started")
    });
    let lines = json_lines(&text);
    let started = lines
        .iter()
        .find(|l| l["message"] == "session started")
        .unwrap_or_else(|| panic!("no `session started` line in:\n{text}"));
    assert_eq!(started["session"], "alice/work", "{started}");
    assert_eq!(started["level"], "INFO", "{started}");
    assert!(
        started["target"]
            .as_str()
            .unwrap()
            .starts_with("foyer::host"),
        "{started}"
    );
    assert!(started["timestamp"].is_string(), "{started}");
    assert!(lines.iter().all(|l| l["message"].is_string()), "{text}");
}

/// In text the hosts' lines look like the gateway's: level, target,
/// message, then the fields as `key=value`, without colors.
#[test]
fn in_text_the_hosts_log_lines_are_laid_out_like_the_gateways() {
    let server = Server::start();
    let alice = server.user("alice", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    let path = server.dir.path().join("data/hosts/hosts.log");
    let mut text = String::new();
    eventually("the host to log the session's start", || {
        text = std::fs::read_to_string(&path).unwrap_or_default();
        text.contains("session started")
    });
    let line = text
        .lines()
        .find(|l| l.contains("session started"))
        .unwrap();
    assert!(
        line.contains(" INFO foyer::host::process: session started session=alice/work"),
        "{line}"
    );
    assert!(!text.contains('\x1b'), "{text:?}");
}

/// On a terminal the text log is colored, unless `NO_COLOR` is set
/// (no-color.org): then not one ESC byte.
#[test]
fn no_color_on_a_terminal_gives_a_plain_log() {
    assert!(
        log_on_a_terminal(None).contains(&0x1b),
        "no colors on a terminal without NO_COLOR"
    );
    let plain = log_on_a_terminal(Some("1"));
    assert!(
        !plain.contains(&0x1b),
        "{:?}",
        String::from_utf8_lossy(&plain)
    );
    // An empty NO_COLOR is as if unset.
    assert!(log_on_a_terminal(Some("")).contains(&0x1b));
}

/// What `foyer serve` writes on a terminal until it listens, with
/// `NO_COLOR` set to `no_color` (or removed).
fn log_on_a_terminal(no_color: Option<&str>) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("home")).unwrap();
    let url = format!("sqlite://{}", dir.path().join("foyer.db").display());
    let mut command = common::foyer_on(dir.path(), &url);
    command
        .args(["serve", "--ssh-listen", "127.0.0.1:0"])
        .args(["--web-listen", "127.0.0.1:0"]);
    match no_color {
        Some(value) => command.env("NO_COLOR", value),
        None => command.env_remove("NO_COLOR"),
    };
    let term = common::Term::spawn(command, 24, 200);
    eventually("the server to log that the database is ready", || {
        String::from_utf8_lossy(&term.raw_output()).contains("database ready")
    });
    term.raw_output()
}
