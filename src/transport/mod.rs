//! How a gateway reaches a session host: on this machine through the
//! host's Unix sockets, on another machine over TCP with mutual TLS
//! (`tls`), the connection's first frame naming which of the host's
//! sockets it is for ([`Route`]). Above this the frames are the same
//! either way (docs/architecture.md, "Many machines").
//!
//! Must not know what the frames after the route mean, or decide where
//! hosts run.

mod stream;
pub mod tls;

use std::fmt;
use std::io;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use tokio_rustls::TlsConnector;

pub use stream::{HostRead, HostStream, HostWrite};

/// The largest route frame either side reads: a route is a few bytes.
const MAX_ROUTE_FRAME: usize = 256;
/// Idle time before a keepalive probe, and time between probes.
const KEEPALIVE: std::time::Duration = std::time::Duration::from_secs(1);
/// Unanswered probes before a connection is dropped (about 4 s in all).
const KEEPALIVE_PROBES: u32 = 3;

/// Which of a remote host's sockets a connection is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Route {
    /// The owner socket, where new sessions are started.
    Owner,
    /// Session `id`'s socket.
    Session(i64),
}

/// A host's answer to a [`Route`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RouteReply {
    /// From here on the connection is that socket's.
    Connected,
    /// Nothing listens there (the session ended, or never ran here).
    NotFound,
}

/// Where a session host listens.
#[derive(Clone)]
pub enum HostAddress {
    /// A socket on this machine (`data/hosts/…`).
    Local(PathBuf),
    /// A host on another machine.
    Remote(RemoteHost),
}

/// A host on another machine: its address, the socket wanted there, and
/// the gateway's TLS.
#[derive(Clone)]
pub struct RemoteHost {
    /// `HOST:PORT`.
    pub address: String,
    pub route: Route,
    pub tls: TlsConnector,
}

impl fmt::Display for HostAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostAddress::Local(path) => write!(f, "{}", path.display()),
            HostAddress::Remote(remote) => match remote.route {
                Route::Owner => write!(f, "{} (new sessions)", remote.address),
                Route::Session(id) => write!(f, "{} (session {id})", remote.address),
            },
        }
    }
}

impl fmt::Debug for HostAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl HostAddress {
    /// Opens a connection to the host. A remote host that is reachable but
    /// has nothing at the route answers [`io::ErrorKind::NotFound`], as a
    /// missing socket does on this machine.
    pub async fn connect(&self) -> io::Result<HostStream> {
        match self {
            HostAddress::Local(path) => Ok(HostStream::Local(UnixStream::connect(path).await?)),
            HostAddress::Remote(remote) => remote.connect().await,
        }
    }
}

impl RemoteHost {
    async fn connect(&self) -> io::Result<HostStream> {
        let tcp = TcpStream::connect(&self.address).await?;
        // Keystrokes and echoes are small: never hold them back.
        tcp.set_nodelay(true)?;
        keep_alive(&tcp)?;
        let mut tls = self.tls.connect(tls::host_name(), tcp).await?;
        write_frame(&mut tls, &self.route).await?;
        match read_frame::<RouteReply, _>(&mut tls).await? {
            RouteReply::Connected => Ok(HostStream::Remote(Box::new(tls))),
            RouteReply::NotFound => Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("the session host at {} has no such socket", self.address),
            )),
        }
    }
}

/// Probes an idle connection every [`KEEPALIVE`], and drops it after
/// [`KEEPALIVE_PROBES`] unanswered probes: a host whose node was cut off
/// shows as unreachable within seconds, not after TCP's two hours.
pub fn keep_alive(tcp: &TcpStream) -> io::Result<()> {
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(KEEPALIVE)
        .with_interval(KEEPALIVE)
        .with_retries(KEEPALIVE_PROBES);
    let socket = socket2::SockRef::from(tcp);
    socket.set_tcp_keepalive(&keepalive)?;
    // Unacknowledged data (keystrokes sent into the cut) ends the
    // connection in the same time; keepalive only probes an idle one.
    socket.set_tcp_user_timeout(Some(KEEPALIVE * (KEEPALIVE_PROBES + 1)))
}

/// Writes one small frame (4-byte big-endian length, MessagePack), as the
/// protocol's frames are.
pub async fn write_frame<T: Serialize, W: AsyncWrite + Unpin>(
    stream: &mut W,
    message: &T,
) -> io::Result<()> {
    let body = rmp_serde::to_vec_named(message).map_err(io::Error::other)?;
    let length = u32::try_from(body.len()).map_err(io::Error::other)?;
    stream.write_all(&length.to_be_bytes()).await?;
    stream.write_all(&body).await?;
    stream.flush().await
}

/// Reads exactly one small frame, and not a byte beyond it (what follows
/// belongs to the connection's next reader).
pub async fn read_frame<T: for<'de> Deserialize<'de>, R: AsyncRead + Unpin>(
    stream: &mut R,
) -> io::Result<T> {
    let mut length = [0u8; 4];
    stream.read_exact(&mut length).await?;
    let length = u32::from_be_bytes(length) as usize;
    if length > MAX_ROUTE_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a route frame of {length} bytes (at most {MAX_ROUTE_FRAME})"),
        ));
    }
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await?;
    rmp_serde::from_slice(&body).map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_route_frame_reads_back_and_leaves_what_follows() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        write_frame(&mut a, &Route::Session(42)).await.unwrap();
        a.write_all(b"next").await.unwrap();
        assert_eq!(
            read_frame::<Route, _>(&mut b).await.unwrap(),
            Route::Session(42)
        );
        let mut rest = [0u8; 4];
        b.read_exact(&mut rest).await.unwrap();
        assert_eq!(&rest, b"next");
    }

    #[tokio::test]
    async fn an_oversized_or_garbled_route_is_an_error_not_a_panic() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        a.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
        let error = read_frame::<Route, _>(&mut b).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        let (mut a, mut b) = tokio::io::duplex(1024);
        a.write_all(&[0, 0, 0, 3, 0xc1, 0xc1, 0xc1]).await.unwrap();
        let error = read_frame::<Route, _>(&mut b).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    }
}
