//! End-to-end fault of the Docker engine (issue 28, "Faults"): the engine
//! stops under a server that runs Docker sessions and a local one, and
//! comes back. The engine is a private `dockerd` of this test's own (its
//! own data root, exec root, pid file and socket, its own network
//! namespace; no bridge, no iptables rules), so stopping it disturbs
//! neither the system engine nor the
//! tests that use it; the test image is built into it as the other Docker
//! tests build theirs. Docker sessions end with a line that says why,
//! `new` says the engine is down, the local session runs on untouched;
//! with the engine back `new` and `restart` work without a server restart.
//! It needs `dockerd` and the docker CLI, not a running system engine; a
//! missing `dockerd` fails the test (Docker tests run in CI).

mod common;
mod docker;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use common::faults::{alive, assert_no_panic, figure};
use common::{BASH, Server, Ssh, eventually, listed};
use docker::{IMAGE, run_script, wait_exited};

/// A `dockerd` of this test's own, in a temporary directory.
struct PrivateEngine {
    dir: PathBuf,
    daemon: Option<Child>,
}

impl PrivateEngine {
    fn start() -> PrivateEngine {
        let dir = std::env::temp_dir().join(format!("foyer-dockerd-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut engine = PrivateEngine { dir, daemon: None };
        engine.start_again();
        engine
    }

    /// `unix://…/docker.sock`, for `runtime.docker.host` and the CLI.
    fn host(&self) -> String {
        format!("unix://{}", self.dir.join("docker.sock").display())
    }

    /// Starts the daemon on the same data and waits for it to answer.
    fn start_again(&mut self) {
        let path = |name: &str| self.dir.join(name).display().to_string();
        let log = std::fs::File::create(self.dir.join("dockerd.log")).unwrap();
        // In a network namespace of its own: a dockerd started with
        // `--bridge=none` deletes the host's `docker0`, which took the
        // system engine's bridge away from every later Docker test.
        let daemon = Command::new("unshare")
            .args(["--net", "dockerd"])
            .args(["--data-root", &path("data"), "--exec-root", &path("exec")])
            .args(["--pidfile", &path("dockerd.pid"), "-H", &self.host()])
            .args(["--bridge=none", "--iptables=false", "--ip6tables=false"])
            .args(["--ip-masq=false", "--shutdown-timeout=1"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect(
                "the Docker fault test needs dockerd (tools/install-test-deps installs docker.io)",
            );
        self.daemon = Some(daemon);
        eventually("the private dockerd to answer", || {
            self.cli(&["info"]).status.success()
        });
    }

    /// Stops the daemon (SIGTERM: it stops its containers, then exits).
    fn stop(&mut self) {
        let Some(mut daemon) = self.daemon.take() else {
            return;
        };
        let pid = nix::unistd::Pid::from_raw(daemon.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let mut exited = false;
        eventually("the private dockerd to stop", || {
            exited = daemon.try_wait().ok().flatten().is_some();
            exited
        });
    }

    /// The docker CLI against this engine.
    fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new("docker")
            .args(["-H", &self.host()])
            .args(args)
            .output()
            .expect("run docker")
    }

    /// Builds the test image into this engine.
    fn build_image(&self) {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/user-image/build-test-image.sh");
        let built = Command::new(script)
            .arg(IMAGE)
            .env("DOCKER_HOST", self.host())
            .output()
            .unwrap();
        assert!(
            built.status.success(),
            "building the test image: {}",
            String::from_utf8_lossy(&built.stderr)
        );
    }
}

impl Drop for PrivateEngine {
    fn drop(&mut self) {
        if self.daemon.is_some() {
            for id in String::from_utf8_lossy(&self.cli(&["ps", "-aq"]).stdout).lines() {
                let _ = self.cli(&["rm", "-f", id]);
            }
        }
        if let Some(mut daemon) = self.daemon.take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(daemon.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            let _ = daemon.wait();
        }
        let _ = Command::new("umount").arg("-R").arg(&self.dir).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A server that first runs alice's local session, then runs Docker
/// sessions on `engine` (the local session's host is adopted).
fn server_with_a_local_session(engine: &PrivateEngine) -> (Server, Ssh) {
    let mut server = Server::start();
    let alice = server.user("alice", false);
    alice.ok(&format!("new here -d -- {BASH}"));
    let docker_config = docker::docker_server_config(&format!("host = \"{}\"", engine.host()));
    std::fs::write(server.config_file(), docker_config).unwrap();
    server.restart();
    let alice = Ssh {
        port: server.port,
        ..alice
    };
    (server, alice)
}

/// The line foyer wrote on `name`'s screen when it ended (`[foyer: …]`),
/// put back together where the terminal wrapped it.
fn end_line(ssh: &Ssh, name: &str) -> String {
    let capture = ssh.ok(&format!("capture {name}"));
    let start = capture
        .find("[foyer: ")
        .unwrap_or_else(|| panic!("no reason on the screen:\n{capture}"));
    let end = capture[start..]
        .find(']')
        .map_or(capture.len(), |at| start + at + 1);
    capture[start..end].replace('\n', "")
}

/// The pid of the local session's shell, read through its own `$$`.
fn shell_pid(alice: &Ssh) -> u32 {
    alice.ok("send here 'echo pid=$$\\n'");
    let mut pid = None;
    eventually("the local shell's pid", || {
        pid = alice
            .ok("capture here")
            .lines()
            .find_map(|l| l.strip_prefix("pid=")?.trim().parse().ok());
        pid.is_some()
    });
    pid.unwrap()
}

#[test]
fn the_docker_engine_stopped_ends_docker_sessions_only_and_its_return_needs_no_restart() {
    const TEST: &str =
        "the_docker_engine_stopped_ends_docker_sessions_only_and_its_return_needs_no_restart";
    let mut engine = PrivateEngine::start();
    engine.build_image();
    let (server, alice) = server_with_a_local_session(&engine);
    let local = shell_pid(&alice);
    let user = format!("dkfault{}", std::process::id() % 100_000);
    let ssh = server.user(&user, false);
    let mut boxed = ssh.term(&format!("new box -- {BASH}"), 24, 80);
    boxed.wait_for_text("$ ");
    ssh.ok("new ticker -d -- sh -c 'while true; do echo tick; sleep 0.2; done'");

    let stopping = Instant::now();
    engine.stop();
    let stopped = stopping.elapsed();
    boxed.wait_for_text("[foyer: session box exited");
    let told = stopping.elapsed();
    boxed.wait_exit();
    wait_exited(&ssh, "box");
    wait_exited(&ssh, "ticker");
    let listed_exited = stopping.elapsed();
    let reason = end_line(&ssh, "box");
    assert!(
        reason.contains("Docker engine") || reason.contains("container"),
        "{reason}"
    );
    let refused = ssh.run("new other -d");
    assert_eq!(refused.status, 1);
    assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("the Docker engine is not reachable"),
        "{}",
        refused.stderr
    );

    // The local session never needed the engine.
    assert_eq!(listed(&alice, "here")["state"], "running");
    assert!(alive(local));
    let term = alice.term("attach here", 24, 80);
    term.type_line("echo local-$((6*7))");
    term.wait_for_text("local-42");
    term.detach();

    let starting = Instant::now();
    engine.start_again();
    let back = run_script(&ssh, "probe", "echo engine-is-back");
    let back_in = starting.elapsed();
    assert!(back.contains("engine-is-back"), "{back}");
    ssh.ok("restart box");
    eventually("box to run again", || {
        listed(&ssh, "box")["state"] == "running"
    });
    assert_eq!(shell_pid(&alice), local, "the same local shell");
    figure(
        TEST,
        &format!(
            "engine stopped in {} ms; the attached client told {} ms and both Docker sessions \
             listed exited {} ms after the stop began; reason shown: {reason:?}; new: {:?}; \
             engine started and a new session ran in {} ms",
            stopped.as_millis(),
            told.as_millis(),
            listed_exited.as_millis(),
            refused.stderr.trim(),
            back_in.as_millis()
        ),
    );
    assert_no_panic(&server);
}
