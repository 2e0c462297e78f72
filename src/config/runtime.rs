//! The `[runtime]` section: where sessions' programs run (locally or in
//! Docker) and the Docker limits, with their defaults.
//!
//! Owns the section's shape and defaults only; it must not check the
//! values (that is `validate`) or talk to Docker.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::values::ByteSize;

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
