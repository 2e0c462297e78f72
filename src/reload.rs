//! `SIGHUP`: reads the configuration again (file, environment and flags,
//! as at start) and applies what can change while the server runs, without
//! dropping anyone (SPEC §12): the web's TLS certificate and key, the
//! trusted user CAs, the log level and the limits. A configuration that
//! has become bad is logged and not applied; keys that only a restart can
//! change (listen addresses, the database, …) are named in a log line.
//!
//! Owns the senders of the live settings and of the TLS acceptor; it must
//! not reach into what uses them (they read the new values on their next
//! use) and must not stop the server whatever the new configuration says.

use std::sync::Arc;

use tokio::signal::unix::Signal;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::config::{Config, ConfigError};
use crate::gateway::live::{LiveSettings, needs_restart};
use crate::logging::{LevelChange, LogLevelHandle};
use crate::systemd;
use crate::web;

/// Reads the configuration from the sources the server started with.
pub type LoadConfig = Box<dyn Fn() -> Result<Config, ConfigError> + Send + Sync>;

pub struct Reloader {
    pub load: LoadConfig,
    /// The configuration the server started with: what is in effect for
    /// every key a reload cannot change.
    pub running: Config,
    pub live: watch::Sender<Arc<LiveSettings>>,
    /// The web listener's TLS acceptor, when it serves HTTPS.
    pub tls: watch::Sender<Option<TlsAcceptor>>,
    pub log_level: LogLevelHandle,
}

impl Reloader {
    /// Reloads on every `SIGHUP` (`hangups`, listened for since the
    /// server's start: a SIGHUP nobody listens for ends the process)
    /// until the process ends.
    pub async fn run(mut self, mut hangups: Signal) {
        while hangups.recv().await.is_some() {
            self.reload();
        }
    }

    /// Reads the configuration and applies it, or logs why not.
    pub fn reload(&mut self) {
        systemd::reloading();
        match self.try_reload() {
            Ok(()) => tracing::info!("configuration reloaded"),
            Err(why) => tracing::error!(
                "configuration not reloaded, the server goes on with the one it has: {why}"
            ),
        }
        systemd::ready();
    }

    fn try_reload(&mut self) -> Result<(), String> {
        let new = (self.load)().map_err(|error| error.to_string())?;
        // Everything that can fail is read before anything is applied.
        let tls = self.new_tls(&new)?;
        if let Some(acceptor) = tls {
            self.tls.send_replace(Some(acceptor));
        }
        self.live.send_if_modified(|live| {
            let settings = LiveSettings::of(&new);
            let changed = **live != settings;
            *live = Arc::new(settings);
            changed
        });
        self.apply_log_level(&new);
        let later = needs_restart(&self.running, &new);
        if !later.is_empty() {
            tracing::warn!(
                keys = later.join(", "),
                "changed in the configuration; they take effect at the next start"
            );
        }
        Ok(())
    }

    /// The acceptor for the configuration's certificate and key, read
    /// again from their files (a renewed certificate keeps its path);
    /// `None` when the server does not serve HTTPS (switching HTTPS on or
    /// off needs a restart).
    fn new_tls(&self, new: &Config) -> Result<Option<TlsAcceptor>, String> {
        if self.tls.borrow().is_none() {
            return Ok(None);
        }
        match (&new.web.tls_cert, &new.web.tls_key) {
            (Some(cert), Some(key)) => web::load_tls(cert, key)
                .map(Some)
                .map_err(|error| error.to_string()),
            _ => Ok(None),
        }
    }

    fn apply_log_level(&mut self, new: &Config) {
        if new.log.level == self.running.log.level {
            return;
        }
        match self.log_level.set(&new.log.level) {
            Ok(LevelChange::Applied) => self.running.log.level = new.log.level.clone(),
            Ok(LevelChange::KeptRustLog) => {
                tracing::info!("log.level changed but RUST_LOG sets the level; it stays")
            }
            Err(error) => tracing::warn!(%error, "log.level not applied"),
        }
    }
}
