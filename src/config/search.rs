//! Where the configuration file and the data directory are looked for:
//! `--config`, else `$FOYER_CONFIG`, else `./config/foyer.toml`, else
//! `/etc/foyer/foyer.toml` (none is fine); systemd's `$STATE_DIRECTORY`
//! for `data.dir` when nothing else names one.
//!
//! Owns the search order only; it must not read a file's contents (that is
//! `load`). It takes the environment's values as arguments, so tests need
//! not change the process's environment.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::error::ConfigError;

/// The file read when neither `--config` nor `$FOYER_CONFIG` names one,
/// if it exists (relative to the working directory).
pub const DEFAULT_CONFIG_PATH: &str = "config/foyer.toml";

/// The system-wide file, read when the default one does not exist.
pub const SYSTEM_CONFIG_PATH: &str = "/etc/foyer/foyer.toml";

/// The variable naming the config file when `--config` is not given.
pub const CONFIG_VARIABLE: &str = "FOYER_CONFIG";

/// The config file to read: `flag` or `variable` (which must exist: a file
/// someone named and that is not there is a bad configuration), else the
/// first of `candidates` that exists, else none.
pub fn config_file(
    flag: Option<&Path>,
    variable: Option<OsString>,
    candidates: &[&Path],
) -> Result<Option<PathBuf>, ConfigError> {
    let named = match (flag, variable.filter(|v| !v.is_empty())) {
        (Some(path), _) => Some((path.to_path_buf(), "--config")),
        (None, Some(path)) => Some((PathBuf::from(path), CONFIG_VARIABLE)),
        (None, None) => None,
    };
    if let Some((path, named_by)) = named {
        return must_exist(path, named_by).map(Some);
    }
    Ok(candidates
        .iter()
        .find(|path| path.is_file())
        .map(|path| path.to_path_buf()))
}

/// `path` if it can be opened for reading.
fn must_exist(path: PathBuf, named_by: &'static str) -> Result<PathBuf, ConfigError> {
    match std::fs::File::open(&path) {
        Ok(_) => Ok(path),
        Err(source) => Err(ConfigError::Unreadable {
            path,
            named_by,
            source,
        }),
    }
}

/// The data directory systemd made (`StateDirectory=`): the first entry of
/// `$STATE_DIRECTORY`'s colon-separated list, if any.
pub fn state_directory(variable: Option<OsString>) -> Option<PathBuf> {
    let value = variable?;
    let first = value.to_str()?.split(':').next()?;
    Some(PathBuf::from(first)).filter(|p| !p.as_os_str().is_empty())
}
