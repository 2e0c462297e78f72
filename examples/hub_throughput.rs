//! Measures how fast the hub's pure core digests program output (no I/O):
//! `cargo run --release --example hub_throughput`.
use foyer::config::SizePolicy;
use foyer::session::{ClientTable, Size};
use std::time::Instant;

fn main() {
    let line = format!("{}\r\n", "x".repeat(79));
    let chunk: Vec<u8> = line.as_bytes().iter().copied().cycle().take(4095).collect();
    let total = 32 * 1024 * 1024;
    for (name, scrollback) in [("scrollback 10000", 10_000), ("scrollback 0", 0)] {
        let mut table = ClientTable::new(
            Size { rows: 24, cols: 80 },
            scrollback,
            1000,
            SizePolicy::Smallest,
        );
        let (mut out, mut replies) = (Vec::new(), Vec::new());
        let start = Instant::now();
        let mut done = 0;
        while done < total {
            out.clear();
            table.output(&chunk, &mut out, &mut replies);
            done += chunk.len();
        }
        let secs = start.elapsed().as_secs_f64();
        println!("{name}: {:.1} MiB/s", total as f64 / secs / 1048576.0);
    }
    let mut filter = foyer::session::queries::QueryFilter::new();
    let mut pieces = Vec::new();
    let start = Instant::now();
    let mut done = 0;
    while done < total {
        filter.feed(&chunk, &mut pieces);
        done += chunk.len();
    }
    println!(
        "query filter alone: {:.1} MiB/s",
        total as f64 / start.elapsed().as_secs_f64() / 1048576.0
    );
    let mut parser = vt100::Parser::new(
        std::num::NonZeroU16::new(24).unwrap(),
        std::num::NonZeroU16::new(80).unwrap(),
        10000,
    );
    let start = Instant::now();
    let mut done = 0;
    while done < total {
        parser.process(&chunk);
        done += chunk.len();
    }
    println!(
        "vt100 alone: {:.1} MiB/s",
        total as f64 / start.elapsed().as_secs_f64() / 1048576.0
    );
}
