//! foyer: an SSH front door for shared, persistent terminal sessions.
//!
//! `ssh` accepts connections and runs verbs; `web` serves browsers and
//! the JSON API; `session` keeps the programs
//! and their screens; `session_host` is the process that runs one session
//! and outlives the server; `runtime` starts programs; `store` is the database;
//! `config` reads the settings; `admin` is the local command line;
//! `announce` is what `serve` tells its operator at start.

pub mod admin;
pub mod announce;
pub mod app;
pub mod audit;
pub mod config;
pub mod metrics;
pub mod picker;
pub mod runtime;
pub mod session;
pub mod session_host;
pub mod ssh;
pub mod store;
pub mod web;
