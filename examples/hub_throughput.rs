//! Measures how fast the hub's pure core digests program output (no I/O),
//! scrolling text and TUI redraws:
//! `cargo run --release --example hub_throughput`.
use foyer::engine::ClientTable;
use foyer::wire::Size;
use foyer::wire::SizePolicy;
use std::time::Instant;

fn main() {
    let line = format!("{}\r\n", "x".repeat(79));
    let text: Vec<u8> = line.as_bytes().iter().copied().cycle().take(4095).collect();
    // Words and spaces, as tools/bench/run.py's text (a build log's lines).
    let prose: Vec<u8> = (0..1000)
        .flat_map(|i| {
            let line = format!(
                "{i:08} the quick brown fox jumps over the lazy dog, line of plain text\r\n"
            );
            line.into_bytes()
        })
        .collect();
    let tui: Vec<u8> = tui_frame().iter().copied().cycle().take(4095).collect();
    // A second argument: MiB per payload (32 unless given; a few for
    // `valgrind --tool=callgrind`, which counts instructions exactly).
    let mib: usize = std::env::args()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(32);
    let total = mib * 1024 * 1024;
    let payloads = [
        ("text, scrollback 10000", &text, 10_000),
        ("text, scrollback 0", &text, 0),
        ("prose, scrollback 10000", &prose, 10_000),
        ("TUI redraws, scrollback 10000", &tui, 10_000),
    ];
    // An argument runs only the payloads whose names contain it.
    let only = std::env::args().nth(1).unwrap_or_default();
    for (name, chunk, scrollback) in payloads {
        if !name.contains(&only) {
            continue;
        }
        let mut table = ClientTable::new(
            Size { rows: 24, cols: 80 },
            (scrollback, 1000),
            SizePolicy::Smallest,
            1 << 19,
        );
        let (mut out, mut replies) = (Vec::new(), Vec::new());
        let start = Instant::now();
        let mut done = 0;
        while done < total {
            out.clear();
            table.output(chunk, &mut out, &mut replies);
            done += chunk.len();
        }
        let secs = start.elapsed().as_secs_f64();
        println!("{name}: {:.1} MiB/s", total as f64 / secs / 1048576.0);
    }
    for (name, chunk) in [("text", &text), ("TUI redraws", &tui)] {
        let mut filter = foyer::engine::queries::QueryFilter::new();
        let mut pieces = Vec::new();
        let start = Instant::now();
        let mut done = 0;
        while done < total {
            filter.feed(chunk, &mut pieces);
            done += chunk.len();
        }
        println!(
            "query filter alone, {name}: {:.1} MiB/s",
            total as f64 / start.elapsed().as_secs_f64() / 1048576.0
        );
    }
    let chunk = &text;
    let mut parser = vt100::Parser::new(
        std::num::NonZeroU16::new(24).unwrap(),
        std::num::NonZeroU16::new(80).unwrap(),
        10000,
    );
    let start = Instant::now();
    let mut done = 0;
    while done < total {
        parser.process(chunk);
        done += chunk.len();
    }
    println!(
        "vt100 alone: {:.1} MiB/s",
        total as f64 / start.elapsed().as_secs_f64() / 1048576.0
    );
}

/// A colored, cursor-moving frame like a TUI redrawing (as tools/bench/run.py
/// builds it).
fn tui_frame() -> Vec<u8> {
    let mut frame = String::new();
    for row in 1..24 {
        frame.push_str(&format!("\x1b[{row};1H"));
        for col in (0..78).step_by(6) {
            frame.push_str(&format!(
                "\x1b[38;5;{}m\x1b[48;5;{}mcell{}:",
                (row * 7 + col) % 256,
                (row + col) % 16,
                col % 10
            ));
        }
        frame.push_str("\x1b[0m\x1b[K");
    }
    frame.into_bytes()
}
