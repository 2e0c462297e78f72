//! A PostgreSQL cluster of a test's own (initdb into a temporary
//! directory, `pg_ctl` to start and stop it), so that stopping or
//! restarting it disturbs no other test: tests/database.rs and
//! tests/faults_database.rs restart one under a running server.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A PostgreSQL cluster of this test's own: initdb into a temporary
/// directory, listening on 127.0.0.1 on a free port, trust authentication
/// (nothing else can reach it before it is gone).
pub struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    running: bool,
}

impl Cluster {
    /// None (after printing why) where PostgreSQL's server is not installed.
    pub fn create(test: &str) -> Option<Cluster> {
        let Some(bin) = postgres_bin_dir() else {
            super::skipped(
                test,
                "no PostgreSQL server binaries (initdb) under /usr/lib/postgresql or on the PATH",
            );
            return None;
        };
        let dir = tempfile::tempdir().expect("temp dir");
        if nix::unistd::geteuid().is_root() {
            // PostgreSQL refuses to run as root: the cluster belongs to `postgres`.
            let postgres = nix::unistd::User::from_name("postgres")
                .ok()
                .flatten()
                .expect("the postgres OS user (from the postgresql package)");
            nix::unistd::chown(dir.path(), Some(postgres.uid), Some(postgres.gid))
                .expect("chown the cluster directory");
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let mut cluster = Cluster {
            bin,
            dir,
            port,
            running: false,
        };
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "foyer",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        cluster.start();
        Some(cluster)
    }

    pub fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    pub fn url(&self) -> String {
        format!("postgres://foyer@127.0.0.1:{}/postgres", self.port)
    }

    pub fn start(&mut self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("postgres.log").display().to_string();
        let data = self.data();
        self.run(
            "pg_ctl",
            &["-D", &data, "-l", &log, "-o", &options, "-w", "start"],
        );
        self.running = true;
    }

    /// Fast shutdown: every connection is closed under the server's feet.
    pub fn stop(&mut self) {
        let data = self.data();
        self.run("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"]);
        self.running = false;
    }

    pub fn count(&self, sql: &str) -> i64 {
        let port = self.port.to_string();
        let out = self
            .command("psql", &["-h", "127.0.0.1", "-p", &port, "-U", "foyer"])
            .args(["-d", "postgres", "-tAc", sql])
            .output()
            .expect("psql");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        text.trim()
            .parse()
            .unwrap_or_else(|_| panic!("not a count: {text}"))
    }

    /// A PostgreSQL program, run as `postgres` when the test runs as root.
    fn command(&self, program: &str, args: &[&str]) -> Command {
        let path = self.bin.join(program);
        let mut command = if nix::unistd::geteuid().is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        };
        command.args(args).current_dir(self.dir.path());
        command
    }

    fn run(&self, program: &str, args: &[&str]) {
        let out = self.command(program, args).output().expect(program);
        assert!(
            out.status.success(),
            "{program} failed: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.running {
            let data = self.data();
            let _ = self
                .command("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"])
                .output();
        }
    }
}

/// The newest `/usr/lib/postgresql/VERSION/bin` holding `initdb` (Debian's
/// layout), or the directory of an `initdb` on the PATH.
fn postgres_bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).or_else(|| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .find(|dir| dir.join("initdb").exists())
                .map(|dir| Path::new(&dir).to_path_buf())
        })
    })
}
