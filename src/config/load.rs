//! Loading: the embedded defaults, then the config file, then `FOYER_*`
//! environment variables (and `DATABASE_URL`), then command-line flags.
//!
//! Owns merging the sources and wording their errors; it must not open
//! anything but the config file, and leaves the checks to `validate`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::Serialize;

use super::error::ConfigError;
use super::sections::Config;

/// The file read when `--config` is not given; missing is fine.
pub const DEFAULT_CONFIG_PATH: &str = "config/foyer.toml";

/// Values given on the command line; they win over file and environment.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssh_listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

impl Overrides {
    fn into_figment(self) -> Figment {
        let mut figment = Figment::new();
        if let Some(listen) = self.ssh_listen {
            figment = figment.merge(Serialized::default("ssh.listen", listen));
        }
        if let Some(listen) = self.web_listen {
            figment = figment.merge(Serialized::default("web.listen", listen));
        }
        if let Some(dir) = self.data_dir {
            figment = figment.merge(Serialized::default("data.dir", dir));
        }
        if let Some(url) = self.database_url {
            figment = figment.merge(Serialized::default("database.url", url));
        }
        figment
    }
}

impl Config {
    /// Loads the configuration. `explicit` is the `--config` path, which must
    /// exist; without it `config/foyer.toml` is read when present.
    pub fn load(explicit: Option<&Path>, overrides: Overrides) -> Result<Config, ConfigError> {
        let path = config_file(explicit)?;
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = &path {
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment
            .merge(Env::prefixed("FOYER_").split("__"))
            .merge(
                Env::raw()
                    .only(&["DATABASE_URL"])
                    .map(|_| "database.url".into()),
            )
            .merge(overrides.into_figment());
        let config: Config = figment
            .extract()
            .map_err(|e| ConfigError::Invalid(describe(e)))?;
        config.validate()?;
        Ok(config)
    }
}

/// The file to read: `explicit`, which must exist, or the default file
/// when it is present.
fn config_file(explicit: Option<&Path>) -> Result<Option<PathBuf>, ConfigError> {
    match explicit {
        Some(path) => {
            std::fs::metadata(path).map_err(|source| ConfigError::Unreadable {
                path: path.to_path_buf(),
                source,
            })?;
            Ok(Some(path.to_path_buf()))
        }
        None => Ok(Some(PathBuf::from(DEFAULT_CONFIG_PATH)).filter(|p| p.exists())),
    }
}

/// One readable line per problem, naming the key and where it came from.
fn describe(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|e| {
            let key = if e.path.is_empty() {
                String::new()
            } else {
                format!("`{}`: ", e.path.join("."))
            };
            let source = e
                .metadata
                .as_ref()
                .map(|m| match &m.source {
                    Some(figment::Source::File(path)) => format!(" (in {})", path.display()),
                    _ => format!(" (from {})", m.name),
                })
                .unwrap_or_default();
            format!("{key}{}{source}", e.kind)
        })
        .collect::<Vec<_>>()
        .join("; ")
}
