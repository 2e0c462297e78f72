//! Configuration: the embedded defaults, then `config/foyer.toml` (or `--config`),
//! then `FOYER_*` environment variables, then command-line flags.
//!
//! Owns parsing and validation only. It must not open sockets, files other than
//! the config file, or the database; callers get a checked, typed `Config`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crate::wire::SizePolicy;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Deserializer, Serialize};

/// The file read when `--config` is not given; missing is fine.
pub const DEFAULT_CONFIG_PATH: &str = "config/foyer.toml";

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

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub ssh: SshConfig,
    pub web: WebConfig,
    pub auth: AuthConfig,
    pub data: DataConfig,
    pub database: DatabaseConfig,
    pub sessions: SessionsConfig,
    pub keys: KeysConfig,
    pub log: LogConfig,
    pub runtime: RuntimeConfig,
    pub metrics: MetricsConfig,
    pub presets: Vec<Preset>,
}

/// `/metrics` is served on the web listener; `listen` adds a listener of
/// its own (for a Prometheus that should not reach the web port).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    pub listen: Option<SocketAddr>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SshConfig {
    /// Address the SSH server listens on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Ed25519 host key, created (mode 0600) on first start.
    pub host_key: PathBuf,
    /// A connection that has not signed in after this long is closed.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// The key exchange methods offered, most preferred first.
    pub kex: Vec<KexAlgorithm>,
}

/// A key exchange method foyer can offer (russh implements these; it has
/// no sntrup761x25519-sha512).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum KexAlgorithm {
    /// Post-quantum hybrid (OpenSSH 9.9 and later).
    Mlkem768x25519Sha256,
    Curve25519Sha256,
    /// The same as `curve25519-sha256`, under its pre-RFC 8731 name.
    Curve25519Sha256Libssh,
}

impl KexAlgorithm {
    /// Every method foyer can offer.
    pub const ALL: [KexAlgorithm; 3] = [
        KexAlgorithm::Mlkem768x25519Sha256,
        KexAlgorithm::Curve25519Sha256,
        KexAlgorithm::Curve25519Sha256Libssh,
    ];
    /// Today's offer: post-quantum first, curve25519 for older clients.
    pub const DEFAULT: [KexAlgorithm; 3] = KexAlgorithm::ALL;

    /// The method's SSH name.
    pub fn name(self) -> &'static str {
        match self {
            KexAlgorithm::Mlkem768x25519Sha256 => "mlkem768x25519-sha256",
            KexAlgorithm::Curve25519Sha256 => "curve25519-sha256",
            KexAlgorithm::Curve25519Sha256Libssh => "curve25519-sha256@libssh.org",
        }
    }

    /// The known names, for messages.
    fn known() -> String {
        KexAlgorithm::ALL.map(KexAlgorithm::name).join(", ")
    }
}

impl TryFrom<String> for KexAlgorithm {
    type Error = String;
    fn try_from(name: String) -> Result<KexAlgorithm, String> {
        KexAlgorithm::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| {
                format!(
                    "unknown key exchange method `{name}` (known: {})",
                    KexAlgorithm::known()
                )
            })
    }
}

impl From<KexAlgorithm> for String {
    fn from(algorithm: KexAlgorithm) -> String {
        algorithm.name().to_string()
    }
}

/// Who may sign in besides registered keys, and how failures are limited.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// OpenSSH public-key lines of CAs whose user certificates are accepted.
    pub trusted_user_ca_keys: Vec<String>,
    /// Create the user named by a certificate's principal on first sign-in.
    pub auto_provision: bool,
    /// Failed sign-ins per address and minute before it is refused for a
    /// while; 0 turns the limit off.
    pub max_failures_per_minute: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// Address the web server listens on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The address people open, used in the links `link` prints (scheme,
    /// host, port, optional path prefix). Empty: `http://` + the address
    /// actually listened on.
    pub public_url: String,
    /// PEM certificate chain; with `tls_key`, the listener speaks HTTPS.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// How long a browser stays signed in after opening a `link`.
    #[serde(with = "humantime_serde")]
    pub session_ttl: Duration,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// Empty: SQLite at `<data.dir>/foyer.db`.
    pub url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionsConfig {
    /// Command for sessions started without one; empty means the login shell.
    pub default_command: Vec<String>,
    /// Scrollback lines written above the screen on attach.
    pub attach_scrollback: usize,
    /// Scrollback lines kept per session.
    pub scrollback_lines: usize,
    #[serde(with = "humantime_serde")]
    pub kill_grace: Duration,
    pub size_policy: SizePolicy,
    /// Bytes held for one client before it is switched to screen updates.
    pub client_buffer: ByteSize,
    #[serde(with = "humantime_serde")]
    pub sync_timeout: Duration,
    /// How long an exited session stays listed; 0 keeps it until `kill`.
    #[serde(with = "humantime_serde")]
    pub exited_retention: Duration,
    pub presets_only: bool,
    /// Record each session's output as asciicast v2 under
    /// `data/recordings/`.
    pub record: bool,
    /// Most sessions (running or exited) a user may have; 0: no limit.
    pub max_per_user: usize,
    /// Most clients attached to one session at once; 0: no limit.
    pub max_clients: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    /// The detach prefix, written as in tmux (`C-\`, `C-a`).
    pub prefix: KeyChord,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A tracing filter such as `info` or `foyer=debug`.
    pub level: String,
}

/// Where sessions' programs run (SPEC §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuntimeKind {
    Local,
    Docker,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeConfig {
    pub kind: RuntimeKind,
    pub local: LocalRuntimeConfig,
    pub docker: DockerRuntimeConfig,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LocalRuntimeConfig {
    /// Run each user's sessions as the OS account of the same name (needs root).
    pub os_users: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DockerRuntimeConfig {
    /// The engine's address (`unix:///path` or `tcp://host:port`); empty
    /// means `DOCKER_HOST`, else `unix:///var/run/docker.sock`.
    pub host: String,
    pub image: String,
    pub memory: ByteSize,
    pub cpus: f64,
    pub pids: i64,
    /// A Docker network mode: `none`, `bridge`, `host` or a network's name.
    pub network: String,
    pub read_only_root: bool,
    pub tmpfs_size: ByteSize,
    #[serde(with = "humantime_serde")]
    pub idle_stop: Duration,
    /// The home volume's name; `{user}` is replaced by the user name.
    pub home_volume: String,
    /// A user's uid (and gid) inside the container is `uid_base` + their id.
    pub uid_base: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    pub name: String,
    pub command: Vec<String>,
    #[serde(default)]
    pub restart_command: Option<Vec<String>>,
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
}

impl Default for SshConfig {
    fn default() -> Self {
        SshConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 2222)),
            host_key: PathBuf::from("keys/ssh_host_ed25519_key"),
            idle_timeout: Duration::from_secs(60),
            kex: KexAlgorithm::DEFAULT.to_vec(),
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            trusted_user_ca_keys: Vec::new(),
            auto_provision: false,
            max_failures_per_minute: 10,
        }
    }
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: String::new(),
            tls_cert: None,
            tls_key: None,
            session_ttl: Duration::from_secs(7 * 86_400),
        }
    }
}

impl WebConfig {
    /// The public URL without a trailing slash: `web.public_url`, or
    /// derived from the address the listener got (`bound`).
    pub fn public_base(&self, bound: SocketAddr) -> String {
        if !self.public_url.is_empty() {
            return self.public_url.trim_end_matches('/').to_string();
        }
        let scheme = if self.tls_cert.is_some() {
            "https"
        } else {
            "http"
        };
        let host = match bound.ip() {
            ip if ip.is_unspecified() => "localhost".to_string(),
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            ip => ip.to_string(),
        };
        format!("{scheme}://{host}:{}", bound.port())
    }

    fn validate(&self) -> Result<(), String> {
        if !self.public_url.is_empty() {
            let url = url::Url::parse(&self.public_url)
                .map_err(|e| format!("web.public_url: `{}` is not a URL: {e}", self.public_url))?;
            if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                return Err(format!(
                    "web.public_url: `{}` must be an http:// or https:// URL with a host",
                    self.public_url
                ));
            }
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err("web.tls_cert and web.tls_key: give both or neither".into());
        }
        if self.session_ttl.is_zero() {
            return Err("web.session_ttl: must be longer than 0s".into());
        }
        Ok(())
    }
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig {
            dir: PathBuf::from("data"),
        }
    }
}

impl Default for SessionsConfig {
    fn default() -> Self {
        SessionsConfig {
            default_command: Vec::new(),
            attach_scrollback: 1000,
            scrollback_lines: 10_000,
            kill_grace: Duration::from_secs(5),
            size_policy: SizePolicy::Smallest,
            client_buffer: ByteSize(1 << 20),
            sync_timeout: Duration::from_millis(500),
            exited_retention: Duration::ZERO,
            presets_only: false,
            record: false,
            max_per_user: 100,
            max_clients: 100,
        }
    }
}

impl Default for KeysConfig {
    fn default() -> Self {
        KeysConfig {
            prefix: KeyChord::parse("C-\\").expect("default prefix parses"),
        }
    }
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            kind: RuntimeKind::Local,
            local: LocalRuntimeConfig::default(),
            docker: DockerRuntimeConfig::default(),
        }
    }
}

impl Default for DockerRuntimeConfig {
    fn default() -> Self {
        DockerRuntimeConfig {
            host: String::new(),
            image: "foyer-user:latest".into(),
            memory: ByteSize(1 << 30),
            cpus: 1.0,
            pids: 512,
            network: "none".into(),
            read_only_root: true,
            tmpfs_size: ByteSize(64 << 20),
            idle_stop: Duration::from_secs(30 * 60),
            home_volume: "foyer-home-{user}".into(),
            uid_base: 100_000,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

/// A byte count written `64k`, `1m`, `2g` (binary units) or a plain number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl ByteSize {
    pub fn parse(text: &str) -> Result<ByteSize, String> {
        let trimmed = text.trim();
        // `k`, `m`, `g` alone mean KiB, MiB, GiB, as in Docker and tmux.
        let normalised = match trimmed.chars().last() {
            Some(c) if "kKmMgGtT".contains(c) => format!("{trimmed}iB"),
            _ => trimmed.to_string(),
        };
        normalised
            .parse::<bytesize::ByteSize>()
            .map(|size| ByteSize(size.as_u64()))
            .map_err(|_| format!("`{text}` is not a size (write 64k, 1m or 2g)"))
    }
}

impl Serialize for ByteSize {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(n) => Ok(ByteSize(n)),
            Raw::Text(t) => ByteSize::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

/// A key chord written as in tmux: `C-\`, `C-a`, `C-]`. Only control chords
/// make sense as a prefix, since the prefix byte is taken from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyChord {
    pub byte: u8,
}

impl KeyChord {
    pub fn parse(text: &str) -> Result<KeyChord, String> {
        let err = || format!("`{text}` is not a control key chord (write C-\\ or C-a)");
        let rest = text
            .strip_prefix("C-")
            .or_else(|| text.strip_prefix("^"))
            .ok_or_else(err)?;
        let mut chars = rest.chars();
        let (Some(c), None) = (chars.next(), chars.next()) else {
            return Err(err());
        };
        let upper = c.to_ascii_uppercase();
        if !('@'..='_').contains(&upper) {
            return Err(err());
        }
        Ok(KeyChord {
            byte: (upper as u8) & 0x1f,
        })
    }

    /// The chord written back as in tmux.
    pub fn name(&self) -> String {
        let c = (self.byte | 0x40) as char;
        format!("C-{}", c.to_ascii_lowercase())
    }
}

impl Serialize for KeyChord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for KeyChord {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        KeyChord::parse(&text).map_err(serde::de::Error::custom)
    }
}

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
        let path = match explicit {
            Some(path) => {
                std::fs::metadata(path).map_err(|source| ConfigError::Unreadable {
                    path: path.to_path_buf(),
                    source,
                })?;
                Some(path.to_path_buf())
            }
            None => Some(PathBuf::from(DEFAULT_CONFIG_PATH)).filter(|p| p.exists()),
        };
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

    fn validate(&self) -> Result<(), ConfigError> {
        let fail = |msg: String| Err(ConfigError::Invalid(msg));
        if self.sessions.scrollback_lines > 1_000_000 {
            return fail("sessions.scrollback_lines: at most 1000000".into());
        }
        if self.sessions.client_buffer.0 < 4096 {
            return fail("sessions.client_buffer: at least 4k".into());
        }
        self.web.validate().map_err(ConfigError::Invalid)?;
        let mut seen = std::collections::HashSet::new();
        for preset in &self.presets {
            if preset.command.is_empty() {
                return fail(format!(
                    "presets: preset `{}` has an empty command",
                    preset.name
                ));
            }
            if !seen.insert(preset.name.as_str()) {
                return fail(format!(
                    "presets: preset `{}` is defined twice",
                    preset.name
                ));
            }
        }
        self.validate_docker()?;
        self.validate_auth()?;
        if self.sessions.presets_only
            && !self.sessions.default_command.is_empty()
            && !self.is_preset_command(&self.sessions.default_command)
        {
            return fail(
                "sessions.default_command: with presets_only it must be a preset's command".into(),
            );
        }
        Ok(())
    }

    fn validate_docker(&self) -> Result<(), ConfigError> {
        let docker = &self.runtime.docker;
        let fail = |msg: &str| Err(ConfigError::Invalid(format!("runtime.docker.{msg}")));
        if docker.image.trim().is_empty() {
            return fail("image: must name an image");
        }
        if !(docker.cpus > 0.0 && docker.cpus <= 1024.0) {
            return fail("cpus: between 0 and 1024");
        }
        if docker.pids < 1 {
            return fail("pids: at least 1");
        }
        if docker.memory.0 < 6 << 20 {
            return fail("memory: at least 6m (Docker's minimum)");
        }
        if docker.tmpfs_size.0 == 0 {
            return fail("tmpfs_size: more than 0");
        }
        if !docker.home_volume.contains("{user}") {
            return fail("home_volume: must contain {user}, or users would share a home");
        }
        Ok(())
    }

    fn validate_auth(&self) -> Result<(), ConfigError> {
        let fail = |msg: String| Err(ConfigError::Invalid(msg));
        if self.ssh.idle_timeout.is_zero() {
            return fail(
                "ssh.idle_timeout: more than 0 (unauthenticated connections must end)".into(),
            );
        }
        if self.ssh.kex.is_empty() {
            return fail(format!(
                "ssh.kex: name at least one key exchange method (known: {})",
                KexAlgorithm::known()
            ));
        }
        for (index, line) in self.auth.trusted_user_ca_keys.iter().enumerate() {
            if let Err(error) = russh::keys::PublicKey::from_openssh(line.trim()) {
                return fail(format!(
                    "auth.trusted_user_ca_keys[{index}]: not an OpenSSH public-key line ({error})"
                ));
            }
        }
        Ok(())
    }

    pub fn preset(&self, name: &str) -> Option<&Preset> {
        self.presets.iter().find(|p| p.name == name)
    }

    pub fn is_preset_command(&self, command: &[String]) -> bool {
        self.presets.iter().any(|p| p.command == command)
    }

    /// The database URL, defaulting to SQLite inside the data directory.
    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!("sqlite://{}", self.data.dir.join("foyer.db").display())
        } else {
            self.database.url.clone()
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_use_binary_units() {
        assert_eq!(ByteSize::parse("1m").unwrap().0, 1 << 20);
        assert_eq!(ByteSize::parse("64k").unwrap().0, 64 << 10);
        assert_eq!(ByteSize::parse("2g").unwrap().0, 2 << 30);
        assert_eq!(ByteSize::parse("100").unwrap().0, 100);
        assert!(ByteSize::parse("lots").is_err());
    }

    #[test]
    fn chords_parse_like_tmux() {
        assert_eq!(KeyChord::parse("C-\\").unwrap().byte, 0x1c);
        assert_eq!(KeyChord::parse("C-a").unwrap().byte, 0x01);
        assert_eq!(KeyChord::parse("C-]").unwrap().byte, 0x1d);
        assert!(KeyChord::parse("a").is_err());
        assert!(KeyChord::parse("C-ab").is_err());
        assert_eq!(KeyChord::parse("C-a").unwrap().name(), "C-a");
    }

    #[test]
    fn unknown_key_is_named_with_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("foyer.toml");
        std::fs::write(&path, "[sessions]\nscrolback_lines = 5\n").unwrap();
        let err = Config::load(Some(&path), Overrides::default()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("scrolback_lines"), "{text}");
        assert!(text.contains("foyer.toml"), "{text}");
    }

    #[test]
    fn bad_value_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("foyer.toml");
        std::fs::write(&path, "[sessions]\nkill_grace = \"soon\"\n").unwrap();
        let text = Config::load(Some(&path), Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(text.contains("sessions.kill_grace"), "{text}");
    }

    #[test]
    fn runtime_defaults_follow_the_spec() {
        let runtime = Config::default().runtime;
        assert_eq!(runtime.kind, RuntimeKind::Local);
        assert!(!runtime.local.os_users);
        let docker = runtime.docker;
        assert_eq!(docker.memory, ByteSize(1 << 30));
        assert_eq!(docker.cpus, 1.0);
        assert_eq!(docker.pids, 512);
        assert_eq!(docker.network, "none");
        assert!(docker.read_only_root);
        assert_eq!(docker.tmpfs_size, ByteSize(64 << 20));
        assert_eq!(docker.idle_stop, Duration::from_secs(30 * 60));
        assert_eq!(docker.home_volume, "foyer-home-{user}");
    }

    #[test]
    fn a_shared_home_volume_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("foyer.toml");
        std::fs::write(&path, "[runtime.docker]\nhome_volume = \"homes\"\n").unwrap();
        let text = Config::load(Some(&path), Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(text.contains("runtime.docker.home_volume"), "{text}");
    }

    #[test]
    fn auth_defaults_and_bad_ca_lines() {
        let defaults = Config::default();
        assert_eq!(defaults.ssh.idle_timeout, Duration::from_secs(60));
        assert_eq!(defaults.auth.max_failures_per_minute, 10);
        assert!(!defaults.auth.auto_provision);
        assert!(defaults.auth.trusted_user_ca_keys.is_empty());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("foyer.toml");
        std::fs::write(
            &path,
            "[auth]\ntrusted_user_ca_keys = [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDZh/+pXPQ18UCpSnqmESwcXlryg6I1sSvF6ZCgyrtDw ca\", \"not a key\"]\n",
        )
        .unwrap();
        let text = Config::load(Some(&path), Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(text.contains("auth.trusted_user_ca_keys[1]"), "{text}");
        std::fs::write(&path, "[ssh]\nidle_timeout = \"0s\"\n").unwrap();
        let text = Config::load(Some(&path), Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(text.contains("ssh.idle_timeout"), "{text}");
        std::fs::write(
            &path,
            "[ssh]\nidle_timeout = \"1s\"\n[auth]\nauto_provision = true\n",
        )
        .unwrap();
        let config = Config::load(Some(&path), Overrides::default()).unwrap();
        assert_eq!(config.ssh.idle_timeout, Duration::from_secs(1));
        assert!(config.auth.auto_provision);
    }

    #[test]
    fn kex_defaults_to_mlkem_first_and_names_only_known_methods() {
        assert_eq!(
            Config::default().ssh.kex,
            [
                KexAlgorithm::Mlkem768x25519Sha256,
                KexAlgorithm::Curve25519Sha256,
                KexAlgorithm::Curve25519Sha256Libssh
            ]
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("foyer.toml");
        std::fs::write(&path, "[ssh]\nkex = [\"mlkem768x25519-sha256\"]\n").unwrap();
        let config = Config::load(Some(&path), Overrides::default()).unwrap();
        assert_eq!(config.ssh.kex, [KexAlgorithm::Mlkem768x25519Sha256]);
        for bad in ["[\"sntrup761x25519-sha512\"]", "[]"] {
            std::fs::write(&path, format!("[ssh]\nkex = {bad}\n")).unwrap();
            let text = Config::load(Some(&path), Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(text.contains("ssh.kex"), "{text}");
            assert!(text.contains("known: mlkem768x25519-sha256"), "{text}");
        }
    }

    #[test]
    fn committed_default_file_parses_to_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_CONFIG_PATH);
        let config = Config::load(Some(&path), Overrides::default()).unwrap();
        let defaults = Config::default();
        assert_eq!(config.ssh.listen, defaults.ssh.listen);
        assert_eq!(
            config.sessions.client_buffer,
            defaults.sessions.client_buffer
        );
        assert_eq!(config.keys.prefix, defaults.keys.prefix);
        assert_eq!(config.runtime.kind, defaults.runtime.kind);
        assert_eq!(config.runtime.docker.image, defaults.runtime.docker.image);
        assert_eq!(config.ssh.idle_timeout, defaults.ssh.idle_timeout);
        assert_eq!(config.ssh.kex, defaults.ssh.kex);
        assert_eq!(
            config.auth.max_failures_per_minute,
            defaults.auth.max_failures_per_minute
        );
        assert_eq!(config.web.listen, defaults.web.listen);
        assert_eq!(config.web.session_ttl, defaults.web.session_ttl);
    }

    #[test]
    fn public_url_is_checked_and_derived() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("foyer.toml");
        std::fs::write(&path, "[web]\npublic_url = \"ftp://x\"\n").unwrap();
        let text = Config::load(Some(&path), Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(text.contains("web.public_url"), "{text}");
        let web = WebConfig::default();
        let bound = SocketAddr::from(([0, 0, 0, 0], 9000));
        assert_eq!(web.public_base(bound), "http://localhost:9000");
        let web = WebConfig {
            public_url: "https://foyer.example/".into(),
            ..WebConfig::default()
        };
        assert_eq!(web.public_base(bound), "https://foyer.example");
    }
}
