//! foyer: an SSH front door for shared, persistent terminal sessions.
//!
//! `ssh` accepts connections and runs verbs; `session` keeps the programs
//! and their screens; `runtime` starts programs; `store` is the database;
//! `config` reads the settings; `admin` is the local command line.

pub mod admin;
pub mod app;
pub mod audit;
pub mod config;
pub mod metrics;
pub mod picker;
pub mod runtime;
pub mod session;
pub mod ssh;
pub mod store;
