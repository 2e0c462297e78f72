//! A connection to a session host as the gateway holds it: a Unix socket
//! on this machine or TLS over TCP to another, split into a reading and
//! a writing half that the frame codec drives. An enum rather than a
//! boxed trait object, so the local path stays what it was (a
//! `UnixStream` split without a lock) and vectored writes reach the
//! socket.
//!
//! Must not know what the bytes mean.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio_rustls::client::TlsStream;

/// A connected stream to a host.
pub enum HostStream {
    Local(UnixStream),
    Remote(Box<TlsStream<TcpStream>>),
}

/// The reading half of a [`HostStream`].
pub enum HostRead {
    Local(OwnedReadHalf),
    Remote(ReadHalf<TlsStream<TcpStream>>),
}

/// The writing half of a [`HostStream`].
pub enum HostWrite {
    Local(OwnedWriteHalf),
    Remote(WriteHalf<TlsStream<TcpStream>>),
}

impl HostStream {
    pub fn into_split(self) -> (HostRead, HostWrite) {
        match self {
            HostStream::Local(stream) => {
                let (read, write) = stream.into_split();
                (HostRead::Local(read), HostWrite::Local(write))
            }
            HostStream::Remote(stream) => {
                let (read, write) = tokio::io::split(*stream);
                (HostRead::Remote(read), HostWrite::Remote(write))
            }
        }
    }
}

impl AsyncRead for HostRead {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            HostRead::Local(read) => Pin::new(read).poll_read(cx, buf),
            HostRead::Remote(read) => Pin::new(read).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for HostWrite {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            HostWrite::Local(write) => Pin::new(write).poll_write(cx, buf),
            HostWrite::Remote(write) => Pin::new(write).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            HostWrite::Local(write) => Pin::new(write).poll_write_vectored(cx, bufs),
            HostWrite::Remote(write) => Pin::new(write).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            HostWrite::Local(write) => write.is_write_vectored(),
            HostWrite::Remote(write) => write.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            HostWrite::Local(write) => Pin::new(write).poll_flush(cx),
            HostWrite::Remote(write) => Pin::new(write).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            HostWrite::Local(write) => Pin::new(write).poll_shutdown(cx),
            HostWrite::Remote(write) => Pin::new(write).poll_shutdown(cx),
        }
    }
}
