//! How much resident memory one session's screen model costs: 100
//! `Terminal`s and `ClientTable`s (80x24, `sessions.scrollback_lines`
//! 10000) made and kept, the process's RSS read before and after.
//!
//!     cargo run --release --example model_memory
//!
//! The figures go in docs/performance.md (idle memory, issue 27).

use foyer::engine::ClientTable;
use foyer::engine::terminal::Terminal;
use foyer::wire::{Size, SizePolicy};

const COUNT: i64 = 100;

fn rss_kib() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .expect("VmRSS")
}

/// KiB of resident memory per value `make` returns, keeping them all.
fn per_value<T>(make: impl Fn() -> T) -> (i64, Vec<T>) {
    let before = rss_kib();
    let kept: Vec<T> = (0..COUNT).map(|_| make()).collect();
    ((rss_kib() - before) / COUNT, kept)
}

fn main() {
    let size = Size { rows: 24, cols: 80 };
    let (terminal, terminals) = per_value(|| Terminal::new(size, 10_000));
    println!("Terminal (80x24): {terminal} KiB");
    let (table, tables) =
        per_value(|| ClientTable::new(size, (10_000, 1_000), SizePolicy::Smallest, 1 << 19));
    println!("ClientTable (80x24, no client): {table} KiB");
    let (prompt, prompted) = per_value(|| {
        let mut table = ClientTable::new(size, (10_000, 1_000), SizePolicy::Smallest, 1 << 19);
        let (mut out, mut replies) = (Vec::new(), Vec::new());
        table.output(b"user@host:~/src/foyer$ ", &mut out, &mut replies);
        table
    });
    println!("ClientTable after a shell prompt: {prompt} KiB");
    let (scrolled, scrolled_tables) = per_value(|| {
        let mut table = ClientTable::new(size, (10_000, 1_000), SizePolicy::Smallest, 1 << 19);
        let (mut out, mut replies) = (Vec::new(), Vec::new());
        let lines: Vec<u8> = (0..30)
            .flat_map(|n| format!("line {n}\r\n").into_bytes())
            .collect();
        table.output(&lines, &mut out, &mut replies);
        table
    });
    println!("ClientTable after 30 lines (it scrolled): {scrolled} KiB");
    let (released, released_tables) = per_value(|| {
        let mut table = ClientTable::new(size, (10_000, 1_000), SizePolicy::Smallest, 1 << 19);
        let (mut out, mut replies) = (Vec::new(), Vec::new());
        let lines: Vec<u8> = (0..30)
            .flat_map(|n| format!("line {n}\r\n").into_bytes())
            .collect();
        table.output(&lines, &mut out, &mut replies);
        // What the hub does once the output has been quiet a while.
        table.release_spare_memory();
        table
    });
    println!("the same, then quiet (spare memory released): {released} KiB");
    std::hint::black_box((
        terminals,
        tables,
        prompted,
        scrolled_tables,
        released_tables,
    ));
}
