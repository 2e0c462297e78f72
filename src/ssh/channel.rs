//! One SSH session channel as its task sees it: events from the client
//! (bytes, window changes, end of input) and ways to answer (stdout,
//! stderr, exit status). Lines are written with CRLF when the client has a
//! PTY, so text never staircases.
//!
//! Must not parse or interpret what passes through.

use bytes::Bytes;
use russh::ChannelId;
use russh::server::Handle;
use tokio::sync::mpsc;

use crate::wire::Size;

/// What the client's side of a channel did.
#[derive(Debug)]
pub enum ChannelEvent {
    Data(Bytes),
    Resize(Size),
    /// The client will send no more input.
    Eof,
}

/// The client's terminal, when it asked for a PTY.
#[derive(Debug, Clone)]
pub struct PtyInfo {
    pub term: String,
    pub size: Size,
}

/// The client went away.
#[derive(Debug, thiserror::Error)]
#[error("the client disconnected")]
pub struct ClientGone;

pub struct ChannelIo {
    pub handle: Handle,
    pub id: ChannelId,
    pub events: mpsc::Receiver<ChannelEvent>,
    pub pty: Option<PtyInfo>,
}

impl ChannelIo {
    pub fn new(
        handle: Handle,
        id: ChannelId,
        events: mpsc::Receiver<ChannelEvent>,
        pty: Option<PtyInfo>,
    ) -> Self {
        ChannelIo {
            handle,
            id,
            events,
            pty,
        }
    }

    /// Declares that this channel's verb reads no input: the client's
    /// bytes are then dropped at once instead of queueing.
    pub fn ignore_input(&mut self) {
        self.events.close();
    }

    /// Writes raw bytes to the client's stdout, waiting for window space.
    pub async fn write(&self, bytes: impl Into<Bytes>) -> Result<(), ClientGone> {
        let bytes = bytes.into();
        if bytes.is_empty() {
            return Ok(());
        }
        self.handle
            .data(self.id, bytes)
            .await
            .map_err(|_| ClientGone)
    }

    fn lines(&self, text: &str) -> Bytes {
        if self.pty.is_some() {
            Bytes::from(text.replace("\r\n", "\n").replace('\n', "\r\n"))
        } else {
            Bytes::copy_from_slice(text.as_bytes())
        }
    }

    /// Writes text to stdout.
    pub async fn out(&self, text: &str) -> Result<(), ClientGone> {
        self.write(self.lines(text)).await
    }

    /// Writes text to stderr.
    pub async fn err(&self, text: &str) -> Result<(), ClientGone> {
        let bytes = self.lines(text);
        self.handle
            .extended_data(self.id, 1, bytes)
            .await
            .map_err(|_| ClientGone)
    }

    /// Reports the exit status and closes the channel.
    pub async fn finish(self, status: u32) {
        let _ = self.handle.exit_status_request(self.id, status).await;
        let _ = self.handle.eof(self.id).await;
        let _ = self.handle.close(self.id).await;
    }
}
