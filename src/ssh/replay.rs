//! The `replay` verb: plays a session's asciicast recording to the client
//! with its timing (pauses longer than the header's `idle_time_limit`,
//! or [`recording::IDLE_TIME_LIMIT`] when it has none, are shortened, as
//! asciinema does), until its end or until the client leaves with the
//! prefix key and `d`. Resize events change nothing: the client's terminal
//! keeps its size, as with `asciinema play`.
//!
//! Must not touch the session itself: it only reads the recording file.

use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::time::Instant;

use super::caller::{Caller, Outcome, find};
use super::channel::{ChannelEvent, ChannelIo};
use crate::engine::recording;
use crate::gateway::App;
use crate::ssh::prefix::{InputAction, PrefixReader};

pub(super) async fn replay(app: &App, caller: &Caller, name: &str, io: &mut ChannelIo) -> Outcome {
    let (entry, _) = match find(app, caller, name).await {
        Ok(found) => found,
        Err(outcome) => return outcome,
    };
    // On a swarm, host tasks record into the shared directory.
    let dir = match app.config.cluster.recordings() {
        Some(shared) if app.config.cluster.enabled() => shared.to_path_buf(),
        _ => app.config.data.dir.join("recordings"),
    };
    let path = recording::path_for(&dir, &entry.label(), entry.record.id.0);
    let file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Outcome::refused(format!(
                "no recording of {} (sessions.record is off, or was when it ran)",
                entry.label()
            ));
        }
        Err(error) => {
            return Outcome::refused(format!(
                "cannot read the recording of {}: {error}",
                entry.label()
            ));
        }
    };
    let mut lines = BufReader::new(file).lines();
    let Ok(Some(header)) = lines.next_line().await else {
        return Outcome::refused(format!("the recording of {} is empty", entry.label()));
    };
    let max_pause = idle_limit(&header);
    let mut player = Player {
        io,
        keys: PrefixReader::new(app.config.keys.prefix.byte),
        actions: Vec::new(),
    };
    let mut at = Instant::now();
    let mut last = 0.0_f64;
    while let Ok(Some(line)) = lines.next_line().await {
        let Some((time, output)) = parse_event(&line) else {
            continue;
        };
        let pause;
        (pause, last) = next_pause(time, last, max_pause);
        at = at.checked_add(pause).unwrap_or(at);
        if !player.wait_until(at).await {
            return player.finish(&entry.label(), false).await;
        }
        if let Some(output) = output
            && player.io.write(Bytes::from(output)).await.is_err()
        {
            return Outcome::Done;
        }
    }
    player.finish(&entry.label(), true).await
}

/// The longest pause any header may ask for: a day.
const MAX_IDLE_LIMIT: Duration = Duration::from_secs(86_400);

/// The longest pause to play: the header's `idle_time_limit` (at most
/// [`MAX_IDLE_LIMIT`]), or foyer's default for a recording without one.
pub fn idle_limit(header: &str) -> Duration {
    serde_json::from_str::<serde_json::Value>(header)
        .ok()
        .and_then(|header| header.get("idle_time_limit")?.as_f64())
        // Positive (NaN and negatives fall to the default), at most a day
        // before it becomes a `Duration`, which 1e300 would overflow.
        .filter(|seconds| *seconds > 0.0)
        .map(|seconds| Duration::from_secs_f64(seconds.min(MAX_IDLE_LIMIT.as_secs_f64())))
        .filter(|limit| !limit.is_zero())
        .unwrap_or(Duration::from_secs_f64(recording::IDLE_TIME_LIMIT))
}

/// The pause before an event at `time` when the last one played was at
/// `last` (at most `max_pause`; none for an event out of order), and the
/// new `last`. Any time a file holds is read without a panic: one too
/// large for a `Duration` is a pause of `max_pause`.
pub fn next_pause(time: f64, last: f64, max_pause: Duration) -> (Duration, f64) {
    let gap = (time - last).max(0.0);
    let pause = Duration::try_from_secs_f64(gap).map_or(max_pause, |gap| gap.min(max_pause));
    (pause, time.max(last))
}

/// One event's time and, for output, its text (`None` for a resize).
pub fn parse_event(line: &str) -> Option<(f64, Option<String>)> {
    let event: serde_json::Value = serde_json::from_str(line).ok()?;
    let time = event.get(0)?.as_f64()?;
    let output = match event.get(1)?.as_str()? {
        "o" => Some(event.get(2)?.as_str()?.to_string()),
        _ => None,
    };
    Some((time, output))
}

struct Player<'a> {
    io: &'a mut ChannelIo,
    keys: PrefixReader,
    actions: Vec<InputAction>,
}

impl Player<'_> {
    /// Waits until `at`; false when the client left (or asked to).
    async fn wait_until(&mut self, at: Instant) -> bool {
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(at) => return true,
                event = self.io.events.recv() => match event {
                    Some(ChannelEvent::Data(bytes)) => {
                        self.actions.clear();
                        self.keys.feed(&bytes, &mut self.actions);
                        if self.actions.contains(&InputAction::Detach) {
                            return false;
                        }
                    }
                    Some(_) => {}
                    None => return false,
                },
            }
        }
    }

    async fn finish(self, label: &str, whole: bool) -> Outcome {
        let how = if whole { "end of" } else { "left" };
        let _ = self
            .io
            .out(&format!(
                "\x1b[m\n[foyer: {how} the recording of {label}]\n"
            ))
            .await;
        Outcome::Done
    }
}

#[cfg(test)]
mod tests {
    use super::{idle_limit, next_pause, parse_event};
    use std::time::Duration;

    #[test]
    fn events_parse_and_bad_lines_are_skipped() {
        assert_eq!(
            parse_event(r#"[1.5, "o", "hi"]"#),
            Some((1.5, Some("hi".into())))
        );
        assert_eq!(parse_event(r#"[2.0, "r", "100x30"]"#), Some((2.0, None)));
        assert_eq!(parse_event("not json"), None);
        assert_eq!(parse_event(r#"["x", "o", "hi"]"#), None);
    }

    #[test]
    fn the_header_idle_limit_is_honoured_with_a_default() {
        let limit = |header: &str| idle_limit(header);
        assert_eq!(
            limit(r#"{"version": 2, "idle_time_limit": 0.5}"#),
            Duration::from_millis(500)
        );
        assert_eq!(limit(r#"{"version": 2}"#), Duration::from_secs(2));
        assert_eq!(
            limit(r#"{"version": 2, "idle_time_limit": -1}"#),
            Duration::from_secs(2)
        );
        assert_eq!(limit("not json"), Duration::from_secs(2));
        assert_eq!(
            limit(r#"{"version": 2, "idle_time_limit": 1e300}"#),
            Duration::from_secs(86_400)
        );
    }

    /// Found by the fuzz target `asciicast`: an event time too large for a
    /// `Duration` (`[1e300, "o", ""]`) panicked in `Duration::from_secs_f64`,
    /// and a huge `idle_time_limit` let the play time overflow `Instant`.
    #[test]
    fn any_event_time_gives_a_bounded_pause() {
        let max = Duration::from_secs(2);
        assert_eq!(next_pause(1.5, 1.0, max), (Duration::from_millis(500), 1.5));
        assert_eq!(next_pause(1e300, 0.0, max), (max, 1e300));
        assert_eq!(next_pause(5.0, -1e308, max), (max, 5.0));
        assert_eq!(next_pause(f64::MAX, -f64::MAX, max), (max, f64::MAX));
        assert_eq!(next_pause(1.0, 3.0, max), (Duration::ZERO, 3.0));
        assert_eq!(parse_event("[1e300, \"o\", \"x\"]").unwrap().0, 1e300);
    }
}
