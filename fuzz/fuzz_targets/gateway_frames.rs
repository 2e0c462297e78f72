//! Fuzz target: the frames the gateway reads from a session host (a
//! hostile host: it runs as the session's user). The first byte picks the
//! connection: the host's `Hello`, the control connection's `FromHost`, a
//! client's `ToClient` (read by `output_frame::receive_to_client`, which
//! takes output bytes out of the frame without a copy), or the owner
//! socket's `StartReply`. Properties: every message read encodes again
//! and reads back as itself (a client's messages through the host's
//! `ClientWriter`, the vectored writer); and wherever the no-copy
//! `output_frame::decode` reads a frame, `rmp_serde` reads the same
//! output bytes and flag from it.
#![no_main]

#[path = "frames/mod.rs"]
mod frames;

use bytes::BytesMut;
use foyer::wire::launch::StartReply;
use foyer::wire::output_frame::{self, ClientWriter};
use foyer::wire::protocol::{self, FromHost, Hello, MAX_FRAME_BYTES, ProtocolError, ToClient};
use frames::{MAX_MESSAGES, RUNTIME, read_all};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::{Decoder, LengthDelimitedCodec};

fuzz_target!(|data: &[u8]| {
    let Some((&kind, stream)) = data.split_first() else {
        return;
    };
    RUNTIME.block_on(async {
        match kind % 4 {
            0 => read_all(stream, check_hello).await,
            1 => read_all(stream, |_: &FromHost| {}).await,
            2 => read_clients(stream).await,
            _ => read_all(stream, |_: &StartReply| {}).await,
        }
    });
    if kind % 4 == 2 {
        compare_decoders(stream);
    }
});

/// A host's `Hello` is served only for the protocols this gateway knows,
/// and the refusal names the host's number.
fn check_hello(hello: &Hello) {
    match protocol::check_version(hello) {
        Ok(()) => assert!(protocol::SUPPORTED_HOST_PROTOCOLS.contains(&hello.protocol)),
        Err(error) => assert!(error.to_string().contains(&hello.protocol.to_string())),
    }
}

/// A client's connection as the gateway reads it; each message is written
/// again with the host's `ClientWriter` and must read back the same.
async fn read_clients(stream: &[u8]) {
    let mut reader = protocol::reader(stream);
    for _ in 0..MAX_MESSAGES {
        match output_frame::receive_to_client(&mut reader).await {
            Ok(message) => {
                let mut sent = Vec::new();
                {
                    let mut out = ClientWriter::new(&mut sent);
                    out.feed(message.clone()).expect("a message read is queued");
                    out.flush().await.expect("written to memory");
                }
                let mut again = protocol::reader(&sent[..]);
                let read = output_frame::receive_to_client(&mut again)
                    .await
                    .expect("a message written reads back");
                assert_eq!(format!("{message:?}"), format!("{read:?}"));
            }
            Err(ProtocolError::Decode(_)) => {}
            Err(_) => return,
        }
    }
}

/// The no-copy reader against serde's, frame by frame.
fn compare_decoders(stream: &[u8]) {
    let mut codec = LengthDelimitedCodec::builder()
        .max_frame_length(MAX_FRAME_BYTES)
        .new_codec();
    let mut buffer = BytesMut::from(stream);
    for _ in 0..MAX_MESSAGES {
        let Ok(Some(frame)) = codec.decode(&mut buffer) else {
            return;
        };
        let by_serde = rmp_serde::from_slice::<ToClient>(&frame);
        if let Some((bytes, ack)) = output_frame::decode(&mut frame.clone()) {
            match by_serde {
                Ok(ToClient::Output {
                    bytes: serde_bytes,
                    ack: serde_ack,
                }) => {
                    assert_eq!(bytes, serde_bytes);
                    assert_eq!(ack, serde_ack);
                }
                other => panic!("output_frame read {bytes:?} {ack}, serde {other:?}"),
            }
        }
    }
}
