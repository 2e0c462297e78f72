//! End-to-end: `sessions.record` writes asciicast v2 that parses back to
//! the session's screen, with the session's TERM, its size changes and an
//! idle limit that skips the gap before a restart; `replay` plays it
//! through the real OpenSSH client, and asciinema plays it too when it is
//! installed (SPEC §9).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Server, Term, eventually};

const SCRIPT: &str = r#"printf '\033[1;31mred\033[m line\n'; printf 'caf\303\251 second\n'; sleep 0.4; printf 'third done\n'; exec sleep 600"#;

fn recorded_server() -> Server {
    Server::start_with_config("[sessions]\nrecord = true\n")
}

/// The screen a vt100 terminal shows after playing the recording's events.
fn play(cast: &str) -> (serde_json::Value, vt100::Parser, Vec<f64>) {
    let mut lines = cast.lines();
    let header: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    let nz = |v: &serde_json::Value| std::num::NonZeroU16::new(v.as_u64().unwrap() as u16).unwrap();
    let mut parser = vt100::Parser::new(nz(&header["height"]), nz(&header["width"]), 0);
    let mut times = Vec::new();
    for line in lines {
        let event: serde_json::Value = serde_json::from_str(line).expect("each event is JSON");
        times.push(event[0].as_f64().expect("a time"));
        match event[1].as_str().unwrap() {
            "o" => parser.process(event[2].as_str().unwrap().as_bytes()),
            "r" => {
                let (cols, rows) = event[2].as_str().unwrap().split_once('x').unwrap();
                let size = |v: &str| std::num::NonZeroU16::new(v.parse().unwrap()).unwrap();
                parser.screen_mut().set_size(size(rows), size(cols));
            }
            other => panic!("unknown event kind {other}"),
        }
    }
    (header, parser, times)
}

/// The recording of alice's session `name` (`NAME-ID.cast`).
fn cast_of(server: &Server, name: &str) -> PathBuf {
    let dir = server.dir.path().join("data/recordings/alice");
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let file = p.file_name().unwrap().to_string_lossy();
            file.starts_with(&format!("{name}-")) && file.ends_with(".cast")
        })
        .unwrap_or_else(|| panic!("no recording of {name} in {}", dir.display()))
}

/// The recording's lines, parsed.
fn events(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect()
}

#[test]
fn a_recording_is_asciicast_v2_and_reproduces_the_screen() {
    let server = recorded_server();
    let alice = server.user("alice", false);
    alice.ok(&format!("new rec -d -- bash -c \"{SCRIPT}\""));
    eventually("the script to finish", || {
        alice.ok("capture rec").contains("third done")
    });
    let cast_path = cast_of(&server, "rec");
    let mut parsed = None;
    eventually("the recording to hold the whole output", || {
        let cast = std::fs::read_to_string(&cast_path).unwrap();
        let (header, parser, times) = play(&cast);
        let done = parser.screen().contents().contains("third done");
        parsed = Some((header, parser, times));
        done
    });
    let (header, parser, times) = parsed.unwrap();
    assert_eq!(header["version"], 2);
    assert_eq!(
        (header["width"].as_u64(), header["height"].as_u64()),
        (Some(80), Some(24))
    );
    assert!(header["timestamp"].as_u64().unwrap() > 1_600_000_000);
    assert_eq!(header["idle_time_limit"], 2.0);
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "times go forward: {times:?}"
    );
    assert!(
        times.last().unwrap() - times[0] >= 0.3,
        "the pause is kept: {times:?}"
    );
    let screen = parser.screen();
    assert_eq!(
        screen.contents().trim_end(),
        alice.ok("capture rec").trim_end()
    );
    assert!(screen.cell(0, 0).unwrap().bold());
    assert_eq!(screen.cell(0, 0).unwrap().fgcolor(), vt100::Color::Idx(1));
}

#[test]
fn replay_plays_the_recording_and_prefix_d_leaves() {
    let server = recorded_server();
    let alice = server.user("alice", false);
    alice.ok(&format!("new rec -d -- bash -c \"{SCRIPT}\""));
    eventually("the script to finish", || {
        alice.ok("capture rec").contains("third done")
    });
    let captured = alice.ok("capture rec");
    let mut term = alice.term("replay rec", 24, 80);
    term.wait_for_text("[foyer: end of the recording of alice/rec]");
    assert_eq!(term.wait_exit(), 0);
    let shown = term.contents();
    for line in captured.lines() {
        assert!(shown.contains(line), "replay lacks {line:?}:\n{shown}");
    }
    let red = term.screen();
    assert!(red.cell(0, 0).unwrap().bold());

    // A long pause in the recording: Ctrl-\ d leaves without waiting.
    alice.ok(
        "new slow -d -- bash -c 'echo before-pause; sleep 4; echo after-pause; exec sleep 600'",
    );
    eventually("the slow script to finish", || {
        alice.ok("capture slow").contains("after-pause")
    });
    let mut term = alice.term("replay slow", 24, 80);
    term.wait_for_text("before-pause");
    term.detach();
    term.wait_for_text("[foyer: left the recording of alice/slow]");
    assert_eq!(term.wait_exit(), 0);
    assert!(!term.contents().contains("after-pause"));

    let none = alice.run("replay nothing");
    assert_eq!(none.status, 1);
}

#[test]
fn without_recording_replay_says_so() {
    let server = Server::start();
    let alice = server.user("alice", false);
    alice.ok("new plain -d -- sleep 600");
    let out = alice.run("replay plain");
    assert_eq!(out.status, 1);
    assert_eq!(
        out.stderr,
        "no recording of alice/plain (sessions.record is off, or was when it ran)\n"
    );
}

#[test]
fn the_header_has_the_sessions_term_and_a_resize_is_recorded() {
    let server = recorded_server();
    let alice = server.user("alice", false);
    let mut ssh = alice.command();
    ssh.env("TERM", "screen-256color")
        .arg("-t")
        .arg("new sized -- bash -c 'echo \"TERM is <$TERM>\"; exec cat'");
    let term = Term::spawn(ssh, 24, 80);
    term.wait_for_text("TERM is <");
    let shown = term.contents();
    let session_term = shown
        .split("TERM is <")
        .nth(1)
        .and_then(|rest| rest.split('>').next())
        .unwrap()
        .to_string();
    assert_eq!(
        session_term, "screen-256color",
        "the client's TERM reached the session"
    );
    let cast = cast_of(&server, "sized");
    assert_eq!(events(&cast)[0]["env"]["TERM"], session_term.as_str());

    term.resize(30, 100);
    eventually("a resize event with the new size", || {
        events(&cast)[1..]
            .iter()
            .any(|event| event[1] == "r" && event[2] == "100x30")
    });
    term.type_line("after the resize");
    eventually("output after the resize", || {
        std::fs::read_to_string(&cast)
            .unwrap()
            .contains("after the resize")
    });
    let lines = events(&cast);
    let resize = lines.iter().position(|e| e[1] == "r").unwrap();
    let typed = lines
        .iter()
        .position(|e| {
            e[2].as_str()
                .is_some_and(|t| t.contains("after the resize"))
        })
        .unwrap();
    assert!(resize < typed, "the resize comes before what followed it");
}

/// A restarted session appends to its recording after a wall-clock gap:
/// the times keep the gap, the header's idle limit keeps players from
/// sitting through it, and a size change in the new run is recorded.
#[test]
fn a_restart_appends_after_its_gap_and_records_its_size() {
    const GAP: Duration = Duration::from_secs(6);
    let server = recorded_server();
    let alice = server.user("alice", false);
    alice.ok("new again -d -- bash -c 'echo run-$RANDOM-started; read line; echo ended-$line'");
    alice.ok("send again 'one\\n'");
    eventually("the first run to end", || {
        common::listed(&alice, "again")["state"] == "exited"
    });
    let cast = cast_of(&server, "again");
    eventually("the first run's end in the recording", || {
        std::fs::read_to_string(&cast)
            .unwrap()
            .contains("ended-one")
    });
    let first_run_end = events(&cast).last().unwrap()[0].as_f64().unwrap();
    std::thread::sleep(GAP);
    alice.ok("restart again");
    let term = alice.term("attach again", 30, 100);
    term.wait_for_text("started");
    term.type_line("two");
    eventually("the second run's end in the recording", || {
        std::fs::read_to_string(&cast)
            .unwrap()
            .contains("ended-two")
    });
    let lines = events(&cast);
    assert_eq!(lines[0]["idle_time_limit"], 2.0);
    assert_eq!(
        (lines[0]["width"].as_u64(), lines[0]["height"].as_u64()),
        (Some(80), Some(24))
    );
    let times: Vec<f64> = lines[1..].iter().map(|e| e[0].as_f64().unwrap()).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "times go forward: {times:?}"
    );
    let second_run = lines
        .iter()
        .position(|e| {
            e[2].as_str().is_some_and(|t| t.contains("started"))
                && e[0].as_f64().unwrap() > first_run_end
        })
        .expect("the second run's output");
    let gap = lines[second_run][0].as_f64().unwrap() - first_run_end;
    assert!(
        gap >= GAP.as_secs_f64() - 0.5,
        "the wall-clock gap is kept ({gap} s)"
    );
    assert!(
        lines[second_run..]
            .iter()
            .any(|e| e[1] == "r" && e[2] == "100x30"),
        "the second run's size is recorded: {lines:?}"
    );
    asciinema_plays_without_the_gap(&cast, GAP);
}

/// `asciinema play` (without `-i`) accepts the file and plays it in less
/// than its idle gap; skipped when asciinema is not installed (Debian:
/// `asciinema`).
fn asciinema_plays_without_the_gap(cast: &Path, gap: Duration) {
    if Command::new("asciinema").arg("--version").output().is_err() {
        eprintln!("asciinema is not installed: the asciinema check is skipped");
        return;
    }
    let mut play = Command::new("asciinema");
    play.arg("play").arg(cast);
    let started = Instant::now();
    let mut term = Term::spawn(play, 30, 100);
    assert_eq!(
        term.wait_exit(),
        0,
        "asciinema play failed:\n{}",
        term.contents()
    );
    let took = started.elapsed();
    assert!(took < gap, "asciinema sat through the gap ({took:?})");
    let shown = term.contents();
    assert!(
        shown.contains("ended-one") && shown.contains("ended-two"),
        "{shown}"
    );
}
