//! End-to-end: a stalled database holds up only what needs it. A private
//! PostgreSQL instance (initdb in a temporary directory, run as the
//! `postgres` account; the shared one other tests use is never touched)
//! is stopped with SIGSTOP, every process of it, for 5 s: over an SSH
//! connection already signed in (an OpenSSH ControlMaster), `ls` and
//! `attach` of an existing session answer at once while a concurrent `new`
//! waits for the database. Before the registry stopped awaiting the
//! database in its loop, `ls` queued behind the `new` for the whole stall.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::control_master::ControlMaster;
use common::{BASH, Server, eventually};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// How long the database is stopped.
const STALL: Duration = Duration::from_secs(5);
/// What "at once" allows, far below the stall.
const AT_ONCE: Duration = Duration::from_secs(1);

#[test]
fn ls_and_attach_answer_while_a_new_waits_for_a_stopped_database() {
    let Some(postgres) = PrivatePostgres::start() else {
        panic!(
            "foyer-test: this test needs PostgreSQL's initdb and the postgres account (tools/install-test-deps installs them)"
        );
    };
    let server = Server::start_on_database(&postgres.url());
    let alice = server.user("alice", false);
    alice.ok(&format!("new work -d -- {BASH}"));
    let master = ControlMaster::open(&alice);

    let stopped = postgres.stop();
    let started = Instant::now();
    let new = {
        let command = master.command(&alice, &["new", "late", "-d", "--", "sleep", "600"]);
        std::thread::spawn(move || run(command))
    };
    // Let the `new` reach the database first.
    std::thread::sleep(Duration::from_millis(500));

    let asked = Instant::now();
    let listed = run(master.command(&alice, &["ls"]));
    let ls_took = asked.elapsed();
    assert_eq!(listed.0, 0, "ls failed: {}", listed.2);
    assert!(listed.1.contains("work"), "{}", listed.1);

    let asked = Instant::now();
    let mut ssh = master.command(&alice, &[]);
    ssh.arg("-t").arg("attach work");
    let term = common::Term::spawn(ssh, 24, 80);
    term.type_line("echo attached-$((6*7))");
    term.wait_for_text("attached-42");
    let attach_took = asked.elapsed();

    assert!(
        ls_took < AT_ONCE,
        "ls took {ls_took:?} with the database stopped"
    );
    assert!(
        attach_took < AT_ONCE,
        "attach took {attach_took:?} with the database stopped"
    );

    assert!(
        !new.is_finished() && started.elapsed() < STALL,
        "the `new` did not wait for the stopped database (it is the test's premise)"
    );
    std::thread::sleep(STALL.saturating_sub(started.elapsed()));
    drop(stopped);
    let (status, _, stderr) = new.join().unwrap();
    assert_eq!(
        status, 0,
        "the waiting `new` failed once the database came back: {stderr}"
    );
    eventually("the late session to be listed", || {
        alice.ok("ls").contains("late")
    });
    term.detach();
}

fn run(mut command: Command) -> (i32, String, String) {
    let out = command.stdin(Stdio::null()).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A PostgreSQL server of this test's own, in a temporary directory.
struct PrivatePostgres {
    dir: PathBuf,
    port: u16,
    postmaster: Child,
}

/// Every process of the instance stopped; continued when dropped.
struct Stopped(Vec<Pid>);

impl Drop for Stopped {
    fn drop(&mut self) {
        for pid in &self.0 {
            let _ = kill(*pid, Signal::SIGCONT);
        }
    }
}

impl PrivatePostgres {
    fn start() -> Option<PrivatePostgres> {
        let bin = postgres_bin()?;
        let dir = std::env::temp_dir().join(format!("foyer-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let owner = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&dir)
            .status()
            .ok()?;
        assert!(owner.success(), "cannot hand {} to postgres", dir.display());
        let data = dir.join("data");
        let init = as_postgres(&bin.join("initdb"))
            .args(["-A", "trust", "-U", "foyer", "-D"])
            .arg(&data)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(init.success(), "initdb failed");
        let port = free_port();
        let postmaster = as_postgres(&bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .args([
                "-p",
                &port.to_string(),
                "-c",
                "listen_addresses=127.0.0.1",
                "-k",
            ])
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let postgres = PrivatePostgres {
            dir,
            port,
            postmaster,
        };
        eventually("the private PostgreSQL to take connections", || {
            Command::new(bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
                .status()
                .is_ok_and(|s| s.success())
        });
        Some(postgres)
    }

    fn url(&self) -> String {
        format!("postgres://foyer@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the postmaster and every backend it forked.
    fn stop(&self) -> Stopped {
        let root = self.postmaster.id();
        let mut pids = vec![root];
        pids.extend(descendants(root));
        let pids: Vec<Pid> = pids.into_iter().map(|p| Pid::from_raw(p as i32)).collect();
        for pid in &pids {
            kill(*pid, Signal::SIGSTOP).unwrap();
        }
        Stopped(pids)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        // Continued first (a stopped process takes no signal but KILL),
        // then shut down at once (SIGQUIT: PostgreSQL's immediate
        // shutdown, which waits for no client), and killed if it lingers.
        let root = self.postmaster.id();
        let below = descendants(root);
        for pid in std::iter::once(root).chain(below.iter().copied()) {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGCONT);
        }
        for pid in &below {
            let _ = kill(Pid::from_raw(*pid as i32), Signal::SIGQUIT);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.postmaster.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        for pid in descendants(root) {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
        }
        let _ = self.postmaster.kill();
        let _ = self.postmaster.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `runuser -u postgres -- PROGRAM` (initdb and postgres refuse root).
fn as_postgres(program: &Path) -> Command {
    let mut command = Command::new("runuser");
    command.args(["-u", "postgres", "--"]).arg(program);
    command
}

/// The newest PostgreSQL's programs, if installed with their account.
fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    versions.sort();
    let has_account = Command::new("id")
        .arg("postgres")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    versions.pop().filter(|_| has_account)
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Every process below `root`, read from /proc.
fn descendants(root: u32) -> Vec<u32> {
    let mut parents = std::collections::HashMap::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(after) = stat.rfind(')').map(|at| &stat[at + 2..]) else {
            continue;
        };
        if let Some(ppid) = after.split(' ').nth(1).and_then(|p| p.parse::<u32>().ok()) {
            parents.insert(pid, ppid);
        }
    }
    let mut found = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for (pid, ppid) in &parents {
            if *ppid == parent {
                found.push(*pid);
                frontier.push(*pid);
            }
        }
    }
    found
}
