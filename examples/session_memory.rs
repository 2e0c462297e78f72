//! Measures the heap a session's screen costs (the hub's `Terminal`: the
//! vt100 screen, its scrollback and the hub's own tracking) at 80x24 and
//! 200x50, empty and with full scrollback of colored text:
//! `cargo run --release --example session_memory`.
//!
//! A counting allocator wraps the system one; the figure is the bytes
//! still allocated after the terminal digested its output.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use foyer::wire::Size;

use foyer::engine::Terminal;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn measure(size: Size, scrollback: usize, lines: usize) -> usize {
    let before = LIVE.load(Ordering::Relaxed);
    let mut terminal = Terminal::new(size, scrollback);
    let (mut pass_through, mut replies) = (Vec::new(), Vec::new());
    let text: String = (0..size.cols as usize - 1)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    for i in 0..lines {
        let line = format!("\x1b[3{}m{text}\x1b[m\r\n", i % 8);
        pass_through.clear();
        terminal.process(line.as_bytes(), &mut pass_through, &mut replies);
    }
    drop(pass_through);
    drop(replies);
    let used = LIVE.load(Ordering::Relaxed) - before;
    drop(terminal);
    used
}

fn main() {
    let scrollback = 10_000;
    for (rows, cols) in [(24, 80), (50, 200)] {
        let size = Size { rows, cols };
        let empty = measure(size, scrollback, 0);
        let full = measure(size, scrollback, scrollback + rows as usize * 2);
        println!(
            "{cols}x{rows}: empty {:.0} KiB, with {scrollback} lines of scrollback {:.1} MiB",
            empty as f64 / 1024.0,
            full as f64 / 1048576.0
        );
    }
}
