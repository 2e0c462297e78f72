//! End-to-end: sessions outlive the server. Each session's program runs
//! under its own session host, so stopping the server (SIGTERM), killing
//! it (SIGKILL) and starting a fresh one leaves the program running with
//! the same PID, and a client that reattaches sees exactly the screen it
//! would have seen without the restart, output printed meanwhile included.

mod common;

use std::time::Duration;

use common::{BASH, Server, Ssh, eventually};

/// Two screens of the same size equal cell by cell, the cursor included.
fn assert_same_screen(a: &vt100::Screen, b: &vt100::Screen) {
    let (rows, cols) = a.size();
    assert_eq!((rows, cols), b.size());
    common::assert_same_cells(a, b, rows.get(), cols.get());
    assert_eq!(a.cursor_position(), b.cursor_position(), "cursor");
}

/// The same client on the restarted server's port.
fn on(server: &Server, ssh: &Ssh) -> Ssh {
    Ssh {
        port: server.port,
        ..ssh.clone()
    }
}

/// Lines the counting program prints after its pid: colored, numbered.
const LINES: u32 = 40;

/// A program that prints its pid, then a colored numbered line every
/// 100 ms, then `done`, then waits.
fn counter() -> String {
    format!(
        "new count -d -- bash -c 'echo pid=$$; for i in $(seq 1 {LINES}); do \
         printf \"\\e[1;3%dmline %d\\e[m\\n\" $((i%7+1)) $i; sleep 0.1; done; \
         echo done; exec sleep 600'"
    )
}

/// What a terminal of 24x80 shows after the counting program ran
/// undisturbed (the PTY turns each `\n` into `\r\n`).
fn expected_counter_screen(pid: u32) -> vt100::Parser {
    let mut parser = vt100::Parser::new(
        std::num::NonZeroU16::new(24).unwrap(),
        std::num::NonZeroU16::new(80).unwrap(),
        0,
    );
    parser.process(format!("pid={pid}\r\n").as_bytes());
    for i in 1..=LINES {
        parser.process(format!("\x1b[1;3{}mline {i}\x1b[m\r\n", i % 7 + 1).as_bytes());
    }
    parser.process(b"done\r\n");
    parser
}

fn captured_pid(ssh: &Ssh, name: &str) -> u32 {
    let text = ssh.ok(&format!("capture {name} --scrollback 100"));
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("pid="))
        .unwrap_or_else(|| panic!("no pid line in:\n{text}"));
    line.trim().parse().unwrap()
}

/// The start time of process `pid` (field 22 of /proc/PID/stat): the same
/// pid with the same start time is the same process.
fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    after_name.split(' ').nth(19).map(str::to_string)
}

fn state_of(ssh: &Ssh, name: &str) -> String {
    let rows = common::json_rows(&ssh.ok("ls --json"));
    rows.iter()
        .find(|r| r["name"] == name)
        .map(|r| r["state"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default()
}

/// Runs the counting program, restarts the server with `restart` while
/// it prints, and checks program and screen carried on.
fn counter_survives(restart: fn(&mut Server)) {
    let mut server = Server::start();
    let alice = server.user("alice", false);
    alice.ok(&counter());
    eventually("the program to print a few lines", || {
        alice.ok("capture count").contains("line 3")
    });
    let pid = captured_pid(&alice, "count");
    let started = start_time(pid).expect("the program runs");

    restart(&mut server);
    let alice = on(&server, &alice);
    assert_eq!(state_of(&alice, "count"), "running", "{}", server.log());
    eventually("the program to finish counting", || {
        alice.ok("capture count").contains("done")
    });
    assert_eq!(captured_pid(&alice, "count"), pid, "the same program");
    assert_eq!(start_time(pid), Some(started), "the same process");
    let all = alice.ok("capture count --scrollback 100");
    for i in 1..=LINES {
        assert!(
            all.lines().any(|l| l == format!("line {i}")),
            "line {i} missing:\n{all}"
        );
    }

    let term = alice.term("attach count", 24, 80);
    term.wait_for_text("done");
    std::thread::sleep(Duration::from_millis(300));
    assert_same_screen(expected_counter_screen(pid).screen(), &term.screen());
}

#[test]
fn a_counting_program_carries_on_across_a_server_stop_and_start() {
    counter_survives(|server| {
        server.stop();
        // Long enough for the program to print a good part of its lines.
        std::thread::sleep(Duration::from_secs(1));
        server.start_again();
    });
}

#[test]
fn a_counting_program_carries_on_across_a_server_killed_with_sigkill() {
    counter_survives(|server| {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(server.pid() as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        std::thread::sleep(Duration::from_secs(1));
        server.restart();
    });
}

#[test]
fn an_attached_vim_client_loses_its_connection_and_gets_its_screen_back() {
    let mut server = Server::start();
    let alice = server.user("alice", false);
    let home = server.dir.path().join("home");
    std::fs::write(home.join("notes.txt"), "first line\nsecond line\n").unwrap();
    alice.ok("new edit -d -- vim -u NONE -N notes.txt");
    let mut term = alice.term("attach edit", 24, 80);
    term.wait_for_text("second line");
    term.send(b"Goadded before the restart\x1b");
    term.wait_for_text("added before the restart");
    std::thread::sleep(Duration::from_millis(300));
    let before = term.screen();

    server.crash_and_restart();
    assert_ne!(
        term.wait_exit(),
        0,
        "the attached client lost its connection"
    );
    let alice = on(&server, &alice);
    let term = alice.term("attach edit", 24, 80);
    term.wait_for_text("added before the restart");
    std::thread::sleep(Duration::from_millis(300));
    assert_same_screen(&before, &term.screen());

    // And vim still takes keys: it is the same program, alive.
    term.send(b"oand after it\x1b");
    term.wait_for_text("and after it");
}

#[test]
fn a_host_whose_gateway_never_comes_back_keeps_its_program_and_is_adopted_later() {
    let mut server = Server::start();
    let alice = server.user("alice", false);
    alice.ok(&format!("new shell -d -- {BASH}"));
    alice.ok("send shell -- 'while [ ! -e stop ]; do date +%s%N > tick.txt; sleep 0.1; done\\r'");
    let home = server.dir.path().join("home");
    eventually("the loop to run", || home.join("tick.txt").exists());
    server.stop();
    let hosts = server.session_hosts();
    assert_eq!(hosts.len(), 1, "one host runs on without a gateway");
    let tick = || std::fs::read_to_string(home.join("tick.txt")).unwrap_or_default();
    let seen = tick();
    eventually("the program to keep running", || tick() != seen);
    std::thread::sleep(Duration::from_secs(2));

    server.start_again();
    let alice = on(&server, &alice);
    assert_eq!(state_of(&alice, "shell"), "running");
    assert_eq!(server.session_hosts(), hosts, "the same host, adopted");
    // The loop ends by itself once told (no signal to race with).
    std::fs::write(home.join("stop"), "").unwrap();
    eventually("the loop to stop and the prompt to return", || {
        alice.ok("capture shell").trim_end().ends_with('$')
    });
    alice.ok("send shell -- 'echo adopted-$((6*7))\\r'");
    eventually("the adopted session to take input", || {
        alice.ok("capture shell").contains("adopted-42")
    });
}

/// The session sockets in the server's hosts directory.
fn session_sockets(server: &Server) -> Vec<String> {
    std::fs::read_dir(server.dir.path().join("data/hosts"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sock") && !n.starts_with("owner-"))
        .collect()
}

#[test]
fn one_host_runs_a_users_sessions_and_kill_ends_only_the_killed_one() {
    let mut server = Server::start();
    let alice = server.user("alice", false);
    let bob = server.user("bob", false);
    alice.ok("new gone -d -- sleep 600");
    alice.ok("new stays -d -- sleep 600");
    bob.ok("new his -d -- sleep 600");
    assert_eq!(server.session_hosts().len(), 2, "one host per user");
    assert_eq!(session_sockets(&server).len(), 3);
    alice.ok("kill gone");
    eventually("the killed session's socket to go", || {
        session_sockets(&server).len() == 2
    });
    assert_eq!(server.session_hosts().len(), 2, "alice's host runs on");
    server.restart();
    let (alice, bob) = (on(&server, &alice), on(&server, &bob));
    let table = alice.ok("ls");
    assert!(
        table.contains("stays") && !table.contains("gone"),
        "{table}"
    );
    assert_eq!(state_of(&alice, "stays"), "running", "{}", server.log());
    // A session made after the restart joins its owner's running host.
    alice.ok("new later -d -- sleep 600");
    assert_eq!(server.session_hosts().len(), 2);
    alice.ok("kill stays");
    alice.ok("kill later");
    eventually("a host without sessions to exit", || {
        server.session_hosts().len() == 1
    });
    assert_eq!(state_of(&bob, "his"), "running");
}

#[test]
fn a_program_that_exits_while_the_server_is_down_is_exited_with_its_screen() {
    let mut server = Server::start();
    let alice = server.user("alice", false);
    alice.ok("new brief -d -- bash -c 'read; echo bye-$((6*7)); exit 3'");
    eventually("the program to run", || {
        state_of(&alice, "brief") == "running"
    });
    server.stop();
    // The program reads from its terminal: only the host can type into
    // it, so end it by its pid instead.
    let host = server.session_hosts()[0];
    let program = children_of(host).into_iter().next().expect("the program");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(program as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        server.session_hosts(),
        vec![host],
        "the host waits for a gateway"
    );

    server.start_again();
    let alice = on(&server, &alice);
    eventually("the exit to be recorded", || {
        state_of(&alice, "brief") == "exited"
    });
    eventually("the host to hand over and exit", || {
        server.session_hosts().is_empty()
    });
    let rows = common::json_rows(&alice.ok("ls --json"));
    let row = rows.iter().find(|r| r["name"] == "brief").unwrap();
    assert_eq!(row["exit_status"], 128 + 15, "{row}");
    server.restart();
    let alice = on(&server, &alice);
    assert_eq!(state_of(&alice, "brief"), "exited");
}

/// The processes whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|child| {
            std::fs::read_to_string(format!("/proc/{child}/stat"))
                .ok()
                .and_then(|stat| {
                    let after = stat[stat.rfind(')')? + 2..].to_string();
                    after.split(' ').nth(1).map(|p| p == pid.to_string())
                })
                .unwrap_or(false)
        })
        .collect()
}

#[test]
fn serve_with_stop_sessions_hangs_programs_up_at_shutdown() {
    let config = "[sessions]\nkill_grace = \"1s\"\n";
    let mut server = Server::start_with(config, &["--stop-sessions"]);
    let alice = server.user("alice", false);
    alice.ok("new kept -d -- sleep 600");
    // Full scrollbacks: their final screens take a while to carry off.
    for i in 0..6 {
        alice.ok(&format!(
            "new full{i} -d -- bash -c 'seq -f %0200.0f 1 20000; sleep 600'"
        ));
    }
    alice.ok("new second -d -- bash -c 'seq 1 200000; sleep 600'");
    eventually("the output printed", || {
        alice.ok("capture second").contains("200000")
    });
    alice.ok("new third -d -- bash -c 'trap \"\" HUP; sleep 600'");
    assert_eq!(server.session_hosts().len(), 1);
    server.stop();
    // Checked before a new gateway could adopt (and end) a host left behind.
    eventually("no host outlives the server", || {
        server.session_hosts().is_empty()
    });
    server.start_again();
    let alice = on(&server, &alice);
    for name in ["kept", "second", "third"] {
        assert_eq!(state_of(&alice, name), "exited", "{name}");
    }
    alice.ok("restart kept");
    eventually("running again", || state_of(&alice, "kept") == "running");
}

/// The Claude Code CLI, where tools/install-test-deps installed it.
fn claude_code() -> Option<std::path::PathBuf> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tools/claude-code/node_modules/.bin/claude");
    path.exists().then_some(path)
}

#[test]
fn claude_code_keeps_its_process_and_screen_across_a_server_crash() {
    let Some(claude) = claude_code() else {
        common::skipped(
            "claude_code_keeps_its_process_and_screen_across_a_server_crash",
            "Claude Code is not installed (tools/install-test-deps installs it)",
        );
        return;
    };
    let mut server = Server::start();
    let alice = server.user("alice", false);
    let home = server.dir.path().join("home");
    // Onboarding done and the home directory trusted: it runs offline up
    // to its prompt.
    let settings = serde_json::json!({
        "hasCompletedOnboarding": true,
        "customApiKeyResponses": { "approved": ["test-key-not-used"], "rejected": [] },
        "projects": { home.display().to_string(): { "hasTrustDialogAccepted": true } },
    });
    std::fs::write(home.join(".claude.json"), settings.to_string()).unwrap();
    // No auto-update (there is no network here): its "Auto-updating…"
    // notice would change the screen between the two looks at it.
    alice.ok(&format!(
        "new claude -d -- env ANTHROPIC_API_KEY=test-key-not-used DISABLE_AUTOUPDATER=1 \
         CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 {}",
        claude.display()
    ));
    let mut term = alice.term("attach claude", 30, 100);
    term.wait_for_text("shortcuts");
    term.send(b"typed before the crash");
    term.wait_for_text("typed before the crash");
    std::thread::sleep(Duration::from_secs(1));
    let before = term.screen();
    let pid = before_pid(&server);

    server.crash_and_restart();
    assert_ne!(
        term.wait_exit(),
        0,
        "the attached client lost its connection"
    );
    let alice = on(&server, &alice);
    assert_eq!(before_pid(&server), pid, "the same Claude Code process");
    let term = alice.term("attach claude", 30, 100);
    term.wait_for_text("typed before the crash");
    std::thread::sleep(Duration::from_secs(1));
    assert_same_screen(&before, &term.screen());
    term.send(b" and after");
    term.wait_for_text("typed before the crash and after");
}

/// The pid of the one session host's program.
fn before_pid(server: &Server) -> u32 {
    let hosts = server.session_hosts();
    assert_eq!(hosts.len(), 1, "one session host");
    children_of(hosts[0])[0]
}

#[test]
fn recording_audit_and_attention_carry_on_across_a_restart() {
    let mut server = Server::start_with_config("[sessions]\nrecord = true\n");
    let admin = server.user("boss", true);
    let alice = server.user("alice", false);
    alice.ok(
        "new rec -d -- bash -c 'echo before-restart; read; echo after-restart; \
         printf \"\\a\"; read; exit 7'",
    );
    eventually("the first line", || {
        alice.ok("capture rec").contains("before-restart")
    });
    server.restart();
    let (admin, alice) = (on(&server, &admin), on(&server, &alice));
    alice.ok("send rec '\\n'");
    eventually("the second line", || {
        alice.ok("capture rec").contains("after-restart")
    });
    eventually("the bell to mark the session", || {
        alice.ok("ls").contains("!rec")
    });
    server.restart();
    let (admin, alice) = (on(&server, &admin), on(&server, &alice));
    assert!(alice.ok("ls").contains("!rec"), "attention survives");
    alice.ok("send rec '\\n'");
    eventually("the exit", || state_of(&alice, "rec") == "exited");

    let recordings = server.dir.path().join("data/recordings/alice");
    let files: Vec<_> = std::fs::read_dir(&recordings).unwrap().flatten().collect();
    assert_eq!(files.len(), 1, "one recording file");
    let cast = std::fs::read_to_string(files[0].path()).unwrap();
    assert_eq!(
        cast.lines().filter(|l| l.starts_with('{')).count(),
        1,
        "one header: the same recording went on\n{cast}"
    );
    assert!(cast.contains("before-restart") && cast.contains("after-restart"));

    let mut audit = Vec::new();
    eventually("the exit to be audited", || {
        audit = common::json_rows(&admin.ok("audit alice/rec --json"));
        audit.iter().any(|r| r["action"] == "exit")
    });
    let exits: Vec<_> = audit.iter().filter(|r| r["action"] == "exit").collect();
    assert_eq!(exits.len(), 1, "{audit:?}");
    assert_eq!(exits[0]["detail"], "status 7");
}

#[test]
fn two_hundred_sessions_created_and_killed_leave_nothing_behind() {
    let server = Server::start();
    let alice = server.user("alice", false);
    alice.ok("new warm -d -- sleep 600");
    alice.ok("kill warm");
    eventually("the first host to go", || server.session_hosts().is_empty());
    let before = common::open_fds(server.pid());
    for i in 0..200 {
        alice.ok(&format!("new s{i} -d -- sleep 600"));
        alice.ok(&format!("kill s{i}"));
    }
    eventually("every host to exit", || server.session_hosts().is_empty());
    let hosts_dir = server.dir.path().join("data/hosts");
    let left: Vec<String> = std::fs::read_dir(&hosts_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name != "hosts.log")
        .collect();
    assert!(left.is_empty(), "left in data/hosts: {left:?}");
    assert_eq!(alice.ok("ls --json").trim(), "[]");
    // Slack for the database pool's sockets on PostgreSQL (at most its
    // bound); one descriptor kept per session would be 200.
    eventually("the server's descriptors to come back", || {
        common::open_fds(server.pid()) <= before + 16
    });
    let zombies = children_of(server.pid())
        .into_iter()
        .filter(|child| {
            std::fs::read_to_string(format!("/proc/{child}/stat"))
                .is_ok_and(|stat| stat[stat.rfind(')').unwrap() + 2..].starts_with('Z'))
        })
        .count();
    assert_eq!(zombies, 0, "every host reaped");
}

/// A MessagePack string.
fn msgpack_str(out: &mut Vec<u8>, s: &str) {
    assert!(s.len() < 32);
    out.push(0xa0 | s.len() as u8);
    out.extend_from_slice(s.as_bytes());
}

/// Stands in for a session host of a protocol this build does not speak
/// (a fault no real host of this build can produce): it greets every
/// connection with a `Hello` of protocol 99 and counts them.
fn future_host(socket: &std::path::Path) -> std::sync::mpsc::Receiver<()> {
    let mut hello = vec![0x85];
    msgpack_str(&mut hello, "protocol");
    hello.push(99);
    msgpack_str(&mut hello, "foyer_version");
    msgpack_str(&mut hello, "99.0.0");
    msgpack_str(&mut hello, "session_id");
    hello.push(1);
    msgpack_str(&mut hello, "host_pid");
    hello.push(1);
    msgpack_str(&mut hello, "program_pid");
    hello.push(0xc0);
    let mut frame = (hello.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&hello);
    let listener = std::os::unix::net::UnixListener::bind(socket).unwrap();
    let (seen, greeted) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let _ = std::io::Write::write_all(&mut stream, &frame);
            let _ = seen.send(());
            std::thread::spawn(move || {
                let _ = std::io::Read::read_to_end(&mut stream, &mut Vec::new());
            });
        }
    });
    greeted
}

#[test]
fn a_host_of_a_protocol_this_server_does_not_speak_is_left_alone_and_named() {
    let mut server = Server::start();
    let alice = server.user("alice", false);
    alice.ok("new future -d -- sleep 600");
    server.stop();
    for host in server.session_hosts() {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(host as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
    }
    eventually("the host to be gone", || server.session_hosts().is_empty());
    let socket = server.dir.path().join("data/hosts/1.sock");
    let _ = std::fs::remove_file(&socket);
    let greeted = future_host(&socket);

    server.start_again();
    greeted
        .recv_timeout(common::PATIENCE)
        .expect("the server asked the host");
    let alice = on(&server, &alice);
    assert_eq!(
        state_of(&alice, "future"),
        "exited",
        "shown as exited for now"
    );
    let log = server.log();
    assert!(
        log.contains("the session host speaks protocol 99, this gateway speaks 1"),
        "{log}"
    );
    assert!(socket.exists(), "its socket is left alone");
    // Its record still says running: a server that speaks protocol 99
    // would adopt it.
    server.restart();
    greeted.recv_timeout(common::PATIENCE).expect("asked again");
}

#[test]
fn a_host_that_does_not_answer_is_not_taken_for_gone() {
    let mut server = Server::start();
    let alice = server.user("alice", false);
    alice.ok("new frozen -d -- sleep 600");
    let host = server.session_hosts()[0];
    let pid = nix::unistd::Pid::from_raw(host as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
    server.restart();
    let alice = on(&server, &alice);
    assert_eq!(
        state_of(&alice, "frozen"),
        "exited",
        "shown as exited for now"
    );
    assert!(
        server.dir.path().join("data/hosts/1.sock").exists(),
        "its socket is left alone"
    );
    // Its program still runs there: a restart must not start a second.
    let refused = alice.run("restart frozen");
    assert_ne!(refused.status, 0, "restart refused: {}", refused.stdout);
    assert!(
        refused.stderr.contains(&format!(
            "its earlier session host (pid {host}) still runs it and was not adopted"
        )),
        "{}",
        refused.stderr
    );
    assert_eq!(server.session_hosts(), vec![host], "no second host");
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT).unwrap();
    server.restart();
    let alice = on(&server, &alice);
    assert_eq!(
        state_of(&alice, "frozen"),
        "running",
        "adopted once it answers"
    );
    assert_eq!(server.session_hosts(), vec![host]);
}
