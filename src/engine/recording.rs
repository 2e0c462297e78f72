//! Records a session's output, with its size changes, as an asciicast v2
//! file (the format asciinema plays): a JSON header line, then one JSON
//! array per event, `[seconds, "o", text]` or `[seconds, "r", "COLSxROWS"]`.
//!
//! The hub hands events to a [`Recorder`] without waiting; a writer task
//! owns the file. When the disk is slower than the program the queue fills
//! and events are dropped (one log line per gap); when a write fails (a
//! full disk) recording stops with a log line. The session never notices.
//!
//! Must not block the hub or hold the file anywhere but the writer task.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::sync::mpsc;

use crate::wire::Size;

/// Events queued for the writer before new ones are dropped.
const QUEUE: usize = 1024;

/// Where the recording of a session lives: `DIR/OWNER/NAME-ID.cast`.
pub fn path_for(dir: &Path, label: &str, id: i64) -> PathBuf {
    dir.join(format!("{label}-{id}.cast"))
}

enum Event {
    Output { at: f64, text: String },
    Resize { at: f64, size: Size },
}

/// Feeds one program run's output to the recording file.
pub struct Recorder {
    events: mpsc::Sender<Event>,
    started: Instant,
    /// The end of the last chunk when it stopped inside a UTF-8 sequence.
    utf8_tail: Vec<u8>,
    dropping: bool,
    label: String,
}

impl Recorder {
    /// Starts recording to `path` (appending to an earlier run's events
    /// when the file exists), at the PTY's current `size`. A write error
    /// stops the recording and adds one to `failures` (the session's count).
    pub fn start(path: PathBuf, size: Size, label: &str, failures: Arc<AtomicU64>) -> Recorder {
        let (events, queue) = mpsc::channel(QUEUE);
        let started_unix = crate::clock::unix_now_fractional();
        let task_label = label.to_string();
        tokio::spawn(async move {
            if let Err(error) = write_events(&path, size, started_unix, queue).await {
                failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(session = %task_label, path = %path.display(), %error, "recording stopped");
            }
        });
        Recorder {
            events,
            started: Instant::now(),
            utf8_tail: Vec::new(),
            dropping: false,
            label: label.to_string(),
        }
    }

    /// Records program output.
    pub fn output(&mut self, bytes: &[u8]) {
        let text = take_utf8(&mut self.utf8_tail, bytes);
        if text.is_empty() {
            return;
        }
        let at = self.elapsed();
        self.send(Event::Output { at, text });
    }

    /// Records a change of the PTY's size.
    pub fn resize(&mut self, size: Size) {
        let at = self.elapsed();
        self.send(Event::Resize { at, size });
    }

    fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    fn send(&mut self, event: Event) {
        match self.events.try_send(event) {
            Ok(()) => self.dropping = false,
            Err(mpsc::error::TrySendError::Full(_)) => {
                if !self.dropping {
                    tracing::warn!(session = %self.label, "recording falls behind the program; output left out");
                }
                self.dropping = true;
            }
            // The writer stopped (and said why).
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}

/// Decodes `bytes` after what was left over, keeping an unfinished UTF-8
/// sequence at the end for next time; invalid bytes become U+FFFD.
fn take_utf8(tail: &mut Vec<u8>, bytes: &[u8]) -> String {
    tail.extend_from_slice(bytes);
    let mut text = String::new();
    let mut rest: &[u8] = tail;
    loop {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                text.push_str(valid);
                rest = &[];
                break;
            }
            Err(error) => {
                let (valid, after) = rest.split_at(error.valid_up_to());
                text.push_str(std::str::from_utf8(valid).unwrap_or_default());
                match error.error_len() {
                    Some(bad) => {
                        text.push('\u{FFFD}');
                        rest = &after[bad..];
                    }
                    None => {
                        rest = after;
                        break;
                    }
                }
            }
        }
    }
    let kept = rest.to_vec();
    *tail = kept;
    text
}

/// The writer task: opens (or continues) the file and writes each event.
async fn write_events(
    path: &Path,
    size: Size,
    started_unix: f64,
    mut queue: mpsc::Receiver<Event>,
) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    // A later run continues the file: its times count from the header's,
    // and never fall behind the last event already written.
    let offset = match existing_times(path).await {
        Some((first, last)) => (started_unix - first as f64).max(last),
        None => {
            let header = serde_json::json!({
                "version": 2,
                "width": size.cols,
                "height": size.rows,
                "timestamp": started_unix as u64,
                "env": { "TERM": "xterm-256color" },
            });
            tokio::fs::write(path, format!("{header}\n")).await?;
            0.0
        }
    };
    let file = tokio::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .await?;
    let mut out = BufWriter::new(file);
    while let Some(event) = queue.recv().await {
        let line = match event {
            Event::Output { at, text } => serde_json::json!([round(at + offset), "o", text]),
            Event::Resize { at, size } => {
                serde_json::json!([
                    round(at + offset),
                    "r",
                    format!("{}x{}", size.cols, size.rows)
                ])
            }
        };
        out.write_all(format!("{line}\n").as_bytes()).await?;
        if queue.is_empty() {
            out.flush().await?;
        }
    }
    out.flush().await
}

/// An existing recording's start (from its header) and the time of its
/// last event (0 when it has none), if there is a recording.
async fn existing_times(path: &Path) -> Option<(u64, f64)> {
    let mut file = tokio::fs::File::open(path).await.ok()?;
    let mut first = String::new();
    BufReader::new(&mut file).read_line(&mut first).await.ok()?;
    let header: serde_json::Value = serde_json::from_str(&first).ok()?;
    let start = header.get("timestamp")?.as_u64()?;
    Some((start, last_event_time(path).await.unwrap_or(0.0)))
}

/// The time of the last whole event line, read from the file's end.
async fn last_event_time(path: &Path) -> Option<f64> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    const TAIL: u64 = 64 * 1024;
    let mut file = tokio::fs::File::open(path).await.ok()?;
    let len = file.metadata().await.ok()?.len();
    file.seek(std::io::SeekFrom::Start(len.saturating_sub(TAIL)))
        .await
        .ok()?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).await.ok()?;
    String::from_utf8_lossy(&tail)
        .lines()
        .rev()
        .find_map(|line| {
            let event: serde_json::Value = serde_json::from_str(line).ok()?;
            event.get(0)?.as_f64()
        })
}

/// Microseconds are enough, and keep the file readable.
fn round(seconds: f64) -> f64 {
    (seconds * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The file once it has `count` lines (the writer runs on its own).
    async fn lines_of(path: &Path, count: usize) -> String {
        for _ in 0..500 {
            let text = tokio::fs::read_to_string(path).await.unwrap_or_default();
            if text.lines().count() >= count {
                return text;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the recording never got {count} lines");
    }

    #[test]
    fn utf8_split_across_chunks_is_joined_and_garbage_replaced() {
        let mut tail = Vec::new();
        let euro = "€".as_bytes();
        assert_eq!(take_utf8(&mut tail, &[b'a', euro[0]]), "a");
        assert_eq!(take_utf8(&mut tail, &euro[1..]), "€");
        assert_eq!(take_utf8(&mut tail, b"x\xffy"), "x\u{FFFD}y");
        assert!(tail.is_empty());
    }

    #[tokio::test]
    async fn a_recording_is_asciicast_v2_and_a_second_run_continues_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(dir.path(), "alice/work", 7);
        let mut recorder = Recorder::start(
            path.clone(),
            Size::new(24, 80),
            "alice/work",
            Default::default(),
        );
        recorder.output(b"hello \xe2\x82");
        recorder.output(b"\xac\r\n");
        recorder.resize(Size::new(30, 100));
        drop(recorder);
        lines_of(&path, 4).await;
        let mut second = Recorder::start(
            path.clone(),
            Size::new(30, 100),
            "alice/work",
            Default::default(),
        );
        second.output(b"again");
        drop(second);
        let text = lines_of(&path, 5).await;
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["version"], 2);
        assert_eq!(lines[0]["width"], 80);
        assert_eq!(lines[0]["height"], 24);
        assert_eq!(lines[1][1], "o");
        assert_eq!(lines[1][2], "hello ");
        assert_eq!(lines[2][2], "€\r\n");
        assert_eq!(lines[3][1], "r");
        assert_eq!(lines[3][2], "100x30");
        assert_eq!(lines[4][2], "again");
        let times: Vec<f64> = lines[1..].iter().map(|l| l[0].as_f64().unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    }
}
