//! End-to-end, with the real OpenSSH client and `ssh-keygen -s`: user
//! certificates (trusted CA, principals, validity window, host
//! certificates, source-address, auto_provision), the failed-sign-in limit
//! per address, and `ssh.idle_timeout` for connections that never sign in
//! (SPEC §2 and §10).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{BASH, Output, Server, Ssh, eventually};

/// Where a test's CAs, keys and certificates live (not the server's dir,
/// which only exists once the server, configured with the CA, starts).
struct Keys {
    dir: tempfile::TempDir,
}

impl Keys {
    fn new() -> Keys {
        Keys {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A fresh ed25519 key pair; returns the private key's path.
    fn key(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        let status = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success());
        path
    }

    /// The public-key line of `key`.
    fn public(&self, key: &Path) -> String {
        std::fs::read_to_string(pub_path(key))
            .unwrap()
            .trim()
            .to_string()
    }

    /// A new key `name` with a certificate signed by `ca`: `ssh-keygen -s
    /// CA -I ID -n PRINCIPALS -V VALIDITY EXTRA…`. ssh loads it from
    /// `NAME-cert.pub` next to the key by itself.
    fn certified(
        &self,
        name: &str,
        ca: &Path,
        principals: &str,
        validity: &str,
        extra: &[&str],
    ) -> PathBuf {
        let key = self.key(name);
        let out = Command::new("ssh-keygen")
            .arg("-q")
            .arg("-s")
            .arg(ca)
            .args([
                "-I",
                &format!("{name}-id"),
                "-n",
                principals,
                "-V",
                validity,
            ])
            .args(extra)
            .arg(pub_path(&key))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ssh-keygen -s: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        key
    }
}

fn pub_path(key: &Path) -> PathBuf {
    PathBuf::from(format!("{}.pub", key.display()))
}

/// `ssh-keygen -lf`: the SHA256 fingerprint of a key.
fn fingerprint(key: &Path) -> String {
    let out = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(pub_path(key))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split_whitespace().nth(1).unwrap().to_string()
}

fn client(server: &Server, key: PathBuf) -> Ssh {
    Ssh {
        port: server.port,
        key,
    }
}

fn rows(json: &str) -> Vec<serde_json::Value> {
    common::json_rows(json)
}

/// Waits until the audit log (read by `admin`) has a row with this action
/// and a detail containing `part`.
fn wait_audit(admin: &Ssh, action: &str, part: &str) {
    eventually(&format!("audit row {action} with `{part}`"), || {
        rows(&admin.ok("audit --json"))
            .iter()
            .any(|r| r["action"] == action && r["detail"].as_str().unwrap_or("").contains(part))
    });
}

fn assert_refused(out: &Output, what: &str) {
    assert_eq!(out.status, 255, "{what} must be refused: {}", out.stdout);
    assert!(out.stdout.is_empty(), "{what}: {}", out.stdout);
    assert!(
        out.stderr.contains("Permission denied"),
        "{what}: {}",
        out.stderr
    );
}

/// A server trusting `ca`, with a lenient failure limit (these tests fail
/// on purpose, many times) and metrics on a port of their own.
fn server_trusting(keys: &Keys, ca: &Path, auto_provision: bool) -> Server {
    Server::start_with_config(&format!(
        "{METRICS}[auth]\ntrusted_user_ca_keys = [\"{}\"]\nauto_provision = {auto_provision}\nmax_failures_per_minute = 1000\n",
        keys.public(ca)
    ))
}

const METRICS: &str = "[metrics]\nlisten = \"127.0.0.1:0\"\n";

/// Waits until `/metrics` has `foyer_auth_failures_total` for `reason`.
fn wait_failure_metric(server: &Server, reason: &str) {
    let sample = format!("foyer_auth_failures_total{{reason=\"{reason}\"}}");
    eventually(&format!("metric {sample}"), || {
        let Some(address) = server
            .log()
            .lines()
            .find_map(|l| l.strip_prefix("foyer: metrics listening on "))
            .map(str::to_string)
        else {
            return false;
        };
        common::http_get(&address, "/metrics").contains(&sample)
    });
}

#[test]
fn a_certificate_from_the_trusted_ca_signs_in_as_its_principal() {
    let keys = Keys::new();
    let ca = keys.key("ca");
    let server = server_trusting(&keys, &ca, false);
    let admin = server.user("boss", true);
    server.user("alice", false);

    // The first principal that names a user wins; `nobody` does not exist.
    let key = keys.certified("laptop", &ca, "nobody,alice", "-5m:+1h", &[]);
    let who = client(&server, key.clone()).ok("whoami");
    let ca_fingerprint = fingerprint(&ca);
    assert_eq!(
        who,
        format!(
            "alice\n{} (certificate \"laptop-id\" from CA {ca_fingerprint})\n",
            fingerprint(&key)
        )
    );
    wait_audit(&admin, "sign-in", "certificate \"laptop-id\" from CA");
    // A certificate is not a registered key: `keys` lists alice's own only.
    let listed = client(&server, key.clone()).ok("keys");
    assert!(!listed.contains(&fingerprint(&key)), "{listed}");
}

#[test]
fn bad_certificates_are_refused_with_the_reason_only_in_the_logs() {
    let keys = Keys::new();
    let ca = keys.key("ca");
    let other_ca = keys.key("other-ca");
    let server = server_trusting(&keys, &ca, false);
    let admin = server.user("boss", true);
    server.user("alice", false);

    let expired = keys.certified("expired", &ca, "alice", "20200101:20200102", &[]);
    assert_refused(
        &client(&server, expired).run("whoami"),
        "an expired certificate",
    );
    let early = keys.certified("early", &ca, "alice", "+1d:+2d", &[]);
    assert_refused(
        &client(&server, early).run("whoami"),
        "a not yet valid certificate",
    );
    let stranger = keys.certified("stranger", &ca, "mallory", "-5m:+1h", &[]);
    assert_refused(
        &client(&server, stranger).run("whoami"),
        "an unknown principal",
    );
    let forged = keys.certified("forged", &other_ca, "alice", "-5m:+1h", &[]);
    assert_refused(
        &client(&server, forged).run("whoami"),
        "another CA's certificate",
    );
    let elsewhere = keys.certified(
        "elsewhere",
        &ca,
        "alice",
        "-5m:+1h",
        &["-O", "source-address=10.0.0.0/8"],
    );
    assert_refused(
        &client(&server, elsewhere).run("whoami"),
        "a certificate for other addresses",
    );

    wait_audit(&admin, "sign-in-refused", "for [mallory] from 127.0.0.1:");
    wait_audit(
        &admin,
        "sign-in-refused",
        "no principal of [mallory] names a user",
    );
    wait_audit(
        &admin,
        "sign-in-refused",
        &format!("untrusted CA {}", fingerprint(&other_ca)),
    );
    wait_audit(
        &admin,
        "sign-in-refused",
        "source-address `10.0.0.0/8` does not include 127.0.0.1",
    );
    wait_failure_metric(&server, "certificate_untrusted_ca");
    wait_failure_metric(&server, "certificate_unknown_principal");
    wait_failure_metric(&server, "certificate_source_address");
    // The validity window is checked by russh before foyer sees the
    // certificate (and again by foyer); russh's own line says so.
    let log = server.log();
    assert!(
        log.contains("Certificate is expired or not yet valid"),
        "{log}"
    );
    assert!(log.contains("sign-in refused: certificate"), "{log}");
    // No user was created for the unknown principal.
    let users = String::from_utf8_lossy(&server.admin(&["user", "list"]).stdout).into_owned();
    assert!(!users.contains("mallory"), "{users}");
}

struct AcceptAnyHost;

impl russh::client::Handler for AcceptAnyHost {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

/// Signs in with russh's client, which (unlike OpenSSH's) presents any
/// certificate it is given, host certificates included.
async fn russh_sign_in(port: u16, key: &Path) -> bool {
    use std::sync::Arc;
    let config = Arc::new(russh::client::Config::default());
    let mut handle = russh::client::connect(config, ("127.0.0.1", port), AcceptAnyHost)
        .await
        .expect("connect");
    let secret = russh::keys::load_secret_key(key, None).unwrap();
    let cert_path = format!("{}-cert.pub", key.display());
    let cert = russh::keys::load_openssh_certificate(cert_path).unwrap();
    handle
        .authenticate_openssh_cert("anyone", Arc::new(secret), cert)
        .await
        .expect("authenticate")
        .success()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_and_expired_certificates_presented_alone_are_refused_and_audited() {
    let keys = Keys::new();
    let ca = keys.key("ca");
    let server = server_trusting(&keys, &ca, false);
    let admin = server.user("boss", true);
    server.user("alice", false);
    let host = keys.certified("host", &ca, "alice", "-5m:+1h", &["-h"]);
    assert!(
        !russh_sign_in(server.port, &host).await,
        "a host certificate"
    );
    let expired = keys.certified("expired", &ca, "alice", "20200101:20200102", &[]);
    assert!(
        !russh_sign_in(server.port, &expired).await,
        "an expired certificate"
    );
    let valid = keys.certified("valid", &ca, "alice", "-5m:+1h", &[]);
    assert!(
        russh_sign_in(server.port, &valid).await,
        "a valid certificate"
    );
    tokio::task::spawn_blocking(move || {
        wait_audit(
            &admin,
            "sign-in-refused",
            "a host certificate, not a user certificate",
        );
        // russh refuses an expired certificate before foyer sees it; the
        // connection's end is recorded instead.
        wait_audit(
            &admin,
            "sign-in-refused",
            "closed without signing in: nothing acceptable offered",
        );
    })
    .await
    .unwrap();
}

/// SPEC §2: without `auth.auto_provision` (its default, or set false), a
/// valid certificate from a trusted CA signs in only a principal that is
/// already a user; one that is not is refused and nobody is created,
/// whatever login name the client gives.
#[test]
fn without_auto_provision_a_valid_certificate_for_no_user_is_refused() {
    let keys = Keys::new();
    let ca = keys.key("ca");
    let explicit = server_trusting(&keys, &ca, false);
    let by_default = Server::start_with_config(&format!(
        "[auth]\ntrusted_user_ca_keys = [\"{}\"]\nmax_failures_per_minute = 1000\n",
        keys.public(&ca)
    ));
    for (index, server) in [&explicit, &by_default].into_iter().enumerate() {
        let admin = server.user("boss", true);
        let name = format!("newcomer-key-{index}");
        let key = keys.certified(&name, &ca, "newcomer", "-5m:+1h", &[]);
        let ssh = client(server, key.clone());
        assert_refused(&ssh.run("whoami"), "a certificate for no user");
        let out = ssh
            .command()
            .args(["-l", "newcomer"])
            .arg("whoami")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(255), "login name newcomer");
        assert!(out.stdout.is_empty());
        wait_audit(
            &admin,
            "sign-in-refused",
            "no principal of [newcomer] names a user",
        );
        let users = String::from_utf8_lossy(&server.admin(&["user", "list"]).stdout).into_owned();
        assert!(!users.contains("newcomer"), "{users}");
        assert!(
            !rows(&admin.ok("audit --json"))
                .iter()
                .any(|r| r["action"] == "user-provisioned"
                    || r["action"] == "sign-in" && r["user"] == "newcomer"),
            "nobody was provisioned or signed in as newcomer"
        );
        // Once the user exists, the same certificate signs in.
        let added = server.admin(&["user", "add", "newcomer"]);
        assert!(
            added.status.success(),
            "{}",
            String::from_utf8_lossy(&added.stderr)
        );
        assert!(ssh.ok("whoami").starts_with("newcomer\n"));
    }
}

#[test]
fn auto_provision_creates_the_user_on_first_certificate_sign_in() {
    let keys = Keys::new();
    let ca = keys.key("ca");
    let server = server_trusting(&keys, &ca, true);
    let admin = server.user("boss", true);

    // `Not-A-Name` is no valid user name, so `newbie` is the one created.
    let key = keys.certified("newbie", &ca, "Not-A-Name,newbie", "-5m:+1h", &[]);
    let ssh = client(&server, key);
    assert!(ssh.ok("whoami").starts_with("newbie\n"));
    // The second sign-in finds the user created by the first.
    assert!(ssh.ok("whoami").starts_with("newbie\n"));
    ssh.ok("new work -d -- sleep 600");
    assert!(ssh.ok("ls").contains("work"));
    let users = String::from_utf8_lossy(&server.admin(&["user", "list"]).stdout).into_owned();
    assert_eq!(users.matches("newbie").count(), 1, "{users}");
    wait_audit(&admin, "user-provisioned", "with certificate \"newbie-id\"");

    // Still refused without a valid name, or from an untrusted CA.
    let nameless = keys.certified("nameless", &ca, "Not-A-Name", "-5m:+1h", &[]);
    assert_refused(
        &client(&server, nameless).run("whoami"),
        "no valid principal",
    );
    let other_ca = keys.key("other-ca");
    let forged = keys.certified("forged", &other_ca, "eve", "-5m:+1h", &[]);
    assert_refused(
        &client(&server, forged).run("whoami"),
        "another CA's certificate",
    );
    let users = String::from_utf8_lossy(&server.admin(&["user", "list"]).stdout).into_owned();
    assert!(!users.contains("eve"), "{users}");
}

#[test]
fn without_trusted_cas_certificates_are_refused_and_keys_still_work() {
    let keys = Keys::new();
    let ca = keys.key("ca");
    let server = Server::start_with_config("[auth]\nauto_provision = true\n");
    let alice = server.user("alice", false);
    let key = keys.certified("laptop", &ca, "alice", "-5m:+1h", &[]);
    assert_refused(
        &client(&server, key).run("whoami"),
        "a certificate with no CA trusted",
    );
    assert!(alice.ok("whoami").starts_with("alice\n"));
}

/// `ssh` for `key`, connecting from `source` (any 127.0.0.0/8 address
/// works on loopback).
fn run_from(ssh: &Ssh, source: &str, command: &str) -> Output {
    let out = ssh
        .command()
        .args(["-b", source])
        .arg(command)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Output {
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn a_flood_of_failures_from_one_address_is_refused_while_others_sign_in() {
    let server =
        Server::start_with_config(&format!("{METRICS}[auth]\nmax_failures_per_minute = 3\n"));
    let alice = server.user("alice", true);
    let stranger = server.stranger();
    // Fail until the address is refused before any key is looked at.
    let started = Instant::now();
    let mut attempts = 0;
    eventually("127.0.0.1 to be refused", || {
        attempts += 1;
        let out = run_from(&stranger, "127.0.0.1", "whoami");
        assert_eq!(out.status, 255);
        !out.stderr.contains("Permission denied")
    });
    assert!(attempts >= 4, "refused after {attempts} attempts");
    // Known keys from that address are refused too, for a while.
    let out = run_from(&alice, "127.0.0.1", "whoami");
    assert_eq!(out.status, 255, "{}", out.stdout);
    assert!(!out.stderr.contains("Permission denied"), "{}", out.stderr);
    // Another address is unaffected.
    assert!(
        run_from(&alice, "127.0.0.2", "whoami")
            .stdout
            .starts_with("alice (admin)\n")
    );
    let log = server.log();
    assert!(log.contains("too many failed sign-ins"), "{log}");
    wait_failure_metric(&server, "rate_limited");
    let audit = run_from(&alice, "127.0.0.2", "audit --json");
    assert!(
        rows(&audit.stdout)
            .iter()
            .any(|r| r["action"] == "sign-in-blocked"
                && r["detail"]
                    .as_str()
                    .unwrap()
                    .starts_with("127.0.0.1 refused for 5m")),
        "{}",
        audit.stdout
    );
    eprintln!(
        "refused after {attempts} attempts in {:?}",
        started.elapsed()
    );
}

/// Reads until the server closes the connection; panics if it is still
/// open after `bound`.
fn wait_closed(stream: &mut TcpStream, bound: Duration) {
    let started = Instant::now();
    stream.set_read_timeout(Some(bound)).unwrap();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return,
            Err(e) => panic!("still open after {:?}: {e}", started.elapsed()),
        }
    }
}

#[test]
fn connections_that_never_sign_in_are_closed_after_the_idle_timeout() {
    let server = Server::start_with_config("[ssh]\nidle_timeout = \"2s\"\n");
    let alice = server.user("alice", false);
    alice.ok(&format!("new shell -d -- {BASH}"));

    // One that sends its banner and nothing more, one that sends nothing.
    let mut banner_only = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    banner_only
        .write_all(b"SSH-2.0-OpenSSH_9.9 idle-test\r\n")
        .unwrap();
    let mut silent = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    // Signed-in clients, attached and idle, outlive the timeout.
    let term = alice.term("attach shell", 24, 80);
    term.wait_for_text("$ ");

    let generous = Duration::from_secs(20);
    wait_closed(&mut banner_only, generous);
    wait_closed(&mut silent, generous);
    let log = server.log();
    assert!(
        log.contains("not signed in within ssh.idle_timeout"),
        "{log}"
    );
    assert!(
        log.contains("no SSH banner within ssh.idle_timeout"),
        "{log}"
    );

    std::thread::sleep(Duration::from_secs(3));
    term.type_line("echo still-$((40+2))");
    term.wait_for_text("still-42");
    assert!(alice.ok("whoami").starts_with("alice\n"));
}
