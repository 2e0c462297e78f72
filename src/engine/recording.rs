//! Records a session's output, with its size changes, as an asciicast v2
//! file (the format asciinema plays): a JSON header line, then one JSON
//! array per event, `[seconds, "o", text]` or `[seconds, "r", "COLSxROWS"]`.
//!
//! The header names the size the first run started at, the `TERM` it was
//! given and [`IDLE_TIME_LIMIT`]. A later run (after `restart`) appends
//! to the same file with wall-clock times, so the gap between runs is in
//! the file and the idle limit keeps players from sitting through it; it
//! starts with a resize event when its size is not the one the file last
//! declared.
//!
//! The hub hands events to a [`Recorder`] without waiting; a writer task
//! owns the file. When the disk is slower than the program the queue fills
//! and output is dropped (one log line per gap); a size change is kept and
//! sent once there is room again, so the file's size stays right. When a
//! write fails (a full disk) recording stops with a log line. The session
//! never notices.
//!
//! Must not block the hub or hold the file anywhere but the writer task.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::sync::mpsc;

use crate::wire::Size;
use crate::wire::session::Recording;

/// Events queued for the writer before new ones are dropped.
const QUEUE: usize = 1024;

/// Longest pause, in seconds, a player shows (the header's
/// `idle_time_limit`; `replay` honours it too). Two seconds keep the rhythm
/// of typing and of a program thinking, and play a night between two runs,
/// or an idle afternoon, in two seconds.
pub const IDLE_TIME_LIMIT: f64 = 2.0;

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
    /// A size change the full queue did not take yet.
    unsent_size: Option<Size>,
    label: String,
}

impl Recorder {
    /// Starts recording to `target` (appending to an earlier run's events
    /// when the file exists), at the PTY's current `size`. A write error
    /// stops the recording and adds one to `failures` (the session's count).
    pub fn start(target: Recording, size: Size, label: &str, failures: Arc<AtomicU64>) -> Recorder {
        let (events, queue) = mpsc::channel(QUEUE);
        let run = Run {
            size,
            term: target.term,
            started_unix: crate::clock::unix_now_fractional(),
        };
        let task_label = label.to_string();
        tokio::spawn(async move {
            let path = target.path;
            if let Err(error) = write_events(&path, run, queue).await {
                failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(session = %task_label, path = %path.display(), %error, "recording stopped");
            }
        });
        Recorder {
            events,
            started: Instant::now(),
            utf8_tail: Vec::new(),
            dropping: false,
            unsent_size: None,
            label: label.to_string(),
        }
    }

    /// Records program output.
    pub fn output(&mut self, bytes: &[u8]) {
        let text = take_utf8(&mut self.utf8_tail, bytes);
        if text.is_empty() {
            return;
        }
        if let Some(size) = self.unsent_size.take() {
            self.resize(size);
        }
        let at = self.elapsed();
        self.send(Event::Output { at, text });
    }

    /// Records a change of the PTY's size.
    pub fn resize(&mut self, size: Size) {
        let at = self.elapsed();
        self.unsent_size = None;
        if !self.send(Event::Resize { at, size }) {
            self.unsent_size = Some(size);
        }
    }

    fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Queues `event`; false when the queue was full.
    fn send(&mut self, event: Event) -> bool {
        match self.events.try_send(event) {
            Ok(()) => self.dropping = false,
            Err(mpsc::error::TrySendError::Full(_)) => {
                if !self.dropping {
                    tracing::warn!(session = %self.label, "recording falls behind the program; output left out");
                }
                self.dropping = true;
                return false;
            }
            // The writer stopped (and said why).
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
        true
    }
}

/// What the writer needs to know of the run it records.
struct Run {
    size: Size,
    term: String,
    started_unix: f64,
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
    run: Run,
    mut queue: mpsc::Receiver<Event>,
) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    let (offset, first) = match Earlier::read(path).await {
        Some(earlier) => earlier.continue_with(&run),
        None => {
            tokio::fs::write(path, format!("{}\n", header(&run))).await?;
            (0.0, None)
        }
    };
    let file = tokio::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .await?;
    let mut out = BufWriter::new(file);
    if let Some(size) = first {
        let line = event_line(offset, Event::Resize { at: 0.0, size });
        out.write_all(line.as_bytes()).await?;
    }
    while let Some(event) = queue.recv().await {
        out.write_all(event_line(offset, event).as_bytes()).await?;
        if queue.is_empty() {
            out.flush().await?;
        }
    }
    out.flush().await
}

/// The asciicast v2 header of a new recording.
fn header(run: &Run) -> serde_json::Value {
    let mut header = serde_json::json!({
        "version": 2,
        "width": run.size.cols,
        "height": run.size.rows,
        "timestamp": run.started_unix as u64,
        "idle_time_limit": IDLE_TIME_LIMIT,
    });
    if !run.term.is_empty() {
        header["env"] = serde_json::json!({ "TERM": run.term });
    }
    header
}

/// One event as its line of the file, its time moved by `offset`.
fn event_line(offset: f64, event: Event) -> String {
    let line = match event {
        Event::Output { at, text } => serde_json::json!([round(at + offset), "o", text]),
        Event::Resize { at, size } => serde_json::json!([
            round(at + offset),
            "r",
            format!("{}x{}", size.cols, size.rows)
        ]),
    };
    format!("{line}\n")
}

/// What a later run needs of an existing recording.
struct Earlier {
    /// The header's `timestamp`.
    start: u64,
    /// The time of the last event (0 when there is none).
    last_time: f64,
    /// The size the file declared last (`None` when its tail does not
    /// tell).
    last_size: Option<Size>,
}

/// How much of a recording's end is read to continue it.
const TAIL: u64 = 64 * 1024;

impl Earlier {
    /// The recording at `path`, if there is one with a readable header.
    async fn read(path: &Path) -> Option<Earlier> {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncSeekExt, BufReader};
        let mut file = tokio::fs::File::open(path).await.ok()?;
        let len = file.metadata().await.ok()?.len();
        let mut first = String::new();
        BufReader::new(&mut file).read_line(&mut first).await.ok()?;
        let header: serde_json::Value = serde_json::from_str(&first).ok()?;
        let start = header.get("timestamp")?.as_u64()?;
        file.seek(std::io::SeekFrom::Start(len.saturating_sub(TAIL)))
            .await
            .ok()?;
        let mut tail = Vec::new();
        file.read_to_end(&mut tail).await.ok()?;
        let whole_file = len <= TAIL;
        Some(Earlier::from_parts(start, &header, &tail, whole_file))
    }

    /// Reads the last time and size from the file's `tail` (its whole
    /// text when `whole_file`, so that the header's size counts).
    fn from_parts(
        start: u64,
        header: &serde_json::Value,
        tail: &[u8],
        whole_file: bool,
    ) -> Earlier {
        let text = String::from_utf8_lossy(tail);
        let events: Vec<serde_json::Value> = text
            .lines()
            .rev()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|event| event.get(0).is_some_and(serde_json::Value::is_number))
            .collect();
        let last_time = events
            .first()
            .and_then(|event| event[0].as_f64())
            .unwrap_or(0.0);
        let resized = events
            .iter()
            .find(|event| event[1] == "r")
            .and_then(|event| parse_size(event[2].as_str()?));
        let declared = || {
            let dimension = |key: &str| u32::try_from(header.get(key)?.as_u64()?).ok();
            Some(Size::new(dimension("height")?, dimension("width")?))
        };
        let last_size = resized.or_else(|| whole_file.then(declared).flatten());
        Earlier {
            start,
            last_time,
            last_size,
        }
    }

    /// Where `run`'s times start in this file (from the header's time,
    /// never behind its last event), and the size to declare first when
    /// the run does not start at the size the file last declared.
    fn continue_with(&self, run: &Run) -> (f64, Option<Size>) {
        let offset = (run.started_unix - self.start as f64).max(self.last_time);
        let resize = (self.last_size != Some(run.size)).then_some(run.size);
        (offset, resize)
    }
}

/// `COLSxROWS`, as a resize event gives it.
pub fn parse_size(text: &str) -> Option<Size> {
    let (cols, rows) = text.split_once('x')?;
    let (cols, rows): (u32, u32) = (cols.parse().ok()?, rows.parse().ok()?);
    (cols > 0 && rows > 0).then(|| Size::new(rows, cols))
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

    fn target(path: &Path) -> Recording {
        Recording {
            path: path.to_path_buf(),
            term: "screen-256color".into(),
        }
    }

    fn parsed(text: &str) -> Vec<serde_json::Value> {
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn a_recording_is_asciicast_v2_and_a_second_run_continues_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(dir.path(), "alice/work", 7);
        let start = |size| Recorder::start(target(&path), size, "alice/work", Default::default());
        let mut recorder = start(Size::new(24, 80));
        recorder.output(b"hello \xe2\x82");
        recorder.output(b"\xac\r\n");
        recorder.resize(Size::new(30, 100));
        drop(recorder);
        lines_of(&path, 4).await;
        // The second run starts at the size the file declared last: no
        // resize event.
        let mut second = start(Size::new(30, 100));
        second.output(b"again");
        drop(second);
        lines_of(&path, 5).await;
        // The third starts at another size: a resize event comes first.
        let mut third = start(Size::new(40, 120));
        third.output(b"wider");
        drop(third);
        let lines = parsed(&lines_of(&path, 7).await);
        assert_eq!(lines[0]["version"], 2);
        assert_eq!(lines[0]["width"], 80);
        assert_eq!(lines[0]["height"], 24);
        assert_eq!(lines[0]["idle_time_limit"], IDLE_TIME_LIMIT);
        assert_eq!(lines[0]["env"]["TERM"], "screen-256color");
        assert_eq!(lines[1][1], "o");
        assert_eq!(lines[1][2], "hello ");
        assert_eq!(lines[2][2], "€\r\n");
        assert_eq!(lines[3][1], "r");
        assert_eq!(lines[3][2], "100x30");
        assert_eq!(lines[4][2], "again");
        assert_eq!(
            (&lines[5][1], &lines[5][2]),
            (&"r".into(), &"120x40".into())
        );
        assert_eq!(lines[6][2], "wider");
        assert_eq!(lines.len(), 7);
        let times: Vec<f64> = lines[1..].iter().map(|l| l[0].as_f64().unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    }

    #[tokio::test]
    async fn a_size_change_the_full_queue_refused_is_sent_later() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(dir.path(), "alice/busy", 1);
        let mut recorder = Recorder::start(
            target(&path),
            Size::new(24, 80),
            "alice/busy",
            Default::default(),
        );
        // The writer has not run yet: the queue fills and output is lost.
        for _ in 0..QUEUE + 10 {
            recorder.output(b".");
        }
        recorder.resize(Size::new(50, 132));
        assert_eq!(recorder.unsent_size, Some(Size::new(50, 132)));
        lines_of(&path, QUEUE + 1).await;
        recorder.output(b"after");
        drop(recorder);
        let lines = parsed(&lines_of(&path, QUEUE + 3).await);
        assert_eq!(lines.len(), QUEUE + 3);
        assert_eq!(lines[QUEUE + 1][1], "r");
        assert_eq!(lines[QUEUE + 1][2], "132x50");
        assert_eq!(lines[QUEUE + 2][2], "after");
    }

    #[test]
    fn a_later_run_reads_the_size_the_file_declared_last() {
        let header =
            serde_json::json!({"version": 2, "width": 80, "height": 24, "timestamp": 1000});
        let run = |rows, cols| Run {
            size: Size::new(rows, cols),
            term: String::new(),
            started_unix: 1100.0,
        };
        let only_header = Earlier::from_parts(1000, &header, b"", true);
        assert_eq!(only_header.continue_with(&run(24, 80)), (100.0, None));
        assert_eq!(
            only_header.continue_with(&run(30, 90)),
            (100.0, Some(Size::new(30, 90)))
        );
        let tail = b"[1.5, \"r\", \"90x30\"]\n[250.25, \"o\", \"x\"]\n";
        let resized = Earlier::from_parts(1000, &header, tail, true);
        // Times never go back, even when the clock did.
        assert_eq!(resized.continue_with(&run(30, 90)), (250.25, None));
        // A tail cut from a long file: with no resize in it, the size is
        // unknown, and declared again.
        let cut = Earlier::from_parts(
            1000,
            &header,
            b"\", \"o\", \"y\"]\n[7.0, \"o\", \"z\"]\n",
            false,
        );
        assert_eq!(cut.last_time, 7.0);
        assert_eq!(cut.continue_with(&run(24, 80)).1, Some(Size::new(24, 80)));
        assert_eq!(parse_size("100x30"), Some(Size::new(30, 100)));
        assert_eq!(parse_size("0x30"), None);
        assert_eq!(parse_size("wide"), None);
    }

    #[test]
    fn a_header_without_term_leaves_env_out() {
        let run = Run {
            size: Size::new(24, 80),
            term: String::new(),
            started_unix: 5.0,
        };
        assert!(header(&run).get("env").is_none());
    }
}
