//! A client's output frames without copying their bytes: the host writes
//! `ToClient::Output` as a frame head, the hub's shared bytes and a frame
//! tail in one vectored write (every observer of a session sends the same
//! `Bytes`, never a copy of it per client), and the gateway takes the bytes
//! out of the frame it read without copying them either.
//!
//! The frames are exactly what `rmp_serde` makes of `ToClient::Output`
//! (tests compare them), so either side may use the other way.
//!
//! Must not know about anything but the frame format.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};
use serde::Serialize;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use tokio::io::AsyncRead;

use super::protocol::{MAX_FRAME_BYTES, ProtocolError, Reader, ToClient};

/// `{"Output": {"bytes": ` in MessagePack (a map of one entry whose value
/// is a map of two), before the bytes' own header.
const HEAD: &[u8] = b"\x81\xa6Output\x82\xa5bytes";
/// `"ack": ` before the flag.
const ACK_KEY: &[u8] = b"\xa3ack";
const FALSE: u8 = 0xc2;
const TRUE: u8 = 0xc3;

/// The three parts of an output frame: length, head and the bytes' header;
/// the bytes; the acknowledgement flag. `None` if it would be over
/// [`MAX_FRAME_BYTES`].
fn encode(bytes: Bytes, ack: bool) -> Option<[Bytes; 3]> {
    let len = bytes.len();
    let header = bin_header(u32::try_from(len).ok()?);
    let tail = [ACK_KEY, &[if ack { TRUE } else { FALSE }]].concat();
    let body = HEAD.len() + header.len() + len + tail.len();
    if body > MAX_FRAME_BYTES {
        return None;
    }
    let mut head = Vec::with_capacity(4 + HEAD.len() + header.len());
    head.extend_from_slice(&(body as u32).to_be_bytes());
    head.extend_from_slice(HEAD);
    head.extend_from_slice(&header);
    Some([head.into(), bytes, tail.into()])
}

/// MessagePack's header for `len` bytes, in its shortest form.
fn bin_header(len: u32) -> Vec<u8> {
    if let Ok(short) = u8::try_from(len) {
        vec![0xc4, short]
    } else if let Ok(medium) = u16::try_from(len) {
        [&[0xc5][..], &medium.to_be_bytes()].concat()
    } else {
        [&[0xc6][..], &len.to_be_bytes()].concat()
    }
}

/// The bytes and flag of an output frame (without its length), taken out
/// of it without a copy; `None` for any other message.
pub fn decode(frame: &mut BytesMut) -> Option<(Bytes, bool)> {
    let rest = frame.strip_prefix(HEAD)?;
    let (len, header) = match *rest.first()? {
        0xc4 => (usize::from(*rest.get(1)?), 2),
        0xc5 => (
            usize::from(u16::from_be_bytes([*rest.get(1)?, *rest.get(2)?])),
            3,
        ),
        0xc6 => {
            let n = u32::from_be_bytes(rest.get(1..5)?.try_into().ok()?);
            (usize::try_from(n).ok()?, 5)
        }
        _ => return None,
    };
    let start = HEAD.len() + header;
    let tail = frame.get(start + len..)?;
    let ack = match tail {
        [a, b, c, d, flag] if [*a, *b, *c, *d] == ACK_KEY => match *flag {
            TRUE => true,
            FALSE => false,
            _ => return None,
        },
        _ => return None,
    };
    frame.advance(start);
    Some((frame.split_to(len).freeze(), ack))
}

/// Frames queued for one client's connection, written together.
pub struct ClientWriter<W> {
    inner: W,
    queued: Segments,
}

impl<W: AsyncWrite + Unpin> ClientWriter<W> {
    pub fn new(inner: W) -> Self {
        ClientWriter {
            inner,
            queued: Segments::default(),
        }
    }

    /// Queues a message; output bytes are queued as they are, shared.
    pub fn feed(&mut self, message: ToClient) -> Result<(), ProtocolError> {
        if let ToClient::Output { bytes, ack } = &message
            && let Some(parts) = encode(bytes.clone(), *ack)
        {
            self.queued.extend(parts);
            return Ok(());
        }
        self.queued.push(frame_of(&message)?);
        Ok(())
    }

    /// Writes everything queued.
    pub async fn flush(&mut self) -> Result<(), ProtocolError> {
        self.inner.write_all_buf(&mut self.queued).await?;
        self.queued.clear();
        Ok(())
    }
}

/// Any message as `rmp_serde` frames it, with its length.
fn frame_of<T: Serialize>(message: &T) -> Result<Bytes, ProtocolError> {
    let body = rmp_serde::to_vec_named(message)?;
    if body.len() > MAX_FRAME_BYTES {
        return Err(ProtocolError::Io(std::io::Error::other(
            "a frame over 8 MiB",
        )));
    }
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(&body);
    Ok(frame.into())
}

/// Byte strings read as one buffer, written with vectored writes.
#[derive(Default)]
struct Segments {
    parts: VecDeque<Bytes>,
    remaining: usize,
}

impl Segments {
    fn push(&mut self, part: Bytes) {
        if !part.is_empty() {
            self.remaining += part.len();
            self.parts.push_back(part);
        }
    }

    fn extend(&mut self, parts: impl IntoIterator<Item = Bytes>) {
        for part in parts {
            self.push(part);
        }
    }

    fn clear(&mut self) {
        self.parts.clear();
        self.remaining = 0;
    }
}

impl Buf for Segments {
    fn remaining(&self) -> usize {
        self.remaining
    }

    fn chunk(&self) -> &[u8] {
        self.parts.front().map_or(&[], |part| part.as_ref())
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let mut filled = 0;
        for (slot, part) in dst.iter_mut().zip(&self.parts) {
            *slot = IoSlice::new(part);
            filled += 1;
        }
        filled
    }

    fn advance(&mut self, mut count: usize) {
        self.remaining -= count.min(self.remaining);
        while count > 0 {
            let Some(front) = self.parts.front_mut() else {
                return;
            };
            if count < front.len() {
                front.advance(count);
                return;
            }
            count -= front.len();
            self.parts.pop_front();
        }
    }
}

/// The next message for a client; output bytes are taken out of the frame
/// read, not copied (see `output_frame`).
pub async fn receive_to_client<R: AsyncRead + Unpin>(
    reader: &mut Reader<R>,
) -> Result<ToClient, ProtocolError> {
    let mut frame = super::protocol::next_frame(reader).await?;
    match decode(&mut frame) {
        Some((bytes, ack)) => Ok(ToClient::Output { bytes, ack }),
        None => Ok(rmp_serde::from_slice(&frame)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(parts: &[Bytes]) -> Vec<u8> {
        parts.iter().flat_map(|part| part.iter().copied()).collect()
    }

    #[test]
    fn output_frames_are_what_rmp_serde_makes_and_read_back_without_a_copy() {
        for len in [0, 1, 0xff, 0x100, 0xffff, 0x1_0000, 300_000] {
            for ack in [false, true] {
                let bytes = Bytes::from((0..len).map(|i| (i % 251) as u8).collect::<Vec<_>>());
                let message = ToClient::Output {
                    bytes: bytes.clone(),
                    ack,
                };
                let parts = encode(bytes.clone(), ack).unwrap();
                assert_eq!(joined(&parts), frame_of(&message).unwrap(), "{len} {ack}");
                let mut frame = BytesMut::from(&joined(&parts)[4..]);
                let shared = frame.as_ptr();
                let (read, read_ack) = decode(&mut frame).unwrap();
                assert_eq!((read.as_ref(), read_ack), (bytes.as_ref(), ack));
                if len > 0 {
                    // The head part is the length (4 bytes), HEAD and the bytes' header.
                    let offset = parts[0].len() - 4;
                    assert_eq!(read.as_ptr(), shared.wrapping_add(offset), "not copied");
                }
            }
        }
    }

    #[test]
    fn other_messages_and_damaged_frames_are_left_to_serde() {
        for message in [
            ToClient::Marker,
            ToClient::Closed,
            ToClient::Exited { status: Some(3) },
        ] {
            let frame = frame_of(&message).unwrap();
            assert!(decode(&mut BytesMut::from(&frame[4..])).is_none());
        }
        let parts = encode(Bytes::from_static(b"abc"), true).unwrap();
        let whole = joined(&parts);
        for cut in 4..whole.len() {
            assert!(
                decode(&mut BytesMut::from(&whole[4..cut])).is_none(),
                "cut at {cut}"
            );
        }
        let mut bad_flag = whole[4..].to_vec();
        *bad_flag.last_mut().unwrap() = 0x01;
        assert!(decode(&mut BytesMut::from(&bad_flag[..])).is_none());
    }

    #[tokio::test]
    async fn a_writer_sends_frames_in_order_as_one_stream() {
        let (client, server) = tokio::net::UnixStream::pair().unwrap();
        let mut writer = ClientWriter::new(server);
        let sent = vec![
            ToClient::Output {
                bytes: Bytes::from_static(b"hello"),
                ack: false,
            },
            ToClient::Marker,
            ToClient::Output {
                bytes: Bytes::from(vec![7u8; 70_000]),
                ack: true,
            },
            ToClient::Exited { status: None },
        ];
        for message in sent.clone() {
            writer.feed(message).unwrap();
        }
        let writing = tokio::spawn(async move { writer.flush().await.unwrap() });
        let mut reader = crate::wire::protocol::reader(client);
        for expected in sent {
            let got: ToClient = crate::wire::protocol::receive(&mut reader).await.unwrap();
            assert_eq!(format!("{got:?}"), format!("{expected:?}"));
        }
        writing.await.unwrap();
    }
}
