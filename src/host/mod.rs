//! The session-host process (`foyer session-host`): one per user with
//! running sessions, outliving the gateway. `process` is its start, its
//! owner socket and its sessions' lifetimes; `peer` who may connect to
//! its sockets; `server` its side of each session's socket (control,
//! clients, watchers), serving the engine's hubs to the gateway over the
//! wire; `remote` its TLS door for gateways on other machines. See docs/architecture.md,
//! "Processes: the gateway and the session hosts".
//!
//! Must not know the gateway's modules, SSH, HTTP or the database.

mod peer;
pub mod process;
mod remote;
mod server;
