//! Loading: the embedded defaults, then systemd's `$STATE_DIRECTORY` as
//! `data.dir`, then the config file (found by `search`), then `FOYER_*`
//! environment variables (and `DATABASE_URL`), then command-line flags.
//!
//! Owns merging the sources and wording their errors; it must not open
//! anything but the config file, and leaves the checks to `validate`.
//! [`Sources::load`] reads every source again each time it is called, so a
//! reload is one more call.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Data, Env, Format, Serialized, Toml};
use serde::Serialize;

use super::environment::{self, IgnoredVariable};
use super::error::ConfigError;
use super::misread::{self, EnvironmentValue};
use super::search::{self, CONFIG_VARIABLE, DEFAULT_CONFIG_PATH, SYSTEM_CONFIG_PATH};
use super::sections::Config;

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

/// Where a configuration comes from: the `--config` flag and the other
/// flags. The environment and the files are read at each [`Sources::load`].
#[derive(Debug, Default, Clone)]
pub struct Sources {
    /// `--config PATH`; without it `$FOYER_CONFIG`, then the default files.
    pub file: Option<PathBuf>,
    pub overrides: Overrides,
}

/// A loaded, checked configuration and what was learnt on the way.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// The file read, if any.
    pub file: Option<PathBuf>,
    /// `FOYER_*` variables that name no key: the caller warns about each
    /// (to stderr before logging starts, or as a log line).
    pub ignored: Vec<IgnoredVariable>,
}

impl Sources {
    /// Reads the file, the environment and the flags (again) and checks
    /// the result.
    pub fn load(&self) -> Result<Loaded, ConfigError> {
        let candidates = [
            Path::new(DEFAULT_CONFIG_PATH),
            Path::new(SYSTEM_CONFIG_PATH),
        ];
        let file = search::config_file(
            self.file.as_deref(),
            std::env::var_os(CONFIG_VARIABLE),
            &candidates,
        )?;
        let state = search::state_directory(std::env::var_os("STATE_DIRECTORY"));
        let config = merge(
            file.as_deref().map(Toml::file_exact),
            state,
            self.overrides.clone(),
        )?;
        Ok(Loaded {
            config,
            file,
            ignored: environment::ignored_variables(std::env::vars_os()),
        })
    }
}

impl Config {
    /// Loads the configuration from `file` (which must exist when given;
    /// without it the search of [`Sources::load`] applies), the environment
    /// and `overrides`.
    pub fn load(file: Option<&Path>, overrides: Overrides) -> Result<Config, ConfigError> {
        let sources = Sources {
            file: file.map(Path::to_path_buf),
            overrides,
        };
        Ok(sources.load()?.config)
    }

    /// The configuration a config file holding `text` gives, with the
    /// environment and no flags: what [`Sources::load`] merges, the file's
    /// text given instead of read (the fuzz target `config`).
    #[doc(hidden)]
    pub fn from_toml_text(text: &str) -> Result<Config, ConfigError> {
        merge(Some(Toml::string(text)), None, Overrides::default())
    }
}

/// Merges the sources in order and checks the result.
fn merge(
    file: Option<Data<Toml>>,
    state_directory: Option<PathBuf>,
    overrides: Overrides,
) -> Result<Config, ConfigError> {
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    if let Some(dir) = state_directory {
        figment = figment.merge(Serialized::default("data.dir", dir));
    }
    if let Some(file) = file {
        figment = figment.merge(file);
    }
    let keys = Env::prefixed(environment::PREFIX)
        .split(environment::SEPARATOR)
        .filter(|key| environment::names_a_key(key.as_str()));
    let database_url = Env::raw()
        .only(&["DATABASE_URL"])
        .map(|_| "database.url".into());
    // What figment will read, exactly as it will read it.
    misread::refuse_misread(
        keys.iter()
            .map(|(key, value)| EnvironmentValue {
                name: environment::variable_of(key.as_str()),
                key: key.to_string(),
                value,
            })
            .chain(database_url.iter().map(|(key, value)| EnvironmentValue {
                name: "DATABASE_URL".into(),
                key: key.to_string(),
                value,
            })),
    )?;
    figment = figment
        .merge(keys)
        .merge(database_url)
        .merge(overrides.into_figment());
    let config: Config = figment
        .extract()
        .map_err(|e| ConfigError::Invalid(describe(e)))?;
    config.validate().map_err(|e| with_source(e, &figment))?;
    Ok(config)
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
            let source = e.metadata.as_ref().map(source_name).unwrap_or_default();
            format!("{key}{}{source}", e.kind)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// ` (in FILE)`, ` (from SOURCE)`, or nothing for the defaults.
fn source_name(metadata: &figment::Metadata) -> String {
    match &metadata.source {
        Some(figment::Source::File(path)) => format!(" (in {})", path.display()),
        _ if metadata.name.ends_with("::Config") => String::new(),
        // A value of ours (figment names it by its Rust type).
        _ if metadata.name.contains("::") => " (from the command line)".into(),
        _ => format!(" (from {})", metadata.name),
    }
}

/// A refusal of `validate` (`key: reason`) with where the key's value
/// came from, when that was not the defaults.
fn with_source(error: ConfigError, figment: &Figment) -> ConfigError {
    let ConfigError::Invalid(text) = error else {
        return error;
    };
    let key: String = text
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.'))
        .collect();
    let source = figment
        .find_metadata(&key)
        .map(source_name)
        .unwrap_or_default();
    ConfigError::Invalid(format!("{text}{source}"))
}
