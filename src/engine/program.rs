//! A running program as the hub holds it: its output, read by a task of its
//! own into a bounded queue; its control; its exit; and the task that
//! writes its input from a bounded queue.
//!
//! The output has its own reader so the program is never held up while
//! the hub parses what it already printed: the PTY is drained into the
//! queue as fast as the program writes, up to `OUTPUT_QUEUE` chunks ahead
//! of the hub, and only a full queue makes the program wait.
//!
//! Must not know about clients or the screen.

use std::time::Duration;

use bytes::{BufMut, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::wire::Size;

/// Signals the hub sends to a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Hangup,
    Kill,
    /// SIGSTOP (`pause`).
    Stop,
    /// SIGCONT (`resume`).
    Continue,
    /// Any other signal a writer sends (`signal NAME SIG`).
    Deliver(nix::sys::signal::Signal),
}

impl Signal {
    pub fn to_system(self) -> nix::sys::signal::Signal {
        use nix::sys::signal::Signal as S;
        match self {
            Signal::Hangup => S::SIGHUP,
            Signal::Kill => S::SIGKILL,
            Signal::Stop => S::SIGSTOP,
            Signal::Continue => S::SIGCONT,
            Signal::Deliver(signal) => signal,
        }
    }

    /// The name `kill -s` takes: `HUP` for SIGHUP.
    pub fn short_name(self) -> &'static str {
        crate::wire::control::short_name(self.to_system())
    }
}

/// Controls a running program: implemented by each runtime.
pub trait Control: Send {
    fn resize(&mut self, size: Size) -> std::io::Result<()>;
    fn signal(&mut self, signal: Signal) -> std::io::Result<()>;
}

/// A started program.
pub struct Process {
    pub output: Box<dyn AsyncRead + Send + Unpin>,
    pub input: Box<dyn AsyncWrite + Send + Unpin>,
    pub control: Box<dyn Control>,
    /// Resolves with the exit status once the program ended (128 + signal
    /// number when a signal ended it, as shells report it).
    pub exit: oneshot::Receiver<i32>,
    /// The program's process id (the leader of its process group), when
    /// it runs on this host.
    pub pid: Option<u32>,
}

/// Input chunks waiting to be written to the program.
const INPUT_QUEUE: usize = 256;
/// Output chunks read from the program and not yet taken by the hub: at
/// most this many reads of up to `READ_BYTES` (1 MiB) ahead of it.
const OUTPUT_QUEUE: usize = 16;
/// Most bytes one read from the program hands the hub.
pub(super) const READ_BYTES: usize = 64 * 1024;
/// Output quiet this long, the hub gives back the memory it keeps for
/// more (`ClientTable::release_spare_memory`): most sessions sit idle
/// most of the time, and a shell that once scrolled held about 2 MiB.
pub(super) const RELEASE_AFTER_QUIET: Duration = Duration::from_secs(5);
/// The first read after a quiet time: a page, what a PTY hands out per
/// read.
const FIRST_READ: usize = 4096;

pub(super) struct Running {
    /// The program's output in the order it printed it; closed at its end.
    pub(super) output: mpsc::Receiver<Bytes>,
    pub(super) control: Box<dyn Control>,
    pub(super) exit: oneshot::Receiver<i32>,
    pub(super) input: mpsc::Sender<Bytes>,
    pub(super) output_open: bool,
    pub(super) exit_status: Option<i32>,
    pub(super) drain_until: Option<Instant>,
    pub(super) kill_at: Option<Instant>,
    /// The program's process id, when the runtime knows it.
    pub(super) pid: Option<u32>,
}

impl Running {
    pub(super) fn start(process: Process) -> Running {
        let (input, queue) = mpsc::channel(INPUT_QUEUE);
        tokio::spawn(write_input(process.input, queue));
        let (chunks, output) = mpsc::channel(OUTPUT_QUEUE);
        tokio::spawn(read_output(process.output, chunks));
        Running {
            output,
            control: process.control,
            exit: process.exit,
            input,
            output_open: true,
            exit_status: None,
            drain_until: None,
            kill_at: None,
            pid: process.pid,
        }
    }
}

impl Drop for Running {
    /// A hub that goes away (server shutdown) takes its program with it,
    /// as a terminal closing would: hang up its process group.
    fn drop(&mut self) {
        if self.exit_status.is_none() {
            let _ = self.control.signal(Signal::Hangup);
        }
    }
}

/// Reads the program's output into `chunks` until it ends, fails, or
/// the hub lets go of the queue (which also lets go of the PTY).
async fn read_output(mut output: Box<dyn AsyncRead + Send + Unpin>, chunks: mpsc::Sender<Bytes>) {
    // Up to `READ_BYTES` while output comes; after a quiet time it is
    // given back and the next read waits with a page (`FIRST_READ`).
    let mut buffer = Vec::new();
    let mut first = vec![0u8; FIRST_READ];
    loop {
        let read = tokio::select! {
            read = read_next(&mut output, &mut buffer, &mut first) => read,
            () = chunks.closed() => return,
        };
        match read {
            Some(Ok(0)) | Some(Err(_)) => return,
            Some(Ok(_)) => read_more_now(&mut output, &mut buffer),
            None => {
                buffer = Vec::new();
                continue;
            }
        }
        if chunks.send(Bytes::copy_from_slice(&buffer)).await.is_err() {
            return;
        }
    }
}

/// Reads what output is ready into `buffer` (emptied first): up to its
/// capacity while it has one, else a page into `first`, after which
/// `buffer` gets its capacity back. `None` when the output stayed quiet
/// for [`RELEASE_AFTER_QUIET`] while `buffer` had a capacity.
async fn read_next(
    output: &mut Box<dyn AsyncRead + Send + Unpin>,
    buffer: &mut Vec<u8>,
    first: &mut [u8],
) -> Option<std::io::Result<usize>> {
    buffer.clear();
    if buffer.capacity() > 0 {
        let spare = buffer.capacity();
        let mut limited = (&mut *buffer).limit(spare);
        // `read_buf` is cancel-safe: a read given up on has read nothing.
        let read = tokio::io::AsyncReadExt::read_buf(&mut **output, &mut limited);
        return tokio::time::timeout(RELEASE_AFTER_QUIET, read).await.ok();
    }
    let read = tokio::io::AsyncReadExt::read(&mut **output, first).await;
    if let Ok(n) = read {
        buffer.reserve_exact(READ_BYTES);
        buffer.extend_from_slice(&first[..n]);
    }
    Some(read)
}

/// Reads whatever more output is ready right now into the rest of
/// `buffer`'s capacity, without waiting: a PTY hands out at most a page
/// per read, and handling (and sending) bigger chunks costs fewer
/// wake-ups per byte.
fn read_more_now(output: &mut Box<dyn AsyncRead + Send + Unpin>, buffer: &mut Vec<u8>) {
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    while buffer.len() < buffer.capacity() {
        let spare = buffer.capacity() - buffer.len();
        let mut limited = (&mut *buffer).limit(spare);
        let reader = std::pin::Pin::new(&mut **output);
        match tokio_util::io::poll_read_buf(reader, &mut context, &mut limited) {
            std::task::Poll::Ready(Ok(n)) if n > 0 => {}
            // Nothing ready, an error or the end: the next awaited read sees it.
            _ => break,
        }
    }
}

/// Takes the chunks already queued behind `first`, up to `READ_BYTES` in
/// all, so a backlog is handled in few large steps.
pub(super) fn take_queued(output: &mut mpsc::Receiver<Bytes>, first: Bytes) -> Bytes {
    if first.len() >= READ_BYTES {
        return first;
    }
    let Ok(second) = output.try_recv() else {
        return first;
    };
    let mut joined = Vec::with_capacity(READ_BYTES.max(first.len() + second.len()));
    joined.extend_from_slice(&first);
    joined.extend_from_slice(&second);
    while joined.len() < READ_BYTES {
        match output.try_recv() {
            Ok(more) => joined.extend_from_slice(&more),
            Err(_) => break,
        }
    }
    joined.into()
}

/// Writes queued input to the program until the queue closes or the
/// program stops reading for good.
async fn write_input(
    mut input: Box<dyn tokio::io::AsyncWrite + Send + Unpin>,
    mut queue: mpsc::Receiver<Bytes>,
) {
    while let Some(bytes) = queue.recv().await {
        if input.write_all(&bytes).await.is_err() || input.flush().await.is_err() {
            break;
        }
    }
}
