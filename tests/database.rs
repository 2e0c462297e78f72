//! The database under the server: the suite runs on the database its pass
//! names (SQLite, or PostgreSQL with `FOYER_TEST_DATABASE`), and a
//! PostgreSQL server that restarts while sessions run loses no session.
//!
//! The restart test starts a PostgreSQL cluster of its own (initdb on a
//! free port, in a temporary directory), so stopping it disturbs no other
//! test; it is skipped, with a printed reason, where PostgreSQL's server
//! binaries are not installed.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::postgres::Cluster;
use common::{BASH, Server, eventually};

#[test]
fn the_suite_runs_on_the_database_its_pass_names() {
    let server = Server::start();
    let alice = server.user("alice", false);
    alice.ok("new probe -d -- sleep 600");
    let sqlite_file = server.dir.path().join("data/foyer.db");
    let (backend, file_expected) = if common::on_postgres() {
        ("postgres", false)
    } else {
        ("sqlite", true)
    };
    assert!(
        server.database_url().starts_with(backend),
        "{}",
        server.database_url()
    );
    assert!(
        server.log().contains(&format!("backend={backend}")),
        "the server names its database backend; log:\n{}",
        server.log()
    );
    assert_eq!(sqlite_file.exists(), file_expected, "{sqlite_file:?}");
}

#[test]
fn sessions_survive_a_postgresql_restart_under_load() {
    let Some(mut cluster) = Cluster::create("sessions_survive_a_postgresql_restart_under_load")
    else {
        return;
    };
    let server = Server::start_on_database(&cluster.url());
    let alice = server.user("alice", false);
    let term = alice.term(&format!("new work -- {BASH}"), 24, 80);
    term.wait_for_text("$ ");
    alice.ok("new ticker -d -- bash -c 'while :; do date +%s%N; sleep 0.1; done'");

    cluster.stop();
    // What is attached keeps working from memory while the database is down.
    term.type_line("echo during-$((6 * 7))");
    term.wait_for_text("during-42");
    // A new connection needs the database (its key is looked up): refused
    // in bounded time, with a line in the log, not hung.
    let started = Instant::now();
    let refused = alice.run("ls");
    assert_ne!(refused.status, 0, "{}", refused.stdout);
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "refusal took {:?}",
        started.elapsed()
    );

    cluster.start();
    // The pool reconnects: new commands work again, nothing was lost.
    eventually("the server to reach the database again", || {
        alice.run("ls").status == 0
    });
    let table = alice.ok("ls");
    assert!(
        table.contains("work") && table.contains("ticker"),
        "{table}"
    );
    assert!(!table.contains("exited"), "{table}");
    alice.ok("new after -d -- sleep 600");
    assert!(alice.ok("ls").contains("after"));
    let before = alice.ok("capture ticker");
    eventually("the ticker to keep ticking", || {
        alice.ok("capture ticker") != before
    });
    term.type_line("echo after-$((6 * 7))");
    term.wait_for_text("after-42");
    // The audit log is written behind the verbs (its own task): wait for it.
    eventually("every new to be audited", || {
        cluster.count("SELECT count(*) FROM audit WHERE action = 'new'") >= 3
    });
}

#[test]
fn a_sqlite_database_moves_to_postgresql_with_the_tool() {
    const TEST: &str = "a_sqlite_database_moves_to_postgresql_with_the_tool";
    if !common::on_postgres() {
        common::skipped(TEST, "needs the PostgreSQL pass (FOYER_TEST_DATABASE)");
        return;
    }
    if !on_path("sqlite3") || !on_path("psql") {
        common::skipped(TEST, "needs the sqlite3 and psql clients");
        return;
    }
    // A server on SQLite, whatever this pass's database, with some history.
    let mut old = Server::start_on_database("sqlite://data/foyer.db");
    let alice = old.user("alice", true);
    let bob = old.user("bob", false);
    alice.ok("new kept -d -- sleep 600");
    alice.ok("share kept bob");
    old.stop();

    let target = common::TestDatabase::create();
    let url = target.url(old.dir.path());
    let migrate = common::foyer_on(old.dir.path(), &url)
        .arg("migrate")
        .output()
        .unwrap();
    assert!(migrate.status.success(), "{migrate:?}");
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/sqlite-to-postgres");
    let copy = Command::new(&tool)
        .arg(old.dir.path().join("data/foyer.db"))
        .arg(&url)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&copy.stdout).into_owned();
    assert!(
        copy.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&copy.stderr)
    );
    assert!(
        report.contains("users        sqlite      2  postgres      2"),
        "{report}"
    );

    // The same users, keys, sessions and grants on PostgreSQL; new rows
    // get fresh ids (the identity counters moved past the copied ones).
    let server = Server::start_on_database(&url);
    let (alice, bob) = (at(&alice, &server), at(&bob, &server));
    let table = alice.ok("ls");
    assert!(
        table.contains("kept") && table.contains("exited"),
        "{table}"
    );
    assert!(bob.ok("ls").contains("alice/kept"), "bob keeps his grant");
    alice.ok("new fresh -d -- sleep 600");
    server.user("carol", false).ok("whoami");
    assert!(alice.ok("audit").contains("share"), "the audit came along");
    // A second copy into the now used database is refused.
    let again = Command::new(&tool)
        .arg(old.dir.path().join("data/foyer.db"))
        .arg(&url)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    drop(server);
}

/// `client`, signing in to `server` instead.
fn at(client: &common::Ssh, server: &Server) -> common::Ssh {
    common::Ssh {
        port: server.port,
        ..client.clone()
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).exists()))
}
