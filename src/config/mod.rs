//! Configuration: the embedded defaults, then `config/foyer.toml` (or `--config`),
//! then `FOYER_*` environment variables, then command-line flags.
//!
//! Owns parsing and validation only. It must not open sockets, files other than
//! the config file, or the database; callers get a checked, typed `Config`.
//!
//! This file only names the pieces and re-exports them as `crate::config::X`:
//! `sections` and `runtime` hold the shapes and defaults, `values` and `kex`
//! the values written as text, `load` the merging of sources, `validate`
//! the checks, `error` the error. The pieces never import this file.

mod error;
mod kex;
mod load;
mod runtime;
mod sections;
mod validate;
mod values;

#[cfg(test)]
mod tests;

pub use crate::wire::SizePolicy;
pub use error::ConfigError;
pub use kex::KexAlgorithm;
pub use load::{DEFAULT_CONFIG_PATH, Overrides};
pub use runtime::{DockerRuntimeConfig, LocalRuntimeConfig, RuntimeConfig, RuntimeKind};
pub use sections::{
    AuthConfig, Config, DataConfig, DatabaseConfig, KeysConfig, LogConfig, LogFormat,
    MetricsConfig, NotifyConfig, Preset, SessionsConfig, SshConfig, WebConfig,
};
pub use values::{ByteSize, KeyChord};
