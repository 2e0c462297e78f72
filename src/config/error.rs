//! The one error type of loading a configuration.
//!
//! Owns only the error's shape and wording; it must not decide what is
//! valid (that is `validate`) or read anything.

use std::path::PathBuf;

/// A bad configuration: the binary exits 78 (EX_CONFIG) for any of these,
/// so a service manager does not restart it in a loop.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A key is unknown or its value is refused; the text names the key,
    /// where the value came from and why.
    #[error("configuration error: {0}")]
    Invalid(String),
    /// The file `--config` or `$FOYER_CONFIG` names cannot be read
    /// (missing included).
    #[error("cannot read config file {path} (named by {named_by})")]
    Unreadable {
        path: PathBuf,
        named_by: &'static str,
        source: std::io::Error,
    },
}
