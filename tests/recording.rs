//! End-to-end: `sessions.record` writes asciicast v2 that parses back to
//! the session's screen, and `replay` plays it through the real OpenSSH
//! client (SPEC §9).

mod common;

use common::{Server, eventually};

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

#[test]
fn a_recording_is_asciicast_v2_and_reproduces_the_screen() {
    let server = recorded_server();
    let alice = server.user("alice", false);
    alice.ok(&format!("new rec -d -- bash -c \"{SCRIPT}\""));
    eventually("the script to finish", || {
        alice.ok("capture rec").contains("third done")
    });
    let path = server.dir.path().join("data/recordings/alice");
    let cast_path = std::fs::read_dir(&path)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "cast"))
        .expect("a .cast file");
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
