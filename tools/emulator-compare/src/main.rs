//! Compares two terminal emulator cores, `vt100` (foyer's session model until
//! issue 12) and `alacritty_terminal` (its model since), at 80x24 unless told otherwise:
//!
//! 1. throughput in MiB/s of feeding 64 MiB in 4095-byte chunks (a typical
//!    PTY read) of the two payloads that `tools/bench/run.py` builds (a
//!    colored TUI redraw and plain text lines, the same bytes), with a
//!    10,000-line scrollback and with none; 3 runs each, median and min–max
//!    by the wall clock, and the median by the thread's CPU time;
//! 2. heap bytes held (a counting global allocator) by a fresh terminal and
//!    by one whose 10,000-line scrollback is full, at 80x24 and 200x50;
//! 3. fidelity: the first rows of both screens after the same input, and
//!    how alacritty_terminal answers queries and reports title and bell.
//!
//! Run it from the repository root, in release:
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-emu \
//!     cargo run --release --manifest-path tools/emulator-compare/Cargo.toml
//! ```
//!
//! `-- --write-payloads DIR` also writes both payloads to DIR, to compare
//! them byte for byte with the files run.py writes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::RefCell;
use std::hint::black_box;
use std::num::NonZeroU16;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use alacritty_terminal::event::{Event, EventListener};
use alacritty_terminal::grid::Dimensions;
use alacritty_terminal::index::{Column, Line};
use alacritty_terminal::term::cell::Flags;
use alacritty_terminal::term::{Config, Term};
use alacritty_terminal::vte::ansi::Processor;

const MIB: usize = 1024 * 1024;
const PAYLOAD_BYTES: usize = 64 * MIB;
const CHUNK: usize = 4095;
const RUNS: usize = 3;
const SCROLLBACK: usize = 10_000;

// ---------------------------------------------------------------------------
// Heap accounting.

/// Wraps the system allocator and keeps the bytes currently held and the
/// highest value since the last `reset_peak`.
struct Counting;

static HELD: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let now = HELD.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

fn shrank(bytes: usize) {
    HELD.fetch_sub(bytes, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                shrank(layout.size() - new_size);
            }
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `make` and returns what it built with the heap bytes it still holds
/// and the most it held at once on the way.
fn heap_of<T>(make: impl FnOnce() -> T) -> (T, usize, usize) {
    let base = HELD.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let value = make();
    let held = HELD.load(Ordering::Relaxed).saturating_sub(base);
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    (value, held, peak)
}

// ---------------------------------------------------------------------------
// Payloads, byte for byte as tools/bench/run.py writes them: whole copies of
// the unit until at least `size` bytes.

fn repeat_until(unit: &[u8], size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size + unit.len());
    while out.len() < size {
        out.extend_from_slice(unit);
    }
    out
}

/// `make_tui_stream`: a colored, cursor-moving stream like a TUI redrawing.
fn tui_stream(size: usize) -> Vec<u8> {
    let mut frame = String::new();
    for row in 1..24 {
        frame += &format!("\x1b[{row};1H");
        for col in (0..78).step_by(6) {
            frame += &format!(
                "\x1b[38;5;{}m\x1b[48;5;{}mcell{}:",
                (row * 7 + col) % 256,
                (row + col) % 16,
                col % 10
            );
        }
        frame += "\x1b[0m\x1b[K";
    }
    repeat_until(frame.as_bytes(), size)
}

/// `make_text`: plain lines of text, as a build log would be.
fn text_stream(size: usize) -> Vec<u8> {
    let mut lines = String::new();
    for i in 0..1000 {
        let line =
            format!("{i:08} the quick brown fox jumps over the lazy dog, line of plain text\r\n");
        lines.extend(line.chars().take(80));
    }
    repeat_until(lines.as_bytes(), size)
}

/// `cols - 1` letters 'a'..'z' cycling, in one of 8 colors, then CR LF.
fn colored_lines(cols: usize, count: usize) -> Vec<u8> {
    let text: String = (b'a'..=b'z')
        .cycle()
        .take(cols - 1)
        .map(char::from)
        .collect();
    let mut out = Vec::new();
    for i in 0..count {
        out.extend_from_slice(format!("\x1b[3{}m{text}\x1b[m\r\n", i % 8).as_bytes());
    }
    out
}

// ---------------------------------------------------------------------------
// The two emulators behind one face.

trait Emulator {
    const NAME: &'static str;
    fn new(cols: u16, rows: u16, scrollback: usize) -> Self;
    fn feed(&mut self, bytes: &[u8]);
    /// The visible rows as plain text, trailing blanks trimmed.
    fn screen_rows(&self) -> Vec<String>;
    /// Zero-based (row, column).
    fn cursor(&self) -> (usize, usize);
    fn history_lines(&self) -> usize;

    fn feed_chunked(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(CHUNK) {
            self.feed(chunk);
        }
    }
}

struct Vt100(vt100::Parser);

impl Emulator for Vt100 {
    const NAME: &'static str = "vt100";

    fn new(cols: u16, rows: u16, scrollback: usize) -> Self {
        let nz = |n| NonZeroU16::new(n).expect("size is not zero");
        Vt100(vt100::Parser::new(nz(rows), nz(cols), scrollback))
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.0.process(bytes);
    }

    fn screen_rows(&self) -> Vec<String> {
        let (_, cols) = self.0.screen().size();
        self.0
            .screen()
            .rows(0, cols.get())
            .map(|row| row.trim_end().to_owned())
            .collect()
    }

    fn cursor(&self) -> (usize, usize) {
        let (row, col) = self.0.screen().cursor_position();
        (row.into(), col.into())
    }

    fn history_lines(&self) -> usize {
        self.0.screen().scrollback_len()
    }
}

/// What alacritty_terminal reports through its listener: replies it wants
/// written to the PTY, the title and bells.
#[derive(Default, Debug)]
struct Reports {
    pty_writes: Vec<String>,
    title: Option<String>,
    bells: usize,
}

/// The listener is called through `&self`, so it shares its record.
#[derive(Clone, Default)]
struct Listener(Rc<RefCell<Reports>>);

impl EventListener for Listener {
    fn send_event(&self, event: Event) {
        let mut reports = self.0.borrow_mut();
        match event {
            Event::PtyWrite(text) => reports.pty_writes.push(text),
            Event::Title(title) => reports.title = Some(title),
            Event::ResetTitle => reports.title = None,
            Event::Bell => reports.bells += 1,
            _ => {}
        }
    }
}

struct Size {
    cols: usize,
    rows: usize,
}

impl Dimensions for Size {
    fn total_lines(&self) -> usize {
        self.rows
    }

    fn screen_lines(&self) -> usize {
        self.rows
    }

    fn columns(&self) -> usize {
        self.cols
    }
}

struct Alacritty {
    term: Term<Listener>,
    parser: Processor,
    reports: Listener,
}

impl Emulator for Alacritty {
    const NAME: &'static str = "alacritty_terminal";

    fn new(cols: u16, rows: u16, scrollback: usize) -> Self {
        let config = Config {
            scrolling_history: scrollback,
            ..Config::default()
        };
        let size = Size {
            cols: cols.into(),
            rows: rows.into(),
        };
        let reports = Listener::default();
        Alacritty {
            term: Term::new(config, &size, reports.clone()),
            parser: Processor::new(),
            reports,
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.parser.advance(&mut self.term, bytes);
    }

    fn screen_rows(&self) -> Vec<String> {
        let grid = self.term.grid();
        (0..grid.screen_lines())
            .map(|line| {
                let row = &grid[Line(line as i32)];
                let text: String = (0..grid.columns())
                    .map(|col| &row[Column(col)])
                    .filter(|cell| !cell.flags.contains(Flags::WIDE_CHAR_SPACER))
                    .map(|cell| cell.c)
                    .collect();
                text.trim_end().to_owned()
            })
            .collect()
    }

    fn cursor(&self) -> (usize, usize) {
        let point = self.term.grid().cursor.point;
        (point.line.0 as usize, point.column.0)
    }

    fn history_lines(&self) -> usize {
        self.term.grid().history_size()
    }
}

// ---------------------------------------------------------------------------
// Measurements.

/// MiB/s by the wall clock (median, min, max) and by the thread's CPU time
/// (median), which other load on the machine disturbs less.
struct Throughput {
    median: f64,
    min: f64,
    max: f64,
    cpu_median: f64,
}

/// CPU time this thread has used, in seconds.
fn thread_cpu_seconds() -> f64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec to write to.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(rc, 0, "clock_gettime");
    now.tv_sec as f64 + now.tv_nsec as f64 * 1e-9
}

fn sorted(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    values
}

fn throughput<E: Emulator>(payload: &[u8], scrollback: usize) -> Throughput {
    let mib = payload.len() as f64 / MIB as f64;
    let (wall, cpu): (Vec<f64>, Vec<f64>) = (0..RUNS)
        .map(|_| {
            let mut emulator = E::new(80, 24, scrollback);
            let (start, cpu_start) = (Instant::now(), thread_cpu_seconds());
            emulator.feed_chunked(black_box(payload));
            let cpu = thread_cpu_seconds() - cpu_start;
            let wall = start.elapsed().as_secs_f64();
            black_box(emulator.cursor());
            (mib / wall, mib / cpu)
        })
        .unzip();
    let (wall, cpu) = (sorted(wall), sorted(cpu));
    Throughput {
        median: wall[RUNS / 2],
        min: wall[0],
        max: wall[RUNS - 1],
        cpu_median: cpu[RUNS / 2],
    }
}

fn print_throughput(payloads: &[(&str, Vec<u8>)]) {
    println!("## Throughput, 80x24, {CHUNK}-byte chunks, median of {RUNS} (min–max)\n");
    println!("| emulator | payload | scrollback | MiB/s | spread | MiB/s of CPU time |");
    println!("| --- | --- | ---: | ---: | --- | ---: |");
    for (name, payload) in payloads {
        for scrollback in [SCROLLBACK, 0] {
            for (emulator, run) in [
                (
                    Vt100::NAME,
                    throughput::<Vt100> as fn(&[u8], usize) -> Throughput,
                ),
                (Alacritty::NAME, throughput::<Alacritty>),
            ] {
                let t = run(payload, scrollback);
                println!(
                    "| {emulator} | {name} | {scrollback} | {:.1} | {:.1}–{:.1} | {:.1} |",
                    t.median, t.min, t.max, t.cpu_median
                );
            }
        }
    }
    println!();
}

fn memory<E: Emulator>(cols: u16, rows: u16, lines: &[u8]) -> [(usize, usize); 2] {
    let (fresh, fresh_held, fresh_peak) = heap_of(|| E::new(cols, rows, SCROLLBACK));
    drop(fresh);
    let (full, full_held, full_peak) = heap_of(|| {
        let mut emulator = E::new(cols, rows, SCROLLBACK);
        emulator.feed_chunked(lines);
        emulator
    });
    assert_eq!(
        full.history_lines(),
        SCROLLBACK,
        "{} scrollback is full",
        E::NAME
    );
    drop(full);
    [(fresh_held, fresh_peak), (full_held, full_peak)]
}

fn print_memory() {
    println!("## Heap held, {SCROLLBACK}-line scrollback\n");
    println!("| emulator | size | state | held | peak while feeding | held per scrollback line |");
    println!("| --- | --- | --- | ---: | ---: | ---: |");
    for (cols, rows) in [(80u16, 24u16), (200, 50)] {
        let count = SCROLLBACK + 2 * usize::from(rows);
        let lines = colored_lines(cols.into(), count);
        for (emulator, measure) in [
            (
                Vt100::NAME,
                memory::<Vt100> as fn(u16, u16, &[u8]) -> [(usize, usize); 2],
            ),
            (Alacritty::NAME, memory::<Alacritty>),
        ] {
            let [(fresh, fresh_peak), (full, full_peak)] = measure(cols, rows, &lines);
            println!(
                "| {emulator} | {cols}x{rows} | fresh | {} | {} | |",
                kib(fresh),
                kib(fresh_peak)
            );
            println!(
                "| {emulator} | {cols}x{rows} | after {count} lines | {} | {} | {} B |",
                kib(full),
                kib(full_peak),
                (full - fresh) / SCROLLBACK
            );
        }
    }
    let (processor, held, _) = heap_of(Processor::new);
    drop::<Processor>(processor);
    println!(
        "\nOf alacritty_terminal's fresh heap, its `vte::ansi::Processor` alone holds {} \
         (a synchronized-update buffer reserved up front; untouched pages, so not yet resident).\n",
        kib(held)
    );
}

fn kib(bytes: usize) -> String {
    if bytes >= MIB {
        format!("{:.2} MiB", bytes as f64 / MIB as f64)
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

fn print_fidelity(name: &str, payload: &[u8]) {
    let mut vt = Vt100::new(80, 24, SCROLLBACK);
    let mut al = Alacritty::new(80, 24, SCROLLBACK);
    vt.feed_chunked(payload);
    al.feed_chunked(payload);
    let (vt_rows, al_rows) = (vt.screen_rows(), al.screen_rows());
    println!("{name} ({} bytes), first 3 rows:\n", payload.len());
    for (label, rows) in [(Vt100::NAME, &vt_rows), (Alacritty::NAME, &al_rows)] {
        println!("{label}:\n```");
        for row in &rows[..3] {
            println!("{row}");
        }
        println!("```");
    }
    let differing = vt_rows.iter().zip(&al_rows).filter(|(a, b)| a != b).count();
    println!(
        "all 24 rows agree: {}{}; cursor {:?} / {:?}; scrollback lines {} / {}\n",
        differing == 0,
        if differing == 0 {
            String::new()
        } else {
            format!(" ({differing} rows differ)")
        },
        vt.cursor(),
        al.cursor(),
        vt.history_lines(),
        al.history_lines()
    );
}

/// How alacritty_terminal answers queries and reports title and bell.
fn print_queries() {
    let cases: [(&str, &[u8]); 5] = [
        (
            "CUP 5;10 then DSR 6 (cursor position)",
            b"\x1b[5;10H\x1b[6n",
        ),
        (
            "DECSTBM 5;20, DECOM on, CUP 2;3, DSR 6 (xterm answers 2;3)",
            b"\x1b[5;20r\x1b[?6h\x1b[2;3H\x1b[6n",
        ),
        ("DA1, DA2, DSR 5", b"\x1b[c\x1b[>c\x1b[5n"),
        ("DECRQM ?2026 (synchronized output)", b"\x1b[?2026$p"),
        ("OSC 2 title, BEL", b"\x1b]2;hello\x07\x07"),
    ];
    println!("## alacritty_terminal's answers to queries (through its EventListener)\n");
    for (what, bytes) in cases {
        let mut al = Alacritty::new(80, 24, 0);
        al.feed(bytes);
        let reports = al.reports.0.borrow();
        println!(
            "- {what}: pty writes {:?}, title {:?}, bells {}",
            reports.pty_writes, reports.title, reports.bells
        );
    }

    // Inside a synchronized update (mode 2026) the Processor holds the bytes
    // back, queries included, until the update ends or its timeout is polled.
    let mut al = Alacritty::new(80, 24, 0);
    al.feed(b"\x1b[?2026h\x1b[3;4H\x1b[6n");
    let during = al.reports.0.borrow().pty_writes.clone();
    let cursor_during = al.cursor();
    al.feed(b"\x1b[?2026l");
    println!(
        "- BSU, CUP 3;4, DSR 6: pty writes {during:?} and cursor {cursor_during:?} until ESU, \
         then {:?} and cursor {:?}",
        al.reports.0.borrow().pty_writes,
        al.cursor()
    );
    println!();
}

fn main() {
    let payloads = [
        ("tui", tui_stream(PAYLOAD_BYTES)),
        ("text", text_stream(PAYLOAD_BYTES)),
    ];

    let mut args = std::env::args().skip(1);
    if let Some(arg) = args.next() {
        let dir = args.next().filter(|_| arg == "--write-payloads");
        let dir = dir.expect("usage: emulator-compare [--write-payloads DIR]");
        for (name, payload) in &payloads {
            std::fs::write(format!("{dir}/{name}.bin"), payload).expect("write payload");
        }
    }

    println!("# vt100 against alacritty_terminal\n");
    for (name, payload) in &payloads {
        println!("- {name} payload: {} bytes", payload.len());
    }
    println!();

    print_throughput(&payloads);
    print_memory();

    println!("## Fidelity, 80x24\n");
    print_fidelity("tui (64 KiB)", &tui_stream(64 * 1024));
    print_fidelity("text (64 KiB)", &text_stream(64 * 1024));
    for (name, payload) in &payloads {
        print_fidelity(&format!("{name} (whole payload)"), payload);
    }
    print_queries();
}
