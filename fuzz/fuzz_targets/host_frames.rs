//! Fuzz target: the frames a session host reads from the gateway (a
//! hostile gateway, or anything that reaches the host's socket). The
//! first byte picks the connection: `Open` (every connection's first
//! message), the control connection's `ToHost`, or an attached client's
//! `FromClient`; the rest is the byte stream, read with the host's own
//! reader (`wire::protocol::reader` and `receive`: 4-byte lengths, at most
//! 8 MiB a frame, MessagePack). Every message read must encode again and
//! read back as itself, through the same framing.
#![no_main]

#[path = "frames/mod.rs"]
mod frames;

use foyer::wire::protocol::{FromClient, Open, ToHost};
use frames::{RUNTIME, read_all};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&kind, stream)) = data.split_first() else {
        return;
    };
    RUNTIME.block_on(async {
        match kind % 3 {
            0 => read_all(stream, |_: &Open| {}).await,
            1 => read_all(stream, |_: &ToHost| {}).await,
            _ => read_all(stream, |_: &FromClient| {}).await,
        }
    });
});
