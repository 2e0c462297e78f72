//! The load (issue 28): many russh clients in this one process attached
//! at once across printing sessions. Every client receives its session's
//! screen, none is starved of the output that follows, typing in a
//! session under the load still echoes to each of its clients, and the
//! memory per attached client (the gateway's and the hosts') is printed.
//! Then a burst of sign-ins at once, each attaching to one session whose
//! `sessions.max_clients` is below the burst: every sign-in succeeds
//! (foyer has no cap on concurrent sign-ins), and each attach either gets
//! the screen or is refused with the limit's message, exactly as many of
//! each as the limit says.
//!
//! CI runs 100 clients over 5 sessions and 50 sign-ins; the figures in
//! docs/reliability.md come from the same test with
//! `FOYER_LOAD_CLIENTS=1000 FOYER_LOAD_SESSIONS=20 FOYER_LOAD_SIGNINS=200`.

mod common;
mod load_support;

use std::time::{Duration, Instant};

use common::{Server, Ssh, eventually};
use load_support::{Client, Ending, attach_client, caught_up};

/// Sessions per owner: several owners, so several session hosts.
const SESSIONS_PER_OWNER: usize = 5;

struct Counts {
    clients: usize,
    sessions: usize,
    signins: usize,
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn counts() -> Counts {
    Counts {
        clients: env_or("FOYER_LOAD_CLIENTS", 100),
        sessions: env_or("FOYER_LOAD_SESSIONS", 5),
        signins: env_or("FOYER_LOAD_SIGNINS", 50),
    }
}

/// A session that prints a numbered tick ten times a second and answers
/// each line typed into it with `got:LINE`.
fn printer(name: &str) -> String {
    let script = format!(
        "i=0; while :; do if read -r -t 0.1 line; then echo \"got:$line\"; fi; i=$((i+1)); echo \"{name} tick $i\"; done"
    );
    format!("bash -c '{script}'")
}

/// The resident memory of the gateway and of the session hosts (summed),
/// in KiB.
fn server_rss_kib(server: &Server) -> (u64, u64) {
    let rss = |pid: u32| -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    let hosts = server.session_hosts().into_iter().map(rss).sum();
    (rss(server.pid()), hosts)
}

/// KiB per client that `after` holds more than `before`.
fn per_client(before: u64, after: u64, clients: usize) -> f64 {
    after.saturating_sub(before) as f64 / clients as f64
}

fn total_clients(ssh: &Ssh) -> u64 {
    common::json_rows(&ssh.ok("ls --json"))
        .iter()
        .map(|s| s["clients"].as_u64().unwrap())
        .sum()
}

/// Owners and their sessions, each printing from the start.
fn start_sessions(server: &Server, sessions: usize) -> (Vec<Ssh>, Vec<String>) {
    let owners: Vec<Ssh> = (0..sessions.div_ceil(SESSIONS_PER_OWNER))
        .map(|o| server.user(&format!("owner{o}"), false))
        .collect();
    let names: Vec<String> = (0..sessions).map(|s| format!("s{s}")).collect();
    for (s, name) in names.iter().enumerate() {
        let owner = &owners[s / SESSIONS_PER_OWNER];
        owner.ok(&format!("new {name} -d -- {}", printer(name)));
    }
    for (s, name) in names.iter().enumerate() {
        let owner = &owners[s / SESSIONS_PER_OWNER];
        eventually(&format!("{name} to print"), || {
            owner.ok(&format!("capture {name}")).contains("tick 5")
        });
    }
    (owners, names)
}

#[test]
fn clients_attached_at_once_all_get_their_screen_and_sign_ins_meet_the_limit() {
    let counts = counts();
    let per_session = counts.clients.div_ceil(counts.sessions);
    // Below the burst of sign-ins, above what one load session holds.
    let limit = (counts.signins * 3 / 4).max(per_session + 1);
    let server = Server::start_with_config(&format!("[sessions]\nmax_clients = {limit}\n"));
    let (owners, names) = start_sessions(&server, counts.sessions);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // The session the burst of sign-ins attaches to, idle until then.
    owners[0].ok(&format!("new gate -d -- {}", printer("gate")));
    std::thread::sleep(Duration::from_secs(1));
    let fds_before = server_fds(&server);

    let clients = runtime.block_on(attached_at_once(&server, &owners, &names, counts.clients));
    let started = Instant::now();
    let (attached, refused) = runtime.block_on(sign_in_burst(&owners[0], counts.signins, limit));
    eprintln!(
        "load: {} sign-ins at once, all signed in, all answered within {:.1} s; {attached} attached, \
         {refused} refused by sessions.max_clients = {limit} with its message",
        counts.signins,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(attached, limit, "as many attached as the limit");
    assert_eq!(refused, counts.signins - limit, "the rest refused");

    drop(clients);
    drop(runtime);
    all_closed(&server, &owners, fds_before);
}

/// Attaches `count` clients across the sessions and checks each gets its
/// screen and the output after it, that typing echoes, and what memory a
/// client costs; returns the clients, still attached.
async fn attached_at_once(
    server: &Server,
    owners: &[Ssh],
    names: &[String],
    count: usize,
) -> Vec<Client> {
    let (gateway_before, hosts_before) = server_rss_kib(server);
    let started = Instant::now();
    let clients = attach_all(owners, names, count).await;
    let attached_in = started.elapsed();
    let stale: Vec<u64> = clients.iter().map(Client::tick).collect();
    nobody_starved(&clients, &stale).await;
    let fed_in = started.elapsed() - attached_in;
    let (gateway_after, hosts_after) = server_rss_kib(server);
    let echoed_in = typing_echoes(&clients).await;
    let (gateway_each, hosts_each) = (
        per_client(gateway_before, gateway_after, count),
        per_client(hosts_before, hosts_after, count),
    );
    eprintln!(
        "load: {count} clients over {} sessions attached in {:.1} s, each with its screen; \
         each had newer output {:.1} s later; a typed line reached its session's clients in {:.2} s",
        names.len(),
        attached_in.as_secs_f64(),
        fed_in.as_secs_f64(),
        echoed_in.as_secs_f64()
    );
    eprintln!(
        "load: RSS before/attached: gateway {gateway_before}/{gateway_after} KiB, \
         hosts {hosts_before}/{hosts_after} KiB: {gateway_each:.1} + {hosts_each:.1} KiB per client"
    );
    // Each client's output waiting in the server is bounded by
    // sessions.client_buffer (1 MiB): an average above it means something
    // per client is not.
    assert!(
        gateway_each + hosts_each < 1024.0,
        "{gateway_each:.1} + {hosts_each:.1} KiB per attached client"
    );
    clients
}

/// Once every client has gone, `ls` shows none and every connection's
/// descriptors are closed: the gateway's sockets (and its links to the
/// hosts), the hosts' ends.
fn all_closed(server: &Server, owners: &[Ssh], fds_before: (usize, usize)) {
    eventually("every client to be gone", || {
        owners.iter().all(|o| total_clients(o) == 0)
    });
    // PostgreSQL's pool may have opened sockets since, up to its bound;
    // SQLite's files are not counted.
    let pool = if common::on_postgres() {
        foyer::store::POSTGRES_MAX_CONNECTIONS as usize
    } else {
        0
    };
    eventually("descriptors back to their level", || {
        let (gateway, hosts) = server_fds(server);
        gateway <= fds_before.0 + 2 + pool && hosts <= fds_before.1 + 2
    });
}

/// Open descriptors of the gateway and of the session hosts (summed).
fn server_fds(server: &Server) -> (usize, usize) {
    let hosts = server.session_hosts().into_iter().map(common::open_fds);
    (common::open_fds(server.pid()), hosts.sum())
}

/// Attaches `count` clients, client `i` to session `i % sessions`, a few
/// dozen signing in at a time; returns once each has its screen.
async fn attach_all(owners: &[Ssh], names: &[String], count: usize) -> Vec<Client> {
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(32));
    let mut tasks = Vec::new();
    for i in 0..count {
        let s = i % names.len();
        let owner = owners[s / SESSIONS_PER_OWNER].clone();
        let name = names[s].clone();
        let gate = gate.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            let client = attach_client(&owner, &name)
                .await
                .expect("sign in and attach");
            client.screen().await;
            client
        }));
    }
    let mut clients = Vec::new();
    for task in tasks {
        clients.push(task.await.expect("a client"));
    }
    clients
}

/// Waits until every client has received output its session printed
/// after all were attached: more ticks than any client had seen then.
/// Fails only when no client catches up for [`common::PATIENCE`].
async fn nobody_starved(clients: &[Client], stale: &[u64]) {
    let mut behind = clients.len();
    let mut progress = Instant::now();
    loop {
        let now = caught_up(clients, stale);
        if now == 0 {
            return;
        }
        if now < behind {
            behind = now;
            progress = Instant::now();
        }
        assert!(
            progress.elapsed() < common::PATIENCE,
            "{behind} clients got no new output"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The first client types a line into its session; every client of that
/// session sees the program's answer. Returns how long that took.
async fn typing_echoes(clients: &[Client]) -> Duration {
    let typist = &clients[0];
    let session: Vec<&Client> = clients
        .iter()
        .filter(|c| c.session() == typist.session())
        .collect();
    let started = Instant::now();
    typist.type_bytes(b"typed-under-load\r").await;
    let mut progress = Instant::now();
    let mut waiting = session.len();
    loop {
        let now = session.iter().filter(|c| !c.saw_typed()).count();
        if now == 0 {
            return started.elapsed();
        }
        if now < waiting {
            waiting = now;
            progress = Instant::now();
        }
        assert!(
            progress.elapsed() < common::PATIENCE,
            "{waiting} of {} clients never saw the typed line",
            session.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `count` sign-ins at once, each attaching to `gate`; returns how many
/// were attached and how many refused with the limit's message.
async fn sign_in_burst(owner: &Ssh, count: usize, limit: usize) -> (usize, usize) {
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(count));
    let mut tasks = Vec::new();
    for _ in 0..count {
        let (owner, start) = (owner.clone(), start.clone());
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let client = attach_client(&owner, "gate").await?;
            Ok::<_, String>((client.first_outcome().await, client))
        }));
    }
    let message = format!("has {limit} clients attached, the most sessions.max_clients allows");
    let (mut attached, mut refused, mut kept) = (0, 0, Vec::new());
    for task in tasks {
        let (outcome, client) = task.await.unwrap().expect("every sign-in succeeds");
        match outcome {
            Ending::Screen => attached += 1,
            Ending::Closed { status, stderr } => {
                assert_eq!(status, Some(1), "a refusal exits 1: {stderr}");
                assert!(stderr.contains(&message), "refused with: {stderr}");
                refused += 1;
            }
        }
        kept.push(client);
    }
    (attached, refused)
}
