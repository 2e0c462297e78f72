//! The engine: what runs one session, inside its session host. The hub
//! (`hub`: its handle and messages; `hub_task`: its loop, with `delivery`
//! to clients) owns the program (`program`, which also says what a
//! runtime hands back), the terminal model (`terminal`, with `scrollback`,
//! `queries`, `notification` and `cells`; `screen_cell` is its cells, read-only, for
//! drawing elsewhere), the client table (`clients`), `render` and the
//! recording (`recording`); `changes` signals what live views show.
//!
//! Must not know a socket, SSH, HTTP, the database, metrics or the
//! configuration file: it imports `wire` and `clock` only.

mod cells;
pub mod changes;
pub mod clients;
pub mod hub;
pub mod hub_task;
pub mod notification;
pub mod program;
pub mod queries;
pub mod recording;
pub mod render;
pub mod screen_cell;
mod scrollback;
pub mod terminal;

pub use changes::Changes;
pub use clients::{ClientTable, Delivery};
pub use hub::{AttachError, Attachment, ClientMessage, HubGone, HubHandle, Messages, Receipts};
pub use screen_cell::{CellColor, ScreenCell};
pub use terminal::Terminal;
