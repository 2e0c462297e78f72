//! End-to-end: what the audit log records and how admins read it (SPEC §9).

mod common;

use common::{BASH, Server, eventually};

fn rows(json: &str) -> Vec<serde_json::Value> {
    common::json_rows(json)
}

fn has(rows: &[serde_json::Value], actor: Option<&str>, action: &str, detail_part: &str) -> bool {
    rows.iter().any(|r| {
        r["action"] == action
            && r["actor"].as_str() == actor
            && r["detail"].as_str().unwrap_or("").contains(detail_part)
    })
}

#[test]
fn sign_ins_sessions_attachments_grants_and_exits_are_audited() {
    let server = Server::start();
    let admin = server.user("boss", true);
    let alice = server.user("alice", false);
    let bob = server.user("bob", false);
    assert_ne!(server.stranger().run("whoami").status, 0);

    alice.ok(&format!("new work -d -- {BASH}"));
    alice.ok("share work bob");
    let term = bob.term("attach alice/work", 24, 80);
    term.wait_for_text("$ ");
    term.detach();
    term.wait_for_text("[detached from alice/work]");
    alice.ok("unshare work bob");
    alice.ok("new brief -d -- true");
    alice.ok("kill work");

    let mut all = Vec::new();
    eventually("every event to be written", || {
        all = rows(&admin.ok("audit --json"));
        has(&all, None, "exit", "status 0") && has(&all, Some("alice"), "kill", "")
    });
    assert!(has(&all, None, "sign-in-refused", "unknown key SHA256:"));
    assert!(has(&all, Some("alice"), "sign-in", "ssh from 127.0.0.1"));
    assert!(has(&all, Some("alice"), "new", "bash --norc"));
    assert!(has(&all, Some("alice"), "share", "bob read"));
    assert!(has(&all, Some("bob"), "attach", "observer over ssh"));
    assert!(has(
        &all,
        Some("bob"),
        "detach",
        "observer over ssh: detached"
    ));
    assert!(has(&all, Some("alice"), "unshare", "bob"));
    let ids: Vec<i64> = all.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    let work = |r: &serde_json::Value| r["session"] == "alice/work";
    let attach = all
        .iter()
        .position(|r| r["action"] == "attach" && work(r))
        .unwrap();
    let detach = all
        .iter()
        .position(|r| r["action"] == "detach" && work(r))
        .unwrap();
    assert!(detach < attach, "the detach is newer than the attach");

    let only_work = rows(&admin.ok("audit alice/work --json"));
    assert!(!only_work.is_empty());
    assert!(only_work.iter().all(work), "{only_work:?}");
    let table = admin.ok("audit alice/work --limit 2");
    assert!(table.starts_with("AT"), "{table}");
    assert_eq!(table.lines().count(), 3, "{table}");

    let refused = alice.run("audit");
    assert_eq!(refused.status, 1);
    assert_eq!(refused.stderr, "only admins may read the audit log\n");
}
