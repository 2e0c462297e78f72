//! The gateway's view of sessions: which exist (`registry`, an actor),
//! one link per session (`link`, an actor speaking to the session's host
//! or showing its exited screen), the client object a transport pumps
//! (`attachment`), starting and adopting hosts (`hosting`, `host_start`,
//! `host_connection`), the records' writer (`records`), and each step
//! every transport shares, once: `create` (new), `attach` (the role,
//! audit, gauge and the client object a transport pumps), `manage`
//! (kill, restart, pause, resume, signal, notify, ack), `access`, `names`,
//! `summary`, `sharing` (grants and browser links), `files` (uploads and
//! the file view); `attention` the stream of sessions starting to want it;
//! `App` is what the transports hold.
//!
//! Must not know SSH or HTTP: transports call in here and never
//! re-implement a lifecycle step.

pub mod access;
mod adoption;
pub mod app;
pub mod attach;
pub mod attachment;
pub mod attention;
pub mod books;
pub mod create;
pub mod files;
pub mod forwarding;
pub mod host_connection;
pub mod host_start;
pub mod hosting;
pub mod link;
pub mod live;
pub mod manage;
pub mod names;
pub mod notices;
pub mod records;
pub mod registry;
pub mod sharing;
pub mod summary;

pub use app::App;
pub use attachment::{Attachment, Messages, RECEIPT_DELAY, Receipts};
pub use link::LinkHandle;
pub use registry::{Registry, SessionEntry};
