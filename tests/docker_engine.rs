//! End-to-end: the Docker runtime when things go wrong, against the real
//! engine. To stop "the engine" without disturbing parallel tests, a server
//! is pointed (`runtime.docker.host`) at a socket proxy this test starts
//! and cuts; the real engine is never stopped.

mod common;
mod docker;

use std::io::ErrorKind;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::{BASH, Server, eventually};
use docker::{TestUser, docker_server, inspect, is_running, run_script, wait_exited};

/// A Unix socket that forwards to the real engine until cut.
struct EngineProxy {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<UnixStream>>>,
}

impl EngineProxy {
    fn start(path: &Path) -> EngineProxy {
        let listener = UnixListener::bind(path).expect("bind proxy socket");
        listener.set_nonblocking(true).unwrap();
        let proxy = EngineProxy {
            path: path.to_path_buf(),
            stop: Arc::new(AtomicBool::new(false)),
            connections: Arc::new(Mutex::new(Vec::new())),
        };
        let (stop, connections) = (proxy.stop.clone(), proxy.connections.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => forward(client, &connections),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(std::time::Duration::from_millis(10))
                    }
                    Err(_) => break,
                }
            }
        });
        proxy
    }

    /// The engine "stops": no new connections, open ones are closed.
    fn cut(&self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = std::fs::remove_file(&self.path);
        for connection in self.connections.lock().unwrap().drain(..) {
            let _ = connection.shutdown(std::net::Shutdown::Both);
        }
    }
}

impl Drop for EngineProxy {
    fn drop(&mut self) {
        self.cut();
    }
}

fn real_engine_socket() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|h| h.strip_prefix("unix://").map(str::to_string))
        .unwrap_or_else(|| "/var/run/docker.sock".into())
}

fn forward(client: UnixStream, connections: &Mutex<Vec<UnixStream>>) {
    client.set_nonblocking(false).unwrap();
    let Ok(engine) = UnixStream::connect(real_engine_socket()) else {
        return;
    };
    let mut all = connections.lock().unwrap();
    all.push(client.try_clone().unwrap());
    all.push(engine.try_clone().unwrap());
    for (mut from, mut to) in [
        (client.try_clone().unwrap(), engine.try_clone().unwrap()),
        (engine, client),
    ] {
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut from, &mut to);
            let _ = to.shutdown(std::net::Shutdown::Write);
        });
    }
}

#[test]
fn engine_down_fails_new_cleanly_and_coming_back_needs_no_restart() {
    docker::engine();
    let user = TestUser::new("dkdown");
    let socket_dir = tempfile::tempdir().unwrap();
    let socket = socket_dir.path().join("engine.sock");
    let server = docker_server(&format!("host = \"unix://{}\"", socket.display()));
    let ssh = server.user(&user.name, false);

    let refused = ssh.run("new work -d -- sleep 100");
    assert_eq!(refused.status, 1);
    assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("the Docker engine is not reachable"),
        "{}",
        refused.stderr
    );
    assert_eq!(ssh.ok("ls").lines().count(), 1, "no session left behind");
    assert!(ssh.ok("whoami").starts_with(&user.name));

    let proxy = EngineProxy::start(&socket);
    let screen = run_script(&ssh, "probe", "echo engine-is-back");
    assert!(screen.contains("engine-is-back"), "{screen}");

    // The engine stops mid-session: the session ends with a reason, the
    // server keeps serving.
    let term = ssh.term(&format!("new shell -- {BASH}"), 24, 80);
    term.wait_for_text("$ ");
    proxy.cut();
    assert_eq!(wait_exited(&ssh, "shell"), 1);
    let capture = ssh.ok("capture shell");
    assert!(
        capture.contains("[foyer: the Docker engine is not reachable"),
        "{capture}"
    );
    let again = ssh.run("new other -d");
    assert_eq!(again.status, 1, "{}", again.stderr);
    assert!(ssh.ok("ls").contains("shell"));

    // A server with the local runtime never needs the engine.
    let local = Server::start();
    let alice = local.user("alice", false);
    let out = run_script(&alice, "here", "echo local-works");
    assert!(out.contains("local-works"), "{out}");
}

#[test]
fn missing_image_is_named() {
    let user = TestUser::new("dknoimg");
    let server = docker_server("image = \"foyer-no-such-image:latest\"");
    let ssh = server.user(&user.name, false);
    let refused = ssh.run("new work -d");
    assert_eq!(refused.status, 1);
    assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("image foyer-no-such-image:latest was not found"),
        "{}",
        refused.stderr
    );
}

#[test]
fn container_killed_from_outside_ends_only_its_sessions() {
    let server = docker_server("");
    let (one, two) = (TestUser::new("dkkilla"), TestUser::new("dkkillb"));
    let (ssh_one, ssh_two) = (server.user(&one.name, false), server.user(&two.name, false));
    ssh_one.ok("new work -d -- sleep 4242");
    ssh_two.ok("new work -d -- sleep 4242");

    docker::docker(&["kill", &one.container()]);
    wait_exited(&ssh_one, "work");
    let capture = ssh_one.ok("capture work");
    assert!(
        capture.contains(&format!(
            "[foyer: the container {} stopped]",
            one.container()
        )),
        "{capture}"
    );
    assert!(
        ssh_two.ok("ls").contains("running"),
        "the other user's session runs on"
    );

    // The next session starts the container again.
    let back = run_script(&ssh_one, "back", "echo started-again");
    assert!(back.contains("started-again"), "{back}");
}

/// The lines `tick N` a session's screen and scrollback show, in order.
fn ticks(ssh: &common::Ssh, name: &str) -> Vec<u32> {
    ssh.ok(&format!("capture {name} --scrollback 1000"))
        .lines()
        .filter_map(|l| l.strip_prefix("tick ")?.trim().parse().ok())
        .collect()
}

#[test]
fn container_sessions_carry_on_across_a_server_stop_and_a_crash() {
    let mut server = docker_server("");
    let user = TestUser::new("dkleft");
    let key = server.user(&user.name, false).key;
    let ssh = |server: &Server| common::Ssh {
        port: server.port,
        key: key.clone(),
    };
    ssh(&server).ok(
        "new work -d -- bash -c 'echo pid=$$; i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.1; done'",
    );
    eventually("the program to count", || {
        ticks(&ssh(&server), "work").len() > 3
    });
    let pid_line = |server: &Server| {
        ssh(server)
            .ok("capture work --scrollback 1000")
            .lines()
            .find(|l| l.starts_with("pid="))
            .map(str::to_string)
    };
    let pid = pid_line(&server).expect("a pid line");
    let id = inspect(&user.container())["Id"].clone();

    let stop_a_while_and_start = |server: &mut Server| {
        server.stop();
        std::thread::sleep(std::time::Duration::from_secs(1));
        server.start_again();
    };
    let crash_a_while_and_start = |server: &mut Server| {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(server.pid() as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        std::thread::sleep(std::time::Duration::from_secs(1));
        server.restart();
    };
    let restarts: [&dyn Fn(&mut Server); 2] = [&stop_a_while_and_start, &crash_a_while_and_start];
    for restart in restarts {
        let before = *ticks(&ssh(&server), "work").last().unwrap();
        restart(&mut server);
        assert!(is_running(&user.container()), "the container runs on");
        let after = ticks(&ssh(&server), "work");
        assert!(
            after.last().is_some_and(|last| *last > before + 5),
            "counting went on: {before} then {after:?}\nhosts:\n{}\nserver:\n{}",
            std::fs::read_to_string(server.dir.path().join("data/hosts/hosts.log"))
                .unwrap_or_default(),
            server.log()
        );
        let expected: Vec<u32> = (after[0]..after[0] + after.len() as u32).collect();
        assert_eq!(after, expected, "no line lost while the server was down");
        assert_eq!(pid_line(&server), Some(pid.clone()), "the same program");
    }

    ssh(&server).ok("kill work");
    let screen = run_script(&ssh(&server), "third", "echo reused");
    assert!(screen.contains("reused"), "{screen}");
    assert_eq!(
        inspect(&user.container())["Id"],
        id,
        "reused, not duplicated"
    );
    let named = docker::docker(&[
        "ps",
        "-a",
        "-q",
        "--filter",
        &format!("name=^/{}$", user.container()),
    ]);
    assert_eq!(named.lines().count(), 1);
}

#[test]
fn with_stop_sessions_containers_stop_with_the_server() {
    let mut server = docker::docker_server_with("", &["--stop-sessions"]);
    let user = TestUser::new("dkstop");
    let key = server.user(&user.name, false).key;
    let ssh = |server: &Server| common::Ssh {
        port: server.port,
        key: key.clone(),
    };
    ssh(&server).ok("new work -d -- sleep 4242");
    assert!(is_running(&user.container()));
    server.restart();
    assert!(
        !is_running(&user.container()),
        "a server that stops its sessions stops its users' containers"
    );
    assert!(server.session_hosts().is_empty());
    wait_exited(&ssh(&server), "work");
}

#[test]
fn an_exec_that_cannot_start_ends_its_session_with_the_reason() {
    let server = docker_server("");
    let user = TestUser::new("dkbadexec");
    let ssh = server.user(&user.name, false);

    ssh.ok("new nodir -d -C nowhere -- sh -c 'echo never'");
    let status = wait_exited(&ssh, "nodir");
    assert!(status.as_i64().is_some_and(|s| s != 0), "{status}");
    // The message wraps where the user's name (of varying length) puts
    // it, and capture trims the row's trailing blank: compared without
    // spaces or line ends.
    let screen = ssh.ok("capture nodir").replace(['\n', ' '], "");
    assert!(screen.contains("nosuchfileordirectory"), "{screen}");

    ssh.ok("new nocmd -d -- no-such-program");
    // Docker runs the command itself (126: it could not be executed).
    let status = wait_exited(&ssh, "nocmd");
    assert!(status == 126 || status == 127, "{status}");
    let screen = ssh.ok("capture nocmd").replace('\n', "");
    assert!(screen.contains("no-such-program"), "{screen}");
    let fine = run_script(&ssh, "fine", "echo still-fine");
    assert!(fine.contains("still-fine"), "{fine}");
}
