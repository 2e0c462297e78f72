//! End-to-end, with the real OpenSSH client: port forwarding (`-L`,
//! `-R`), X11 (`-X`, `-Y`) and agent forwarding (`-A`) are refused
//! cleanly (SPEC §10), and the command or attachment they came with goes
//! on working.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};

use common::{BASH, Output, Server, Ssh, Term, eventually};

/// Runs `ssh OPTIONS… COMMAND` without a PTY, logging the client's
/// notices (INFO).
fn run_with(ssh: &Ssh, options: &[&str], command: &str) -> Output {
    let out = ssh
        .command_logging("INFO")
        .args(options)
        .arg(command)
        .stdin(Stdio::null())
        .output()
        .expect("run ssh");
    out.into()
}

/// `ssh -t OPTIONS… COMMAND` in a terminal, logging the client's notices.
fn term_with(ssh: &Ssh, options: &[&str], command: &str) -> Term {
    let mut client = ssh.command_logging("INFO");
    client.args(options).arg("-t").arg(command);
    Term::spawn(client, 24, 80)
}

/// A local port nobody listens on (bound, then let go).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Waits for the server's log line about refusing `what` for alice.
fn wait_refusal_logged(server: &Server, what: &str) {
    eventually(&format!("the refusal of {what} in the log"), || {
        server.log().lines().any(|line| {
            line.contains("forwarding refused") && line.contains(what) && line.contains("alice")
        })
    });
}

/// Types a line into an attached shell and waits for its output.
fn still_types(term: &Term, tag: &str) {
    term.type_line(&format!("echo {tag}-$((40+2))"));
    term.wait_for_text(&format!("{tag}-42"));
}

#[test]
fn a_local_forward_is_refused_and_the_command_and_attachment_go_on() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let forward = format!("{}:127.0.0.1:{}", free_port(), server.port);
    let out = run_with(&alice, &["-L", &forward], "whoami");
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(out.stdout.lines().next(), Some("alice"));

    alice.ok(&format!("new work -d -- {BASH}"));
    let local = free_port();
    let forward = format!("{local}:127.0.0.1:{}", server.port);
    let term = term_with(&alice, &["-L", &forward], "attach work");
    term.wait_for_text("$ ");
    // Something connects to the forwarded port: the client asks the
    // server for a direct-tcpip channel, which is refused.
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", local)).unwrap();
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    assert!(rest.is_empty(), "the forward carried {rest:?}");
    eventually("the client to report the refusal", || {
        String::from_utf8_lossy(&term.raw_output())
            .contains("open failed: administratively prohibited")
    });
    wait_refusal_logged(&server, "local port forwarding");
    still_types(&term, "after-forward");
}

#[test]
fn a_remote_forward_is_refused_and_the_command_goes_on() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let forward = format!("{}:127.0.0.1:22", free_port());
    let out = run_with(
        &alice,
        &["-o", "ExitOnForwardFailure=no", "-R", &forward],
        "whoami",
    );
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(out.stdout.lines().next(), Some("alice"));
    assert!(
        out.stderr.contains("remote port forwarding failed"),
        "{}",
        out.stderr
    );
    wait_refusal_logged(&server, "remote port forwarding");
    // A client that needs its forward stops, saying why.
    let out = run_with(
        &alice,
        &["-o", "ExitOnForwardFailure=yes", "-R", &forward],
        "whoami",
    );
    assert_eq!(out.status, 255, "{}", out.stderr);
    assert!(
        out.stderr.contains("remote port forwarding failed"),
        "{}",
        out.stderr
    );
}

#[test]
fn x11_and_agent_forwarding_are_refused_and_attach_works() {
    let server = Server::start();
    let alice = server.user("alice", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    // The client asks for X11 only with a DISPLAY, and for the agent
    // only with one running.
    let agent = Agent::start();
    let setup = |client: &mut Command| {
        client
            .env("DISPLAY", "127.0.0.1:37")
            .env("SSH_AUTH_SOCK", &agent.socket);
    };
    for options in [&["-X"][..], &["-Y"], &["-A"], &["-Y", "-A"]] {
        let mut client = alice.command_logging("INFO");
        client.args(options).arg("whoami").stdin(Stdio::null());
        setup(&mut client);
        let out = client.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{options:?}: {stderr}");
        assert!(
            String::from_utf8_lossy(&out.stdout).starts_with("alice\n"),
            "{options:?}: {stderr}"
        );

        let mut client = alice.command_logging("INFO");
        client.args(options).arg("-t").arg("attach work");
        setup(&mut client);
        let mut term = Term::spawn(client, 24, 80);
        term.wait_for_text("$ ");
        still_types(
            &term,
            &format!("with{}", options.join("").replace('-', "_")),
        );
        term.detach();
        term.wait_for_text("[detached from work]");
        assert_eq!(term.wait_exit(), 0, "{options:?}");
        let raw = String::from_utf8_lossy(&term.raw_output()).into_owned();
        if options.contains(&"-Y") {
            assert!(
                raw.contains("X11 forwarding request failed"),
                "{options:?}: {raw}"
            );
        }
    }
    wait_refusal_logged(&server, "X11 forwarding");
    wait_refusal_logged(&server, "agent forwarding");
}

/// An `ssh-agent` of the test's own, stopped when dropped.
struct Agent {
    _dir: tempfile::TempDir,
    socket: std::path::PathBuf,
    child: std::process::Child,
}

impl Agent {
    fn start() -> Agent {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(Stdio::null())
            .spawn()
            .expect("ssh-agent");
        eventually("the agent's socket", || socket.exists());
        Agent {
            _dir: dir,
            socket,
            child,
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
