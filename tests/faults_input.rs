//! End-to-end boundary of the network input (issue 28, "Boundaries"):
//! nothing a signed-in client sends makes the server panic. Random bytes
//! (seeded; the seed is printed and `FOYER_TEST_SEED` repeats it) go in
//! as exec command lines, as keys and window sizes to the picker (and to
//! whatever session it attaches), as WebSocket text and binary frames to
//! the terminal bridge, and as raw bytes to both listeners. Then the
//! server still serves: `ls` answers, another user's session echoes, a
//! fresh client attaches and types, and neither the gateway's log nor the
//! hosts' holds a panic.
//!
//! Only `cat` can run (`presets_only`), so random keys can start nothing
//! else: cooked by the terminal (the default), or raw (the preset `raw`,
//! for the bridge's target: its random bytes hold ^C and ^D, which would
//! end a cooked `cat` within a few frames).

mod common;
mod russh_support;
mod web_support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rand::rngs::StdRng;
use rand::{Rng, RngCore};
use russh::ChannelMsg;
use russh::client::Handle;
use russh_support::{AcceptAnyHost, connect};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message;

use common::faults::{assert_no_panic, figure, seeded_rng};
use common::{Server, eventually};

const CONFIG: &str = "[sessions]\ndefault_command = [\"cat\"]\npresets_only = true\n\n\
                      [[presets]]\nname = \"cat\"\ncommand = [\"cat\"]\n\n\
                      [[presets]]\nname = \"raw\"\n\
                      command = [\"sh\", \"-c\", \"stty raw -echo; exec cat\"]\n";
/// How long one exec may stream before the test moves on (a random line
/// may name a verb that streams until detached).
const EXEC_WAIT: Duration = Duration::from_secs(3);
const COMMAND_LINES: usize = 300;
const PICKER_ROUNDS: usize = 8;
const WEB_FRAMES: usize = 400;
/// Verbs random arguments follow, so that parsing gets past the verb.
const VERBS: &[&str] = &[
    "ls", "capture", "send", "kill", "restart", "share", "unshare", "notify", "ack", "signal",
    "pause", "resume", "whoami", "keys", "help", "link", "token", "audit", "new", "replay",
];

fn random_bytes(rng: &mut StdRng, most: usize) -> Vec<u8> {
    let mut bytes = vec![0; rng.random_range(0..=most)];
    rng.fill_bytes(&mut bytes);
    bytes
}

/// A command line: random bytes, alone or after a verb and a space.
fn command_line(rng: &mut StdRng) -> Vec<u8> {
    let mut line = Vec::new();
    if rng.random_bool(0.7) {
        line.extend_from_slice(VERBS[rng.random_range(0..VERBS.len())].as_bytes());
        line.push(b' ');
    }
    line.extend(random_bytes(rng, 200));
    line
}

/// Runs one command line, reading what comes back for up to
/// [`EXEC_WAIT`]; false when the channel could not even be opened.
async fn exec(handle: &Handle<AcceptAnyHost>, line: Vec<u8>) -> bool {
    let Ok(mut channel) = handle.channel_open_session().await else {
        return false;
    };
    if channel.exec(true, line).await.is_err() {
        return false;
    }
    let _ = tokio::time::timeout(EXEC_WAIT, async {
        while let Some(message) = channel.wait().await {
            if matches!(message, ChannelMsg::Close) {
                break;
            }
        }
    })
    .await;
    let _ = channel.close().await;
    true
}

async fn random_command_lines(alice: &common::Ssh, rng: &mut StdRng) {
    let mut handle = connect(alice).await;
    for _ in 0..COMMAND_LINES {
        let line = command_line(rng);
        if !exec(&handle, line).await {
            handle = connect(alice).await;
        }
    }
}

/// One picker: a PTY of a random size, then random keys in random
/// chunks and random window changes, until they run out or the picker
/// (or the session it attached) ends the channel.
async fn random_picker_round(alice: &common::Ssh, rng: &mut StdRng) {
    let handle = connect(alice).await;
    let channel = handle.channel_open_session().await.unwrap();
    let (cols, rows) = (rng.random_range(0..300), rng.random_range(0..100));
    channel
        .request_pty(true, "xterm-256color", cols, rows, 0, 0, &[])
        .await
        .unwrap();
    channel.request_shell(true).await.unwrap();
    let (mut reader, writer) = channel.split();
    let drained = tokio::spawn(async move { while reader.wait().await.is_some() {} });
    for _ in 0..60 {
        let sent = if rng.random_bool(0.1) {
            let (cols, rows) = (rng.random_range(0..5000), rng.random_range(0..5000));
            writer.window_change(cols, rows, 0, 0).await
        } else {
            writer.data_bytes(random_bytes(rng, 24)).await
        };
        if sent.is_err() || drained.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..20))).await;
    }
    let _ = writer.close().await;
    drained.abort();
}

/// A text frame the bridge reads and goes on after: a resize or a
/// signal with random values, or a message of a random type.
fn text_frame(rng: &mut StdRng) -> String {
    let random_text = String::from_utf8_lossy(&random_bytes(rng, 100)).into_owned();
    match rng.random_range(0..3) {
        0 => format!(
            r#"{{"type":"resize","cols":{},"rows":{}}}"#,
            rng.random::<u32>() % 3000,
            rng.random::<u32>() % 3000
        ),
        1 => serde_json::json!({ "type": "signal", "signal": random_text }).to_string(),
        _ => serde_json::json!({ "type": random_text, "cols": -1 }).to_string(),
    }
}

/// A frame, and whether the server may well close the connection for it
/// (random text is seldom JSON; a frame over 64 KiB is too big).
fn web_frame(rng: &mut StdRng) -> (Message, bool) {
    match rng.random_range(0..20) {
        0..=7 => (Message::Text(text_frame(rng).into()), false),
        8 => {
            let text = String::from_utf8_lossy(&random_bytes(rng, 100)).into_owned();
            (Message::Text(text.into()), true)
        }
        9 if rng.random_bool(0.1) => (Message::Binary(vec![b'x'; 70_000].into()), true),
        _ => (Message::Binary(random_bytes(rng, 200).into()), false),
    }
}

/// Random frames to alice's bridge; a connection the server closes (a
/// malformed or too big frame, or the target ended by a random signal)
/// is opened again, the target restarted if need be. Returns how many
/// connections it took.
async fn random_web_frames(server: &Server, alice: &common::Ssh, rng: &mut StdRng) -> usize {
    running_target(alice);
    let cookie = web_support::sign_in(alice, "target").await;
    let request = || web_support::ws_request(server, "alice/target", Some(&cookie));
    let (mut attempts, mut connections, mut frames) = (0, 0, 0);
    while frames < WEB_FRAMES {
        // A connection refused or closed at once sends no frame: bounded,
        // lest the loop spin without end.
        attempts += 1;
        assert!(
            attempts <= WEB_FRAMES,
            "{attempts} connections for {frames} frames"
        );
        running_target(alice);
        let Ok((socket, _)) = tokio_tungstenite::connect_async(request()).await else {
            continue;
        };
        connections += 1;
        let (mut sink, mut stream) = socket.split();
        let drained = tokio::spawn(async move { while let Some(Ok(_)) = stream.next().await {} });
        while frames < WEB_FRAMES && !drained.is_finished() {
            frames += 1;
            let (frame, may_close) = web_frame(rng);
            if sink.send(frame).await.is_err() {
                break;
            }
            if may_close {
                // Sent on a closed connection, the next frames would
                // never be read: wait for the close, if it comes.
                let _ = tokio::time::timeout(Duration::from_millis(500), async {
                    while !drained.is_finished() {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                })
                .await;
            }
        }
        let _ = sink.close().await;
        drained.abort();
    }
    connections
}

/// Random bytes straight to a listener, then hangs up.
async fn random_bytes_to(port: u16, rng: &mut StdRng) {
    let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return;
    };
    let _ = stream.write_all(&random_bytes(rng, 4096)).await;
    let _ = stream.shutdown().await;
}

/// Makes sure alice's `target` runs (random keys or a random signal
/// frame may have ended or killed it): the bridge needs it.
fn running_target(alice: &common::Ssh) {
    let rows = common::json_rows(&alice.ok("ls --json"));
    match rows.iter().find(|row| row["name"] == "target") {
        Some(row) if row["state"] == "running" => {}
        Some(_) => {
            alice.ok("restart target");
        }
        None => {
            alice.ok("new target -d -p raw");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_bytes_from_the_network_never_panic_the_server() {
    const TEST: &str = "random_bytes_from_the_network_never_panic_the_server";
    let mut rng = seeded_rng(TEST);
    let server = Server::start_with_config(CONFIG);
    let (alice, bob) = (server.user("alice", false), server.user("bob", false));
    alice.ok("new target -d -p raw");
    bob.ok("new control -d");

    random_command_lines(&alice, &mut rng).await;
    for _ in 0..PICKER_ROUNDS {
        random_picker_round(&alice, &mut rng).await;
    }
    let connections = random_web_frames(&server, &alice, &mut rng).await;
    for _ in 0..20 {
        random_bytes_to(server.port, &mut rng).await;
        random_bytes_to(server.web_port, &mut rng).await;
    }

    alice.ok("ls");
    // The terminal's echo, then cat's.
    bob.ok("send control 'bob-still-echoes\\n'");
    eventually("bob's session to echo", || {
        bob.ok("capture control")
            .matches("bob-still-echoes")
            .count()
            == 2
    });
    alice.ok("new fresh -d");
    let term = alice.term("attach fresh", 24, 80);
    term.type_line("typed-after-the-noise");
    term.wait_for("the echo", |s| {
        s.contents().matches("typed-after-the-noise").count() >= 2
    });
    figure(
        TEST,
        &format!(
            "{COMMAND_LINES} command lines, {PICKER_ROUNDS} picker rounds, {WEB_FRAMES} WebSocket \
             frames over {connections} connections, 40 raw connections: no panic"
        ),
    );
    assert_no_panic(&server);
}
