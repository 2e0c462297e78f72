//! foyer: an SSH front door for shared, persistent terminal sessions.
//!
//! The modules follow the two processes and the wire between them, and
//! every import runs one way (docs/architecture.md, "The house"; checked
//! by tests/layering.rs): `clock`, `wire` (the gateway-host protocol)
//! and `transport` (how its bytes reach a host on another machine: TLS
//! and a route) at the bottom; the leaves `config`, `store`, `metrics`; `audit` and
//! `logging` (log lines' format and filter, for both processes);
//! `engine` (what runs one session, in a host); `runtime` (where programs
//! run); `host` (the session-host process) and `gateway` (the server's
//! view of sessions, each lifecycle step and `App`, what every transport
//! shares); `picker`; the
//! transports `ssh`, `web` and `webhook` (attention POSTed out); `admin`,
//! `announce`, `reload` (`SIGHUP`) and `server` (what `foyer serve` starts
//! and stops, in order) for the binary, which tells a
//! service manager how it does through `systemd`, a leaf.

// No function over 80 lines (clippy.toml sets the threshold).
#![warn(clippy::too_many_lines)]

pub mod admin;
pub mod announce;
pub mod audit;
pub mod clock;
pub mod config;
pub mod engine;
pub mod gateway;
pub mod host;
pub mod logging;
pub mod metrics;
pub mod picker;
pub mod reload;
pub mod runtime;
pub mod server;
pub mod ssh;
pub mod store;
pub mod systemd;
pub mod transport;
pub mod web;
pub mod webhook;
pub mod wire;
