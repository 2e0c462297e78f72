//! `[cluster]`: session hosts as tasks of a Docker Swarm, reached over
//! mutual TLS (SPEC 13, docs/architecture.md "Many machines"). Off while
//! `engine` is empty: one machine, exactly as without the section.
//!
//! Owns the section's shape, defaults and checks; it must not read the
//! files it names or reach the engine.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    /// A swarm manager's Docker API (`unix:///path` or `tcp://host:port`);
    /// empty: no cluster.
    pub engine: String,
    /// The session host image, present on every node
    /// (deploy/swarm/build-host-image.sh).
    pub host_image: String,
    /// Swarm placement constraints of host tasks.
    pub placement: Vec<String>,
    /// The operator's CA certificate (PEM): the only one trusted.
    pub ca: PathBuf,
    /// This gateway's certificate (PEM, client use, from the CA).
    pub cert: PathBuf,
    /// This gateway's private key (PEM).
    pub key: PathBuf,
    /// A directory shared by every node and gateway (NFS or the like) at
    /// this same path, where host tasks write recordings
    /// (`sessions.record`) and `replay` reads them; empty: sessions on
    /// the swarm are not recorded.
    pub recordings: PathBuf,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            engine: String::new(),
            host_image: "foyer-host:latest".into(),
            placement: vec!["node.role==worker".into()],
            ca: PathBuf::new(),
            cert: PathBuf::new(),
            key: PathBuf::new(),
            recordings: PathBuf::new(),
        }
    }
}

impl ClusterConfig {
    /// Where recordings are, for a gateway of this cluster: the shared
    /// directory; `None` when sessions on the swarm are not recorded.
    pub fn recordings(&self) -> Option<&std::path::Path> {
        (!self.recordings.as_os_str().is_empty()).then_some(self.recordings.as_path())
    }

    /// Whether session hosts run on the swarm.
    pub fn enabled(&self) -> bool {
        !self.engine.is_empty()
    }

    /// The checks of a cluster that is on; `database_url` is
    /// `database.url` (a cluster's gateways share one PostgreSQL).
    pub(super) fn validate(&self, database_url: &str) -> Result<(), String> {
        if !self.enabled() {
            return Ok(());
        }
        if !(database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
            return Err(
                "cluster.engine: a cluster's gateways share one PostgreSQL: set database.url to a postgres:// URL".into(),
            );
        }
        for (key, path) in [("ca", &self.ca), ("cert", &self.cert), ("key", &self.key)] {
            if path.as_os_str().is_empty() {
                return Err(format!(
                    "cluster.{key}: required with cluster.engine (deploy/swarm/certs.sh makes them)"
                ));
            }
        }
        if !self.recordings.as_os_str().is_empty() && !self.recordings.is_absolute() {
            return Err(
                "cluster.recordings: an absolute path, the same on every node and gateway".into(),
            );
        }
        if self.host_image.is_empty() {
            return Err("cluster.host_image: required with cluster.engine".into());
        }
        Ok(())
    }
}
