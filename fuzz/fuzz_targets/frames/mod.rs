//! What the two frame targets (`host_frames`, `gateway_frames`) share:
//! the runtime they read on, and reading a stream of frames with the
//! protocol's own reader, each message checked and then sent with the
//! protocol's writer and read back as itself. Included by each target
//! with `#[path]` (cargo-fuzz builds every target as a binary of its own).

use std::fmt::Debug;
use std::sync::LazyLock;

use foyer::wire::protocol::{self, MAX_FRAME_BYTES, ProtocolError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::runtime::Runtime;

pub static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
});

/// Frames read from one input at most (a frame may be empty).
pub const MAX_MESSAGES: usize = 256;

/// Reads messages until the stream ends or breaks, checking each with
/// `check` as the reading side would; a frame that is not a message is
/// skipped (the reader drops the connection there, but the next frames
/// are worth reading too).
pub async fn read_all<T: Serialize + DeserializeOwned + Debug>(stream: &[u8], check: impl Fn(&T)) {
    let mut reader = protocol::reader(stream);
    for _ in 0..MAX_MESSAGES {
        match protocol::receive::<T, _>(&mut reader).await {
            Ok(message) => {
                check(&message);
                round_trip(&message).await;
            }
            Err(ProtocolError::Decode(_)) => {}
            Err(_) => return,
        }
    }
}

/// Sends `message` with the protocol's writer and reads it back: the same
/// message, and nothing after it.
pub async fn round_trip<T: Serialize + DeserializeOwned + Debug>(message: &T) {
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
