//! The soak (issue 28): cycles of connect, attach, type, detach through
//! the real OpenSSH client, every tenth client killed with SIGKILL while
//! it writes (its input in flight, the session's echo streaming back).
//! The gateway's and the session host's descriptors, threads and memory
//! after warm-up (the first tenth of the cycles) and at the end stay
//! within 5 %; the session still echoes and `ls` shows no client left.
//!
//! `FOYER_SOAK_CYCLES` sets the number of cycles (default 500, what CI
//! runs); the figures in docs/reliability.md come from this
//! test with 10,000. A sample of the measures is printed every tenth of
//! the run (`--nocapture` shows them).

mod common;

use std::io::Write;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use common::{Server, Ssh, eventually};

/// The soaked session: `cat` on a terminal, so each typed line comes back
/// twice (the terminal's echo, then cat's copy).
const SESSION: &str = "soak";

/// Scrollback kept small, so that it is full well inside the warm-up and
/// its growth is not taken for a leak.
const CONFIG: &str = "[sessions]\nscrollback_lines = 200\nattach_scrollback = 20\n";

/// Growth allowed after warm-up, in per cent of the warm-up level.
const PER_CENT: u64 = 5;

fn cycles() -> usize {
    std::env::var("FOYER_SOAK_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500)
}

/// What one process holds: descriptors, threads, resident memory.
#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    fds: u64,
    threads: u64,
    rss_kib: u64,
}

impl Usage {
    fn of(pid: u32) -> Usage {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let field = |name: &str| -> u64 {
            let line = status.lines().find(|l| l.starts_with(name)).unwrap();
            line.split_whitespace().nth(1).unwrap().parse().unwrap()
        };
        Usage {
            fds: common::open_fds(pid) as u64,
            threads: field("Threads:"),
            rss_kib: field("VmRSS:"),
        }
    }

    fn plus(self, other: Usage) -> Usage {
        Usage {
            fds: self.fds + other.fds,
            threads: self.threads + other.threads,
            rss_kib: self.rss_kib + other.rss_kib,
        }
    }
}

/// The gateway's usage and the session hosts' (summed).
fn sample(server: &Server) -> (Usage, Usage) {
    let hosts = server
        .session_hosts()
        .into_iter()
        .map(Usage::of)
        .fold(Usage::default(), Usage::plus);
    (Usage::of(server.pid()), hosts)
}

fn clients(ssh: &Ssh) -> u64 {
    common::listed(ssh, SESSION)["clients"].as_u64().unwrap()
}

/// Samples once every client has gone (killed ones included), so both
/// samples see the same number of connections.
fn settled_sample(server: &Server, ssh: &Ssh) -> (Usage, Usage) {
    eventually("every client to be gone", || clients(ssh) == 0);
    sample(server)
}

/// `ssh -tt HOST attach soak`, input and output piped.
fn attach(ssh: &Ssh) -> (Child, ChildStdin, Receiver<Vec<u8>>) {
    let mut child = ssh
        .command()
        .args(["-tt", &format!("attach {SESSION}")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ssh");
    let stdin = child.stdin.take().unwrap();
    let output = common::read_chunks(child.stdout.take().unwrap());
    (child, stdin, output)
}

/// Reads `output` into `seen` until it holds `text` `times` times.
fn read_until(output: &Receiver<Vec<u8>>, seen: &mut Vec<u8>, text: &str, times: usize) {
    let deadline = Instant::now() + common::PATIENCE;
    while count(seen, text) < times {
        let left = deadline.saturating_duration_since(Instant::now());
        match output.recv_timeout(left) {
            Ok(chunk) => seen.extend_from_slice(&chunk),
            Err(_) => panic!(
                "never saw `{text}` {times} times; got:\n{}",
                String::from_utf8_lossy(seen)
            ),
        }
    }
}

fn count(haystack: &[u8], needle: &str) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle.as_bytes())
        .count()
}

/// One polite cycle: sign in, attach, type a line, see it echoed and
/// copied back, detach, and see ssh end with the detach line.
fn polite_cycle(ssh: &Ssh, n: usize) {
    let (mut child, mut stdin, output) = attach(ssh);
    let marker = format!("typed-{n}-{}", n * 7);
    stdin.write_all(format!("{marker}\r").as_bytes()).unwrap();
    let mut seen = Vec::new();
    read_until(&output, &mut seen, &marker, 2);
    stdin.write_all(b"\x1cd").unwrap();
    read_until(&output, &mut seen, &format!("[detached from {SESSION}]"), 1);
    drop(stdin);
    let status = child.wait().unwrap();
    assert!(status.success(), "ssh after a detach: {status}");
}

/// A rude cycle: the client types line after line on a thread and is
/// killed with SIGKILL as soon as the first echo comes back, its input
/// still being written and the echo still streaming.
fn killed_cycle(ssh: &Ssh, n: usize) {
    let (mut child, mut stdin, output) = attach(ssh);
    // Types a line a millisecond until the kill breaks the pipe (at most
    // 5,000: a flood would only queue behind the next cycle's typing).
    let writer = std::thread::spawn(move || {
        let mut written = 0;
        while written < 5000
            && stdin
                .write_all(format!("k-{n}-{written}\r").as_bytes())
                .is_ok()
        {
            written += 1;
            std::thread::sleep(Duration::from_millis(1));
        }
        written
    });
    let mut seen = Vec::new();
    read_until(&output, &mut seen, &format!("k-{n}-"), 1);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    child.wait().unwrap();
    let written = writer.join().unwrap();
    assert!(written < 5000, "the kill landed after the typing");
}

/// Growth of `end` over `warm`, allowed up to 5 % or `slack`, whichever
/// is larger.
fn assert_flat(what: &str, warm: u64, end: u64, slack: u64) {
    let allowed = (warm * PER_CENT / 100).max(slack);
    assert!(
        end <= warm + allowed,
        "{what} grew from {warm} after warm-up to {end} at the end (allowed: +{allowed})"
    );
}

fn print_row(cycle: usize, started: Instant, (gateway, hosts): (Usage, Usage)) {
    eprintln!(
        "soak: cycle {cycle:>6} at {:>6.1} s: gateway {:>4} fds {:>3} threads {:>7} KiB; hosts {:>4} fds {:>3} threads {:>7} KiB",
        started.elapsed().as_secs_f64(),
        gateway.fds,
        gateway.threads,
        gateway.rss_kib,
        hosts.fds,
        hosts.threads,
        hosts.rss_kib
    );
}

#[test]
fn cycles_with_killed_clients_keep_descriptors_threads_and_memory_flat() {
    let total = cycles();
    let warm_up = (total / 10).max(10);
    let server = Server::start_with_config(CONFIG);
    let alice = server.user("alice", false);
    alice.ok(&format!("new {SESSION} -d -- cat"));

    let started = Instant::now();
    let mut warm = None;
    for n in 1..=total {
        if n % 10 == 0 {
            killed_cycle(&alice, n);
        } else {
            polite_cycle(&alice, n);
        }
        if n == warm_up {
            warm = Some(settled_sample(&server, &alice));
            print_row(n, started, warm.unwrap());
        } else if n % warm_up == 0 {
            print_row(n, started, sample(&server));
        }
    }
    let (warm_gateway, warm_hosts) = warm.expect("a warm-up sample");
    let (gateway, hosts) = settled_sample(&server, &alice);
    print_row(total, started, (gateway, hosts));

    // Bounded, not leaks: sqlx opens a pooled connection when queries
    // overlap, up to its bound, each a socket (PostgreSQL) or a thread
    // (SQLite, whose files `open_fds` does not count); tokio's blocking
    // threads come and go (10 s idle).
    let pool = foyer::store::POSTGRES_MAX_CONNECTIONS as u64;
    let fd_slack = if common::on_postgres() { pool } else { 2 };
    assert_flat(
        "the gateway's descriptors",
        warm_gateway.fds,
        gateway.fds,
        fd_slack,
    );
    assert_flat(
        "the gateway's threads",
        warm_gateway.threads,
        gateway.threads,
        8,
    );
    assert_flat(
        "the gateway's memory (KiB)",
        warm_gateway.rss_kib,
        gateway.rss_kib,
        0,
    );
    assert_flat("the hosts' descriptors", warm_hosts.fds, hosts.fds, 2);
    assert_flat("the hosts' threads", warm_hosts.threads, hosts.threads, 2);
    assert_flat(
        "the hosts' memory (KiB)",
        warm_hosts.rss_kib,
        hosts.rss_kib,
        0,
    );

    // The session still works, and nobody is left attached.
    polite_cycle(&alice, total + 1);
    assert_eq!(clients(&alice), 0, "no client left attached");
    assert_eq!(server.session_hosts().len(), 1, "one host throughout");
}
