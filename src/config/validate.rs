//! Checks on a merged configuration that serde's types cannot express:
//! ranges, settings that must agree, and well-formed keys and URLs.
//!
//! Owns the refusals and their wording; it must not change a value or
//! read anything.

use super::error::ConfigError;
use super::kex::KexAlgorithm;
use super::runtime::RuntimeKind;
use super::sections::{Config, NotifyConfig, WebConfig};

impl Config {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let fail = |msg: String| Err(ConfigError::Invalid(msg));
        if self.sessions.scrollback_lines > 1_000_000 {
            return fail("sessions.scrollback_lines: at most 1000000".into());
        }
        if self.sessions.client_buffer.0 < 4096 {
            return fail("sessions.client_buffer: at least 4k".into());
        }
        self.web.validate().map_err(ConfigError::Invalid)?;
        self.notify.validate().map_err(ConfigError::Invalid)?;
        self.cluster
            .validate(&self.database.url)
            .map_err(ConfigError::Invalid)?;
        if self.cluster.enabled() && self.runtime.kind != RuntimeKind::Local {
            return fail(
                "runtime.kind: with cluster.engine, programs run in the users' session host tasks: leave runtime.kind local".into(),
            );
        }
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
}

impl WebConfig {
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

impl NotifyConfig {
    fn validate(&self) -> Result<(), String> {
        if let Some(webhook) = &self.webhook_url {
            let url = url::Url::parse(webhook)
                .map_err(|e| format!("notify.webhook_url: `{webhook}` is not a URL: {e}"))?;
            if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                return Err(format!(
                    "notify.webhook_url: `{webhook}` must be an http:// or https:// URL with a host"
                ));
            }
        }
        Ok(())
    }
}
