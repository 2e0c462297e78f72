//! The picker: the full-screen session list `ssh -t host` opens, with a
//! live preview of the selected session (SPEC §6).
//!
//! `state` is the pure state machine (events in, actions out; its pieces
//! are `model`, `list`, `dialogs`, `fields` and `idle`), `view`
//! draws it with ratatui, `preview` draws a session's screen and picks
//! colors for the client's terminal, `keys` decodes the client's bytes
//! into key events, and `backend` turns frames into bytes for the
//! connection. The SSH side (`ssh/run_picker.rs`) drives it.
//!
//! Must not touch sessions or the network: the driver does both.

pub mod backend;
mod dialogs;
mod fields;
mod idle;
pub mod keys;
mod list;
mod model;
pub mod preview;
mod rows;
pub mod state;
pub mod view;

#[cfg(test)]
mod tests;

pub use backend::ChannelBackend;
pub use keys::KeyDecoder;
pub use preview::Palette;
pub use state::{Action, Choice, Dialog, Picker, SessionRow, Start};
pub use view::{Scene, draw};
