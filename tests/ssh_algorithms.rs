//! End-to-end, with the real OpenSSH client (9.2 here, which has no
//! mlkem768x25519-sha256): the key exchanges `ssh.kex` offers, and that an
//! unknown name stops `foyer serve` before it listens.

mod common;

use std::process::Stdio;
use std::time::Instant;

use common::{Output, PATIENCE, Server, Ssh};

/// `ssh -vv` with `options`, running `whoami`: the client's debug output
/// names the server's proposal and the method chosen.
fn verbose_whoami(ssh: &Ssh, options: &[&str]) -> Output {
    let out = ssh
        .command()
        .args(options)
        .args(["-vv", "whoami"])
        .stdin(Stdio::null())
        .output()
        .expect("run ssh");
    out.into()
}

/// The key exchange names the server proposed, as the client logged them.
fn server_kex_proposal(stderr: &str) -> Vec<String> {
    let proposal = stderr
        .split("peer server KEXINIT proposal")
        .nth(1)
        .unwrap_or_else(|| panic!("no server proposal in:\n{stderr}"));
    let line = proposal
        .lines()
        .find_map(|l| l.strip_prefix("debug2: KEX algorithms: "))
        .unwrap_or_else(|| panic!("no KEX algorithms line in:\n{stderr}"));
    line.split(',').map(str::to_string).collect()
}

#[test]
fn the_default_offers_mlkem_first_and_curve25519_for_older_clients() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let out = verbose_whoami(&alice, &[]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(out.stdout.lines().next(), Some("alice"));
    let offered = server_kex_proposal(&out.stderr);
    assert_eq!(
        offered[..3],
        [
            "mlkem768x25519-sha256",
            "curve25519-sha256",
            "curve25519-sha256@libssh.org"
        ],
        "{offered:?}"
    );
    assert!(out.stderr.contains("kex: algorithm: curve25519-sha256"));
}

#[test]
fn a_post_quantum_only_server_refuses_a_client_without_mlkem() {
    let server = Server::start_with_config("[ssh]\nkex = [\"mlkem768x25519-sha256\"]\n");
    let alice = server.user("alice", false);
    // Verbose, since OpenSSH prints why it gave up at its INFO level.
    let out = verbose_whoami(&alice, &[]);
    assert_eq!(out.status, 255, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.contains("no matching key exchange method found"),
        "{}",
        out.stderr
    );
    let offered = server_kex_proposal(&out.stderr);
    let methods: Vec<&String> = offered
        .iter()
        .filter(|name| !name.starts_with("ext-info") && !name.starts_with("kex-strict"))
        .collect();
    assert_eq!(methods, ["mlkem768x25519-sha256"], "{offered:?}");
}

#[test]
fn an_unknown_kex_name_stops_the_server_naming_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    std::fs::write(
        dir.path().join("config/foyer.toml"),
        "[ssh]\nkex = [\"curve25519-sha256\", \"diffie-hellman-group1-sha1\"]\n",
    )
    .unwrap();
    let url = format!("sqlite://{}", dir.path().join("foyer.db").display());
    let mut serve = common::foyer_on(dir.path(), &url)
        .args(["serve", "--ssh-listen", "127.0.0.1:0"])
        .args(["--web-listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start foyer serve");
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = serve.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = serve.kill();
            panic!("foyer serve started with an unknown ssh.kex name");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let output = serve.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!status.success(), "{stderr}");
    for part in [
        "ssh.kex",
        "diffie-hellman-group1-sha1",
        "mlkem768x25519-sha256",
        "curve25519-sha256@libssh.org",
    ] {
        assert!(stderr.contains(part), "lacks {part}: {stderr}");
    }
}
