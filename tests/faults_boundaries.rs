//! End-to-end boundary of the session hosts (issue 28, "Boundaries"):
//! another OS user on the machine cannot connect to the hosts' sockets.
//! A throwaway account (`useradd`, removed when dropped) tries, with the
//! paths above the hosts directory opened to it: the directory (0700) and
//! the sockets (0600) refuse it; and with those modes loosened too, the
//! host itself refuses the connection (its peer's uid, `SO_PEERCRED`, is
//! not the server's) before saying a word. Needs root, as CI runs.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use common::faults::{assert_no_panic, figure};
use common::{BASH, Server, eventually};

/// An OS account made for one test, removed when dropped.
struct Throwaway(String);

impl Throwaway {
    fn create() -> Throwaway {
        assert!(
            nix::unistd::geteuid().is_root(),
            "tests/faults_boundaries.rs needs root: it creates an OS account (CI runs as root)"
        );
        let account = Throwaway(format!("fyx{}", std::process::id() % 100_000));
        account.remove();
        let out = Command::new("useradd")
            .args([
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                &account.0,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "useradd: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        account
    }

    fn remove(&self) {
        let _ = Command::new("userdel").arg(&self.0).output();
    }

    /// Connects to `socket` as this account and reads one byte: what
    /// happened, as `connect: ERROR`, `read N` or `read error: ERROR`.
    fn connect(&self, socket: &Path) -> String {
        const SCRIPT: &str = r#"
            use Socket;
            socket(my $s, PF_UNIX, SOCK_STREAM, 0) or die "socket: $!";
            connect($s, sockaddr_un($ARGV[0])) or do { print "connect: $!\n"; exit 0 };
            alarm 10;
            my $n = sysread($s, my $byte, 1);
            print defined $n ? "read $n\n" : "read error: $!\n";
        "#;
        let out = Command::new("runuser")
            .args(["-u", &self.0, "--", "/usr/bin/perl", "-e", SCRIPT])
            .arg(socket)
            .current_dir("/")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        self.remove();
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().mode() & 0o7777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn hosts_log(server: &Server) -> String {
    std::fs::read_to_string(server.dir.path().join("data/hosts/hosts.log")).unwrap_or_default()
}

#[test]
fn another_os_user_cannot_connect_to_the_session_hosts_sockets() {
    const TEST: &str = "another_os_user_cannot_connect_to_the_session_hosts_sockets";
    let stranger = Throwaway::create();
    let server = Server::start();
    let alice = server.user("alice", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    let hosts = server.dir.path().join("data/hosts");
    let session = hosts.join("1.sock");
    let owner = std::fs::read_dir(&hosts)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("owner-")
        })
        .expect("the owner socket");
    let server_uid = nix::unistd::geteuid().as_raw();
    assert_eq!(
        (mode(&hosts), std::fs::metadata(&hosts).unwrap().uid()),
        (0o700, server_uid)
    );
    for socket in [&session, &owner] {
        assert_eq!(mode(socket), 0o600, "{}", socket.display());
        assert_eq!(std::fs::metadata(socket).unwrap().uid(), server_uid);
    }

    // Everything above the hosts directory open to the stranger: the
    // directory's mode alone keeps it out.
    chmod(server.dir.path(), 0o711);
    chmod(&server.dir.path().join("data"), 0o711);
    let by_mode = stranger.connect(&session);
    assert_eq!(by_mode, "connect: Permission denied");
    // The directory open too: the socket's mode keeps it out.
    chmod(&hosts, 0o711);
    assert_eq!(stranger.connect(&session), "connect: Permission denied");
    assert_eq!(stranger.connect(&owner), "connect: Permission denied");

    // Both loosened: the host hangs up before its greeting.
    chmod(&session, 0o666);
    chmod(&owner, 0o666);
    let by_peer = (stranger.connect(&session), stranger.connect(&owner));
    assert_eq!(by_peer, ("read 0".to_string(), "read 0".to_string()));
    eventually("the refusals to be logged", || {
        hosts_log(&server).matches("refused a connection").count() == 2
    });
    let logged = hosts_log(&server);
    let line = logged
        .lines()
        .find(|l| l.contains("refused a connection"))
        .unwrap();
    assert!(line.contains("is not the server's user"), "{line}");

    // The gateway's own connections go on, and the session with them.
    let term = alice.term("attach work", 24, 80);
    term.type_line("echo still-$((6*7))");
    term.wait_for_text("still-42");
    alice.ok("new second -d -- sleep 600");
    figure(TEST, &format!("modes: {by_mode}; SO_PEERCRED: {line}"));
    assert_no_panic(&server);
}
