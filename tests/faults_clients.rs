//! End-to-end fault of the clients (issue 28, "Faults"): 20 OpenSSH
//! clients attached to a busy session, each killed with SIGKILL at a
//! random moment (during its sign-in, its first screen or the stream that
//! follows; half of them read what they are sent, half never do). The
//! server keeps serving, and `ls` shows no client left within seconds.

mod common;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::faults::{assert_no_panic, figure, seeded_rng};
use common::{BASH, Server, Ssh, eventually, listed};
use rand::Rng;

const CLIENTS: usize = 20;
/// Clients are killed within this long of their start.
const KILL_WITHIN_MS: u64 = 3000;

/// `ssh -tt attach NAME`: stdin kept open; stdout read to the end on a
/// thread when `drained`, else never read (a client that stops reading).
fn attached_client(ssh: &Ssh, name: &str, drained: bool) -> Child {
    let mut child = ssh
        .command()
        .args(["-tt", &format!("attach {name}")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ssh");
    if drained {
        let mut out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut out, &mut std::io::sink());
        });
    }
    child
}

fn clients(ssh: &Ssh, name: &str) -> u64 {
    listed(ssh, name)["clients"].as_u64().unwrap()
}

/// Kills `child` with SIGKILL after `after`, on a thread; the thread ends
/// once it is reaped.
fn kill_later(mut child: Child, after: Duration) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        std::thread::sleep(after);
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        let _ = child.wait();
    })
}

#[test]
fn twenty_clients_of_a_busy_session_killed_at_random_moments() {
    const TEST: &str = "twenty_clients_of_a_busy_session_killed_at_random_moments";
    let mut rng = seeded_rng(TEST);
    let server = Server::start();
    let alice = server.user("alice", false);
    // Each round's lines carry its number: a screen that shows the same
    // 300 lines every round could look unchanged to every later capture.
    alice.ok("new busy -d -- bash -c 'n=0; while :; do n=$((n+1)); \
         seq -f \"busy $n line %g\" 1 300; sleep 0.02; done'");
    alice.ok(&format!("new calm -d -- {BASH}"));

    let kills: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let child = attached_client(&alice, "busy", i % 2 == 0);
            kill_later(
                child,
                Duration::from_millis(rng.random_range(0..KILL_WITHIN_MS)),
            )
        })
        .collect();
    let mut most = 0;
    while !kills.iter().all(|k| k.is_finished()) {
        most = most.max(clients(&alice, "busy"));
        std::thread::sleep(Duration::from_millis(100));
    }
    for kill in kills {
        kill.join().unwrap();
    }
    let last_killed = Instant::now();
    eventually("`ls` to show no client of the busy session", || {
        clients(&alice, "busy") == 0
    });
    let took = last_killed.elapsed();
    figure(
        TEST,
        &format!(
            "at most {most} of {CLIENTS} clients seen attached at once; `ls` showed 0 clients \
             {} ms after the last kill",
            took.as_millis()
        ),
    );

    // The server serves on: the busy session prints on, a fresh client
    // attaches and types.
    let seen = alice.ok("capture busy");
    eventually("the busy session to print on", || {
        alice.ok("capture busy") != seen
    });
    let term = alice.term("attach calm", 24, 80);
    term.wait_for_text("$ ");
    term.type_line("echo still-$((6*7))");
    term.wait_for_text("still-42");
    assert_eq!(clients(&alice, "calm"), 1);
    assert_no_panic(&server);
}
