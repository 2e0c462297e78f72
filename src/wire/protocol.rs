//! The protocol between the gateway and a session host, over a Unix
//! socket: plain data, serde-encoded as MessagePack with field names (so a
//! field can be added without breaking an older peer), one message a
//! frame, each frame prefixed with its length (4 bytes, big-endian) and at
//! most [`MAX_FRAME_BYTES`] long.
//!
//! Every connection begins with the host's [`Hello`], then the gateway's
//! [`Open`] says what the connection is for: the session's control
//! ([`ToHost`] / [`FromHost`]), one attached client ([`FromClient`] /
//! [`ToClient`]) or a byte-stream watcher ([`ToClient`] only).
//!
//! Owns only the messages and their encoding. It must not act on them:
//! the host's `server` and the gateway's `link` do.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::{FramedRead, FramedWrite, LengthDelimitedCodec};

use super::session::{FinalScreen, HubStatus, Role, ScreenPreview, Size};

/// The protocol this build speaks. Bump it when a message changes in a
/// way an older peer cannot read (adding an optional field does not).
pub const PROTOCOL_VERSION: u32 = 1;
/// Host protocol versions this gateway can serve.
pub const SUPPORTED_HOST_PROTOCOLS: &[u32] = &[1];
/// Longest frame either side accepts: a final screen with a full
/// scrollback is the biggest message (10,000 formatted lines).
pub const MAX_FRAME_BYTES: usize = 8 << 20;

/// The host's first message on every connection.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hello {
    pub protocol: u32,
    pub foyer_version: String,
    /// The session's database id.
    pub session_id: i64,
    pub host_pid: u32,
    /// The program's process id (and process group), when it runs on
    /// this host.
    pub program_pid: Option<u32>,
}

/// The gateway's first message: what the connection is for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Open {
    /// The session's control: status, capture, preview, kill.
    Control,
    /// One attached client; `upgradable` as in `HubHandle::attach_with`.
    Attach {
        who: String,
        role: Role,
        size: Size,
        #[serde(default)]
        upgradable: bool,
    },
    /// The program's output bytes as they come (`watch` without a PTY).
    Watch { who: String },
    /// On a host's owner socket: start another session in this host; the
    /// host answers with a `StartReply`.
    Start(Box<super::launch::Launch>),
    /// On a host's owner socket: run a short command as the programs'
    /// account; the host answers with a `RunReply`.
    Run(Box<super::launch::RunCommand>),
}

/// Requests on the control connection.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ToHost {
    Capture {
        request: u64,
        scrollback: usize,
        ansi: bool,
    },
    Preview {
        request: u64,
    },
    /// The screen to keep once the program has exited: an exact snapshot
    /// with the whole scrollback.
    FinalScreen {
        request: u64,
    },
    /// Types bytes into the program (`send`).
    Send {
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// Answered with `Applied` once the hub has the change queued.
    AccessChanged {
        request: u64,
        user: String,
        allowed: Option<Role>,
    },
    /// Ends the program (hangup, then kill after the grace period); the
    /// host exits once it is gone. The session is being removed.
    Kill,
    /// Ends the program like `Kill`, but the session stays, exited
    /// (`serve --stop-sessions`).
    Hangup,
    /// The gateway has the final screen: the host may exit.
    Shutdown,
    /// Stops (`paused`) or continues the program's process group (`pause`,
    /// `resume`). Sent only to hosts whose status says `paused`.
    Pause {
        paused: bool,
    },
    /// Sends a signal (by its number) to the program's process group.
    /// Sent only to hosts whose status says `paused`.
    Signal {
        signal: i32,
    },
    /// Marks the session as wanting attention with `message` (cleaned by
    /// the hub). Answered with `Applied` after the status showing it.
    /// Sent only to hosts whose status says `attention_commands`.
    Notify {
        request: u64,
        message: String,
    },
    /// Clears the session's attention, as `user`. Answered like `Notify`.
    Ack {
        request: u64,
        user: String,
    },
}

/// Events and replies on the control connection.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum FromHost {
    /// Everything `ls` and the metrics show; sent when it changes.
    Status(HubStatus),
    /// The screen changed since the last preview was asked for.
    ScreenChanged,
    Captured {
        request: u64,
        text: String,
    },
    Preview {
        request: u64,
        preview: ScreenPreview,
    },
    FinalScreen {
        request: u64,
        screen: FinalScreen,
    },
    /// A request without an answer of its own was carried out.
    Applied {
        request: u64,
    },
}

/// From the gateway, for one attached client.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum FromClient {
    Input(#[serde(with = "serde_bytes")] Vec<u8>),
    /// Bytes for this client's terminal only (a forwarded notification),
    /// written between the program's escape sequences, never inside one.
    /// Sent only to hosts whose status says `attention_commands`.
    Notice(#[serde(with = "serde_bytes")] Vec<u8>),
    Resize(Size),
    /// The client's front end wrote a message of `bytes` bytes; `ack` as
    /// it was sent.
    Written {
        bytes: u64,
        ack: bool,
    },
}

/// To the gateway, for one attached client (or watcher).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ToClient {
    /// The attach happened; the client's first output follows.
    Attached {
        id: u64,
        role: Role,
    },
    /// The session has `limit` clients, the most `sessions.max_clients`
    /// allows.
    Full {
        limit: usize,
    },
    /// Shared with the hub's other clients: the host writes them without a
    /// copy and the gateway reads them out of the frame without one
    /// (`output_frame`; on the wire, MessagePack bytes as serde makes them).
    Output {
        bytes: bytes::Bytes,
        ack: bool,
    },
    Marker,
    Exited {
        status: Option<i32>,
    },
    Closed,
    Revoked,
}

/// Why a connection to a host failed.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("cannot encode a message: {0}")]
    Encode(#[from] rmp_serde::encode::Error),
    #[error("malformed message: {0}")]
    Decode(#[from] rmp_serde::decode::Error),
    #[error("the connection closed")]
    Closed,
    #[error(
        "the session host speaks protocol {host}, this gateway speaks {PROTOCOL_VERSION} \
         (and serves {SUPPORTED_HOST_PROTOCOLS:?})"
    )]
    Version { host: u32 },
}

/// The reading half of a connection, in frames.
pub type Reader<R> = FramedRead<R, LengthDelimitedCodec>;
/// The writing half of a connection, in frames.
pub type Writer<W> = FramedWrite<W, LengthDelimitedCodec>;

fn codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .max_frame_length(MAX_FRAME_BYTES)
        .new_codec()
}

/// Buffer a connection starts with for reading: it grows to the biggest
/// frame seen. Small, because every running session keeps a control
/// connection open on both sides and most of its messages are small.
const READ_BUFFER: usize = 512;
/// Buffer for writing on a control connection (messages go out one by one).
const CONTROL_WRITE_BUFFER: usize = 512;

pub fn reader<R: AsyncRead>(inner: R) -> Reader<R> {
    FramedRead::with_capacity(inner, codec(), READ_BUFFER)
}

/// A writer for a client's connection: output is batched up to 8 KiB
/// before it is flushed.
pub fn writer<W: AsyncWrite>(inner: W) -> Writer<W> {
    FramedWrite::new(inner, codec())
}

/// A writer for a control connection, where messages are few and small.
pub fn control_writer<W: AsyncWrite>(inner: W) -> Writer<W> {
    FramedWrite::with_capacity(inner, codec(), CONTROL_WRITE_BUFFER)
}

/// Reads the next message; `Closed` at the end of the stream.
pub async fn receive<T: DeserializeOwned, R: AsyncRead + Unpin>(
    reader: &mut Reader<R>,
) -> Result<T, ProtocolError> {
    let frame = next_frame(reader).await?;
    Ok(rmp_serde::from_slice(&frame)?)
}

/// The next frame's body; `Closed` at the end of the stream.
pub(super) async fn next_frame<R: AsyncRead + Unpin>(
    reader: &mut Reader<R>,
) -> Result<bytes::BytesMut, ProtocolError> {
    use futures_util::StreamExt;
    match reader.next().await {
        Some(Ok(frame)) => Ok(frame),
        Some(Err(error)) => Err(error.into()),
        None => Err(ProtocolError::Closed),
    }
}

/// Queues a message without flushing: call [`flush`] after a batch.
pub async fn feed<T: Serialize, W: AsyncWrite + Unpin>(
    writer: &mut Writer<W>,
    message: &T,
) -> Result<(), ProtocolError> {
    use futures_util::SinkExt;
    let body = rmp_serde::to_vec_named(message)?;
    writer.feed(bytes::Bytes::from(body)).await?;
    Ok(())
}

pub async fn flush<W: AsyncWrite + Unpin>(writer: &mut Writer<W>) -> Result<(), ProtocolError> {
    use futures_util::SinkExt;
    SinkExt::<bytes::Bytes>::flush(writer).await?;
    Ok(())
}

/// Writes one message and flushes it.
pub async fn send<T: Serialize, W: AsyncWrite + Unpin>(
    writer: &mut Writer<W>,
    message: &T,
) -> Result<(), ProtocolError> {
    feed(writer, message).await?;
    flush(writer).await
}

/// Writes queued messages until the queue closes (or the connection
/// fails), flushing whenever the queue is momentarily empty: what is queued
/// together goes out in one write.
pub async fn write_queued<T: Serialize, W: AsyncWrite + Unpin>(
    mut writer: Writer<W>,
    mut queue: tokio::sync::mpsc::Receiver<T>,
) {
    while let Some(message) = queue.recv().await {
        if feed(&mut writer, &message).await.is_err() {
            return;
        }
        while let Ok(message) = queue.try_recv() {
            if feed(&mut writer, &message).await.is_err() {
                return;
            }
        }
        if flush(&mut writer).await.is_err() {
            return;
        }
    }
}

/// Checks a host's `Hello` against what this gateway serves.
pub fn check_version(hello: &Hello) -> Result<(), ProtocolError> {
    if SUPPORTED_HOST_PROTOCOLS.contains(&hello.protocol) {
        Ok(())
    } else {
        Err(ProtocolError::Version {
            host: hello.protocol,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn messages_cross_a_socket_pair_in_order() {
        let (a, b) = tokio::net::UnixStream::pair().unwrap();
        let mut out = writer(a);
        let mut input = reader(b);
        let bytes = bytes::Bytes::from_static(&[0u8, 1, 2, 0x1b, 255]);
        feed(
            &mut out,
            &ToClient::Output {
                bytes: bytes.clone(),
                ack: true,
            },
        )
        .await
        .unwrap();
        send(&mut out, &ToClient::Exited { status: Some(3) })
            .await
            .unwrap();
        drop(out);
        match receive::<ToClient, _>(&mut input).await.unwrap() {
            ToClient::Output { bytes: got, ack } => {
                assert_eq!(got, bytes);
                assert!(ack);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            receive::<ToClient, _>(&mut input).await.unwrap(),
            ToClient::Exited { status: Some(3) }
        ));
        assert!(matches!(
            receive::<ToClient, _>(&mut input).await,
            Err(ProtocolError::Closed)
        ));
    }

    #[tokio::test]
    async fn an_oversized_or_malformed_frame_is_an_error_not_a_panic() {
        use tokio::io::AsyncWriteExt;
        let (mut a, b) = tokio::net::UnixStream::pair().unwrap();
        let mut input = reader(b);
        a.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
        assert!(matches!(
            receive::<ToClient, _>(&mut input).await,
            Err(ProtocolError::Io(_))
        ));
        let (mut a, b) = tokio::net::UnixStream::pair().unwrap();
        let mut input = reader(b);
        a.write_all(&[0, 0, 0, 3, 0xc1, 0xc1, 0xc1]).await.unwrap();
        assert!(matches!(
            receive::<ToClient, _>(&mut input).await,
            Err(ProtocolError::Decode(_))
        ));
    }

    #[test]
    fn an_unknown_version_is_refused_with_both_numbers() {
        let hello = Hello {
            protocol: 99,
            foyer_version: "9.9.9".into(),
            session_id: 1,
            host_pid: 1,
            program_pid: None,
        };
        let error = check_version(&hello).unwrap_err().to_string();
        assert!(error.contains("protocol 99"), "{error}");
        assert!(error.contains(&PROTOCOL_VERSION.to_string()), "{error}");
    }
}
