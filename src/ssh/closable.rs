//! A connection's socket that the accept side can cut: once the paired
//! [`Closer`] fires, every read and write fails, so russh's session ends
//! and drops the socket whatever state it was in (russh's own disconnect
//! is not acted on before the key exchange).
//!
//! Must not buffer or change the bytes that pass through.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::oneshot;

/// Cuts the paired [`Closable`]. Dropping it without firing leaves the
/// stream alone.
pub struct Closer(oneshot::Sender<()>);

impl Closer {
    pub fn close(self) {
        let _ = self.0.send(());
    }
}

pub struct Closable<S> {
    inner: S,
    /// None once the closer fired or was dropped.
    signal: Option<oneshot::Receiver<()>>,
    closed: bool,
}

impl<S> Closable<S> {
    pub fn new(inner: S) -> (Closable<S>, Closer) {
        let (tx, rx) = oneshot::channel();
        let stream = Closable {
            inner,
            signal: Some(rx),
            closed: false,
        };
        (stream, Closer(tx))
    }

    /// Whether the closer fired; registers the task to wake when it does.
    fn cut(&mut self, cx: &mut Context<'_>) -> bool {
        if let Some(signal) = self.signal.as_mut()
            && let Poll::Ready(fired) = Pin::new(signal).poll(cx)
        {
            self.signal = None;
            self.closed = fired.is_ok();
        }
        self.closed
    }
}

fn cut_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "connection closed by the server",
    )
}

impl<S: AsyncRead + Unpin> AsyncRead for Closable<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.cut(cx) {
            return Poll::Ready(Err(cut_error()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Closable<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.cut(cx) {
            return Poll::Ready(Err(cut_error()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.cut(cx) {
            return Poll::Ready(Err(cut_error()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_pending_read_fails_once_closed() {
        let (ours, mut theirs) = tokio::io::duplex(64);
        let (mut stream, closer) = Closable::new(ours);
        theirs.write_all(b"hi").await.unwrap();
        let mut buf = [0u8; 2];
        stream.read_exact(&mut buf).await.unwrap();
        let reader = tokio::spawn(async move {
            let mut buf = [0u8; 1];
            stream.read(&mut buf).await
        });
        tokio::task::yield_now().await;
        closer.close();
        let result = reader.await.unwrap();
        assert_eq!(result.unwrap_err().kind(), io::ErrorKind::ConnectionAborted);
    }

    #[tokio::test]
    async fn a_dropped_closer_leaves_the_stream_alone() {
        let (ours, mut theirs) = tokio::io::duplex(64);
        let (mut stream, closer) = Closable::new(ours);
        drop(closer);
        stream.write_all(b"ok").await.unwrap();
        let mut buf = [0u8; 2];
        theirs.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ok");
    }
}
