//! Fuzz target: asciicast v2 files as `replay` reads them
//! (`ssh::replay`): the header line's `idle_time_limit`, then one event a
//! line, each line's time and output, and the pause played before each
//! event. Properties: the limit is positive and at most a day; a pause is
//! never longer than the limit; the play time always advances without
//! overflow (an input here panicked before: see the module's tests);
//! a `r` event's size, when it reads, is within the hub's limits.
#![no_main]

use std::time::Duration;

use foyer::engine::recording::parse_size;
use foyer::ssh::replay::{idle_limit, next_pause, parse_event};
use foyer::wire::Size;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // `replay` reads the file with `lines()`: text, one line at a time.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        return;
    };
    let max_pause = idle_limit(header);
    assert!(!max_pause.is_zero() && max_pause <= Duration::from_secs(86_400));
    let mut last = 0.0_f64;
    let mut played = Duration::ZERO;
    for line in lines {
        let Some((time, output)) = parse_event(line) else {
            continue;
        };
        let pause;
        (pause, last) = next_pause(time, last, max_pause);
        assert!(pause <= max_pause, "{pause:?} > {max_pause:?}");
        played = played.checked_add(pause).expect("the play time fits");
        if output.is_none()
            && let Some(size) = line.rsplit('"').nth(1).and_then(parse_size)
        {
            assert!((1..=Size::MAX).contains(&size.rows), "{size:?}");
            assert!((1..=Size::MAX).contains(&size.cols), "{size:?}");
        }
    }
});
