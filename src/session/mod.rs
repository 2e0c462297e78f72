//! Sessions: long-lived programs on PTYs, each owned by a hub task that
//! keeps its screen and fans its output out to attached clients.
//!
//! `registry` knows which sessions exist; `link` is the gateway's side of
//! each (speaking to its session host, started by `hosting`); `hub` (its
//! handle), `hub_task` (its loop, with `delivery` to clients) and
//! `program` run one, in the host; `clients`,
//! `terminal` (with `scrollback`), `render` and `queries` are the pure parts the hub drives;
//! `create` starts a new one for any front end; `changes` signals what
//! live views show; `input` watches a client's keystrokes for the prefix key; `names` checks
//! session names. Nothing here knows SSH or HTTP.

pub mod access;
mod cells;
pub mod changes;
pub mod clients;
pub mod control;
pub mod create;
pub mod hosting;
pub mod hub;
pub(crate) mod hub_task;
pub mod input;
pub mod launch;
pub mod link;
pub mod names;
mod program;
pub mod queries;
pub mod recording;
pub mod registry;
pub mod render;
mod scrollback;
pub mod summary;
pub mod terminal;

pub use changes::Changes;
pub use clients::{ClientId, ClientTable, Delivery, Role};
pub use hub::{
    AttachError, Attachment, ClientMessage, HubGone, HubHandle, HubSettings, HubStatus, Messages,
    Participant, RECEIPT_DELAY, Receipts, ScreenPreview,
};
pub use registry::{Registry, SessionEntry};
pub use terminal::{Size, Terminal};

/// Seconds since the Unix epoch, as the database stores times.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
