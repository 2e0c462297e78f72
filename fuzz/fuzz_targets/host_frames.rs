//! Fuzz target: the frames a session host reads from the gateway (a
//! hostile gateway, or anything that reaches the host's socket). The
//! first byte picks the connection: `Open` (every connection's first
//! message), the control connection's `ToHost`, or an attached client's
//! `FromClient`; the rest is the byte stream, read with the host's own
//! reader (`wire::protocol::reader` and `receive`: 4-byte lengths, at most
//! 8 MiB a frame, MessagePack). Every message read must encode again and
//! read back as itself, through the same framing.
#![no_main]

use std::fmt::Debug;
use std::sync::LazyLock;

use foyer::wire::protocol::{self, FromClient, MAX_FRAME_BYTES, Open, ProtocolError, ToHost};
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::runtime::Runtime;

static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
});

/// Frames read from one input at most (a frame may be empty).
const MAX_MESSAGES: usize = 256;

fuzz_target!(|data: &[u8]| {
    let Some((&kind, stream)) = data.split_first() else {
        return;
    };
    RUNTIME.block_on(async {
        match kind % 3 {
            0 => read_all::<Open>(stream).await,
            1 => read_all::<ToHost>(stream).await,
            _ => read_all::<FromClient>(stream).await,
        }
    });
});

/// Reads messages until the stream ends or breaks; a frame that is not a
/// message is skipped (the host drops the connection there, but the next
/// frames are worth reading too).
async fn read_all<T: Serialize + DeserializeOwned + Debug>(stream: &[u8]) {
    let mut reader = protocol::reader(stream);
    for _ in 0..MAX_MESSAGES {
        match protocol::receive::<T, _>(&mut reader).await {
            Ok(message) => round_trip(&message).await,
            Err(ProtocolError::Decode(_)) => {}
            Err(_) => return,
        }
    }
}

/// Sends `message` with the protocol's writer and reads it back.
async fn round_trip<T: Serialize + DeserializeOwned + Debug>(message: &T) {
    let body = rmp_serde::to_vec_named(message).expect("a message read encodes");
    if body.len() > MAX_FRAME_BYTES {
        return;
    }
    let mut writer = protocol::writer(Vec::new());
    protocol::send(&mut writer, message)
        .await
        .expect("a message read is sent");
    let sent = writer.into_inner();
    let mut reader = protocol::reader(&sent[..]);
    let again: T = protocol::receive(&mut reader)
        .await
        .expect("a message sent reads back");
    assert_eq!(format!("{message:?}"), format!("{again:?}"));
    assert!(matches!(
        protocol::receive::<T, _>(&mut reader).await,
        Err(ProtocolError::Closed)
    ));
}
