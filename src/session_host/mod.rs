//! Session hosts: one small process per user with running sessions that
//! owns, per session, its program, its PTY, its terminal state and its
//! recording, so that programs and screens outlive the gateway (`foyer
//! serve`). See
//! docs/architecture.md, "Processes: the gateway and the session hosts".
//!
//! `protocol` is the plain-data protocol between gateway and host;
//! `launch` is what a host is started with and how the gateway starts one;
//! `host` is the host process itself and `server` its side of the socket;
//! `connect` is the gateway's side of the socket.
//!
//! Must not know SSH, HTTP or the database: the gateway's session link
//! (`session::link`) turns what a host reports into records and audit.

pub mod connect;
pub mod host;
pub mod launch;
pub(crate) mod output_frame;
pub mod protocol;
mod server;
