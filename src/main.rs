//! The `foyer` binary: `serve` runs the server (SSH and web listeners);
//! `user`, `key` and `migrate` act on the same database, also while a
//! server runs; `config check`, `hostkey`, `completions` and `man` help
//! whoever operates it.
//!
//! Owns argument parsing, start-up order and exit codes only: 78
//! (EX_CONFIG) for a bad configuration, 1 for any other failure. Errors are
//! reported here, once, with their context. No function over 80 lines
//! (clippy.toml).
#![warn(clippy::too_many_lines)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};
use foyer::admin::{self, KeyCommand, UserCommand};
use foyer::announce::{Announcer, Reported};
use foyer::audit::Auditor;
use foyer::config::{
    Config, ConfigError, IgnoredVariable, Loaded, LogFormat, Overrides, RuntimeKind, Sources,
};
use foyer::gateway::attention::AttentionEvents;
use foyer::gateway::hosting::HostStarter;
use foyer::gateway::link::LinkContext;
use foyer::gateway::records::RecordWriter;
use foyer::gateway::{App, Registry};
use foyer::runtime::Runtime;
use foyer::runtime::account::HostAccount;
use foyer::runtime::docker::DockerRuntime;
use foyer::runtime::local::LocalRuntime;
use foyer::ssh;
use foyer::store::Store;
use foyer::web;
use foyer::wire::HubSettings;
use tokio::sync::watch;

/// sysexits.h's EX_CONFIG: the configuration is bad, so restarting with
/// the same one cannot help (systemd: `RestartPreventExitStatus=78`).
const EX_CONFIG: u8 = 78;

#[derive(Parser)]
#[command(
    name = "foyer",
    version,
    about = "An SSH front door for shared, persistent terminal sessions"
)]
struct Cli {
    /// Configuration file. Without it: $FOYER_CONFIG, else
    /// ./config/foyer.toml, else /etc/foyer/foyer.toml, else none
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Data directory (overrides data.dir; default: $STATE_DIRECTORY under
    /// systemd, else ./data)
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL (overrides database.url; sqlite://… or postgres://…)
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server
    Serve {
        /// Address for SSH (overrides ssh.listen); port 0 picks a free one
        #[arg(long, value_name = "ADDR")]
        ssh_listen: Option<SocketAddr>,
        /// Address for the web server (overrides web.listen); port 0 picks a free one
        #[arg(long, value_name = "ADDR")]
        web_listen: Option<SocketAddr>,
        /// On shutdown, also end every session's program (hang up, then
        /// kill) instead of leaving sessions running for the next start
        #[arg(long)]
        stop_sessions: bool,
    },
    /// Manage users
    #[command(subcommand)]
    User(UserCommand),
    /// Manage users' SSH keys
    #[command(subcommand)]
    Key(KeyCommand),
    /// Apply database migrations and exit (creates the database if missing)
    Migrate,
    /// Check the configuration
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print the SSH host key's SHA256 fingerprint and a known_hosts line,
    /// for people to check their first connection against
    Hostkey {
        /// The host name clients connect to, for the known_hosts line
        /// (default: ssh.listen's address; give the server's name when
        /// that is 0.0.0.0 or ::)
        #[arg(long, value_name = "NAME")]
        host: Option<String>,
    },
    /// Print shell completions (bash, zsh, fish, elvish, powershell)
    Completions {
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff; view with `foyer man | man -l -`)
    Man,
}

/// `foyer session-host …`: one session's host, started by the server, not
/// by hand. Parsed apart from [`Cli`] (always the first argument), so it
/// appears in no help, completion or man page.
#[derive(Parser)]
#[command(
    name = "foyer session-host",
    about = "Run one session's host (started by the server, not by hand)"
)]
struct SessionHostArgs {
    /// The hosts directory (data/hosts)
    #[arg(long, value_name = "DIR")]
    hosts: PathBuf,
    /// The foyer user whose sessions it runs
    #[arg(long, value_name = "ID")]
    owner: i64,
    #[arg(long, value_name = "PATH")]
    log: PathBuf,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate the file, the environment and the flags without starting
    /// anything: exit 0 when good, 78 with the key, the file and the
    /// reason when not
    Check {
        /// Print the effective configuration as TOML
        #[arg(long)]
        print: bool,
    },
}

fn main() -> ExitCode {
    if std::env::args_os()
        .nth(1)
        .is_some_and(|arg| arg == "session-host")
    {
        // Before anything else: a host reads no configuration and runs
        // its own runtime.
        let args = SessionHostArgs::parse_from(std::env::args_os().skip(1));
        return exit_with(foyer::host::process::main(args.hosts, args.owner, args.log));
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Completions { shell } => {
            let mut command = Cli::command();
            clap_complete::generate(shell, &mut command, "foyer", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::Man => exit_with(print_man_page()),
        _ => run_with_runtime(cli),
    }
}

/// The man page of every command but the hidden session host.
fn print_man_page() -> anyhow::Result<()> {
    clap_mangen::Man::new(Cli::command())
        .render(&mut std::io::stdout())
        .context("cannot write the man page")
}

fn run_with_runtime(cli: Cli) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("foyer: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    exit_with(runtime.block_on(run(cli)))
}

/// Prints the error (unless already logged) and picks the exit code.
fn exit_with(result: anyhow::Result<()>) -> ExitCode {
    let Err(error) = result else {
        return ExitCode::SUCCESS;
    };
    if !error.is::<Reported>() {
        eprintln!("foyer: {error:#}");
    }
    if error.is::<ConfigError>() {
        ExitCode::from(EX_CONFIG)
    } else {
        ExitCode::FAILURE
    }
}

/// The sources the command line names (`--config` and the overriding
/// flags); loading them again later reads the same places again.
fn sources(cli: &Cli) -> Sources {
    let (ssh_listen, web_listen) = match &cli.command {
        Command::Serve {
            ssh_listen,
            web_listen,
            ..
        } => (*ssh_listen, *web_listen),
        _ => (None, None),
    };
    Sources {
        file: cli.config.clone(),
        overrides: Overrides {
            ssh_listen,
            web_listen,
            data_dir: cli.data_dir.clone(),
            database_url: cli.database_url.clone(),
        },
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let loaded = sources(&cli).load()?;
    if !matches!(cli.command, Command::Serve { .. }) {
        // The server logs these once logging has started.
        for ignored in &loaded.ignored {
            eprintln!("foyer: warning: {ignored}");
        }
    }
    let config = loaded.config.clone();
    match cli.command {
        Command::Serve { stop_sessions, .. } => {
            let announcer = Announcer::new(config.log.format);
            serve(loaded, stop_sessions, announcer)
                .await
                .map_err(|error| announcer.stopped(error))
        }
        Command::User(command) => {
            admin::run_user(&open_existing_store(&config).await?, command).await
        }
        Command::Key(command) => {
            admin::run_key(&open_existing_store(&config).await?, command).await
        }
        Command::Migrate => {
            open_store(&config).await?;
            println!("database is up to date");
            Ok(())
        }
        Command::Config(ConfigCommand::Check { print }) => check_config(&loaded, print),
        Command::Hostkey { host } => print_host_key(&config, host),
        Command::Completions { .. } | Command::Man => Ok(()),
    }
}

/// `foyer config check`: the configuration loaded, so it is good; says
/// which file it came from, or prints it whole.
fn check_config(loaded: &Loaded, print: bool) -> anyhow::Result<()> {
    if print {
        let text = loaded
            .config
            .to_toml()
            .context("cannot print the configuration as TOML")?;
        print!("{text}");
        return Ok(());
    }
    match &loaded.file {
        Some(file) => println!("configuration is good ({})", file.display()),
        None => println!("configuration is good (no config file: defaults, environment and flags)"),
    }
    Ok(())
}

/// `foyer hostkey`: the existing host key's fingerprint and known_hosts
/// line (never creates a key).
fn print_host_key(config: &Config, host: Option<String>) -> anyhow::Result<()> {
    let key = ssh::hostkey::load(&config.ssh.host_key)?;
    let listen = config.ssh.listen;
    let host = host.unwrap_or_else(|| listen.ip().to_string());
    println!("{}", ssh::hostkey::fingerprint(&key));
    println!(
        "{}",
        ssh::hostkey::known_hosts_line(&key, &host, listen.port())?
    );
    Ok(())
}

/// The store of an admin command: the database must exist already (an
/// admin command run from the wrong directory must not create an empty
/// one and report no users).
async fn open_existing_store(config: &Config) -> anyhow::Result<Store> {
    if let Some(path) = config.sqlite_file()
        && !path.exists()
    {
        anyhow::bail!(
            "no database at {} (start foyer serve, run foyer migrate, or pass --config)",
            path.display()
        );
    }
    open_store(config).await
}

async fn open_store(config: &Config) -> anyhow::Result<Store> {
    // The store's error names the URL itself, with any password hidden.
    let store = Store::open(&config.database_url()).await?;
    store
        .migrate()
        .await
        .context("cannot apply database migrations")?;
    Ok(store)
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&config.log.level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colors only on a terminal: journald and log files get plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match config.log.format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
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
async fn serve(loaded: Loaded, stop_sessions: bool, announcer: Announcer) -> anyhow::Result<()> {
    let mut config = loaded.config;
    init_logging(&config);
    warn_ignored(&loaded.ignored);
    announcer.log_panics();
    foyer::runtime::local::raise_open_files_limit();
    let (store, account) = open_data(&config, announcer).await?;
    let host_key = ssh::hostkey::load_or_create(&config.ssh.host_key)?;
    let host_key_fingerprint = ssh::hostkey::fingerprint(&host_key);
    let audit = Auditor::start(store.clone());
    let runtime = start_runtime(&config, &account)?;
    let attention = AttentionEvents::new();
    let (hosts, registry, records) =
        start_sessions(&config, &store, &audit, &runtime, &attention).await?;
    let listeners = Listeners::bind(&mut config).await?;
    let russh_config = Arc::new(ssh::russh_config(host_key, &config.ssh.kex));
    let app = Arc::new(App {
        config,
        store,
        registry,
        account,
        audit,
        runtime: runtime.clone(),
        hosts,
        revocations: foyer::engine::Changes::new(),
        attention,
    });
    announcer.host_key(
        &host_key_fingerprint,
        &ssh::hostkey::public_path(&app.config.ssh.host_key),
    );
    listeners.announce(announcer);
    let metrics = foyer::metrics::Metrics::install()?;
    let metrics_listener = serve_metrics(&app, &metrics, announcer).await?;
    let webhook = foyer::webhook::start(&app).context("cannot start the attention webhook")?;
    serve_until_signal(listeners, russh_config, &app, metrics).await;
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
    attention: &AttentionEvents,
) -> anyhow::Result<(HostStarter, Registry, RecordWriter)> {
    let hosts = host_starter(config, runtime.clone());
    foyer::gateway::host_start::prepare_directory(&hosts.hosts)
        .context("cannot prepare the session hosts' directory")?;
    let records = RecordWriter::start(store.clone());
    let context = LinkContext {
        store: store.clone(),
        records: records.clone(),
        audit: audit.clone(),
        changes: foyer::engine::Changes::new(),
        settings: hosts.settings.clone(),
        attention: attention.clone(),
    };
    let registry =
        Registry::start(context, hosts.clone(), config.sessions.exited_retention).await?;
    Ok((hosts, registry, records))
}

/// Starts session hosts with each hub's settings from `[sessions]`.
fn host_starter(config: &Config, runtime: Runtime) -> HostStarter {
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

    fn announce(&self, announcer: Announcer) {
        let web_scheme = if self.tls.is_some() { "https" } else { "http" };
        announcer.ssh_listening(self.ssh_address);
        announcer.web_listening(web_scheme, self.web_address);
        announcer.connect_with(self.ssh_address);
    }
}

/// With `metrics.listen`, `/metrics` on a listener of its own: its task.
async fn serve_metrics(
    app: &Arc<App>,
    metrics: &foyer::metrics::Metrics,
    announcer: Announcer,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let Some(address) = app.config.metrics.listen else {
        return Ok(None);
    };
    let (bound, task) = foyer::web::metrics_route::serve(address, app.clone(), metrics.clone())
        .await
        .with_context(|| format!("cannot listen on {address} (metrics.listen)"))?;
    announcer.metrics_listening(bound);
    Ok(Some(task))
}

/// Serves SSH and the web until SIGINT or SIGTERM, then stops both
/// listeners and waits for them.
async fn serve_until_signal(
    listeners: Listeners,
    russh_config: Arc<russh::server::Config>,
    app: &Arc<App>,
    metrics: foyer::metrics::Metrics,
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
    wait_for_signal().await;
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

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
}
