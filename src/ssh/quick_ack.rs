//! A new connection's socket that acknowledges what it receives at once
//! while the SSH handshake runs, instead of delaying the ACK.
//!
//! Why: an OpenSSH client sends its key exchange in two small writes
//! (KEXINIT, then KEX_ECDH_INIT) with Nagle's algorithm on (it turns
//! `TCP_NODELAY` on only once the session is interactive), so the second
//! write waits until the first is acknowledged. When this server's own
//! KEXINIT left before the client's arrived, Linux had just seen the
//! connection answer quickly and put it in "ping-pong" mode, where an ACK
//! waits up to 40 ms for data to ride on; the client's INIT then waited
//! those 40 ms, on about half of all connections (measured with tcpdump:
//! `ack 1330` sent 43.6 ms after the client's KEXINIT, the INIT 25 µs
//! after it; docs/performance.md). `TCP_QUICKACK`, set after each read
//! and write, takes the socket out of that mode and sends a pending ACK.
//!
//! Only the first [`HANDSHAKE_CALLS`] reads and writes do so: after the
//! handshake and the session's setup the client runs with `TCP_NODELAY`
//! and delayed ACKs cost nothing. Must not change the bytes.

use std::io;
use std::os::fd::AsFd;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Reads and writes after which the socket is left to the kernel's
/// defaults (the handshake, sign-in and a session's setup take about 30).
const HANDSHAKE_CALLS: u32 = 64;

pub struct QuickAck<S> {
    inner: S,
    calls_left: u32,
}

impl<S: AsFd> QuickAck<S> {
    pub fn new(inner: S) -> QuickAck<S> {
        let stream = QuickAck {
            inner,
            calls_left: HANDSHAKE_CALLS,
        };
        stream.acknowledge_at_once();
        stream
    }

    fn acknowledge_at_once(&self) {
        // A failure (not a TCP socket) only leaves the kernel's default.
        let _ = rustix::net::sockopt::set_tcp_quickack(self.inner.as_fd(), true);
    }

    /// After a read or write that moved bytes, while the handshake runs.
    fn after_transfer(&mut self) {
        if self.calls_left > 0 {
            self.calls_left -= 1;
            self.acknowledge_at_once();
        }
    }
}

impl<S: AsyncRead + AsFd + Unpin> AsyncRead for QuickAck<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.after_transfer();
        }
        polled
    }
}

impl<S: AsyncWrite + AsFd + Unpin> AsyncWrite for QuickAck<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.after_transfer();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.after_transfer();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn bytes_pass_unchanged_and_the_option_is_set() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let client = tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
            stream.write_all(b"hello").await.unwrap();
            let mut back = [0; 5];
            stream.read_exact(&mut back).await.unwrap();
            back
        });
        let (accepted, _) = listener.accept().await.unwrap();
        let mut stream = QuickAck::new(accepted);
        let mut got = [0; 5];
        stream.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"hello");
        assert!(rustix::net::sockopt::tcp_quickack(stream.inner.as_fd()).unwrap());
        stream.write_all(b"world").await.unwrap();
        assert_eq!(&client.await.unwrap(), b"world");
        assert_eq!(stream.calls_left, HANDSHAKE_CALLS - 2);
    }
}
