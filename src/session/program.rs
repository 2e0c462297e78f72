//! A running program as the hub holds it: its output, its control, its
//! exit, and the task that writes its input from a bounded queue.
//!
//! Must not know about clients or the screen.

use bytes::{BufMut, Bytes};
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::runtime::{Control, Process, Signal};

/// Input chunks waiting to be written to the program.
const INPUT_QUEUE: usize = 256;

pub(super) struct Running {
    pub(super) output: Box<dyn tokio::io::AsyncRead + Send + Unpin>,
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
        Running {
            output: process.output,
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

/// Reads whatever more output is ready right now into the rest of
/// `buffer`'s capacity, without waiting: a PTY
/// hands out at most a page per read, and handling (and sending) bigger
/// chunks costs fewer wake-ups per byte.
pub(super) fn read_more_now(
    output: &mut Box<dyn tokio::io::AsyncRead + Send + Unpin>,
    buffer: &mut Vec<u8>,
) -> usize {
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    let start = buffer.len();
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
    buffer.len() - start
}

/// Reads what output is ready into `buffer` (emptied first), up to its
/// capacity; 0 at the end of the output.
pub(super) async fn read_into(
    output: &mut Box<dyn tokio::io::AsyncRead + Send + Unpin>,
    buffer: &mut Vec<u8>,
) -> std::io::Result<usize> {
    buffer.clear();
    let spare = buffer.capacity();
    let mut limited = (&mut *buffer).limit(spare);
    tokio::io::AsyncReadExt::read_buf(&mut **output, &mut limited).await
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
