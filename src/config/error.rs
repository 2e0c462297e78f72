//! The one error type of loading a configuration.
//!
//! Owns only the error's shape and wording; it must not decide what is
//! valid (that is `validate`) or read anything.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration error: {0}")]
    Invalid(String),
    #[error("cannot read config file {path}: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
}
