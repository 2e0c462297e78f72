//! End-to-end: log lines of a connection carry its user, remote address
//! and session, in JSON with `log.format = "json"` (SPEC §9).

mod common;

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
            .find(|l| l["fields"]["message"] == "session killed");
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
