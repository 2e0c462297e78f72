//! End-to-end: the first start makes the OS user an admin with the keys of
//! `~/.ssh/authorized_keys` (SPEC §1), and a key whose options foyer
//! cannot enforce is left out with a warning that names it and the option,
//! so it never signs in without its restriction.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Server, Ssh};

/// A fresh ed25519 key pair in `dir`, commented `comment`: the private
/// key's path and the public key line.
fn key_pair(dir: &Path, comment: &str) -> (PathBuf, String) {
    let path = dir.join(comment);
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(&path)
        .status()
        .expect("ssh-keygen");
    assert!(status.success());
    let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
    (path, public.trim().to_string())
}

fn fingerprint(private: &Path) -> String {
    let out = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(private.with_extension("pub"))
        .output()
        .expect("ssh-keygen -l");
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string()
}

#[test]
fn first_start_imports_keys_it_can_honour_and_names_those_it_cannot() {
    let keys = tempfile::tempdir().unwrap();
    let (kept, kept_line) = key_pair(keys.path(), "kept@laptop");
    let (limited, limited_line) = key_pair(keys.path(), "limited@bastion");
    let server = Server::start_prepared("", |dir| {
        let ssh = dir.join("home/.ssh");
        std::fs::create_dir_all(&ssh).unwrap();
        let text = format!(
            "# team keys\n\nno-agent-forwarding,no-port-forwarding {kept_line}\n\
             from=\"10.1.2.3,10.1.2.4\",no-pty {limited_line}\n"
        );
        std::fs::write(ssh.join("authorized_keys"), text).unwrap();
    });
    // The import's lines come on stdout and stderr, read by two threads:
    // either may still be on its way when the listening line has come.
    common::eventually("the first start's lines", || {
        let log = server.log();
        log.contains("with 1 key(s)") && log.contains("key not imported")
    });
    let log = server.log();
    let warning = log
        .lines()
        .find(|line| line.contains("key not imported"))
        .unwrap_or_else(|| panic!("no warning in:\n{log}"));
    for part in [
        fingerprint(&limited).as_str(),
        "(limited@bastion)",
        "`from=\"10.1.2.3,10.1.2.4\"`",
        "authorized_keys",
    ] {
        assert!(warning.contains(part), "{part} missing from {warning}");
    }
    let signed_in = Ssh {
        port: server.port,
        key: kept,
    };
    signed_in.ok("ls");
    let refused = Ssh {
        port: server.port,
        key: limited,
    };
    assert_eq!(
        refused.run("ls").status,
        255,
        "the limited key must not sign in"
    );
}
