//! How long a session has been idle, written in the fewest characters,
//! and when that text next changes (so the driver knows when to redraw).
//!
//! Must not read the clock: the caller passes the seconds in.

/// How long ago, in the fewest characters: `12s`, `5m`, `3h`, `2d`.
pub fn idle_text(seconds: i64) -> String {
    let seconds = seconds.max(0);
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m", seconds / 60),
        3600..86400 => format!("{}h", seconds / 3600),
        _ => format!("{}d", seconds / 86400),
    }
}

/// Seconds from `seconds` idle until [`idle_text`] shows something else.
pub fn idle_text_changes_in(seconds: i64) -> i64 {
    let seconds = seconds.max(0);
    let unit = match seconds {
        0..60 => 1,
        60..3600 => 60,
        3600..86400 => 3600,
        _ => 86400,
    };
    unit - seconds % unit
}
