//! End-to-end: `sessions.max_per_user` and `sessions.max_clients` (SPEC
//! §10): over a limit, a clear message and exit 1, and nothing that
//! already runs is disturbed.

mod common;

use common::{BASH, Server, Ssh, eventually};

fn answers(ssh: &Ssh, name: &str, marker: &str) {
    ssh.ok(&format!("send {name} 'echo {marker}-$((3+4))\\n'"));
    eventually(&format!("{name} to answer"), || {
        ssh.ok(&format!("capture {name}"))
            .contains(&format!("{marker}-7"))
    });
}

#[test]
fn max_per_user_refuses_a_new_session_until_one_is_killed() {
    let server = Server::start_with_config("[sessions]\nmax_per_user = 2\n");
    let alice = server.user("alice", false);
    let bob = server.user("bob", false);
    alice.ok(&format!("new one -d -- {BASH}"));
    alice.ok("new two -d -- true");
    let refused = alice.run(&format!("new three -d -- {BASH}"));
    assert_eq!(refused.status, 1);
    assert_eq!(
        refused.stderr,
        "you have 2 sessions, the most sessions.max_per_user allows: kill one first\n"
    );
    // Nothing else is disturbed: alice's sessions run, bob has his own count.
    answers(&alice, "one", "still");
    bob.ok(&format!("new his -d -- {BASH}"));
    // An exited session still counts until it is killed.
    alice.ok("kill two");
    alice.ok(&format!("new three -d -- {BASH}"));
    answers(&alice, "three", "new");
}

#[test]
fn max_clients_refuses_one_more_client_and_keeps_the_others() {
    let server = Server::start_with_config("[sessions]\nmax_clients = 1\n");
    let alice = server.user("alice", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    let first = alice.term("attach work", 24, 80);
    first.wait_for_text("$ ");
    let mut second = alice.term("attach work", 24, 80);
    assert_eq!(second.wait_exit(), 1);
    second.wait_for_text("alice/work has 1 clients attached, the most sessions.max_clients allows");
    first.type_line("echo first-$((5*5))");
    first.wait_for_text("first-25");
}
