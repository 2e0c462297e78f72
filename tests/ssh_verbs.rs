//! End-to-end: the exec verbs of SPEC §4 through the real OpenSSH client,
//! with their exit statuses and messages.

mod common;

use common::{BASH, Server, eventually};

#[test]
fn whoami_help_and_unknown_verbs() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let admin = server.user("root", true);

    let who = alice.ok("whoami");
    let mut lines = who.lines();
    assert_eq!(lines.next(), Some("alice"));
    assert!(lines.next().unwrap().starts_with("SHA256:"), "{who}");
    assert!(admin.ok("whoami").starts_with("root (admin)\n"));

    let help = alice.ok("help");
    for verb in [
        "ls", "new", "attach", "watch", "capture", "send", "kill", "restart", "whoami", "keys",
    ] {
        assert!(help.contains(verb), "help lacks {verb}: {help}");
    }

    let unknown = alice.run("frobnicate now");
    assert_eq!(unknown.status, 2);
    assert_eq!(unknown.stderr, "unknown command: frobnicate (try: help)\n");

    let usage = alice.run("attach");
    assert_eq!(usage.status, 2);
    assert!(
        usage.stderr.contains("usage: ssh HOST attach NAME"),
        "{}",
        usage.stderr
    );

    let no_tty = alice.run("attach x");
    assert_eq!(no_tty.status, 2);
    assert_eq!(no_tty.stderr, "attach needs a terminal: use ssh -t\n");

    let bad_quotes = alice.run("ls 'open");
    assert_eq!(bad_quotes.status, 2);
}

/// SPEC §4: a usage error exits 2 with one error line, then the verb's
/// usage line as `help` shows it, and nothing else.
#[test]
fn usage_errors_print_one_error_line_then_the_verbs_usage_line() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let help = alice.ok("help");
    let cases = [
        ("capture s --scrollback many", "capture"),
        ("capture", "capture"),
        ("capture s --frob", "capture"),
        ("attach", "attach"),
        ("a", "attach"),
        ("watch a b", "watch"),
        ("new", "new"),
        ("new x -p claude -- vim", "new"),
        ("ls --frob", "ls"),
        ("ls 'open", "ls"),
        ("send", "send"),
        ("kill", "kill"),
        ("restart", "restart"),
        ("share work", "share"),
        ("unshare work", "unshare"),
        ("link work --ttl soon", "link"),
        ("link", "link"),
        ("token", "token"),
        ("token revoke seven", "token"),
        ("token create --ttl 0s", "token"),
        ("audit --limit lots", "audit"),
        ("replay", "replay"),
        ("whoami now", "whoami"),
        ("keys remove", "keys"),
        ("keys frob", "keys"),
        ("help me", "help"),
    ];
    for (command, verb) in cases {
        let out = alice.run(command);
        assert_eq!(out.status, 2, "`{command}`: {}", out.stderr);
        assert_eq!(out.stdout, "", "`{command}`");
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(lines.len(), 2, "`{command}`: {}", out.stderr);
        assert!(
            lines[0].starts_with("error: "),
            "`{command}`: {}",
            out.stderr
        );
        let usage = lines[1]
            .strip_prefix("usage: ssh HOST ")
            .unwrap_or_else(|| panic!("`{command}`: no usage line: {}", out.stderr));
        assert!(
            usage.starts_with(&format!("{verb} ")) || usage == verb,
            "`{command}`: not {verb}'s usage: {}",
            out.stderr
        );
        assert!(
            help.contains(&format!("  {usage} ")),
            "`{command}`: usage `{usage}` is not in help:\n{help}"
        );
    }
}

#[test]
fn unknown_key_is_refused_without_hints() {
    let server = Server::start();
    server.user("alice", false);
    let out = server.stranger().run("whoami");
    assert_eq!(out.status, 255, "{}", out.stderr);
    assert!(out.stderr.contains("Permission denied"), "{}", out.stderr);
    assert!(out.stderr.contains("(publickey)"), "{}", out.stderr);
    assert!(!out.stderr.contains("alice"));
}

#[test]
fn session_lifecycle_through_verbs() {
    let server = Server::start();
    let alice = server.user("alice", false);

    assert_eq!(
        alice.ok("ls").lines().count(),
        1,
        "only the header when empty"
    );
    let bad = alice.run("new Bad_Name -d");
    assert_eq!(bad.status, 1);
    assert!(
        bad.stderr.contains("invalid session name"),
        "{}",
        bad.stderr
    );

    alice.ok(&format!("new work -d -- {BASH}"));
    let dup = alice.run("new work -d");
    assert_eq!(dup.status, 1);
    assert_eq!(dup.stderr, "a session named work already exists\n");

    let table = alice.ok("ls");
    let row = table.lines().nth(1).expect("a row");
    assert!(row.starts_with("work "), "{table}");
    assert!(row.contains("running") && row.contains("owner"), "{table}");

    alice.ok("send work 'echo hello-from-send\\n'");
    eventually("send output in capture", || {
        alice.ok("capture work").contains("\nhello-from-send\n")
    });

    let json: serde_json::Value = serde_json::from_str(&alice.ok("ls --json")).unwrap();
    let item = &json[0];
    for key in [
        "name",
        "owner",
        "state",
        "exit_status",
        "access",
        "clients",
        "idle_seconds",
        "attention",
        "command",
        "created_at",
        "last_active_at",
    ] {
        assert!(item.get(key).is_some(), "missing {key} in {item}");
    }
    assert_eq!(item["name"], "work");
    assert_eq!(item["owner"], "alice");
    assert_eq!(item["state"], "running");
    assert!(item["exit_status"].is_null());
    assert_eq!(item["command"][0], "env");

    let running = alice.run("restart work");
    assert_eq!(running.status, 1);
    assert!(running.stderr.contains("is running"), "{}", running.stderr);

    alice.ok("send work 'exit 7\\n'");
    eventually("exit recorded", || alice.ok("ls").contains("exited 7"));
    let json: serde_json::Value = serde_json::from_str(&alice.ok("ls --json")).unwrap();
    assert_eq!(json[0]["state"], "exited");
    assert_eq!(json[0]["exit_status"], 7);
    assert!(
        alice.ok("capture work").contains("hello-from-send"),
        "exited screen stays capturable"
    );

    alice.ok("restart work");
    eventually("running again", || alice.ok("ls").contains("running"));

    alice.ok("kill work");
    assert_eq!(alice.ok("ls").lines().count(), 1);
    let gone = alice.run("capture work");
    assert_eq!(gone.status, 1);
    assert_eq!(gone.stderr, "no session named work\n");
}

#[test]
fn others_sessions_are_invisible_and_admins_only_watch() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let bob = server.user("bob", false);
    let admin = server.user("root", true);
    alice.ok(&format!("new secret -d -- {BASH}"));

    assert_eq!(bob.ok("ls").lines().count(), 1);
    for verb in [
        "capture alice/secret",
        "send alice/secret x",
        "kill alice/secret",
        "capture secret",
    ] {
        let out = bob.run(verb);
        assert_eq!(out.status, 1, "{verb}");
        assert!(
            out.stderr.starts_with("no session named "),
            "{verb}: {}",
            out.stderr
        );
    }

    let listed = admin.ok("ls");
    assert!(listed.contains("alice/secret"), "{listed}");
    assert!(listed.contains("read"), "{listed}");
    assert_eq!(admin.run("capture alice/secret").status, 0);
    let typed = admin.run("send alice/secret 'echo nope\\n'");
    assert_eq!(typed.status, 1, "admins type only with a grant");
    assert_eq!(admin.run("kill alice/secret").status, 0, "admins may kill");
    assert_eq!(alice.ok("ls").lines().count(), 1);
}

#[test]
fn presets_and_working_directory() {
    let config = r#"
[[presets]]
name = "greeter"
command = ["bash", "--norc", "-c", "echo preset:$GREETING:$PWD; exec sleep 600"]
env = { GREETING = "hi" }
"#;
    let server = Server::start_with_config(config);
    let alice = server.user("alice", false);
    alice.ok("new g -d -p greeter -C /tmp");
    eventually("preset output", || {
        alice.ok("capture g").contains("preset:hi:/tmp")
    });
    let missing = alice.run("new h -d -p nothing");
    assert_eq!(missing.status, 1);
    assert_eq!(missing.stderr, "no preset named nothing\n");
    let no_dir = alice.run("new h -d -C /does/not/exist");
    assert_eq!(no_dir.status, 1);
}

#[test]
fn presets_only_refuses_commands() {
    let config = r#"
[sessions]
presets_only = true

[[presets]]
name = "sleeper"
command = ["sleep", "600"]
"#;
    let server = Server::start_with_config(config);
    let alice = server.user("alice", false);
    let refused = alice.run("new x -d -- bash");
    assert_eq!(refused.status, 1);
    assert_eq!(refused.stderr, "only presets may be started here\n");
    alice.ok("new y -d -p sleeper");
    assert!(alice.ok("ls").contains("sleep 600"));
}

#[test]
fn own_keys_can_be_managed_but_never_the_last() {
    let server = Server::start();
    let alice = server.user("alice", false);
    let fingerprint = alice.ok("whoami").lines().nth(1).unwrap().to_string();
    let last = alice.run(&format!("keys remove {fingerprint}"));
    assert_eq!(last.status, 1);
    assert_eq!(last.stderr, "cannot remove your last key\n");

    let spare = server.stranger();
    let public = std::fs::read_to_string(format!("{}.pub", spare.key.display())).unwrap();
    alice.ok(&format!("keys add '{}'", public.trim()));
    assert_eq!(spare.ok("whoami").lines().next(), Some("alice"));
    assert_eq!(alice.ok("keys").lines().count(), 2);
    alice.ok(&format!("keys remove {fingerprint}"));
    assert_eq!(
        alice.run("whoami").status,
        255,
        "the removed key no longer signs in"
    );
}

#[test]
fn bell_marks_attention_until_someone_attaches() {
    let server = Server::start();
    let alice = server.user("alice", false);
    alice.ok("new ring -d -- bash -c 'printf \"\\a\"; exec sleep 600'");
    eventually("attention mark", || alice.ok("ls").contains("!ring"));
    let json: serde_json::Value = serde_json::from_str(&alice.ok("ls --json")).unwrap();
    assert_eq!(json[0]["attention"], true);
    let mut term = alice.term("attach ring", 24, 80);
    eventually("attached", || clients(&alice) == 1);
    term.detach();
    term.wait_exit();
    assert!(!alice.ok("ls").contains("!ring"));
}

#[test]
fn watch_without_a_terminal_streams_output() {
    let server = Server::start();
    let alice = server.user("alice", false);
    alice.ok(&format!("new src -d -- {BASH}"));
    let mut watcher = alice
        .command()
        .arg("watch src")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let chunks = common::read_chunks(watcher.stdout.take().unwrap());
    // The watcher starts at some point: keep typing until its stream
    // shows the command's output (computed, so the echo alone won't match).
    let deadline = std::time::Instant::now() + common::PATIENCE;
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("streamed-42") {
        assert!(
            std::time::Instant::now() < deadline,
            "no streamed output: {:?}",
            String::from_utf8_lossy(&seen)
        );
        alice.ok("send src 'echo streamed-$((6*7))\\n'");
        while let Ok(chunk) = chunks.recv_timeout(std::time::Duration::from_millis(500)) {
            seen.extend_from_slice(&chunk);
        }
    }
    alice.ok("kill src");
    let status = watcher.wait().unwrap();
    assert!(status.success());
}

fn clients(ssh: &common::Ssh) -> u64 {
    let json: serde_json::Value = serde_json::from_str(&ssh.ok("ls --json")).unwrap();
    json[0]["clients"].as_u64().unwrap()
}

#[test]
fn exited_sessions_go_after_their_retention() {
    let server = Server::start_with_config("[sessions]\nexited_retention = \"2s\"\n");
    let alice = server.user("alice", false);
    alice.ok("new brief -d -- true");
    alice.ok("new lasting -d -- sleep 600");
    eventually("brief exited", || alice.ok("ls").contains("exited 0"));
    eventually("brief removed after 2s", || {
        !alice.ok("ls").contains("brief")
    });
    assert!(alice.ok("ls").contains("lasting"), "running sessions stay");
}

#[test]
fn sessions_stopped_with_the_server_restart_as_exited() {
    let mut server = Server::start_with("", &["--stop-sessions"]);
    let alice = server.user("alice", false);
    alice.ok("new kept -d -- sleep 600");
    server.restart();
    let alice = common::Ssh {
        port: server.port,
        ..alice
    };
    let table = alice.ok("ls");
    assert!(
        table.contains("kept") && table.contains("exited"),
        "{table}"
    );
    alice.ok("restart kept");
    eventually("running again", || alice.ok("ls").contains("running"));
}

#[test]
fn a_locked_database_gives_a_clear_error_and_nothing_breaks() {
    if !common::sqlite_only(
        "a_locked_database_gives_a_clear_error_and_nothing_breaks",
        "it holds SQLite's file lock from another process",
    ) {
        return;
    }
    let server = Server::start();
    let alice = server.user("alice", false);
    alice.ok(&format!("new before -d -- {BASH}"));
    // Another process holds SQLite's exclusive lock past the busy timeout.
    let db = server.dir.path().join("data/foyer.db");
    let mut locker = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys,time; c=sqlite3.connect(sys.argv[1], isolation_level=None); \
             c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(12)",
        ])
        .arg(&db)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 with sqlite3");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(locker.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "locked");

    let refused = alice.run("new during -d -- sleep 600");
    assert_eq!(refused.status, 1);
    assert!(refused.stderr.contains("locked"), "{}", refused.stderr);
    assert_eq!(
        refused.stderr.lines().count(),
        1,
        "one line: {}",
        refused.stderr
    );
    // What already runs is undisturbed, and answers from memory.
    assert_eq!(alice.run("capture before").status, 0);

    let _ = locker.kill();
    let _ = locker.wait();
    alice.ok("new after -d -- sleep 600");
    assert!(alice.ok("ls").contains("after"));
}

#[test]
fn programs_keep_the_open_files_limit_the_server_started_with() {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let numbers: Vec<&str> = line.split_whitespace().skip(3).take(2).collect();
    let server = Server::start();
    let alice = server.user("alice", false);
    alice.ok(
        "new limits -d -- bash -c 'echo soft=$(ulimit -Sn) hard=$(ulimit -Hn); exec sleep 600'",
    );
    let expected = format!("soft={} hard={}", numbers[0], numbers[1]);
    eventually("the limits to be printed", || {
        alice.ok("capture limits").contains(&expected)
    });
    let server_limits = std::fs::read_to_string(format!("/proc/{}/limits", server.pid())).unwrap();
    let server_soft = server_limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .unwrap()
        .to_string();
    // The server itself runs with the hard limit.
    assert_eq!(server_soft, numbers[1], "{server_limits}");
}

#[test]
fn programs_start_with_no_signal_ignored_even_when_the_server_was_started_under_nohup() {
    // As under `nohup`: SIGHUP ignored here, so in the server (and its
    // session hosts) started from here. Process-wide, which is harmless to
    // the other tests in this file: their servers then run the same way.
    // Safety: setting a disposition to SIG_IGN installs no handler.
    unsafe {
        nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGHUP,
            nix::sys::signal::SigHandler::SigIgn,
        )
        .unwrap();
    }
    let server = Server::start();
    let alice = server.user("alice", false);
    let home = server.dir.path().join("home");
    alice.ok("new probe -d -- bash -c 'exec grep SigIgn /proc/self/status > ignored.txt'");
    eventually("the program to start", || {
        std::fs::read_to_string(home.join("ignored.txt")).is_ok_and(|t| t.ends_with('\n'))
    });
    let line = std::fs::read_to_string(home.join("ignored.txt")).unwrap();
    let mask = u64::from_str_radix(line.trim().trim_start_matches("SigIgn:").trim(), 16)
        .unwrap_or_else(|_| panic!("a SigIgn line: {line:?}"));
    // Signals 1 to 31 (glibc keeps 32 and 33 to itself). Otherwise `kill`
    // could not hang the program up, nor a shell trap SIGHUP.
    assert_eq!(mask & 0x7fff_ffff, 0, "signals ignored: {line}");
}

#[test]
fn kill_hangs_the_program_up_first_and_kills_it_only_after_the_grace() {
    let server = Server::start_with_config("[sessions]\nkill_grace = \"2s\"\n");
    let alice = server.user("alice", false);
    let home = server.dir.path().join("home");
    alice.ok(
        "new polite -d -- bash -c 'trap \"echo got-hup > hup.txt; exit 0\" HUP; \
         while true; do sleep 0.1; done'",
    );
    alice.ok(
        "new stubborn -d -- bash -c 'trap \"echo ignored > ignored.txt\" HUP; \
         echo $$ > stubborn.pid; while true; do sleep 0.1; done'",
    );
    eventually("the stubborn program to start", || {
        home.join("stubborn.pid").exists()
    });
    alice.ok("kill polite");
    eventually("the program to see SIGHUP", || {
        std::fs::read_to_string(home.join("hup.txt")).is_ok_and(|t| t == "got-hup\n")
    });

    let pid: i32 = std::fs::read_to_string(home.join("stubborn.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let alive = || nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok();
    let killed_at = std::time::Instant::now();
    alice.ok("kill stubborn");
    eventually("the stubborn program to see SIGHUP", || {
        home.join("ignored.txt").exists()
    });
    assert!(
        alive(),
        "a program that ignores SIGHUP runs on for the grace"
    );
    eventually("SIGKILL after the grace", || !alive());
    assert!(
        killed_at.elapsed() >= std::time::Duration::from_secs(2),
        "not before sessions.kill_grace"
    );
}
