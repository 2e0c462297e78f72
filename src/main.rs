//! The `foyer` binary: `serve` runs the server (SSH and web listeners);
//! `user`, `key` and `migrate` act on the same database, also while a
//! server runs; `config check`, `hostkey`, `completions` and `man` help
//! whoever operates it.
//!
//! Owns argument parsing and exit codes only (the start-up order is
//! `foyer::server`'s): 78 (EX_CONFIG) for a bad configuration, 1 for any
//! other failure. Errors are reported here, once, with their context. No
//! function over 80 lines (clippy.toml).
#![warn(clippy::too_many_lines)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};
use foyer::admin::{self, KeyCommand, UserCommand};
use foyer::announce::{Announcer, Reported};
use foyer::config::{Config, ConfigError, Loaded, Overrides, Sources};
use foyer::reload::LoadConfig;
use foyer::ssh;
use foyer::store::Store;

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
    /// Listen for gateways on other machines at ADDRESS:PORT (mutual TLS;
    /// a host run as a Swarm task), instead of reading a first launch
    #[arg(long, value_name = "ADDRESS:PORT", requires_all = ["tls_ca", "tls_cert", "tls_key"])]
    listen: Option<String>,
    /// The operator's CA certificate (PEM): gateways must present one it signed
    #[arg(long, value_name = "PATH")]
    tls_ca: Option<PathBuf>,
    /// This host's certificate chain (PEM), for the name foyer-host
    #[arg(long, value_name = "PATH")]
    tls_cert: Option<PathBuf>,
    /// This host's private key (PEM)
    #[arg(long, value_name = "PATH")]
    tls_key: Option<PathBuf>,
}

impl SessionHostArgs {
    fn listening(&self) -> Option<foyer::host::process::Listening> {
        Some(foyer::host::process::Listening {
            address: self.listen.clone()?,
            tls: foyer::transport::tls::TlsFiles {
                ca: self.tls_ca.clone()?,
                cert: self.tls_cert.clone()?,
                key: self.tls_key.clone()?,
            },
        })
    }
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
        let listening = args.listening();
        return exit_with(foyer::host::process::main(
            args.hosts, args.owner, args.log, listening,
        ));
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
    let sources = sources(&cli);
    let loaded = sources.load()?;
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
            // A reload reads the same sources again.
            let load: LoadConfig = Box::new(move || sources.load().map(|loaded| loaded.config));
            foyer::server::serve(loaded, load, stop_sessions, announcer)
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
            foyer::server::open_store(&config).await?;
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
    foyer::server::open_store(config).await
}
