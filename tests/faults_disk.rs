//! End-to-end fault of the disk (issue 28, "Faults"): the recordings'
//! disk fills up (a 2 MiB tmpfs mounted on `data/recordings`, filled to
//! the last byte) while a recorded session prints. The session keeps
//! running and taking keys, its recording stops with one log line and
//! one count of `foyer_recording_failures_total`, and the server keeps
//! serving. Needs root (to mount), as CI runs.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use common::faults::{assert_no_panic, figure};
use common::{BASH, Server, eventually, listed};

/// A tmpfs mounted for one test; lazily unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(path: &Path, size: &str) -> Tmpfs {
        assert!(
            nix::unistd::geteuid().is_root(),
            "tests/faults_disk.rs needs root to mount a tmpfs (CI runs as root)"
        );
        std::fs::create_dir_all(path).unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mount a tmpfs on {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(path.to_path_buf())
    }

    /// Writes a file until the file system is full; returns its size.
    fn fill(&self) -> u64 {
        let mut file = std::fs::File::create(self.0.join("filler")).unwrap();
        let block = [0u8; 4096];
        let mut written = 0;
        while file.write_all(&block).is_ok() {
            written += block.len() as u64;
        }
        let _ = file.sync_all();
        written
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// The value of an unlabelled counter in `/metrics` (0 when absent).
fn counter(address: &str, name: &str) -> f64 {
    let response = common::http_get(address, "/metrics");
    let body = response.split_once("\r\n\r\n").unwrap().1;
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0)
}

fn hosts_log(server: &Server) -> String {
    std::fs::read_to_string(server.dir.path().join("data/hosts/hosts.log")).unwrap_or_default()
}

/// The lines of the hosts' log saying a recording of `label` stopped.
fn stopped_lines(server: &Server, label: &str) -> Vec<String> {
    hosts_log(server)
        .lines()
        .filter(|l| l.contains("recording stopped") && l.contains(label))
        .map(str::to_string)
        .collect()
}

/// Lines the session printed (`line N`), the highest N on its screen.
fn last_line(ssh: &common::Ssh, name: &str) -> u64 {
    ssh.ok(&format!("capture {name}"))
        .lines()
        .filter_map(|l| l.strip_prefix("line ")?.trim().parse().ok())
        .max()
        .unwrap_or(0)
}

#[test]
fn a_full_recordings_disk_stops_the_recording_and_nothing_else() {
    const TEST: &str = "a_full_recordings_disk_stops_the_recording_and_nothing_else";
    let mut slot = None;
    let config = "[sessions]\nrecord = true\n\n[metrics]\nlisten = \"127.0.0.1:0\"\n";
    let server = Server::start_prepared(config, |dir| {
        slot = Some(Tmpfs::mount(&dir.join("data/recordings"), "2m"));
    });
    // Declared after the server: unmounted before its directory goes.
    let disk = slot.take().unwrap();
    let metrics = server.metrics_address();
    let alice = server.user("alice", false);
    alice.ok(&format!("new loud -d -- {BASH}"));
    // A printer in the background; the shell still takes commands.
    alice.ok("send loud 'i=0; while :; do i=$((i+1)); echo line $i; sleep 0.01; done &\\n'");
    eventually("the session to print", || last_line(&alice, "loud") > 10);
    assert!(stopped_lines(&server, "alice/loud").is_empty());

    let filled = disk.fill();
    let full = Instant::now();
    eventually("the recording to stop", || {
        !stopped_lines(&server, "alice/loud").is_empty()
    });
    let logged = full.elapsed();
    eventually("the failure to be counted", || {
        counter(&metrics, "foyer_recording_failures_total") == 1.0
    });
    let at_stop = last_line(&alice, "loud");
    eventually("the session to print on", || {
        last_line(&alice, "loud") > at_stop + 20
    });
    assert_eq!(listed(&alice, "loud")["state"], "running");

    // It takes keys, and the server serves a fresh connection and a new
    // session (whose own recording cannot start on the full disk either).
    let term = alice.term("attach loud", 24, 80);
    term.type_line("echo typed-$((6*7))");
    term.wait_for_text("typed-42");
    term.detach();
    alice.ok("new after -d -- sleep 600");
    assert_eq!(listed(&alice, "after")["state"], "running");
    eventually("the new session's recording to be refused too", || {
        !stopped_lines(&server, "alice/after").is_empty()
    });
    let stopped = stopped_lines(&server, "alice/loud");
    assert_eq!(stopped.len(), 1, "one log line: {stopped:?}");
    assert!(
        stopped[0].contains("No space left on device"),
        "{}",
        stopped[0]
    );
    figure(
        TEST,
        &format!(
            "filler {filled} bytes; the stop logged {} ms after the disk was full; the session \
             printed on past line {at_stop} after the stop; log line: {}",
            logged.as_millis(),
            stopped[0].trim()
        ),
    );
    assert_no_panic(&server);
}
