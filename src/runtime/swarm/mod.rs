//! Session hosts as tasks of a Docker Swarm (`[cluster]`, SPEC 13): one
//! host task per user, a service of mode `replicated-job` (one
//! completion, never restarted; docs/architecture.md "Many machines" says
//! why) on the host image, placed by the engine, its port published in
//! `host` mode and found from the task's node address and port status.
//! The user's programs run inside the task, as its account (`/root`,
//! bash), so what a session starts is a local program there.
//!
//! Must not talk to a host (the gateway does, through the address this
//! gives) or keep state: the swarm is the truth about tasks.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

mod commands;

use bollard::Docker;
use bollard::models::{
    EndpointPortConfig, EndpointPortConfigProtocolEnum, EndpointPortConfigPublishModeEnum,
    EndpointSpec, Mount, MountType, ServiceSpec, ServiceSpecMode, ServiceSpecModeReplicatedJob,
    Task, TaskSpec, TaskSpecContainerSpec, TaskSpecContainerSpecFile, TaskSpecContainerSpecSecrets,
    TaskSpecPlacement, TaskSpecRestartPolicy, TaskSpecRestartPolicyConditionEnum, TaskState,
};
use bollard::query_parameters::{ListServicesOptionsBuilder, ListTasksOptionsBuilder};
use tokio_rustls::TlsConnector;

use super::Owner;
use super::account::HostAccount;
use super::docker::{DockerError, classify, connect};
use crate::config::ClusterConfig;
use crate::transport::tls::{TlsError, TlsFiles};
use crate::transport::{HostAddress, RemoteHost, Route};
use crate::wire::launch::{LocalProgram, SpawnSpec};

/// The port a host listens on inside its task (published in host mode on
/// a port the engine picks).
pub const HOST_PORT: u16 = 7443;
/// Where a host keeps its sockets and log inside its task.
const TASK_DIR: &str = "/var/lib/foyer-host";
/// Where a host task writes recordings.
pub const TASK_RECORDINGS: &str = "/var/lib/foyer-host/recordings";
/// The Swarm secrets a host task gets, and the file names they take
/// under /run/secrets: the operator creates them (docs/operations.md).
const SECRETS: [&str; 3] = ["foyer-cluster-ca", "foyer-host-cert", "foyer-host-key"];
/// Labels of a host service: whose it is, and which build runs it.
const OWNER_LABEL: &str = "foyer.owner";
const VERSION_LABEL: &str = "foyer.version";
/// How long a new host task may take to be placed, started and to
/// publish its port.
const START_TIMEOUT: Duration = Duration::from_secs(90);
const POLL: Duration = Duration::from_millis(250);

/// Why the swarm could not give a host.
#[derive(Debug, thiserror::Error)]
pub enum SwarmError {
    #[error("the cluster's TLS files: {0}")]
    Tls(#[from] TlsError),
    #[error(transparent)]
    Docker(#[from] DockerError),
    #[error("the session host task {service} did not start in {seconds} s: {detail}")]
    NotStarted {
        service: String,
        seconds: u64,
        detail: String,
    },
}

/// A host task: its service, and `NODE_ADDRESS:PORT` where it listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostTask {
    pub service: String,
    pub address: String,
}

/// Where a host service's task is, as the swarm says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskWhere {
    /// Running, listening at this address.
    Running(String),
    /// Placed or starting, not yet running.
    Starting(String),
    /// Ended, failed, removed, or never there.
    Gone(String),
}

/// The swarm runtime. Cheap to clone.
#[derive(Clone)]
pub struct SwarmRuntime {
    engine: String,
    config: ClusterConfig,
    tls: TlsConnector,
}

impl SwarmRuntime {
    pub fn new(config: &ClusterConfig) -> Result<SwarmRuntime, SwarmError> {
        let files = TlsFiles {
            ca: config.ca.clone(),
            cert: config.cert.clone(),
            key: config.key.clone(),
        };
        Ok(SwarmRuntime {
            engine: config.engine.clone(),
            config: config.clone(),
            tls: files.connector()?,
        })
    }

    /// Whether host tasks record (a shared recordings directory is set).
    pub fn records(&self) -> bool {
        self.config.recordings().is_some()
    }

    /// Programs run as the task's account.
    pub fn account_for(&self, owner: &Owner) -> HostAccount {
        HostAccount {
            user: owner.name.clone(),
            home: PathBuf::from("/root"),
            shell: "/bin/bash".into(),
        }
    }

    /// What a host task runs for `spec`: a program on a PTY inside it.
    pub fn program(&self, spec: SpawnSpec) -> LocalProgram {
        LocalProgram {
            spec,
            credentials: None,
            open_files: None,
        }
    }

    /// The address of `route` on the host task listening at `address`.
    pub fn address(&self, address: &str, route: Route) -> HostAddress {
        HostAddress::Remote(RemoteHost {
            address: address.to_string(),
            route,
            tls: self.tls.clone(),
        })
    }

    fn docker(&self) -> Result<Docker, DockerError> {
        connect(&self.engine)
    }

    /// A host task of this build for `owner` that the swarm says runs
    /// (its host may be ending: ask it), removing the services of those
    /// that have ended.
    pub async fn running_host(&self, owner: &Owner) -> Result<Option<HostTask>, SwarmError> {
        for service in self.services_of(owner).await? {
            match self.locate(&service).await? {
                TaskWhere::Running(address) => return Ok(Some(HostTask { service, address })),
                TaskWhere::Gone(_) => self.remove(&service).await,
                TaskWhere::Starting(_) => {}
            }
        }
        Ok(None)
    }

    /// A new host task for `owner`, once it runs.
    pub async fn new_host(&self, owner: &Owner) -> Result<HostTask, SwarmError> {
        let service = self.create(owner).await?;
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        loop {
            let detail = match self.locate(&service).await? {
                TaskWhere::Running(address) => return Ok(HostTask { service, address }),
                TaskWhere::Starting(detail) => detail,
                TaskWhere::Gone(detail) => {
                    self.remove(&service).await;
                    return Err(SwarmError::NotStarted {
                        service,
                        seconds: START_TIMEOUT.as_secs(),
                        detail,
                    });
                }
            };
            if tokio::time::Instant::now() >= deadline {
                self.remove(&service).await;
                return Err(SwarmError::NotStarted {
                    service,
                    seconds: START_TIMEOUT.as_secs(),
                    detail,
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The host services of `owner` that this build runs.
    async fn services_of(&self, owner: &Owner) -> Result<Vec<String>, DockerError> {
        let filters = HashMap::from([(
            "label",
            vec![
                format!("{OWNER_LABEL}={}", owner.id),
                format!("{VERSION_LABEL}={}", env!("CARGO_PKG_VERSION")),
            ],
        )]);
        let options = ListServicesOptionsBuilder::new().filters(&filters).build();
        let services = self
            .docker()?
            .list_services(Some(options))
            .await
            .map_err(|e| classify(&self.engine, "list the host services", e))?;
        Ok(services
            .into_iter()
            .filter_map(|service| service.spec?.name)
            .collect())
    }

    async fn create(&self, owner: &Owner) -> Result<String, DockerError> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!("foyer-host-{}-{stamp:x}", owner.id);
        let docker = self.docker()?;
        let mut secrets = Vec::new();
        for secret in SECRETS {
            let found = docker.inspect_secret(secret).await.map_err(|e| {
                classify(
                    &self.engine,
                    &format!("find the secret {secret} (docs/operations.md, \"Many machines\")"),
                    e,
                )
            })?;
            secrets.push((secret, found.id.unwrap_or_default()));
        }
        let spec = self.service_spec(&name, owner, &secrets);
        docker
            .create_service(spec, None)
            .await
            .map_err(|e| classify(&self.engine, "create a session host service", e))?;
        tracing::info!(user = %owner.name, service = %name, "session host task created");
        Ok(name)
    }

    /// The host service; `secrets` are the names and ids of [`SECRETS`].
    fn service_spec(&self, name: &str, owner: &Owner, secrets: &[(&str, String)]) -> ServiceSpec {
        let secret = |(name, id): &(&str, String)| TaskSpecContainerSpecSecrets {
            secret_name: Some(name.to_string()),
            secret_id: Some(id.clone()),
            file: Some(TaskSpecContainerSpecFile {
                name: Some(name.to_string()),
                uid: Some("0".into()),
                gid: Some("0".into()),
                mode: Some(0o400),
            }),
        };
        let labels = HashMap::from([
            (OWNER_LABEL.to_string(), owner.id.to_string()),
            (
                VERSION_LABEL.to_string(),
                env!("CARGO_PKG_VERSION").to_string(),
            ),
        ]);
        ServiceSpec {
            name: Some(name.to_string()),
            labels: Some(labels.clone()),
            mode: Some(ServiceSpecMode {
                replicated_job: Some(ServiceSpecModeReplicatedJob {
                    max_concurrent: Some(1),
                    total_completions: Some(1),
                }),
                ..Default::default()
            }),
            task_template: Some(TaskSpec {
                container_spec: Some(TaskSpecContainerSpec {
                    image: Some(self.config.host_image.clone()),
                    labels: Some(labels),
                    command: Some(host_command(owner.id)),
                    secrets: Some(secrets.iter().map(secret).collect()),
                    mounts: self.config.recordings().map(|dir| {
                        vec![Mount {
                            target: Some(TASK_RECORDINGS.into()),
                            source: Some(dir.display().to_string()),
                            typ: Some(MountType::BIND),
                            ..Default::default()
                        }]
                    }),
                    ..Default::default()
                }),
                restart_policy: Some(TaskSpecRestartPolicy {
                    condition: Some(TaskSpecRestartPolicyConditionEnum::NONE),
                    ..Default::default()
                }),
                placement: Some(TaskSpecPlacement {
                    constraints: Some(self.config.placement.clone()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            endpoint_spec: Some(EndpointSpec {
                ports: Some(vec![EndpointPortConfig {
                    protocol: Some(EndpointPortConfigProtocolEnum::TCP),
                    target_port: Some(i64::from(HOST_PORT)),
                    publish_mode: Some(EndpointPortConfigPublishModeEnum::HOST),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// Where `service`'s task is.
    pub async fn locate(&self, service: &str) -> Result<TaskWhere, DockerError> {
        let docker = self.docker()?;
        let filters = HashMap::from([("service", vec![service.to_string()])]);
        let options = ListTasksOptionsBuilder::new().filters(&filters).build();
        let tasks = match docker.list_tasks(Some(options)).await {
            Ok(tasks) => tasks,
            Err(error) if is_not_found(&error) => {
                return Ok(TaskWhere::Gone("the service was removed".into()));
            }
            Err(error) => return Err(classify(&self.engine, "list the host's tasks", error)),
        };
        let Some(task) = newest(tasks) else {
            // Just created (its task comes a moment later), or removed.
            return match docker.inspect_service(service, None).await {
                Ok(_) => Ok(TaskWhere::Starting("no task yet".into())),
                Err(error) if is_not_found(&error) => {
                    Ok(TaskWhere::Gone("the service was removed".into()))
                }
                Err(error) => Err(classify(&self.engine, "inspect a host service", error)),
            };
        };
        let state = task.status.as_ref().and_then(|s| s.state);
        let message = task
            .status
            .as_ref()
            .map(|s| s.err.clone().or(s.message.clone()).unwrap_or_default())
            .unwrap_or_default();
        match state {
            Some(TaskState::RUNNING) => match self.task_address(&docker, &task).await? {
                Some(address) => Ok(TaskWhere::Running(address)),
                None => Ok(TaskWhere::Starting(
                    "running, its port not yet published".into(),
                )),
            },
            Some(
                TaskState::NEW
                | TaskState::ALLOCATED
                | TaskState::PENDING
                | TaskState::ASSIGNED
                | TaskState::ACCEPTED
                | TaskState::PREPARING
                | TaskState::READY
                | TaskState::STARTING,
            ) => Ok(TaskWhere::Starting(format!(
                "{}: {message}",
                state_name(state)
            ))),
            _ => Ok(TaskWhere::Gone(format!("{}: {message}", state_name(state)))),
        }
    }

    /// `NODE_ADDRESS:PUBLISHED_PORT` of a running task.
    async fn task_address(
        &self,
        docker: &Docker,
        task: &Task,
    ) -> Result<Option<String>, DockerError> {
        let port = task
            .status
            .as_ref()
            .and_then(|s| s.port_status.as_ref())
            .and_then(|p| p.ports.as_ref())
            .and_then(|ports| {
                ports
                    .iter()
                    .find(|p| p.target_port == Some(i64::from(HOST_PORT)))
            })
            .and_then(|p| p.published_port);
        let (Some(port), Some(node)) = (port, task.node_id.as_deref()) else {
            return Ok(None);
        };
        let node = docker
            .inspect_node(node)
            .await
            .map_err(|e| classify(&self.engine, "inspect a node", e))?;
        Ok(node
            .status
            .and_then(|s| s.addr)
            .map(|addr| format!("{addr}:{port}")))
    }

    /// Removes a host service (its task has ended, or never started).
    pub async fn remove(&self, service: &str) {
        let Ok(docker) = self.docker() else {
            return;
        };
        if let Err(error) = docker.delete_service(service).await
            && !is_not_found(&error)
        {
            tracing::warn!(%service, %error, "cannot remove a session host service");
        }
    }
}

/// The host's command line inside its task.
fn host_command(owner: i64) -> Vec<String> {
    let secret = |name: &str| format!("/run/secrets/{name}");
    [
        "/usr/local/bin/foyer",
        "session-host",
        "--hosts",
        &format!("{TASK_DIR}/hosts"),
        "--owner",
        &owner.to_string(),
        "--log",
        &format!("{TASK_DIR}/hosts.log"),
        "--listen",
        &format!("0.0.0.0:{HOST_PORT}"),
        "--tls-ca",
        &secret(SECRETS[0]),
        "--tls-cert",
        &secret(SECRETS[1]),
        "--tls-key",
        &secret(SECRETS[2]),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The task most recently created (a job's only one, in practice).
fn newest(tasks: Vec<Task>) -> Option<Task> {
    tasks.into_iter().max_by(|a, b| {
        a.created_at
            .as_ref()
            .map(|d| d.to_string())
            .cmp(&b.created_at.as_ref().map(|d| d.to_string()))
    })
}

fn state_name(state: Option<TaskState>) -> String {
    state.map_or_else(|| "unknown".into(), |s| s.to_string())
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
