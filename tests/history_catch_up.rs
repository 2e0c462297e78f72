//! End-to-end (SPEC 5): every line reaches a client's own history, also
//! for a client that falls behind. A session prints 200,000 numbered lines
//! in six colors and ends on the alternate screen; one SSH client reads
//! at full speed, another (a russh client with a small window and buffer,
//! so that it backs up to the server at once) stops reading for seconds
//! at a time. Each client's received bytes, rendered in a terminal with a
//! large history (Alacritty's model: it pushes the screen into its history
//! on `ED 2`, the strictest case), hold every number still in the
//! session's scrollback exactly once and in order, with its color, and
//! end on the program's exact final screen.

mod common;
mod russh_support;

use std::time::{Duration, Instant};

use alacritty_terminal::event::VoidListener;
use alacritty_terminal::grid::Dimensions;
use alacritty_terminal::index::{Column, Line};
use alacritty_terminal::term::test::TermSize;
use alacritty_terminal::term::{Config, Term};
use alacritty_terminal::vte::ansi::{Color, NamedColor, Processor};
use common::{PATIENCE, Server, eventually};
use russh::ChannelMsg;

const LINES: usize = 200_000;
const ROWS: u16 = 24;
const COLS: u16 = 80;

/// Prints the numbered lines once told to, then draws a last frame on the
/// alternate screen and waits.
const PROGRAM: &str = r#"read go
awk 'BEGIN{for(i=1;i<=200000;i++) printf "\033[3%dm%d\033[0m\n", i%6+1, i}'
printf '\033[?1049h\033[2J\033[5;10Hfinal frame\033[7;3H\033[1mbold\033[m'
exec sleep 600
"#;

/// How a client reads: all the time, or in short bursts with long pauses.
#[derive(Clone, Copy)]
enum Reading {
    Fast,
    Stalling,
}

/// Attaches to `work` and collects what arrives until `done` reports the
/// program finished and nothing came for a while.
async fn collect(
    alice: common::Ssh,
    reading: Reading,
    done: tokio::sync::watch::Receiver<bool>,
) -> Vec<u8> {
    let config = match reading {
        Reading::Fast => russh::client::Config::default(),
        // A small window and a one-message buffer: when this client stops
        // reading, the server cannot send it more than a few KiB.
        Reading::Stalling => russh::client::Config {
            window_size: 8 * 1024,
            channel_buffer_size: 1,
            ..Default::default()
        },
    };
    let handle = russh_support::connect_with(&alice, config).await;
    let mut channel = handle.channel_open_session().await.unwrap();
    channel
        .request_pty(true, "xterm-256color", COLS.into(), ROWS.into(), 0, 0, &[])
        .await
        .unwrap();
    channel.exec(true, b"attach work".to_vec()).await.unwrap();
    let mut received = Vec::new();
    let mut last_data = Instant::now();
    let mut burst_started = Instant::now();
    loop {
        if let Reading::Stalling = reading
            && burst_started.elapsed() > Duration::from_millis(300)
        {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            burst_started = Instant::now();
        }
        let quiet = last_data.elapsed() > Duration::from_secs(5);
        if *done.borrow() && quiet {
            return received;
        }
        match tokio::time::timeout(Duration::from_millis(200), channel.wait()).await {
            Ok(Some(ChannelMsg::Data { data })) => {
                received.extend_from_slice(&data);
                last_data = Instant::now();
            }
            Ok(Some(_)) => {}
            Ok(None) => panic!(
                "the attach channel closed after: {}",
                String::from_utf8_lossy(&received)
            ),
            Err(_) => {}
        }
    }
}

/// A client's terminal: Alacritty's model with a history larger than
/// the output.
fn render(bytes: &[u8]) -> Term<VoidListener> {
    let config = Config {
        scrolling_history: LINES + 1000,
        ..Config::default()
    };
    let mut term = Term::new(
        config,
        &TermSize::new(COLS.into(), ROWS.into()),
        VoidListener,
    );
    let mut parser: Processor = Processor::new();
    parser.advance(&mut term, bytes);
    term
}

fn row_text(term: &Term<VoidListener>, line: i32) -> String {
    let row = &term.grid()[Line(line)];
    (0..term.grid().columns())
        .map(|c| row[Column(c)].c)
        .collect::<String>()
        .trim_end()
        .to_string()
}

/// The numbered lines in the history of the terminal's main screen, with
/// the color of each.
fn history_numbers(term: &mut Term<VoidListener>) -> Vec<(usize, Color)> {
    // The program ended on the alternate screen: the history is the main
    // screen's.
    let mut parser: Processor = Processor::new();
    parser.advance(term, b"\x1b[?1049l");
    let history = term.grid().history_size() as i32;
    (-history..0)
        .filter_map(|line| {
            let number = row_text(term, line).parse().ok()?;
            Some((number, term.grid()[Line(line)][Column(0)].fg))
        })
        .collect()
}

fn screen(term: &Term<VoidListener>) -> Vec<String> {
    (0..i32::from(ROWS))
        .map(|line| row_text(term, line))
        .collect()
}

fn color_of(number: usize) -> Color {
    let named = [
        NamedColor::Red,
        NamedColor::Green,
        NamedColor::Yellow,
        NamedColor::Blue,
        NamedColor::Magenta,
        NamedColor::Cyan,
    ];
    Color::Named(named[number % 6])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_still_gets_every_line_in_its_history() {
    let server = Server::start_with_config("[sessions]\nclient_buffer = 65536\n");
    let alice = server.user("alice", false);
    let script = server.dir.path().join("program.sh");
    std::fs::write(&script, PROGRAM).unwrap();
    alice.ok(&format!("new work -d -- bash {}", script.display()));
    let (finished, done) = tokio::sync::watch::channel(false);
    let fast = tokio::spawn(collect(alice.clone(), Reading::Fast, done.clone()));
    let slow = tokio::spawn(collect(alice.clone(), Reading::Stalling, done));
    let clients_attached = {
        let alice = alice.clone();
        move || common::listed(&alice, "work")["clients"] == 2
    };
    let started = tokio::task::spawn_blocking(move || {
        eventually("both clients attached", clients_attached);
    });
    started.await.unwrap();
    alice.ok("send work 'go\\n'");
    let watcher = alice.clone();
    tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + PATIENCE * 6;
        while !watcher.ok("capture work").contains("final frame") {
            assert!(Instant::now() < deadline, "the program did not finish");
            std::thread::sleep(Duration::from_millis(200));
        }
    })
    .await
    .unwrap();
    finished.send(true).unwrap();
    let (fast, slow) = (fast.await.unwrap(), slow.await.unwrap());

    let server_lines = alice.ok("capture work --scrollback 1000000");
    let in_scrollback: Vec<usize> = server_lines
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert!(
        in_scrollback.len() >= 9_000,
        "the session's scrollback holds its lines: {}",
        in_scrollback.len()
    );
    let capture: Vec<String> = {
        let text = alice.ok("capture work");
        let mut rows: Vec<String> = text.lines().map(str::to_string).collect();
        rows.resize(usize::from(ROWS), String::new());
        rows
    };
    for (name, bytes) in [("fast", &fast), ("slow", &slow)] {
        let mut term = render(bytes);
        assert_eq!(screen(&term), capture, "{name}: the final screen");
        let numbers = history_numbers(&mut term);
        let only: Vec<usize> = numbers.iter().map(|(n, _)| *n).collect();
        if let Some(at) = only.windows(2).position(|w| w[0] >= w[1]) {
            panic!(
                "{name}: out of order or twice at {at}: {:?}",
                &only[at.saturating_sub(2)..(at + 3).min(only.len())]
            );
        }
        let have: std::collections::BTreeSet<usize> = only.iter().copied().collect();
        let missing: Vec<usize> = in_scrollback
            .iter()
            .filter(|n| !have.contains(n))
            .copied()
            .collect();
        assert!(
            missing.is_empty(),
            "{name}: {} lines of the scrollback missing, first {:?}",
            missing.len(),
            &missing[..missing.len().min(5)]
        );
        for (number, color) in &numbers {
            assert_eq!(*color, color_of(*number), "{name}: the color of {number}");
        }
        eprintln!(
            "{name}: {} bytes, {} lines in its history",
            bytes.len(),
            numbers.len()
        );
    }
    // A client sent every byte gets at least the whole output; one that
    // fell behind skipped lines that left the scrollback.
    let output: usize = (1..=LINES)
        .map(|n| format!("\x1b[3{}m{n}\x1b[0m\r\n", n % 6 + 1).len())
        .sum();
    assert!(
        slow.len() < output,
        "the stalling client fell behind: it got {} bytes of {output}",
        slow.len()
    );
}
