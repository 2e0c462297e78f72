//! End-to-end: local sessions as OS accounts (`runtime.local.os_users`,
//! SPEC §8), with accounts this test creates with `useradd`. It needs root
//! (CI runs as root) and fails, never skips, without it.

mod common;
mod web_support;

use std::process::Command;

use common::{Server, Ssh, eventually};

/// An OS account (with a supplementary group) made for one test, removed
/// with its home when dropped.
struct OsAccount {
    name: String,
    group: String,
}

impl OsAccount {
    fn create(tag: &str) -> OsAccount {
        assert!(
            nix::unistd::geteuid().is_root(),
            "tests/os_users.rs needs root: it creates OS accounts with useradd \
             and runs the server as root (CI runs as root)"
        );
        let id = std::process::id() % 100_000;
        let account = OsAccount {
            name: format!("{tag}{id}"),
            group: format!("{tag}g{id}"),
        };
        account.remove();
        run(&["groupadd", &account.group]);
        run(&[
            "useradd",
            "--create-home",
            "--shell",
            "/bin/bash",
            "--groups",
            &account.group,
            &account.name,
        ]);
        account
    }

    fn id(&self, flag: &str) -> String {
        let out = Command::new("id")
            .args([flag, &self.name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn remove(&self) {
        let _ = Command::new("userdel")
            .args(["--remove", &self.name])
            .output();
        let _ = Command::new("groupdel").arg(&self.group).output();
    }
}

impl Drop for OsAccount {
    fn drop(&mut self) {
        self.remove();
    }
}

fn run(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn os_users_server() -> Server {
    Server::start_with_config("[runtime.local]\nos_users = true\n")
}

/// Runs `script` (no single quotes) in a detached session and returns its
/// screen once it exited.
fn run_script(ssh: &Ssh, name: &str, script: &str) -> String {
    ssh.ok(&format!("new {name} -d -- sh -c '{script}'"));
    eventually("the session to exit", || {
        ssh.ok("ls")
            .lines()
            .any(|l| l.starts_with(name) && l.contains("exited"))
    });
    ssh.ok(&format!("capture {name}"))
}

#[test]
fn sessions_run_as_the_os_account() {
    let account = OsAccount::create("fyos");
    let server = os_users_server();
    let ssh = server.user(&account.name, false);

    let screen = run_script(
        &ssh,
        "probe",
        "echo uid=$(id -u) gid=$(id -g) groups=$(id -G); \
         echo home=$HOME pwd=$(pwd) user=$USER shell=$SHELL; \
         echo cargo-vars=$(env | grep -c CARGO); \
         echo tty-owner=$(stat -c %U $(tty))",
    );
    let expected = format!(
        "uid={} gid={} groups={}",
        account.id("-u"),
        account.id("-g"),
        account.id("-G")
    );
    assert!(screen.contains(&expected), "{expected}\n{screen}");
    let group_id = account.id("-G");
    assert!(
        group_id.split(' ').count() == 2,
        "the supplementary group: {group_id}"
    );
    let home = format!("/home/{}", account.name);
    assert!(
        screen.contains(&format!(
            "home={home} pwd={home} user={} shell=/bin/bash",
            account.name
        )),
        "{screen}"
    );
    assert!(
        screen.contains("cargo-vars=0"),
        "clean environment: {screen}"
    );
    assert!(
        screen.contains(&format!("tty-owner={}", account.name)),
        "{screen}"
    );

    // Without a command: the account's login shell, as the account.
    ssh.ok("new login -d");
    ssh.ok("send login 'echo I-am-$(id -un)-in-$0\\n'");
    let want = format!("I-am-{}-in-", account.name);
    eventually("the login shell to answer", || {
        ssh.ok("capture login").contains(&want)
    });
    let capture = ssh.ok("capture login");
    assert!(capture.contains("bash"), "{capture}");
}

#[test]
fn a_user_without_an_os_account_is_refused() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "tests/os_users.rs needs root (CI runs as root)"
    );
    let server = os_users_server();
    let name = format!("fynone{}", std::process::id() % 100_000);
    let ssh = server.user(&name, false);
    let refused = ssh.run("new work -d");
    assert_eq!(refused.status, 1);
    assert_eq!(
        refused.stderr,
        format!("cannot start {name}/work: there is no OS account named {name} on this host\n")
    );
    assert_eq!(ssh.ok("ls").lines().count(), 1, "nothing left behind");
}

/// Files in and out as the OS account (SPEC §7): an upload lands in the
/// account's home, owned by it and byte-identical; the file view reads as
/// the account, so a file it cannot read is refused although the server
/// (root) could read it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_in_and_out_go_as_the_os_account() {
    let account = OsAccount::create("fyfl");
    let server = os_users_server();
    let ssh = server.user(&account.name, false);
    ssh.ok("new work -d -- sleep 600");
    let token = format!("Bearer {}", web_support::api_token(&ssh));
    let session = format!("{}/work", account.name);

    let bytes: Vec<u8> = (0..70_000).map(|i| (i * 7 % 251) as u8).collect();
    let (status, json) =
        web_support::upload(&server, &token, &session, "data.bin", bytes.clone()).await;
    assert_eq!(status, 200, "{json}");
    let home = format!("/home/{}", account.name);
    let path = format!("{home}/.cache/foyer/uploads/work/data.bin");
    assert_eq!(json["path"], path);
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "byte-identical");
    use std::os::unix::fs::MetadataExt;
    let owner = std::fs::metadata(&path).unwrap().uid().to_string();
    assert_eq!(owner, account.id("-u"), "written as the account");

    std::fs::write(format!("{home}/open.txt"), "for all").unwrap();
    std::fs::write(format!("{home}/closed.txt"), "root only").unwrap();
    std::fs::set_permissions(
        format!("{home}/closed.txt"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let (status, _, body) = web_support::view_file(&server, &token, &session, "open.txt").await;
    assert_eq!((status, body.as_slice()), (200, b"for all".as_slice()));
    let (status, _, body) = web_support::view_file(&server, &token, &session, "closed.txt").await;
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("cannot read closed.txt"), "{text}");
}
