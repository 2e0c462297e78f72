//! Parses an SSH command line into a [`Verb`]: split into words as a POSIX
//! shell would (`shell-words`: quotes honoured, nothing expanded), then
//! read by clap, which also writes the usage lines.
//!
//! This file splits and words the errors; the verbs' clap definitions are
//! in `verb_args`, the help text and usage lines in `verb_help`, `send`'s
//! escapes in `verb_escapes`. Those never import this file; it re-exports
//! their public names so `verbs::X` keeps working.
//!
//! Must not look anything up or act; it only parses.

use clap::Parser;
use clap::error::ErrorKind;

use super::verb_args::CommandLine;
pub use super::verb_args::{KeysAction, MAX_TTL, TokenAction, Verb};
pub use super::verb_escapes::decode_escapes;
pub use super::verb_help::{help_text, usage_line};

/// Longest command line accepted, in bytes.
pub const MAX_COMMAND_LINE: usize = 64 * 1024;

/// Verbs this server knows; anything else is `unknown command`.
pub const KNOWN_VERBS: &[&str] = &[
    "ls", "new", "attach", "a", "watch", "capture", "send", "kill", "restart", "pause", "resume",
    "signal", "notify", "ack", "share", "unshare", "link", "token", "replay", "audit", "whoami",
    "keys", "help",
];

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
