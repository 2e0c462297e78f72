//! End-to-end fault of the database (issue 28, "Faults"): PostgreSQL
//! restarted under the running server (a cluster of this test's own,
//! stopped with `pg_ctl -m fast`, which closes every connection, then
//! started again). During the outage what needs the database fails with a
//! message that names it, what does not goes on, and every audit event of
//! the outage is written once the database is back; the server reconnects
//! without a restart and nothing panics.
//!
//! It runs its own PostgreSQL whatever the pass, so it runs in the SQLite
//! pass and prints SKIPPED in the PostgreSQL one (the same test twice).

mod common;

use std::process::{Command, Stdio};
use std::time::Instant;

use common::control_master::ControlMaster;
use common::faults::{assert_no_panic, figure};
use common::postgres::Cluster;
use common::{BASH, Server, Ssh, eventually};

const TEST: &str = "postgresql_restarted_under_the_server_loses_no_audit_row";

/// Runs `command`; returns (exit status, stdout, stderr).
fn run(mut command: Command) -> (i32, String, String) {
    let out = command.stdin(Stdio::null()).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn spawn(command: Command) -> std::thread::JoinHandle<(i32, String, String)> {
    std::thread::spawn(move || run(command))
}

/// The cluster, or None after printing why the test does not run here;
/// in CI a missing PostgreSQL fails the test.
fn cluster() -> Option<Cluster> {
    if common::on_postgres() {
        common::skipped(TEST, "it runs its own PostgreSQL in the SQLite pass");
        return None;
    }
    let cluster = Cluster::create(TEST);
    assert!(
        cluster.is_some() || std::env::var("CI").as_deref() != Ok("true"),
        "CI needs PostgreSQL's server binaries (tools/install-test-deps installs them)"
    );
    cluster
}

/// Audit rows of `session` with `action`, counted in the database.
fn audited(cluster: &Cluster, action: &str, session: &str) -> i64 {
    cluster.count(&format!(
        "SELECT count(*) FROM audit WHERE action = '{action}' AND session = '{session}'"
    ))
}

/// What the outage does through connections signed in before it.
struct DuringTheOutage {
    refused_sign_in: String,
    refused_new: String,
    refused_audit: String,
}

fn through_the_outage(
    alice: &Ssh,
    boss: &Ssh,
    masters: (&ControlMaster, &ControlMaster),
) -> DuringTheOutage {
    let (alice_master, boss_master) = masters;
    // What needs the database waits for it, then fails: all asked at once.
    let fresh = {
        let alice = alice.clone();
        std::thread::spawn(move || alice.run("ls"))
    };
    let new = spawn(alice_master.command(alice, &["new", "late", "-d", "--", "sleep", "600"]));
    let audit = spawn(boss_master.command(boss, &["audit"]));
    // Signed in already: `ls` and attach go on from memory.
    let (status, table, _) = run(alice_master.command(alice, &["ls"]));
    assert_eq!(status, 0);
    assert!(
        table.contains("work") && table.contains("doomed"),
        "{table}"
    );
    let mut ssh = alice_master.command(alice, &[]);
    ssh.arg("-t").arg("attach work");
    let term = common::Term::spawn(ssh, 24, 80);
    term.type_line("echo during-$((6*7))");
    term.wait_for_text("during-42");
    term.detach();
    // Kill needs no database either (the removal is written later).
    let (status, _, stderr) = run(alice_master.command(alice, &["kill", "doomed"]));
    assert_eq!(status, 0, "{stderr}");
    // A fresh connection must look its key up: refused.
    let fresh = fresh.join().unwrap();
    assert_ne!(fresh.status, 0, "{}", fresh.stdout);
    let (status, _, refused_new) = new.join().unwrap();
    assert_ne!(status, 0);
    let (status, _, refused_audit) = audit.join().unwrap();
    assert_ne!(status, 0);
    DuringTheOutage {
        refused_sign_in: fresh.stderr,
        refused_new,
        refused_audit,
    }
}

#[test]
fn postgresql_restarted_under_the_server_loses_no_audit_row() {
    let Some(mut cluster) = cluster() else {
        return;
    };
    let server = Server::start_on_database(&cluster.url());
    let (boss, alice) = (server.user("boss", true), server.user("alice", false));
    alice.ok(&format!("new work -d -- {BASH}"));
    alice.ok("new doomed -d -- sleep 600");
    let masters = (ControlMaster::open(&alice), ControlMaster::open(&boss));
    eventually("the news to be audited", || {
        audited(&cluster, "new", "alice/work") == 1 && audited(&cluster, "new", "alice/doomed") == 1
    });
    let attaches_before = audited(&cluster, "attach", "alice/work");

    let stopping = Instant::now();
    cluster.stop();
    let outage = through_the_outage(&alice, &boss, (&masters.0, &masters.1));
    cluster.start();
    let (down, back) = (stopping.elapsed(), Instant::now());

    for (what, message) in [
        ("new", &outage.refused_new),
        ("audit", &outage.refused_audit),
    ] {
        assert!(
            message.contains("database"),
            "`{what}` during the outage should name the database: {message}"
        );
    }
    eventually("a fresh connection to work again", || {
        alice.run("ls").status == 0
    });
    let signed_in = back.elapsed();
    // The refused sign-in is an SSH refusal to the client; the server's
    // log says why.
    let log = server.log();
    let lookup_failed = log
        .lines()
        .find(|l| l.contains("key lookup failed"))
        .unwrap_or_else(|| panic!("no log line for the refused sign-in:\n{log}"))
        .to_string();
    assert!(lookup_failed.contains("database"), "{lookup_failed}");
    let table = alice.ok("ls");
    assert!(
        table.contains("work") && !table.contains("doomed"),
        "{table}"
    );
    assert!(!table.contains("late"), "{table}");
    // Written behind the verbs, after the database came back.
    eventually("the outage's events to be audited", || {
        audited(&cluster, "attach", "alice/work") == attaches_before + 1
            && audited(&cluster, "detach", "alice/work") == attaches_before + 1
            && audited(&cluster, "kill", "alice/doomed") == 1
    });
    let caught_up = back.elapsed();
    alice.ok("new after -d -- sleep 600");
    eventually("a new session to be audited", || {
        audited(&cluster, "new", "alice/after") == 1
    });
    assert_eq!(
        audited(&cluster, "new", "alice/work"),
        1,
        "no row written twice"
    );
    figure(
        TEST,
        &format!(
            "PostgreSQL down {} ms; after it started, a fresh sign-in worked in {} ms and the \
             outage's attach, detach and kill were in the audit table in {} ms; during the \
             outage: fresh sign-in: {:?} (logged: {:?}); new: {:?}; audit: {:?}",
            down.as_millis(),
            signed_in.as_millis(),
            caught_up.as_millis(),
            outage.refused_sign_in.trim(),
            lookup_failed.trim(),
            outage.refused_new.trim(),
            outage.refused_audit.trim()
        ),
    );
    assert_no_panic(&server);
}
