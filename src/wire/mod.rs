//! The wire between the gateway and a session host: plain data, the same
//! on both ends. `session` is what both ends say about a session (ids,
//! sizes, roles, settings, status); `protocol` the messages and their
//! framing; `output_frame` a client's output frames without copies;
//! `launch` what a host is started with and where its sockets live;
//! `control` the signals a writer may send and why a request is refused.
//!
//! Must not import anything of foyer: both processes build on it.

pub mod control;
pub mod launch;
pub mod output_frame;
pub mod protocol;
pub mod session;

pub use session::{
    AttentionCleared, ClientId, FinalScreen, HubSettings, HubStatus, Participant, Role,
    ScreenPreview, SessionId, Size, SizePolicy,
};
