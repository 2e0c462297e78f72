//! Talking to the Docker engine about containers: connecting (per request,
//! so an engine that comes back needs no restart), making sure a user's
//! container exists and runs (creating it, its home volume and the home's
//! owner on first use), stopping it, and finding containers an earlier run
//! left behind. Errors are turned into [`DockerError`]s that say what went
//! wrong in one line.
//!
//! Must not keep state: who has sessions and when to stop is the
//! `containers` actor's; sessions' execs are `exec.rs`'s.

use std::collections::HashMap;

use bollard::Docker;
use bollard::models::{
    ContainerCreateBody, HostConfig, Mount, MountType, MountVolumeOptions, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptions, InspectContainerOptions, ListContainersOptions, RemoveContainerOptions,
    StopContainerOptions, UploadToContainerOptions,
};

use super::{DockerSettings, UserContainer};

/// The label every container and volume foyer makes carries.
pub(super) const MANAGED_LABEL: &str = "foyer.managed";
/// The label naming the foyer user a container belongs to.
const USER_LABEL: &str = "foyer.user";
/// The label naming the server (its data directory) that made a container.
const INSTANCE_LABEL: &str = "foyer.instance";
/// The API version spoken: Docker 20.10 (Debian 12's docker.io) and every
/// later engine accept it.
const API_VERSION: bollard::ClientVersion = bollard::ClientVersion {
    major_version: 1,
    minor_version: API_MINOR,
};
const API_MINOR: usize = 41;
/// The same version as a request path prefix, for requests made without
/// bollard.
pub(super) fn api_prefix() -> String {
    format!("/v1.{API_MINOR}")
}
/// Seconds a request may take (an attached exec stream is not bounded by it).
const REQUEST_TIMEOUT_SECS: u64 = 60;
/// Seconds `docker stop` waits after SIGTERM before SIGKILL.
const STOP_GRACE_SECS: i32 = 2;
/// Where Docker listens when neither `runtime.docker.host` nor `DOCKER_HOST`
/// says.
const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// What went wrong with Docker, in one line. Cloneable: one failure to
/// start a container answers every session waiting for it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DockerError {
    #[error("the Docker engine is not reachable at {host} ({detail})")]
    Unreachable { host: String, detail: String },
    #[error("the Docker image {image} was not found (build it: see docs/runtime.md)")]
    ImageMissing { image: String },
    #[error("user name {user} cannot name a container")]
    BadName { user: String },
    #[error("Docker could not {action}: {detail}")]
    Failed { action: String, detail: String },
}

/// The engine's address from the settings.
pub(super) fn engine_host(configured: &str) -> String {
    if !configured.is_empty() {
        return configured.to_string();
    }
    std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| DEFAULT_HOST.to_string())
}

/// A client for `host`. Nothing is sent yet: failures show on the first
/// request (or here, when a Unix socket does not exist).
pub(in crate::runtime) fn connect(host: &str) -> Result<Docker, DockerError> {
    let result = if host.starts_with("unix://") || host.starts_with('/') {
        let path = host.trim_start_matches("unix://");
        Docker::connect_with_unix(path, REQUEST_TIMEOUT_SECS, &API_VERSION)
    } else {
        let address = host.replacen("tcp://", "http://", 1);
        Docker::connect_with_http(&address, REQUEST_TIMEOUT_SECS, &API_VERSION)
    };
    result.map_err(|error| classify(host, "connect", error))
}

/// Turns a bollard error into ours: connection failures become
/// `Unreachable`, the rest say which `action` failed.
pub(in crate::runtime) fn classify(
    host: &str,
    action: &str,
    error: bollard::errors::Error,
) -> DockerError {
    use bollard::errors::Error as E;
    match error {
        E::DockerResponseServerError {
            status_code,
            message,
        } => DockerError::Failed {
            action: action.to_string(),
            detail: format!("{message} ({status_code})"),
        },
        E::SocketNotFoundError(path) => DockerError::Unreachable {
            host: host.to_string(),
            detail: format!("no socket at {path}"),
        },
        E::IOError { .. }
        | E::HyperResponseError { .. }
        | E::HyperLegacyError { .. }
        | E::HttpClientError { .. }
        | E::RequestTimeoutError => DockerError::Unreachable {
            host: host.to_string(),
            detail: one_line(&error.to_string()),
        },
        other => DockerError::Failed {
            action: action.to_string(),
            detail: one_line(&other.to_string()),
        },
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_not_found(error: &bollard::errors::Error) -> bool {
    matches!(
        error,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// Makes sure `user`'s container exists and runs, creating it (and its home
/// volume) if missing, starting it if stopped.
pub(super) async fn ensure_running(
    settings: &DockerSettings,
    user: &UserContainer,
) -> Result<(), DockerError> {
    let host = &settings.host;
    let docker = connect(host)?;
    match docker
        .inspect_container(&user.container, None::<InspectContainerOptions>)
        .await
    {
        Ok(found) => {
            let running = found.state.and_then(|s| s.running).unwrap_or(false);
            if running {
                return Ok(());
            }
        }
        Err(error) if is_not_found(&error) => create(&docker, settings, user).await?,
        Err(error) => return Err(classify(host, "inspect the user's container", error)),
    }
    metrics::counter!(crate::metrics::CONTAINER_STARTS).increment(1);
    docker
        .start_container(&user.container, None)
        .await
        .or_else(|error| match error {
            // Started by a concurrent request in the meantime.
            bollard::errors::Error::DockerResponseServerError {
                status_code: 304, ..
            } => Ok(()),
            other => Err(classify(host, "start the user's container", other)),
        })
}

/// Creates the container (and the home volume, owned by the user).
async fn create(
    docker: &Docker,
    settings: &DockerSettings,
    user: &UserContainer,
) -> Result<(), DockerError> {
    let host = &settings.host;
    if let Err(error) = docker.inspect_image(&settings.image).await {
        return Err(if is_not_found(&error) {
            DockerError::ImageMissing {
                image: settings.image.clone(),
            }
        } else {
            classify(host, "inspect the image", error)
        });
    }
    ensure_volume(docker, settings, user).await?;
    own_home(docker, settings, user).await?;
    let options = CreateContainerOptions {
        name: Some(user.container.clone()),
        ..Default::default()
    };
    docker
        .create_container(Some(options), container_body(settings, user))
        .await
        .map_err(|error| classify(host, "create the user's container", error))?;
    tracing::info!(container = %user.container, image = %settings.image, "container created");
    Ok(())
}

/// The user's container: idle (`sleep infinity` under Docker's init, which
/// also reaps orphans of sessions), limited and hardened as SPEC §8 says.
fn container_body(settings: &DockerSettings, user: &UserContainer) -> ContainerCreateBody {
    let mut host_config = hardened_host_config(settings, user);
    host_config.init = Some(true);
    ContainerCreateBody {
        image: Some(settings.image.clone()),
        entrypoint: Some(vec!["sleep".into(), "infinity".into()]),
        cmd: Some(Vec::new()),
        user: Some(format!("{0}:{0}", user.uid)),
        working_dir: Some(user.home.clone()),
        env: Some(vec![format!("HOME={}", user.home)]),
        labels: Some(labels(settings, user)),
        host_config: Some(host_config),
        ..Default::default()
    }
}

fn labels(settings: &DockerSettings, user: &UserContainer) -> HashMap<String, String> {
    HashMap::from([
        (MANAGED_LABEL.to_string(), "true".to_string()),
        (USER_LABEL.to_string(), user.name.clone()),
        (INSTANCE_LABEL.to_string(), settings.instance.clone()),
    ])
}

fn hardened_host_config(settings: &DockerSettings, user: &UserContainer) -> HostConfig {
    // Owned by the user as well as mode 1777: runc (1.1 at least) gives
    // a tmpfs the mode of the directory it is mounted on, so over an
    // image's /tmp of mode 755 the mode option alone left /tmp to root.
    let tmpfs = format!(
        "rw,nosuid,nodev,size={},mode=1777,uid={uid},gid={uid}",
        settings.tmpfs_size_bytes,
        uid = user.uid
    );
    HostConfig {
        memory: Some(settings.memory_bytes),
        // No swap beyond the memory limit.
        memory_swap: Some(settings.memory_bytes),
        nano_cpus: Some(settings.nano_cpus),
        pids_limit: Some(settings.pids),
        network_mode: Some(settings.network.clone()),
        readonly_rootfs: Some(settings.read_only_root),
        tmpfs: Some(HashMap::from([("/tmp".to_string(), tmpfs)])),
        security_opt: Some(vec!["no-new-privileges".into()]),
        cap_drop: Some(vec!["ALL".into()]),
        mounts: Some(vec![Mount {
            target: Some(user.home.clone()),
            source: Some(user.volume.clone()),
            typ: Some(MountType::VOLUME),
            // Docker's copy-up into an empty volume would also give its
            // top directory back to root.
            volume_options: Some(MountVolumeOptions {
                no_copy: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        }]),
        ..Default::default()
    }
}

async fn ensure_volume(
    docker: &Docker,
    settings: &DockerSettings,
    user: &UserContainer,
) -> Result<(), DockerError> {
    match docker.inspect_volume(&user.volume).await {
        Ok(_) => return Ok(()),
        Err(error) if is_not_found(&error) => {}
        Err(error) => return Err(classify(&settings.host, "inspect the home volume", error)),
    }
    let request = VolumeCreateRequest {
        name: Some(user.volume.clone()),
        labels: Some(labels(settings, user)),
        ..Default::default()
    };
    docker
        .create_volume(request)
        .await
        .map_err(|error| classify(&settings.host, "create the home volume", error))?;
    Ok(())
}

/// A new volume's root belongs to root, and the user's container has no
/// capability to change that. The home is given to the user's uid without
/// running anything from the user's image (which may have no `chown`, or
/// no shell): a container is created, never started, with the volume at the
/// home, and Docker itself extracts into it a one-entry archive of the home
/// directory with the user's uid, gid and mode 0700.
async fn own_home(
    docker: &Docker,
    settings: &DockerSettings,
    user: &UserContainer,
) -> Result<(), DockerError> {
    let host = &settings.host;
    let name = format!("{}-chown", user.container);
    let mut host_config = hardened_host_config(settings, user);
    // The archive goes into the home's parent, on the root file system.
    host_config.readonly_rootfs = Some(false);
    let body = ContainerCreateBody {
        image: Some(settings.image.clone()),
        // Never run: the container exists only for the upload.
        entrypoint: Some(vec!["/foyer-never-runs".into()]),
        cmd: Some(Vec::new()),
        labels: Some(labels(settings, user)),
        host_config: Some(host_config),
        ..Default::default()
    };
    let _ = remove(docker, &name).await;
    let options = CreateContainerOptions {
        name: Some(name.clone()),
        ..Default::default()
    };
    docker
        .create_container(Some(options), body)
        .await
        .map_err(|error| classify(host, "prepare the home volume", error))?;
    let result = upload_home_entry(docker, host, &name, user).await;
    let _ = remove(docker, &name).await;
    result
}

/// Extracts the home directory's own entry (owner and mode) into `container`.
async fn upload_home_entry(
    docker: &Docker,
    host: &str,
    container: &str,
    user: &UserContainer,
) -> Result<(), DockerError> {
    let failed = |detail: String| DockerError::Failed {
        action: "give the home volume to the user".into(),
        detail,
    };
    let home = std::path::Path::new(&user.home);
    let (Some(parent), Some(entry)) = (home.parent(), home.file_name()) else {
        return Err(failed(format!("{} is not a directory below /", user.home)));
    };
    let archive = home_archive(entry, user.uid).map_err(|e| failed(e.to_string()))?;
    let options = UploadToContainerOptions {
        path: parent.display().to_string(),
        ..Default::default()
    };
    docker
        .upload_to_container(container, Some(options), bollard::body_full(archive.into()))
        .await
        .map_err(|error| classify(host, "give the home volume to the user", error))
}

/// A tar archive of one directory, `name`, owned by `uid`:`uid`, mode 0700.
fn home_archive(name: &std::ffi::OsStr, uid: u32) -> std::io::Result<Vec<u8>> {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::Directory);
    header.set_path(name)?;
    header.set_mode(0o700);
    header.set_uid(u64::from(uid));
    header.set_gid(u64::from(uid));
    header.set_size(0);
    header.set_mtime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    );
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder.append(&header, std::io::empty())?;
    builder.into_inner()
}

async fn remove(docker: &Docker, name: &str) -> Result<(), bollard::errors::Error> {
    let options = RemoveContainerOptions {
        force: true,
        ..Default::default()
    };
    docker.remove_container(name, Some(options)).await
}

/// Stops `container` (its sessions' programs end with it).
pub(super) async fn stop(host: &str, container: &str) -> Result<(), DockerError> {
    let docker = connect(host)?;
    let options = StopContainerOptions {
        t: Some(STOP_GRACE_SECS),
        ..Default::default()
    };
    match docker.stop_container(container, Some(options)).await {
        Ok(()) => Ok(()),
        Err(error) if is_not_found(&error) => Ok(()),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 304, ..
        }) => Ok(()),
        Err(error) => Err(classify(host, "stop the user's container", error)),
    }
}

/// Whether `container` exists and runs; `None` when that cannot be known.
pub(super) async fn is_running(host: &str, container: &str) -> Option<bool> {
    let docker = connect(host).ok()?;
    match docker
        .inspect_container(container, None::<InspectContainerOptions>)
        .await
    {
        Ok(found) => Some(found.state.and_then(|s| s.running).unwrap_or(false)),
        Err(error) if is_not_found(&error) => Some(false),
        Err(_) => None,
    }
}

/// Names of running containers this server (`instance`) made, in an
/// earlier run since this one has not started any yet. Other servers'
/// containers on the same engine are left alone.
pub(super) async fn running_managed(
    host: &str,
    instance: &str,
) -> Result<Vec<String>, DockerError> {
    let docker = connect(host)?;
    let options = ListContainersOptions {
        all: false,
        filters: Some(HashMap::from([(
            "label".to_string(),
            vec![
                format!("{MANAGED_LABEL}=true"),
                format!("{INSTANCE_LABEL}={instance}"),
            ],
        )])),
        ..Default::default()
    };
    let found = docker
        .list_containers(Some(options))
        .await
        .map_err(|error| classify(host, "list containers", error))?;
    Ok(found
        .into_iter()
        .filter_map(|c| c.names.and_then(|n| n.into_iter().next()))
        .map(|name| name.trim_start_matches('/').to_string())
        .collect())
}
