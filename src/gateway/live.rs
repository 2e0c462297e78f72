//! The settings that change while the server runs: on `SIGHUP` the
//! server reads its configuration again and, when it is good, sends the
//! new values here (SPEC §12). Readers take the current value each time
//! they use one, so a reload reaches the next sign-in, session, attach
//! or upload, and nothing already running is dropped.
//!
//! Owns the list of what a reload changes and what it cannot. The one
//! sender is the reloader at the binary's edge; it must not be reached
//! from anywhere else. The web's TLS certificate changes with a reload
//! too, but it is the web server's (`web::tls`), not here.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::config::Config;

/// What a reload changes, as the gateway uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSettings {
    /// `auth.trusted_user_ca_keys`: the CAs whose user certificates sign
    /// people in.
    pub trusted_user_ca_keys: Vec<String>,
    /// `auth.max_failures_per_minute`.
    pub max_failures_per_minute: u32,
    /// `ssh.idle_timeout`: how long a connection may take to sign in.
    pub idle_timeout: Duration,
    /// `sessions.max_per_user`.
    pub max_per_user: usize,
    /// `sessions.max_clients`, for sessions started from now on (a
    /// running session keeps the limit it started with).
    pub max_clients: usize,
    /// `web.upload_max` and `web.file_view_max`, in bytes.
    pub upload_max: u64,
    pub file_view_max: u64,
}

impl LiveSettings {
    pub fn of(config: &Config) -> LiveSettings {
        LiveSettings {
            trusted_user_ca_keys: config.auth.trusted_user_ca_keys.clone(),
            max_failures_per_minute: config.auth.max_failures_per_minute,
            idle_timeout: config.ssh.idle_timeout,
            max_per_user: config.sessions.max_per_user,
            max_clients: config.sessions.max_clients,
            upload_max: config.web.upload_max.0,
            file_view_max: config.web.file_view_max.0,
        }
    }
}

/// The current settings, for readers.
pub type Live = watch::Receiver<Arc<LiveSettings>>;

/// The settings' one sender and their first value.
pub fn channel(config: &Config) -> (watch::Sender<Arc<LiveSettings>>, Live) {
    watch::channel(Arc::new(LiveSettings::of(config)))
}

/// The configuration keys a reload cannot apply, among those that differ
/// between `running` and `new`: they take effect at the next start.
pub fn needs_restart(running: &Config, new: &Config) -> Vec<&'static str> {
    let mut keys = Vec::new();
    let mut differs = |key: &'static str, changed: bool| {
        if changed {
            keys.push(key);
        }
    };
    differs("ssh.listen", running.ssh.listen != new.ssh.listen);
    differs("ssh.host_key", running.ssh.host_key != new.ssh.host_key);
    differs("ssh.kex", running.ssh.kex != new.ssh.kex);
    differs("web.listen", running.web.listen != new.web.listen);
    differs(
        "web.public_url",
        !new.web.public_url.is_empty() && running.web.public_url != new.web.public_url,
    );
    differs(
        "web.tls_cert/web.tls_key (on or off)",
        running.web.tls_cert.is_some() != new.web.tls_cert.is_some(),
    );
    differs("data.dir", running.data.dir != new.data.dir);
    differs("database.url", running.database.url != new.database.url);
    differs("runtime", differ(&running.runtime, &new.runtime));
    differs(
        "metrics.listen",
        running.metrics.listen != new.metrics.listen,
    );
    differs("log.format", running.log.format != new.log.format);
    keys
}

/// Whether two sections differ (compared as they serialize: not every
/// section can be compared directly).
fn differ<T: serde::Serialize>(a: &T, b: &T) -> bool {
    serde_json::to_value(a).ok() != serde_json::to_value(b).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_listen_address_needs_a_restart_and_limits_do_not() {
        let running = Config::default();
        let mut new = Config::default();
        new.sessions.max_per_user = 3;
        new.auth.max_failures_per_minute = 1;
        assert!(needs_restart(&running, &new).is_empty());
        assert_ne!(LiveSettings::of(&running), LiveSettings::of(&new));
        new.ssh.listen = "127.0.0.1:2022".parse().unwrap();
        new.database.url = "postgres://db/foyer".into();
        assert_eq!(
            needs_restart(&running, &new),
            vec!["ssh.listen", "database.url"]
        );
    }
}
