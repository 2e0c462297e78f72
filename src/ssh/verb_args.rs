//! The verbs as clap reads them: each verb's arguments, options and the
//! one-line descriptions clap shows under `VERB --help`, and the lifetime
//! (`--ttl`) parser they share.
//!
//! Must not split the command line or word errors (that is `verbs`), nor
//! look anything up or act.

use clap::{Parser, Subcommand};

/// Longest lifetime a link or token may be given.
pub const MAX_TTL: std::time::Duration = std::time::Duration::from_secs(366 * 86_400);

#[derive(Debug, Parser)]
#[command(
    name = "ssh HOST",
    no_binary_name = true,
    disable_help_subcommand = true,
    disable_version_flag = true,
    color = clap::ColorChoice::Never
)]
pub(super) struct CommandLine {
    #[command(subcommand)]
    pub(super) verb: Verb,
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Verb {
    /// List the sessions you can see
    Ls {
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
    /// Create a session (and attach to it, with a terminal)
    New {
        name: String,
        /// Do not attach
        #[arg(short = 'd')]
        detached: bool,
        /// Attach if it already exists
        #[arg(short = 'A')]
        attach_existing: bool,
        /// Working directory (default: your home)
        #[arg(short = 'C', value_name = "DIR")]
        dir: Option<String>,
        /// Start a preset from the configuration
        #[arg(short = 'p', value_name = "PRESET", conflicts_with = "command")]
        preset: Option<String>,
        /// The command to run (default: your login shell)
        #[arg(last = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// Attach to a session (needs ssh -t)
    #[command(alias = "a")]
    Attach { name: String },
    /// Watch a session read-only
    Watch { name: String },
    /// Print a session's screen
    Capture {
        name: String,
        /// Keep colors and attributes
        #[arg(long)]
        ansi: bool,
        /// Also print the last N scrollback lines
        #[arg(long, value_name = "N", default_value_t = 0)]
        scrollback: usize,
    },
    /// Type text into a session (\n \r \t \e \xHH escapes)
    Send {
        name: String,
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "TEXT"
        )]
        text: Vec<String>,
    },
    /// End a session's program and remove the session
    Kill { name: String },
    /// Start an exited session again
    Restart { name: String },
    /// Stop a session's program (SIGSTOP to its process group)
    Pause { name: String },
    /// Let a paused session's program go on (SIGCONT)
    Resume { name: String },
    /// Send a signal to a session's program's process group
    Signal {
        name: String,
        /// INT, TERM, HUP, QUIT, USR1, USR2, WINCH or a number
        #[arg(value_name = "SIG", value_parser = crate::wire::control::parse_signal, allow_hyphen_values = true)]
        signal: nix::sys::signal::Signal,
    },
    /// Mark a session as wanting attention, with TEXT as its message
    Notify {
        name: String,
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "TEXT"
        )]
        text: Vec<String>,
    },
    /// Clear a session's attention mark, as handled by you
    Ack { name: String },
    /// Let another user watch a session (or, with --write, type into it)
    Share {
        name: String,
        user: String,
        /// Grant write access (default: read)
        #[arg(long)]
        write: bool,
    },
    /// Take a user's access to a session away
    Unshare { name: String, user: String },
    /// Print a one-time browser sign-in URL for a session (--guest: a
    /// read-only link anyone may open)
    Link {
        #[arg(required_unless_present_any = ["list", "revoke"])]
        name: Option<String>,
        /// A read-only link for anyone holding it, without an account
        #[arg(long)]
        guest: bool,
        /// How long the URL works (default 10m; 1h with --guest)
        #[arg(long, value_name = "DURATION", value_parser = parse_ttl)]
        ttl: Option<std::time::Duration>,
        /// Show your links
        #[arg(long, conflicts_with_all = ["name", "guest", "ttl", "revoke"])]
        list: bool,
        /// End a link early
        #[arg(long, value_name = "ID", conflicts_with_all = ["name", "guest", "ttl"])]
        revoke: Option<i64>,
    },
    /// Bearer tokens for the JSON API
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Play a session's recording with its timing (sessions.record)
    Replay { name: String },
    /// Show the audit log, newest first (admins)
    Audit {
        /// Only this session's rows (NAME or OWNER/NAME)
        name: Option<String>,
        /// Machine-readable output
        #[arg(long)]
        json: bool,
        /// How many rows at most
        #[arg(long, value_name = "N", default_value_t = 100)]
        limit: i64,
    },
    /// Show who you are signed in as
    Whoami,
    /// Manage your SSH keys
    Keys {
        #[command(subcommand)]
        action: Option<KeysAction>,
    },
    /// Show the commands
    Help,
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum KeysAction {
    /// Add a public key (an OpenSSH public key line)
    Add {
        #[arg(num_args = 1.., value_name = "KEY")]
        key: Vec<String>,
    },
    /// Remove a key by fingerprint (never your last one)
    Remove { fingerprint: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum TokenAction {
    /// Make a token (printed once)
    Create {
        /// How long it works
        #[arg(long, value_name = "DURATION", value_parser = parse_ttl, default_value = "30d")]
        ttl: std::time::Duration,
    },
    /// Show your tokens
    List,
    /// End a token early
    Revoke { id: i64 },
}

/// A lifetime: `10m`, `1h`, `30d`; more than 0s and at most a year.
fn parse_ttl(text: &str) -> Result<std::time::Duration, String> {
    let ttl = humantime::parse_duration(text)
        .map_err(|_| format!("`{text}` is not a duration (write 10m, 2h or 30d)"))?;
    if ttl.as_secs() == 0 || ttl > MAX_TTL {
        return Err(format!("`{text}`: between 1s and 366d"));
    }
    Ok(ttl)
}
