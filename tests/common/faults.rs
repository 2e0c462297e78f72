//! What the fault tests (tests/faults_*.rs) share: processes read from
//! /proc (a process's children and command line, whether it lives), a
//! seeded random source whose seed is printed, and the check that no
//! process of a server panicked.

use std::io::Write;

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::Server;

/// The processes whose parent is `pid`.
pub fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|child| parent_of(*child) == Some(pid))
        .collect()
}

/// The parent of `pid` (field 4 of /proc/PID/stat).
pub fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    after_name.split(' ').nth(1)?.parse().ok()
}

/// Whether `pid` runs (and is not a zombie waiting for its parent).
pub fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    stat.rfind(')')
        .is_some_and(|at| !stat[at + 2..].starts_with('Z'))
}

/// The command line of `pid`, its arguments joined by spaces.
pub fn cmdline(pid: u32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    raw.split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A random source for a test: seeded from `FOYER_TEST_SEED` when set,
/// else from the clock; the seed is printed (past the output capture) so
/// that a failure can be repeated.
pub fn seeded_rng(test: &str) -> StdRng {
    let seed = std::env::var("FOYER_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    let line = format!("foyer-test: {test}: seed {seed} (FOYER_TEST_SEED={seed} repeats it)\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
    StdRng::seed_from_u64(seed)
}

/// Prints a figure a fault test measured, past the output capture (the
/// numbers docs/reliability.md quotes).
pub fn figure(test: &str, text: &str) {
    let line = format!("foyer-test: {test}: {text}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// Panics if the gateway's log or the hosts' log holds a panic.
pub fn assert_no_panic(server: &Server) {
    let gateway = server.log();
    assert!(
        !gateway.contains("panicked"),
        "the gateway panicked:\n{gateway}"
    );
    let hosts = server.dir.path().join("data/hosts/hosts.log");
    let hosts = std::fs::read_to_string(hosts).unwrap_or_default();
    assert!(!hosts.contains("panicked"), "a host panicked:\n{hosts}");
}
