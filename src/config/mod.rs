//! Configuration: the embedded defaults, then the config file (`--config`,
//! `$FOYER_CONFIG`, `config/foyer.toml` or `/etc/foyer/foyer.toml`), then
//! `FOYER_*` environment variables, then command-line flags.
//!
//! Owns parsing and validation only. It must not open sockets, files other than
//! the config file, or the database; callers get a checked, typed `Config`.
//!
//! This file only names the pieces and re-exports them as `crate::config::X`:
//! `sections` and `runtime` hold the shapes and defaults, `values` and `kex`
//! the values written as text, `search` where the file is looked for,
//! `cluster` the `[cluster]` section, `environment` which `FOYER_*` variables name keys, `load` the merging
//! of sources, `validate` the checks, `print` the TOML of `config check
//! --print`, `error` the error. The pieces never import this file.

mod cluster;
mod environment;
mod error;
mod kex;
mod load;
mod misread;
mod print;
mod runtime;
mod search;
mod sections;
mod validate;
mod values;

#[cfg(test)]
mod tests;

pub use crate::wire::SizePolicy;
pub use cluster::ClusterConfig;
pub use environment::{IgnoredVariable, ignored_variables};
pub use error::ConfigError;
pub use kex::KexAlgorithm;
pub use load::{Loaded, Overrides, Sources};
pub use runtime::{DockerRuntimeConfig, LocalRuntimeConfig, RuntimeConfig, RuntimeKind};
pub use search::{CONFIG_VARIABLE, DEFAULT_CONFIG_PATH, SYSTEM_CONFIG_PATH};
pub use sections::{
    AuthConfig, Config, DataConfig, DatabaseConfig, KeysConfig, LogConfig, LogFormat,
    MetricsConfig, NotifyConfig, Preset, SessionsConfig, SshConfig, WebConfig,
};
pub use values::{ByteSize, KeyChord};
