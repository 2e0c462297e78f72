//! Parses an SSH command line into a [`Verb`]: split into words as a POSIX
//! shell would (`shell-words`: quotes honoured, nothing expanded), then
//! read by clap, which also writes the usage lines.
//!
//! Must not look anything up or act; it only parses.

use clap::error::ErrorKind;
use clap::{Parser, Subcommand};

/// Longest command line accepted, in bytes.
pub const MAX_COMMAND_LINE: usize = 64 * 1024;

/// Verbs this server knows; anything else is `unknown command`.
pub const KNOWN_VERBS: &[&str] = &[
    "ls", "new", "attach", "a", "watch", "capture", "send", "kill", "restart", "pause", "resume",
    "signal", "share", "unshare", "link", "token", "replay", "audit", "whoami", "keys", "help",
];

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
struct CommandLine {
    #[command(subcommand)]
    verb: Verb,
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

/// Why a command line was not a verb; each maps to an exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Exit 2 with `unknown command: X (try: help)`.
    Unknown(String),
    /// Exit 2 with one error line, then the verb's usage line.
    Usage(String),
}

impl ParseError {
    pub fn message(&self) -> String {
        match self {
            ParseError::Unknown(word) => format!("unknown command: {word} (try: help)\n"),
            ParseError::Usage(text) => text.clone(),
        }
    }

    /// A usage error of `verb` (None: the verb is not known yet): the
    /// error line, then the verb's usage line.
    fn usage(verb: Option<&str>, error: &str) -> ParseError {
        ParseError::Usage(format!("error: {error}\n{}", usage_line(verb)))
    }
}

/// Parses a command line as the client sent it.
pub fn parse(line: &str) -> Result<Verb, ParseError> {
    let first = line.split_whitespace().next();
    if line.len() > MAX_COMMAND_LINE {
        return Err(ParseError::usage(
            None,
            &format!("the command line is longer than {MAX_COMMAND_LINE} bytes"),
        ));
    }
    let words = shell_words::split(line)
        .map_err(|e| ParseError::usage(first, &format!("cannot split the command line: {e}")))?;
    let Some(first) = words.first() else {
        return Ok(Verb::Help);
    };
    if !KNOWN_VERBS.contains(&first.as_str()) {
        return Err(ParseError::Unknown(crate::gateway::names::printable(first)));
    }
    CommandLine::try_parse_from(&words)
        .map(|c| c.verb)
        .map_err(|e| clap_error(first, &e))
}

/// A clap error as a usage error of `verb`: `--help` keeps clap's text,
/// anything else becomes one line (clap's first paragraph, without its
/// tips and its own usage) followed by the verb's usage line.
fn clap_error(verb: &str, error: &clap::Error) -> ParseError {
    let rendered = error.render().to_string();
    match error.kind() {
        ErrorKind::DisplayHelp => return ParseError::Usage(rendered),
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            return ParseError::usage(Some(verb), &format!("{verb} needs a subcommand"));
        }
        _ => {}
    }
    let first_paragraph = rendered.split("\n\n").next().unwrap_or_default();
    let one_line = first_paragraph
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let error = one_line.strip_prefix("error: ").unwrap_or(&one_line);
    ParseError::usage(Some(verb), error)
}

/// One row of `help`: a verb, its usage (also the line printed under a
/// usage error of that verb) and what it does.
struct VerbHelp {
    verb: &'static str,
    usage: &'static str,
    what: &'static str,
}

const VERB_HELP: &[VerbHelp] = &[
    VerbHelp {
        verb: "ls",
        usage: "ls [--json]",
        what: "sessions you can see",
    },
    VerbHelp {
        verb: "new",
        usage: "new NAME [-d] [-A] [-C DIR] [-p PRESET | -- COMMAND...]",
        what: "create (and attach, with ssh -t)",
    },
    VerbHelp {
        verb: "attach",
        usage: "attach NAME",
        what: "attach with your access (needs ssh -t; alias: a)",
    },
    VerbHelp {
        verb: "watch",
        usage: "watch NAME",
        what: "attach read-only; without a terminal, stream the output",
    },
    VerbHelp {
        verb: "capture",
        usage: "capture NAME [--ansi] [--scrollback N]",
        what: "print the current screen",
    },
    VerbHelp {
        verb: "send",
        usage: "send NAME [--] TEXT...",
        what: "type TEXT (\\n \\r \\t \\e \\xHH escapes)",
    },
    VerbHelp {
        verb: "kill",
        usage: "kill NAME",
        what: "end the program and remove the session",
    },
    VerbHelp {
        verb: "restart",
        usage: "restart NAME",
        what: "start an exited session again",
    },
    VerbHelp {
        verb: "pause",
        usage: "pause NAME",
        what: "stop the program (SIGSTOP) until resume",
    },
    VerbHelp {
        verb: "resume",
        usage: "resume NAME",
        what: "let a paused program go on (SIGCONT)",
    },
    VerbHelp {
        verb: "signal",
        usage: "signal NAME SIG",
        what: "send SIG (INT TERM HUP QUIT USR1 USR2 WINCH or a number)",
    },
    VerbHelp {
        verb: "audit",
        usage: "audit [NAME] [--json] [--limit N]",
        what: "the audit log, newest first (admins)",
    },
    VerbHelp {
        verb: "replay",
        usage: "replay NAME",
        what: "play the session's recording (Ctrl-\\ d leaves)",
    },
    VerbHelp {
        verb: "share",
        usage: "share NAME USER [--write]",
        what: "grant read (or, with --write, write) access",
    },
    VerbHelp {
        verb: "unshare",
        usage: "unshare NAME USER",
        what: "take a user's access away",
    },
    VerbHelp {
        verb: "link",
        usage: "link NAME [--guest] [--ttl DURATION] | --list | --revoke ID",
        what: "browser URL: sign-in for you, or read-only for guests",
    },
    VerbHelp {
        verb: "token",
        usage: "token create [--ttl 30d] | token list | token revoke ID",
        what: "bearer tokens for the JSON API",
    },
    VerbHelp {
        verb: "whoami",
        usage: "whoami",
        what: "who you are signed in as",
    },
    VerbHelp {
        verb: "keys",
        usage: "keys | keys add KEY | keys remove FINGERPRINT",
        what: "your SSH keys",
    },
    VerbHelp {
        verb: "help",
        usage: "help",
        what: "this text",
    },
];

/// The general usage line, first in `help`.
const GENERAL_USAGE: &str = "usage: ssh HOST VERB [ARGS]\n";

/// The usage line of `verb` (an alias is read as its verb), as `help`
/// shows it; the general one for an unknown verb or none.
pub fn usage_line(verb: Option<&str>) -> String {
    let verb = match verb {
        Some("a") => Some("attach"),
        other => other,
    };
    match VERB_HELP.iter().find(|row| Some(row.verb) == verb) {
        Some(row) => format!("usage: ssh HOST {}\n", row.usage),
        None => GENERAL_USAGE.to_string(),
    }
}

/// Decodes `send` escapes: `\n`, `\r`, `\t`, `\e`, `\\`, `\xHH`. An
/// unknown escape is kept as written.
pub fn decode_escapes(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' || i + 1 >= bytes.len() {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let (decoded, used) = match bytes[i + 1] {
            b'n' => (Some(b'\n'), 2),
            b'r' => (Some(b'\r'), 2),
            b't' => (Some(b'\t'), 2),
            b'e' => (Some(0x1b), 2),
            b'\\' => (Some(b'\\'), 2),
            b'x' => match bytes
                .get(i + 2..i + 4)
                .and_then(|h| std::str::from_utf8(h).ok())
            {
                Some(hex) => (u8::from_str_radix(hex, 16).ok(), 4),
                None => (None, 0),
            },
            _ => (None, 0),
        };
        match decoded {
            Some(byte) => {
                out.push(byte);
                i += used;
            }
            None => {
                out.push(b'\\');
                i += 1;
            }
        }
    }
    out
}

/// The `help` text: every verb and what it does.
pub fn help_text() -> String {
    let width = VERB_HELP
        .iter()
        .map(|row| row.usage.len())
        .max()
        .unwrap_or(0);
    let mut text = format!("{GENERAL_USAGE}\n");
    for row in VERB_HELP {
        text.push_str(&format!("  {:<width$} {}\n", row.usage, row.what));
    }
    text.push_str("\nAttached: Ctrl-\\ d detach, Ctrl-\\ Ctrl-\\ send Ctrl-\\, Ctrl-\\ ? keys.\n");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_with_command_after_double_dash() {
        let verb = parse("new work -d -C /tmp -- bash -c 'echo hi'").unwrap();
        assert_eq!(
            verb,
            Verb::New {
                name: "work".into(),
                detached: true,
                attach_existing: false,
                dir: Some("/tmp".into()),
                preset: None,
                command: vec!["bash".into(), "-c".into(), "echo hi".into()],
            }
        );
    }

    #[test]
    fn unknown_and_usage_errors_differ() {
        assert_eq!(
            parse("frobnicate x"),
            Err(ParseError::Unknown("frobnicate".into()))
        );
        match parse("attach") {
            Err(ParseError::Usage(text)) => assert_eq!(
                text,
                "error: the following required arguments were not provided: <NAME>\n\
                 usage: ssh HOST attach NAME\n"
            ),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse("new x -p claude -- vim"),
            Err(ParseError::Usage(_))
        ));
        assert!(matches!(
            parse("ls 'unterminated"),
            Err(ParseError::Usage(_))
        ));
    }

    #[test]
    fn a_missing_subcommand_is_named() {
        assert_eq!(
            parse("token").unwrap_err().message(),
            "error: token needs a subcommand\n\
             usage: ssh HOST token create [--ttl 30d] | token list | token revoke ID\n"
        );
    }

    #[test]
    fn alias_and_send_text() {
        assert_eq!(
            parse("a work").unwrap(),
            Verb::Attach {
                name: "work".into()
            }
        );
        assert_eq!(
            parse("send work -- -n hello").unwrap(),
            Verb::Send {
                name: "work".into(),
                text: vec!["-n".into(), "hello".into()]
            }
        );
    }

    #[test]
    fn link_and_token_parse() {
        assert!(matches!(
            parse("link work --guest --ttl 2h").unwrap(),
            Verb::Link { name: Some(_), guest: true, ttl: Some(t), .. } if t.as_secs() == 7200
        ));
        assert!(matches!(
            parse("link --list").unwrap(),
            Verb::Link { list: true, .. }
        ));
        assert!(matches!(parse("link"), Err(ParseError::Usage(_))));
        assert!(matches!(
            parse("link work --ttl soon"),
            Err(ParseError::Usage(_))
        ));
        assert!(matches!(
            parse("link work --ttl 0s"),
            Err(ParseError::Usage(_))
        ));
        assert_eq!(
            parse("token revoke 7").unwrap(),
            Verb::Token {
                action: TokenAction::Revoke { id: 7 }
            }
        );
        assert!(matches!(
            parse("token create").unwrap(),
            Verb::Token { action: TokenAction::Create { ttl } } if ttl.as_secs() == 30 * 86_400
        ));
    }

    #[test]
    fn escapes_decode() {
        assert_eq!(
            decode_escapes(r"a\nb\r\t\e\x41\\\q"),
            b"a\nb\r\t\x1bA\\\\q".to_vec()
        );
        assert_eq!(decode_escapes(r"\x4"), b"\\x4".to_vec());
        assert_eq!(decode_escapes("tail\\"), b"tail\\".to_vec());
    }
}
