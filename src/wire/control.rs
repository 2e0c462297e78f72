//! Run control of a session's program (SPEC §4 `pause`, `resume`,
//! `signal`, and the WebSocket's signal message): the signals a writer may
//! send by name or number, why a request was refused, and the notice
//! attached clients see when the program is paused.
//!
//! Must not act: the hub signals the program's process group, the link
//! passes requests to the host, the front ends check access.

use nix::sys::signal::Signal;

/// Signals `signal NAME SIG` takes by name (with or without `SIG`, in any
/// case); any other signal by its number.
pub const SIGNAL_NAMES: &[(&str, Signal)] = &[
    ("INT", Signal::SIGINT),
    ("TERM", Signal::SIGTERM),
    ("HUP", Signal::SIGHUP),
    ("QUIT", Signal::SIGQUIT),
    ("USR1", Signal::SIGUSR1),
    ("USR2", Signal::SIGUSR2),
    ("WINCH", Signal::SIGWINCH),
];

/// Reads a signal as `signal NAME SIG` and the WebSocket take it: one of
/// [`SIGNAL_NAMES`] or a signal number. STOP and CONT are refused:
/// `pause` and `resume` stop and continue a program, and keep its state.
pub fn parse_signal(text: &str) -> Result<Signal, String> {
    let upper = text.trim().to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    let found = SIGNAL_NAMES
        .iter()
        .find(|(name, _)| *name == bare)
        .map(|(_, signal)| *signal);
    let signal = match found {
        Some(signal) => signal,
        None => {
            let number: i32 = bare.parse().map_err(|_| {
                format!(
                    "`{text}` is not a signal (INT, TERM, HUP, QUIT, USR1, USR2, WINCH or a number)"
                )
            })?;
            Signal::try_from(number).map_err(|_| format!("{number} is not a signal number"))?
        }
    };
    if matches!(signal, Signal::SIGSTOP | Signal::SIGCONT) {
        return Err("use pause and resume to stop and continue a program".into());
    }
    Ok(signal)
}

/// A signal's short name as `kill -s` takes it: `INT` for SIGINT.
pub fn short_name(signal: Signal) -> &'static str {
    let name = signal.as_str();
    name.strip_prefix("SIG").unwrap_or(name)
}

/// Why a pause, resume or signal was not carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("the session has ended")]
    Gone,
    #[error("has exited")]
    Exited,
    #[error("is unreachable (its machine cannot be reached just now)")]
    Unreachable,
    #[error("is already paused")]
    AlreadyPaused,
    #[error("is not paused")]
    NotPaused,
    /// The session runs in a host of an older foyer that does not know
    /// the request (protocol 1).
    #[error("runs in a session host too old for this (restart the session to update it)")]
    OldHost,
    #[error("could not be signalled: {0}")]
    Failed(String),
}

/// What an attached client sees once when the program is paused, drawn
/// over the bottom row of a terminal of `rows` rows (the cursor, pen and
/// screen are as before around it; a fresh view on resume redraws the
/// row). `shown` is the session as the client's user names it.
pub fn paused_notice(shown: &str, rows: u16) -> Vec<u8> {
    format!("\x1b7\x1b[{rows};1H\x1b[m\x1b[2K\x1b[7m[foyer: session {shown} paused]\x1b[m\x1b8")
        .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_name_in_any_case_with_or_without_sig_and_by_number() {
        assert_eq!(parse_signal("INT"), Ok(Signal::SIGINT));
        assert_eq!(parse_signal("sigterm"), Ok(Signal::SIGTERM));
        assert_eq!(parse_signal("Winch"), Ok(Signal::SIGWINCH));
        assert_eq!(parse_signal("10"), Ok(Signal::SIGUSR1));
        assert_eq!(parse_signal("9"), Ok(Signal::SIGKILL));
        assert!(parse_signal("BOGUS").is_err());
        assert!(parse_signal("0").is_err());
        assert!(parse_signal("99").is_err());
        assert!(parse_signal("-1").is_err());
        assert!(parse_signal("STOP").is_err());
        assert!(parse_signal("19").unwrap_err().contains("pause"));
        assert!(parse_signal("18").is_err());
        assert_eq!(short_name(Signal::SIGUSR2), "USR2");
    }

    #[test]
    fn the_paused_notice_names_the_session_on_the_bottom_row_and_restores_the_cursor() {
        let notice = String::from_utf8(paused_notice("work", 30)).unwrap();
        assert!(notice.starts_with("\x1b7\x1b[30;1H"), "{notice:?}");
        assert!(notice.contains("[foyer: session work paused]"));
        assert!(notice.ends_with("\x1b8"));
    }
}
