//! What `foyer serve` tells whoever started it: where it listens, its SSH
//! host key's fingerprint, how to connect, the first admin, and why it
//! stopped. With `log.format =
//! "text"` these are the plain lines they always were (the news on
//! stdout, byte for byte: scripts and tests read them); with `"json"` they
//! are tracing events with fields, written with every other log line, so
//! each line the server writes is one JSON object.
//!
//! Must not decide anything or touch anything: it only says what it is
//! told.

use std::net::SocketAddr;
use std::path::Path;

use crate::config::LogFormat;

/// The hint printed when there are no users and no keys to make one of.
const ADD_ADMIN_HINT: &str = "foyer user add NAME --admin --key-file ~/.ssh/id_ed25519.pub";

/// An error already logged as a JSON event; the binary must not print it
/// again as text.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Reported(String);

/// Says things in the configured log format.
#[derive(Debug, Clone, Copy)]
pub struct Announcer {
    format: LogFormat,
}

impl Announcer {
    pub fn new(format: LogFormat) -> Announcer {
        Announcer { format }
    }

    fn json(&self) -> bool {
        self.format == LogFormat::Json
    }

    pub fn ssh_listening(&self, address: SocketAddr) {
        if self.json() {
            tracing::info!(listener = "ssh", %address, "SSH listening");
        } else {
            println!("foyer: SSH listening on {address}");
        }
    }

    pub fn web_listening(&self, scheme: &str, address: SocketAddr) {
        let url = format!("{scheme}://{address}");
        if self.json() {
            tracing::info!(listener = "web", %address, %url, "web listening");
        } else {
            println!("foyer: web listening on {url}");
        }
    }

    pub fn metrics_listening(&self, address: SocketAddr) {
        if self.json() {
            tracing::info!(listener = "metrics", %address, "metrics listening");
        } else {
            println!("foyer: metrics listening on {address}");
        }
    }

    /// The SSH host key's fingerprint (and where its public half is), for
    /// people to check their first connection against.
    pub fn host_key(&self, fingerprint: &str, public: &Path) {
        let public = public.display();
        if self.json() {
            tracing::info!(%fingerprint, %public, "SSH host key");
        } else {
            println!("foyer: SSH host key {fingerprint} ({public})");
        }
    }

    /// The `ssh` line that reaches the SSH listener at `address`.
    pub fn connect_with(&self, address: SocketAddr) {
        let command = format!("ssh -t -p {} {}", address.port(), address.ip());
        if self.json() {
            tracing::info!(%command, "connect with");
        } else {
            println!("foyer: connect with: {command}");
        }
    }

    /// First start, no users, and no keys in `home/.ssh` to make one.
    pub fn no_first_admin(&self, home: &Path) {
        let home = home.display();
        if self.json() {
            tracing::warn!(%home, hint = ADD_ADMIN_HINT, "no users yet and no keys in ~/.ssh");
        } else {
            println!(
                "foyer: no users yet and no keys in {home}/.ssh; add one with: {ADD_ADMIN_HINT}"
            );
        }
    }

    /// First start: `user` was made an admin with `keys` keys from
    /// `home/.ssh`.
    pub fn first_admin(&self, user: &str, keys: usize, home: &Path) {
        let home = home.display();
        if self.json() {
            tracing::info!(user, keys, %home, "created the first admin user");
        } else {
            println!("foyer: created admin user {user} with {keys} key(s) from {home}/.ssh");
        }
    }

    /// Why the server stopped. In JSON the error is logged here and
    /// becomes [`Reported`]; in text it is returned as it is, for the
    /// binary to print.
    pub fn stopped(&self, error: anyhow::Error) -> anyhow::Error {
        if !self.json() {
            return error;
        }
        let text = format!("{error:#}");
        tracing::error!(error = %text, "foyer stopped");
        Reported(text).into()
    }

    /// In JSON, a panic is logged as an event instead of the standard
    /// hook's plain lines on stderr.
    pub fn log_panics(&self) {
        if !self.json() {
            return;
        }
        std::panic::set_hook(Box::new(|info| {
            let thread = std::thread::current();
            let thread = thread.name().unwrap_or("unnamed");
            tracing::error!(panic = %info, thread, "panic");
        }));
    }
}
