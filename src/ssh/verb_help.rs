//! The `help` text and each verb's usage line (printed under a usage
//! error of that verb), from one table.
//!
//! Must not parse anything: `verb_args` is what clap reads, this is only
//! what people read, and the two are kept in step by hand.

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
        verb: "notify",
        usage: "notify NAME [--] TEXT...",
        what: "mark the session as wanting attention, with TEXT",
    },
    VerbHelp {
        verb: "ack",
        usage: "ack NAME",
        what: "clear the session's attention mark, as handled by you",
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
