//! Test harness: starts the real `foyer` binary on a free loopback port
//! with a temporary data directory, creates users with real keys
//! (`ssh-keygen`), and drives it with the real OpenSSH client, either plain
//! (`Ssh::run`) or inside a PTY whose output feeds a vt100 parser
//! (`Term`), so tests assert on what a user's terminal would show.
//!
//! The database: SQLite in the server's data directory by default. With
//! `FOYER_TEST_DATABASE=postgres://USER:PASS@HOST:PORT/DB` (a role that may
//! create databases) every server gets a fresh PostgreSQL database of its own,
//! created through that URL, passed to `serve` and to the admin CLI with
//! `--database-url`, kept across `Server::restart` and dropped with the
//! server. Tests that reach into SQLite itself call [`sqlite_only`].

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub mod control_master;
mod database;
pub mod faults;
pub mod postgres;

#[allow(unused_imports)]
pub use database::{TestDatabase, on_postgres, skipped, sqlite_only};

/// How long a test waits for something it expects before failing.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Lines of each server log a failed test prints.
const LOG_TAIL_LINES: usize = 80;

pub struct Server {
    child: Child,
    pub port: u16,
    /// The web listener's port.
    pub web_port: u16,
    pub dir: tempfile::TempDir,
    log: Arc<Mutex<String>>,
    /// Extra arguments to `serve`, on every start.
    serve_args: Vec<String>,
    /// Declared after `child`: dropped once the server has stopped.
    database: TestDatabase,
}

impl Server {
    pub fn start() -> Server {
        Server::start_with_config("")
    }

    /// Starts a server whose `config/foyer.toml` holds `config`.
    pub fn start_with_config(config: &str) -> Server {
        Server::start_with(config, &[])
    }

    /// Starts a server with `config` and extra `serve` arguments (kept for
    /// restarts).
    pub fn start_with(config: &str, serve_args: &[&str]) -> Server {
        Server::start_set_up(config, serve_args, |_| {})
    }

    /// Starts a server with `config` after `prepare` has set up its
    /// directory (`home/` is the server's `HOME`, for a first start).
    pub fn start_prepared(config: &str, prepare: impl FnOnce(&Path)) -> Server {
        Server::start_set_up(config, &[], prepare)
    }

    fn start_set_up(config: &str, serve_args: &[&str], prepare: impl FnOnce(&Path)) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        std::fs::write(dir.path().join("config/foyer.toml"), config).unwrap();
        prepare(dir.path());
        let args = serve_args.iter().map(|a| a.to_string()).collect();
        Server::start_in(dir, TestDatabase::create(), args)
    }

    /// Starts a server on a database the test manages itself.
    pub fn start_on_database(url: &str) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        Server::start_in(dir, TestDatabase::Given { url: url.into() }, Vec::new())
    }

    /// Starts a server with `config` on a database the test manages itself.
    pub fn start_with_config_on(config: &str, url: &str) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        std::fs::write(dir.path().join("config/foyer.toml"), config).unwrap();
        Server::start_in(dir, TestDatabase::Given { url: url.into() }, Vec::new())
    }

    fn start_in(dir: tempfile::TempDir, database: TestDatabase, serve_args: Vec<String>) -> Server {
        let (child, (port, web_port), log) = spawn_server(dir.path(), &database, &serve_args);
        Server {
            child,
            port,
            web_port,
            dir,
            log,
            serve_args,
            database,
        }
    }

    /// Stops the server (SIGTERM) and starts it again on the same data;
    /// the port may change. Sessions' hosts run on through it.
    pub fn restart(&mut self) {
        self.stop();
        self.start_again();
    }

    /// Kills the server (SIGKILL: no shutdown at all) and starts it again
    /// on the same data.
    pub fn crash_and_restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.start_again();
    }

    /// Starts the stopped server again on the same data.
    pub fn start_again(&mut self) {
        let (child, (port, web_port), log) =
            spawn_server(self.dir.path(), &self.database, &self.serve_args);
        self.child = child;
        self.port = port;
        self.web_port = web_port;
        self.log = log;
    }

    /// The session hosts (`foyer session-host`) serving this server's
    /// data directory, by process id.
    pub fn session_hosts(&self) -> Vec<u32> {
        session_hosts_of(self.dir.path())
    }

    /// Stops the server (SIGTERM, then SIGKILL after 5 s); its data stays
    /// until the `Server` is dropped. Does nothing if it already exited.
    pub fn stop(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The address `[metrics] listen` bound, from the server's log.
    pub fn metrics_address(&self) -> String {
        let mut address = None;
        eventually("the metrics listener to start", || {
            address = self
                .log()
                .lines()
                .find_map(|l| l.strip_prefix("foyer: metrics listening on "))
                .map(str::to_string);
            address.is_some()
        });
        address.unwrap()
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Runs `foyer ARGS` (an admin command) against this server's data.
    pub fn admin(&self, args: &[&str]) -> std::process::Output {
        foyer_command(self.dir.path(), &self.database)
            .args(args)
            .output()
            .expect("run foyer")
    }

    /// Creates a user with a fresh ed25519 key and returns an SSH client
    /// that signs in with it.
    pub fn user(&self, name: &str, admin: bool) -> Ssh {
        let key = new_key(self.dir.path(), name);
        let mut args = vec!["user", "add", name, "--key-file"];
        let public = format!("{}.pub", key.display());
        args.push(&public);
        if admin {
            args.push("--admin");
        }
        let out = self.admin(&args);
        assert!(
            out.status.success(),
            "user add failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ssh {
            port: self.port,
            key,
        }
    }

    /// An SSH client with a key the server does not know.
    pub fn stranger(&self) -> Ssh {
        Ssh {
            port: self.port,
            key: new_key(self.dir.path(), "stranger"),
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Prints the end of the gateway's and the session hosts' logs (a
    /// failed test's only account of what the server did).
    fn print_logs_for_the_failure(&self) {
        let tail = |text: &str| {
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
        };
        eprintln!(
            "---- the gateway's log (last lines) ----\n{}",
            tail(&self.log())
        );
        let hosts = self.dir.path().join("data/hosts/hosts.log");
        if let Ok(text) = std::fs::read_to_string(&hosts) {
            eprintln!(
                "---- {} (last lines) ----\n{}",
                hosts.display(),
                tail(&text)
            );
        }
    }

    /// The configuration file the server reads (at start and on SIGHUP).
    pub fn config_file(&self) -> PathBuf {
        self.dir.path().join("config/foyer.toml")
    }

    /// Sends the server SIGHUP (a reload).
    pub fn hang_up(&self) {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGHUP,
        )
        .expect("SIGHUP to the server");
    }

    /// The database URL this server and its admin commands use.
    pub fn database_url(&self) -> String {
        self.database.url(self.dir.path())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            self.print_logs_for_the_failure();
        }
        // Sessions outlive a stopped server by design; a test's must not
        // outlive the test.
        for pid in session_hosts_of(self.dir.path()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// Processes whose command line is `foyer session-host` with a socket in
/// `dir`.
pub fn session_hosts_of(dir: &Path) -> Vec<u32> {
    let needle = dir.to_string_lossy().into_owned();
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if args.iter().any(|a| a == "session-host") && args.iter().any(|a| a.starts_with(&needle)) {
            found.push(pid);
        }
    }
    found
}

/// Starts `foyer serve` in `dir` and waits for the SSH and web ports it
/// announces, on either stream.
fn spawn_server(
    dir: &Path,
    database: &TestDatabase,
    serve_args: &[String],
) -> (Child, (u16, u16), Arc<Mutex<String>>) {
    let mut child = foyer_command(dir, database)
        .args(["serve", "--ssh-listen", "127.0.0.1:0"])
        .args(["--web-listen", "127.0.0.1:0"])
        .args(serve_args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start foyer serve");
    let log = Arc::new(Mutex::new(String::new()));
    let (port_tx, port_rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    collect_lines(stderr, log.clone(), port_tx.clone());
    collect_lines(stdout, log.clone(), port_tx);
    let (mut ssh, mut web) = (None, None);
    while ssh.is_none() || web.is_none() {
        match port_rx.recv_timeout(PATIENCE) {
            Ok((Listener::Ssh, port)) => ssh = Some(port),
            Ok((Listener::Web, port)) => web = Some(port),
            Err(_) => panic!("server did not start; log:\n{}", log.lock().unwrap()),
        }
    }
    (child, (ssh.unwrap(), web.unwrap()), log)
}

/// The listeners a test needs the ports of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    Ssh,
    Web,
}

/// Appends `reader`'s lines to `log` on a thread, sending the ports the
/// server announces.
fn collect_lines(
    reader: impl Read + Send + 'static,
    log: Arc<Mutex<String>>,
    ports: std::sync::mpsc::Sender<(Listener, u16)>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines().map_while(Result::ok) {
            if let Some(announced) = announced_port(&line) {
                let _ = ports.send(announced);
            }
            log.lock().unwrap().push_str(&format!("{line}\n"));
        }
    });
}

/// A listener's port from the line announcing it: `foyer: SSH listening
/// on ADDR` (text logs), or a JSON event with `listener` and `address`
/// fields at its top level (`log.format = "json"`).
pub fn announced_port(line: &str) -> Option<(Listener, u16)> {
    let (listener, address) = if let Some(address) = line.strip_prefix("foyer: SSH listening on ") {
        (Listener::Ssh, address.to_string())
    } else if let Some(address) = line.strip_prefix("foyer: web listening on ") {
        (Listener::Web, address.to_string())
    } else {
        let fields: serde_json::Value = serde_json::from_str(line).ok()?;
        let listener = match fields["listener"].as_str()? {
            "ssh" => Listener::Ssh,
            "web" => Listener::Web,
            _ => return None,
        };
        (listener, fields["address"].as_str()?.to_string())
    };
    let port = address.rsplit(':').next()?.parse().ok()?;
    Some((listener, port))
}

/// `foyer` (add the arguments) in `dir` on the database at `url`, isolated
/// like the servers from the caller's `FOYER_*` and `DATABASE_URL`.
pub fn foyer_on(dir: &Path, url: &str) -> Command {
    foyer_command(dir, &TestDatabase::Given { url: url.into() })
}

/// `foyer` (add the arguments) in `dir` with its default database (SQLite
/// under `dir`), isolated like the servers from the caller's `FOYER_*` and
/// `DATABASE_URL`: for tests of the command line and the configuration.
pub fn foyer_in(dir: &Path) -> Command {
    foyer_command(dir, &TestDatabase::Sqlite)
}

/// `foyer` in `dir`, isolated from the caller's `FOYER_*` and
/// `DATABASE_URL`; the test database is named by `--database-url` instead.
fn foyer_command(dir: &Path, database: &TestDatabase) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_foyer"));
    command
        .current_dir(dir)
        .env("HOME", dir.join("home"))
        .env("RUST_LOG", "foyer=debug,info");
    for (key, _) in std::env::vars() {
        if key.starts_with("FOYER_") || key == "DATABASE_URL" {
            command.env_remove(key);
        }
    }
    if !matches!(database, TestDatabase::Sqlite) {
        command.arg("--database-url").arg(database.url(dir));
    }
    command
}

fn new_key(dir: &Path, name: &str) -> PathBuf {
    let keys = dir.join("client-keys");
    std::fs::create_dir_all(&keys).unwrap();
    let mut n = 0;
    let path = loop {
        let path = keys.join(format!("{name}-{n}"));
        if !path.exists() {
            break path;
        }
        n += 1;
    };
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&path)
        .status()
        .expect("ssh-keygen");
    assert!(status.success());
    path
}

/// The real OpenSSH client, signing in with one key.
#[derive(Clone)]
pub struct Ssh {
    pub port: u16,
    pub key: PathBuf,
}

pub struct Output {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Output {
    fn from(out: std::process::Output) -> Output {
        Output {
            status: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Ssh {
    /// `ssh` with this client's key and options, ready for a command.
    pub fn command(&self) -> Command {
        self.command_logging("ERROR")
    }

    /// `ssh` as [`Ssh::command`], logging at `level` (`INFO` shows the
    /// client's notices, such as refused forwards).
    pub fn command_logging(&self, level: &str) -> Command {
        let mut command = Command::new("ssh");
        command
            .args([
                "-F",
                "/dev/null",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
            ])
            .args([
                "-o",
                &format!("LogLevel={level}"),
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "BatchMode=yes",
            ])
            .arg("-i")
            .arg(&self.key)
            .args(["-p", &self.port.to_string(), "anyone@127.0.0.1"]);
        command
    }

    /// Runs a verb without a PTY. `command` is sent as one string, as ssh
    /// does, and split by the server.
    pub fn run(&self, command: &str) -> Output {
        self.command()
            .arg(command)
            .stdin(Stdio::null())
            .output()
            .expect("run ssh")
            .into()
    }

    /// Runs a verb and asserts it succeeded; returns stdout.
    pub fn ok(&self, command: &str) -> String {
        let out = self.run(command);
        assert_eq!(out.status, 0, "`{command}` failed: {}", out.stderr);
        out.stdout
    }

    /// Runs `ssh -t HOST COMMAND` inside a PTY of the given size.
    pub fn term(&self, command: &str, rows: u16, cols: u16) -> Term {
        let mut ssh = self.command();
        ssh.arg("-t");
        if !command.is_empty() {
            ssh.arg(command);
        }
        Term::spawn(ssh, rows, cols)
    }
}

/// A terminal: a PTY running a program, whose output feeds a vt100
/// parser as a real terminal would show it.
pub struct Term {
    pty: Arc<pty_process::blocking::Pty>,
    child: Child,
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
}

fn nz(v: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(v).unwrap()
}

impl Term {
    pub fn spawn(command: Command, rows: u16, cols: u16) -> Term {
        let (pty, pts) = pty_process::blocking::open().unwrap();
        pty.resize(pty_process::Size::new(rows, cols)).unwrap();
        let child = pty_process::blocking::Command::from(command)
            .spawn(pts)
            .unwrap();
        let pty = Arc::new(pty);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(nz(rows), nz(cols), 5000)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let (reader, sink, log) = (pty.clone(), parser.clone(), raw.clone());
        std::thread::spawn(move || {
            let mut buffer = [0u8; 65536];
            loop {
                match (&*reader).read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        sink.lock().unwrap().process(&buffer[..n]);
                        log.lock().unwrap().extend_from_slice(&buffer[..n]);
                    }
                }
            }
        });
        Term {
            pty,
            child,
            parser,
            raw,
        }
    }

    pub fn send(&self, bytes: &[u8]) {
        (&*self.pty).write_all(bytes).unwrap();
    }

    pub fn type_line(&self, line: &str) {
        self.send(line.as_bytes());
        self.send(b"\r");
    }

    pub fn detach(&self) {
        self.send(b"\x1cd");
    }

    pub fn resize(&self, rows: u16, cols: u16) {
        self.parser
            .lock()
            .unwrap()
            .screen_mut()
            .set_size(nz(rows), nz(cols));
        self.pty.resize(pty_process::Size::new(rows, cols)).unwrap();
    }

    pub fn contents(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    pub fn raw_output(&self) -> Vec<u8> {
        self.raw.lock().unwrap().clone()
    }

    /// A copy of the screen as this terminal shows it.
    pub fn screen(&self) -> vt100::Screen {
        self.parser.lock().unwrap().screen().clone()
    }

    /// Waits until `check` holds for the screen; panics with the screen
    /// after [`PATIENCE`].
    pub fn wait_for(&self, what: &str, check: impl Fn(&vt100::Screen) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if check(self.parser.lock().unwrap().screen()) {
                return;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; screen:\n{}", self.contents());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    pub fn wait_for_text(&self, text: &str) {
        self.wait_for(&format!("`{text}`"), |s| s.contents().contains(text));
    }

    /// Waits for the program to exit and returns its status.
    pub fn wait_exit(&mut self) -> i32 {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                panic!(
                    "terminal program did not exit; screen:\n{}",
                    self.contents()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until `check` returns true, polling; panics with `what`.
pub fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !check() {
        if Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Reads a child's output on a thread: the receiver gets each chunk as it
/// comes, and closes at the end of the output.
pub fn read_chunks(mut reader: impl Read + Send + 'static) -> std::sync::mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    rx
}

/// A shell command that starts a quiet bash with a fixed prompt.
pub const BASH: &str = "env 'PS1=$ ' bash --norc --noprofile";

/// The session `name` (or `OWNER/NAME`) as `ls --json` shows it to
/// `ssh`; panics if it is not listed.
#[allow(dead_code)]
pub fn listed(ssh: &Ssh, name: &str) -> serde_json::Value {
    json_rows(&ssh.ok("ls --json"))
        .into_iter()
        .find(|s| {
            let label = format!(
                "{}/{}",
                s["owner"].as_str().unwrap_or_default(),
                s["name"].as_str().unwrap_or_default()
            );
            s["name"] == name || label == name
        })
        .unwrap_or_else(|| panic!("no session {name}"))
}

/// A JSON array (as `--json` verbs print) as its elements; panics if it is
/// not one.
#[allow(dead_code)]
pub fn json_rows(json: &str) -> Vec<serde_json::Value> {
    serde_json::from_str::<serde_json::Value>(json)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// A plain HTTP/1.1 GET of `path` on `address`; the whole response, head
/// and body.
#[allow(dead_code)]
pub fn http_get(address: &str, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// A cell's text, a printed space counting as an erased cell (the server's
/// screen model, like tmux's, does not tell them apart).
fn shown_text(cell: &vt100::Cell) -> &str {
    match cell.contents() {
        " " => "",
        text => text,
    }
}

/// A cell's foreground color where it shows: on a blank cell it shows
/// only through inverse or underline. (Terminals differ in what an
/// erased or inserted cell keeps of the pen: vt100 keeps the foreground,
/// the server's model (alacritty) only the background; vim's redraws
/// in insert mode leave such cells behind, timing decides which.)
fn shown_fg(cell: &vt100::Cell) -> Option<vt100::Color> {
    let shows = !shown_text(cell).is_empty() || cell.inverse() || cell.underline();
    shows.then(|| cell.fgcolor())
}

/// Cells of two screens equal in text and attributes over `rows`x`cols`.
pub fn assert_same_cells(a: &vt100::Screen, b: &vt100::Screen, rows: u16, cols: u16) {
    for row in 0..rows {
        for col in 0..cols {
            let (x, y) = (a.cell(row, col).unwrap(), b.cell(row, col).unwrap());
            assert_eq!(
                (
                    shown_text(x),
                    shown_fg(x),
                    x.bgcolor(),
                    x.bold(),
                    x.inverse(),
                    x.underline()
                ),
                (
                    shown_text(y),
                    shown_fg(y),
                    y.bgcolor(),
                    y.bold(),
                    y.inverse(),
                    y.underline()
                ),
                "cell {row},{col} differs\nfirst:\n{}\nsecond:\n{}",
                a.contents(),
                b.contents()
            );
        }
    }
}

/// Open descriptors, not counting SQLite's files: its pool opens another
/// connection (the database, its WAL) whenever queries overlap, up to its
/// bound, which is no leak.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|entry| {
            std::fs::read_link(entry.path())
                .map(|target| !target.to_string_lossy().contains("foyer.db"))
                .unwrap_or(true)
        })
        .count()
}
