//! Docker runtime: each user's sessions run in that user's own container
//! (`foyer-<user>`), created on demand, limited and hardened, with a
//! persistent home volume; each session is a TTY exec in it. See
//! docs/runtime.md for the model.
//!
//! `engine` talks to Docker about containers, `containers` is the actor
//! that owns which containers have sessions (and stops idle ones), `exec`
//! turns one exec into a [`Process`] the hub drives like a local PTY, with
//! `attach` opening its raw byte stream.
//!
//! Must not block its callers on each other: one user's slow container
//! start never delays another user's sessions.

mod attach;
mod containers;
mod engine;
mod exec;
mod helper;

use std::time::Duration;

pub use crate::wire::launch::ExecStart;
pub use engine::DockerError;
pub(in crate::runtime) use engine::{classify, connect};
pub use exec::start as start_exec;

pub use containers::Lease;

use super::{Owner, SpawnSpec};
use crate::config::DockerRuntimeConfig;
use crate::runtime::account::HostAccount;

/// The shell sessions start when no command is given.
const LOGIN_SHELL: &str = "/bin/bash";

/// The settings of users' containers, resolved from the configuration.
#[derive(Debug, Clone)]
pub(crate) struct DockerSettings {
    /// The engine's address (`unix://…` or `tcp://…`).
    pub host: String,
    pub image: String,
    pub memory_bytes: i64,
    pub nano_cpus: i64,
    pub pids: i64,
    pub network: String,
    pub read_only_root: bool,
    pub tmpfs_size_bytes: u64,
    pub idle_stop: Duration,
    /// The home volume's name with `{user}` in it.
    pub home_volume: String,
    pub uid_base: u32,
    /// Which server made a container (labelled on it): its data directory.
    pub instance: String,
}

impl DockerSettings {
    pub fn from_config(config: &DockerRuntimeConfig, instance: &str) -> DockerSettings {
        DockerSettings {
            instance: instance.to_string(),
            host: engine::engine_host(&config.host),
            image: config.image.clone(),
            memory_bytes: i64::try_from(config.memory.0).unwrap_or(i64::MAX),
            nano_cpus: (config.cpus * 1e9).round() as i64,
            pids: config.pids,
            network: config.network.clone(),
            read_only_root: config.read_only_root,
            tmpfs_size_bytes: config.tmpfs_size.0,
            idle_stop: config.idle_stop,
            home_volume: config.home_volume.clone(),
            uid_base: config.uid_base,
        }
    }
}

/// One user's container, as named and owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UserContainer {
    /// The foyer user name.
    pub name: String,
    /// `foyer-<user>`.
    pub container: String,
    pub volume: String,
    /// The uid and gid programs run as: `uid_base` + the foyer user id.
    pub uid: u32,
    /// `/home/<user>`, where the volume is mounted.
    pub home: String,
}

/// The Docker runtime. Cheap to clone.
#[derive(Clone)]
pub struct DockerRuntime {
    settings: std::sync::Arc<DockerSettings>,
    containers: containers::Containers,
}

impl DockerRuntime {
    /// Starts the container bookkeeping. Containers left running by an
    /// earlier run may hold sessions this run adopts: those without one are
    /// stopped after `idle_stop` (their programs belonged to sessions
    /// that ended with that run); they and their volumes are reused.
    /// `instance` names this server among others using the same engine
    /// (its data directory): only its own leftovers are stopped.
    pub fn start(config: &DockerRuntimeConfig, instance: &str) -> DockerRuntime {
        let settings = std::sync::Arc::new(DockerSettings::from_config(config, instance));
        let containers = containers::Containers::start(settings.clone());
        DockerRuntime {
            settings,
            containers,
        }
    }

    /// Stops the containers of this run (`serve --stop-sessions`).
    pub async fn shutdown(&self) {
        self.containers.shutdown().await;
    }

    /// Where `owner`'s programs run inside the container.
    pub fn account_for(&self, owner: &Owner) -> HostAccount {
        HostAccount {
            user: owner.name.clone(),
            home: format!("/home/{}", owner.name).into(),
            shell: LOGIN_SHELL.into(),
        }
    }

    /// Creates a TTY exec for `spec` in `owner`'s container, starting (or
    /// creating) the container first if needed; the lease keeps the
    /// container up while the session runs.
    pub async fn prepare(
        &self,
        owner: &Owner,
        spec: SpawnSpec,
    ) -> Result<(ExecStart, Lease), DockerError> {
        let prepared = self.create_exec(owner, spec).await;
        if prepared.is_err() {
            metrics::counter!(crate::metrics::CONTAINER_FAILURES).increment(1);
        }
        prepared
    }

    async fn create_exec(
        &self,
        owner: &Owner,
        spec: SpawnSpec,
    ) -> Result<(ExecStart, Lease), DockerError> {
        let user = user_container(&self.settings, owner)?;
        let lease = self.containers.acquire(user.clone()).await?;
        let exec = exec::create(&self.settings, &user, spec).await?;
        Ok((exec, lease))
    }

    /// A lease on `owner`'s container for a session that runs in it
    /// already (adopted from an earlier gateway).
    pub async fn lease_for(&self, owner: &Owner) -> Result<Lease, DockerError> {
        let user = user_container(&self.settings, owner)?;
        self.containers.acquire(user).await
    }
}

/// Names and ids of `owner`'s container.
fn user_container(settings: &DockerSettings, owner: &Owner) -> Result<UserContainer, DockerError> {
    let bad_name = || DockerError::BadName {
        user: owner.name.clone(),
    };
    let container = format!("foyer-{}", owner.name);
    let volume = settings.home_volume.replace("{user}", &owner.name);
    if !valid_object_name(&container) || !valid_object_name(&volume) {
        return Err(bad_name());
    }
    let uid = u32::try_from(owner.id)
        .ok()
        .and_then(|id| settings.uid_base.checked_add(id))
        .ok_or_else(bad_name)?;
    Ok(UserContainer {
        name: owner.name.clone(),
        container,
        volume,
        uid,
        home: format!("/home/{}", owner.name),
    })
}

/// Docker's rule for container and volume names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
fn valid_object_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_names_follow_dockers_rule() {
        assert!(valid_object_name("foyer-alice"));
        assert!(valid_object_name("foyer-home-a_b.c"));
        assert!(!valid_object_name("-foyer"));
        assert!(!valid_object_name("foyer/alice"));
        assert!(!valid_object_name("foyer alice"));
        assert!(!valid_object_name("f"));
    }

    #[test]
    fn uid_is_the_base_plus_the_user_id() {
        let settings = DockerSettings::from_config(&DockerRuntimeConfig::default(), "test");
        assert_eq!(settings.memory_bytes, 1 << 30);
        assert_eq!(settings.nano_cpus, 1_000_000_000);
        let owner = Owner {
            id: 7,
            name: "alice".into(),
        };
        let user = user_container(&settings, &owner).unwrap();
        assert_eq!(user.uid, 100_007);
        assert_eq!(user.container, "foyer-alice");
        assert_eq!(user.volume, "foyer-home-alice");
        assert_eq!(user.home, "/home/alice");
        let negative = Owner { id: -1, ..owner };
        assert!(user_container(&settings, &negative).is_err());
    }
}
