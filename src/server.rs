//! `foyer serve`: starts everything in order (logging, the data and the
//! database, the session hosts and the registry, the listeners, metrics,
//! the webhook and reloads), serves until SIGINT or SIGTERM, then shuts
//! down, writing the last records.
//!
//! Owns the start-up order and the shutdown; it must not parse the
//! command line (the binary does) nor hold state of its own once serving.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::admin::{self};
use crate::announce::Announcer;
use crate::audit::Auditor;
use crate::config::{Config, IgnoredVariable, Loaded, LogFormat, RuntimeKind};
use crate::gateway::attention::AttentionEvents;
use crate::gateway::books::Books;
use crate::gateway::hosting::HostStarter;
use crate::gateway::link::LinkContext;
use crate::gateway::live::Live;
use crate::gateway::records::RecordWriter;
use crate::gateway::{App, Registry};
use crate::reload::{LoadConfig, Reloader};
use crate::runtime::Runtime;
use crate::runtime::account::HostAccount;
use crate::runtime::docker::DockerRuntime;
use crate::runtime::local::LocalRuntime;
use crate::runtime::swarm::SwarmRuntime;
use crate::ssh;
use crate::store::Store;
use crate::web;
use crate::wire::HubSettings;
use anyhow::Context;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;

pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    // The store's error names the URL itself, with any password hidden.
    let store = Store::open(&config.database_url()).await?;
    store
        .migrate()
        .await
        .context("cannot apply database migrations")?;
    Ok(store)
}

/// One warning line per `FOYER_*` variable that names no key.
fn warn_ignored(ignored: &[IgnoredVariable]) {
    for variable in ignored {
        tracing::warn!(variable = %variable.name, "{variable}");
    }
}

/// First start with no users: the OS user becomes an admin with the keys
/// from `~/.ssh`.
async fn create_first_admin(
    store: &Store,
    account: &HostAccount,
    announcer: Announcer,
) -> anyhow::Result<()> {
    if store.user_count().await? > 0 {
        return Ok(());
    }
    let keys = admin::first_start_keys(&account.home);
    if keys.is_empty() {
        announcer.no_first_admin(&account.home);
        return Ok(());
    }
    let user = store
        .create_user_with_keys(&account.user, true, &keys)
        .await
        .with_context(|| format!("cannot create the first admin `{}`", account.user))?
        .0;
    announcer.first_admin(&user.name, keys.len(), &account.home);
    Ok(())
}

/// `foyer serve`: starts everything in order, serves until SIGINT or
/// SIGTERM, then shuts down.
pub async fn serve(
    loaded: Loaded,
    load: LoadConfig,
    stop_sessions: bool,
    announcer: Announcer,
) -> anyhow::Result<()> {
    // Before anything else: a signal nobody listens for yet would end the
    // process (SIGHUP's default action), or skip the orderly shutdown.
    let signals = Signals::listen()?;
    let mut config = loaded.config;
    // The handle changes the level at run time (SIGHUP).
    let log_level = crate::logging::init(config.log.format, &config.log.level)?;
    warn_ignored(&loaded.ignored);
    announcer.log_panics();
    crate::runtime::local::raise_open_files_limit();
    let (store, account) = open_data(&config, announcer).await?;
    let host_key = ssh::hostkey::load_or_create(&config.ssh.host_key)?;
    let host_key_fingerprint = ssh::hostkey::fingerprint(&host_key);
    let audit = Auditor::start(store.clone());
    let runtime = start_runtime(&config, &account)?;
    let attention = AttentionEvents::new();
    let (live_sender, live) = crate::gateway::live::channel(&config);
    let (hosts, registry, records) =
        start_sessions(&config, &store, &audit, &runtime, (&attention, &live)).await?;
    let listeners = Listeners::bind(&mut config).await?;
    let reloader = Reloader {
        load,
        running: config.clone(),
        live: live_sender,
        tls: watch::Sender::new(listeners.tls.clone()),
        log_level,
    };
    let russh_config = Arc::new(ssh::russh_config(host_key, &config.ssh.kex));
    let app = Arc::new(App {
        config,
        store,
        registry,
        account,
        audit,
        runtime: runtime.clone(),
        hosts,
        revocations: crate::engine::Changes::new(),
        attention,
        live,
    });
    announcer.host_key(
        &host_key_fingerprint,
        &ssh::hostkey::public_path(&app.config.ssh.host_key),
    );
    listeners.announce(announcer);
    let metrics = crate::metrics::Metrics::install()?;
    let metrics_listener = serve_metrics(&app, &metrics, announcer).await?;
    let webhook = crate::webhook::start(&app).context("cannot start the attention webhook")?;
    let tls = reloader.tls.subscribe();
    let reloads = tokio::spawn(reloader.run(signals.hangup));
    crate::systemd::ready();
    let serving = listeners.into_parts(tls, (signals.interrupt, signals.terminate));
    serve_until_signal(serving, russh_config, &app, metrics).await;
    crate::systemd::stopping();
    reloads.abort();
    for task in [metrics_listener, webhook].into_iter().flatten() {
        task.abort();
    }
    if stop_sessions {
        stop_all_sessions(&app).await;
        runtime.shutdown().await;
    }
    flush_records_and_audit(&records, &app).await;
    Ok(())
}

/// The data directory and the database (migrated), and on first start the
/// first admin.
async fn open_data(config: &Config, announcer: Announcer) -> anyhow::Result<(Store, HostAccount)> {
    let dir = &config.data.dir;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    let store = open_store(config).await?;
    tracing::info!(backend = %store.backend(), "database ready");
    let account = HostAccount::current();
    create_first_admin(&store, &account, announcer).await?;
    Ok((store, account))
}

/// What runs sessions: the host starter, the registry (with the sessions
/// the database and the hosts' directory know) and the records' writer.
async fn start_sessions(
    config: &Config,
    store: &Store,
    audit: &Auditor,
    runtime: &Runtime,
    (attention, live): (&AttentionEvents, &Live),
) -> anyhow::Result<(HostStarter, Registry, RecordWriter)> {
    let hosts = host_starter(config, runtime.clone(), live.clone());
    crate::gateway::host_start::prepare_directory(&hosts.hosts)
        .context("cannot prepare the session hosts' directory")?;
    let records = RecordWriter::start(store.clone());
    let gateway = gateway_name();
    let (books, books_writer) = Books::new(gateway.clone());
    let context = LinkContext {
        store: store.clone(),
        gateway: gateway.clone(),
        books,
        swarm: match runtime {
            Runtime::Swarm(swarm) => Some(swarm.clone()),
            _ => None,
        },
        records: records.clone(),
        audit: audit.clone(),
        changes: crate::engine::Changes::new(),
        settings: hosts.settings.clone(),
        attention: attention.clone(),
    };
    let registry =
        Registry::start(context, hosts.clone(), config.sessions.exited_retention).await?;
    if config.cluster.enabled() {
        let known = registry.clone();
        books_writer.start(store.clone(), gateway.clone(), move || {
            let registry = known.clone();
            Box::pin(async move { registry.remote_services().await })
        });
        crate::gateway::notices::start(config.database_url(), gateway, registry.clone());
    }
    Ok((hosts, registry, records))
}

/// This gateway's name among a cluster's: its machine, process and start
/// time, unique across restarts.
fn gateway_name() -> Arc<str> {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .unwrap_or_else(|_| "gateway".into());
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("{host}-{}-{started}", std::process::id()).into()
}

/// Starts session hosts with each hub's settings from `[sessions]`.
fn host_starter(config: &Config, runtime: Runtime, live: Live) -> HostStarter {
    let sessions = &config.sessions;
    let settings = HubSettings {
        scrollback_lines: sessions.scrollback_lines,
        attach_scrollback: sessions.attach_scrollback,
        size_policy: sessions.size_policy,
        client_buffer: sessions.client_buffer.0 as usize,
        kill_grace: sessions.kill_grace,
        sync_timeout: sessions.sync_timeout,
        max_clients: sessions.max_clients,
        recording: None,
    };
    HostStarter {
        runtime,
        hosts: config.data.dir.join("hosts"),
        settings,
        recordings: sessions.record.then(|| config.data.dir.join("recordings")),
        log_level: config.log.level.clone(),
        log_json: matches!(config.log.format, LogFormat::Json),
        live,
    }
}

/// The SSH and web listeners, bound, with the addresses they got.
struct Listeners {
    ssh: tokio::net::TcpListener,
    ssh_address: SocketAddr,
    web: tokio::net::TcpListener,
    web_address: SocketAddr,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

impl Listeners {
    /// Binds both (the web one with TLS when `web.tls_cert` is set), and
    /// sets `web.public_url` from the web address when the file left it empty.
    async fn bind(config: &mut Config) -> anyhow::Result<Listeners> {
        let ssh = tokio::net::TcpListener::bind(config.ssh.listen)
            .await
            .with_context(|| format!("cannot listen on {} (ssh.listen)", config.ssh.listen))?;
        let ssh_address = ssh.local_addr()?;
        let tls = match (&config.web.tls_cert, &config.web.tls_key) {
            (Some(cert), Some(key)) => Some(web::load_tls(cert, key)?),
            _ => None,
        };
        let web = tokio::net::TcpListener::bind(config.web.listen)
            .await
            .with_context(|| format!("cannot listen on {} (web.listen)", config.web.listen))?;
        let web_address = web.local_addr()?;
        config.web.public_url = config.web.public_base(web_address);
        Ok(Listeners {
            ssh,
            ssh_address,
            web,
            web_address,
            tls,
        })
    }

    /// The listeners, with the TLS acceptor as reloads change it and the
    /// signals that end serving.
    fn into_parts(
        self,
        tls: watch::Receiver<Option<tokio_rustls::TlsAcceptor>>,
        stop_signals: (Signal, Signal),
    ) -> Serving {
        Serving {
            ssh: self.ssh,
            web: self.web,
            tls,
            stop_signals,
        }
    }

    fn announce(&self, announcer: Announcer) {
        let web_scheme = if self.tls.is_some() { "https" } else { "http" };
        announcer.ssh_listening(self.ssh_address);
        announcer.web_listening(web_scheme, self.web_address);
        announcer.connect_with(self.ssh_address);
    }
}

/// What `serve_until_signal` serves.
struct Serving {
    ssh: tokio::net::TcpListener,
    web: tokio::net::TcpListener,
    tls: watch::Receiver<Option<tokio_rustls::TlsAcceptor>>,
    /// SIGINT and SIGTERM.
    stop_signals: (Signal, Signal),
}

/// With `metrics.listen`, `/metrics` on a listener of its own: its task.
async fn serve_metrics(
    app: &Arc<App>,
    metrics: &crate::metrics::Metrics,
    announcer: Announcer,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let Some(address) = app.config.metrics.listen else {
        return Ok(None);
    };
    let (bound, task) = crate::web::metrics_route::serve(address, app.clone(), metrics.clone())
        .await
        .with_context(|| format!("cannot listen on {address} (metrics.listen)"))?;
    announcer.metrics_listening(bound);
    Ok(Some(task))
}

/// Serves SSH and the web until SIGINT or SIGTERM, then stops both
/// listeners and waits for them.
async fn serve_until_signal(
    listeners: Serving,
    russh_config: Arc<russh::server::Config>,
    app: &Arc<App>,
    metrics: crate::metrics::Metrics,
) {
    let (stop, stopped) = watch::channel(false);
    let server = tokio::spawn(ssh::serve(
        listeners.ssh,
        russh_config,
        app.clone(),
        stopped.clone(),
    ));
    let web_server = tokio::spawn(web::serve(
        listeners.web,
        listeners.tls,
        app.clone(),
        metrics,
        stopped,
    ));
    wait_for_signal(listeners.stop_signals).await;
    tracing::info!("shutting down");
    let _ = stop.send(true);
    let _ = server.await;
    let _ = web_server.await;
}

/// Exits, restarts and activity the links learned are written before the
/// process ends (a database that does not answer is not waited for long).
async fn flush_records_and_audit(records: &RecordWriter, app: &App) {
    let flushed = tokio::time::timeout(std::time::Duration::from_secs(5), records.flush());
    if flushed.await.is_err() {
        tracing::error!("the database did not take the last session records in 5 s");
    }
    // So are the audit events (the exits the links recorded among them).
    let flushed = tokio::time::timeout(std::time::Duration::from_secs(5), app.audit.flush());
    if flushed.await.is_err() {
        tracing::warn!("the audit log was not written in time; exits may be missing from it");
    }
}

/// `serve --stop-sessions`: hangs up every running program, tells each
/// session host to end with it (not to wait for a gateway to carry its
/// final screen off: a big one may not be across before this process
/// ends), and waits (at most the kill grace and a little) until each
/// program has exited.
async fn stop_all_sessions(app: &App) {
    let sessions = app.registry.list().await;
    for entry in &sessions {
        let _ = entry.link.hang_up().await;
        let _ = entry.link.shut_down().await;
    }
    let deadline = tokio::time::Instant::now()
        + app.config.sessions.kill_grace
        + std::time::Duration::from_secs(2);
    for entry in &sessions {
        while tokio::time::Instant::now() < deadline {
            match entry.link.status().await {
                Ok(status) if status.running => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await
                }
                _ => break,
            }
        }
    }
    // The last messages to the hosts are written by the links' writer
    // tasks, which end with this runtime.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    tracing::info!(sessions = sessions.len(), "sessions stopped");
}

/// The runtime `runtime.kind` names. OS accounts need root: refused at
/// start rather than at each session.
fn start_runtime(config: &Config, account: &HostAccount) -> anyhow::Result<Runtime> {
    if config.cluster.enabled() {
        let swarm = SwarmRuntime::new(&config.cluster).context("cannot use [cluster]")?;
        return Ok(Runtime::Swarm(swarm));
    }
    Ok(match config.runtime.kind {
        RuntimeKind::Local => {
            let os_users = config.runtime.local.os_users;
            if os_users && !nix::unistd::geteuid().is_root() {
                anyhow::bail!(
                    "runtime.local.os_users needs the server to run as root (it runs as {})",
                    account.user
                );
            }
            Runtime::Local(LocalRuntime {
                host: account.clone(),
                os_users,
            })
        }
        RuntimeKind::Docker => {
            let instance =
                std::fs::canonicalize(&config.data.dir).unwrap_or_else(|_| config.data.dir.clone());
            let instance = instance.display().to_string();
            Runtime::Docker(DockerRuntime::start(&config.runtime.docker, &instance))
        }
    })
}

/// The signals `serve` answers, listened for from its start.
struct Signals {
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
}

impl Signals {
    fn listen() -> anyhow::Result<Signals> {
        let listen = |kind: SignalKind, name: &str| {
            signal(kind).with_context(|| format!("cannot listen for {name}"))
        };
        Ok(Signals {
            interrupt: listen(SignalKind::interrupt(), "SIGINT")?,
            terminate: listen(SignalKind::terminate(), "SIGTERM")?,
            hangup: listen(SignalKind::hangup(), "SIGHUP")?,
        })
    }
}

/// Waits for SIGINT or SIGTERM.
async fn wait_for_signal((mut interrupt, mut terminate): (Signal, Signal)) {
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
}
