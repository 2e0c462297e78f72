//! The whole `Config` and its sections other than `[runtime]`, with the
//! embedded defaults and the lookups callers make on a loaded config.
//!
//! Owns the shape and the defaults only; it must not read files or the
//! environment (that is `load`) or reject values (that is `validate`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::cluster::ClusterConfig;
use super::kex::KexAlgorithm;
use super::runtime::RuntimeConfig;
use super::values::{ByteSize, KeyChord};
use crate::wire::SizePolicy;

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
    pub notify: NotifyConfig,
    pub cluster: ClusterConfig,
    pub presets: Vec<Preset>,
}

/// `/metrics` is served on the web listener; `listen` adds a listener of
/// its own (for a Prometheus that should not reach the web port).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    pub listen: Option<SocketAddr>,
}

/// Where a session's attention is sent beyond `ls`, the picker and the
/// browser (SPEC section 11).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// An SSH client attached to one session receives an OSC 9 notice when
    /// another session its user can write to starts wanting attention.
    pub forward: bool,
    /// http or https URL that gets a JSON POST each time a session starts
    /// wanting attention; unset: none.
    pub webhook_url: Option<String>,
    /// At most one POST per session in this long.
    #[serde(with = "humantime_serde")]
    pub webhook_min_interval: Duration,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            forward: true,
            webhook_url: None,
            webhook_min_interval: Duration::from_secs(60),
        }
    }
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
    /// The largest file a writer may upload from the terminal page.
    pub upload_max: ByteSize,
    /// The largest file the file view shows.
    pub file_view_max: ByteSize,
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
            upload_max: ByteSize(20 << 20),
            file_view_max: ByteSize(1 << 20),
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

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

impl Config {
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

    /// The SQLite file the database URL names; `None` for PostgreSQL or an
    /// in-memory database.
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        let url = self.database_url();
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))?;
        let (path, params) = rest.split_once('?').unwrap_or((rest, ""));
        let in_memory =
            path.is_empty() || path == ":memory:" || params.split('&').any(|p| p == "mode=memory");
        (!in_memory).then(|| PathBuf::from(path))
    }
}
