//! The process's log lines, one format for the gateway and the session
//! hosts: `text` (human-readable, colored only on a terminal and never
//! when `NO_COLOR` is set) or `json` (one object a line, the message and
//! the event's fields at the top level beside `timestamp`, `level`,
//! `target`, `span` and `spans`). The gateway logs to stderr
//! ([`init`]), a host to the shared hosts log ([`init_file`]).
//!
//! The filter: `RUST_LOG` when it is set (and valid), else the given
//! level (`log.level`, or the launch's in a host), else `info`. The
//! gateway's level can change at run time through the [`LogLevelHandle`]
//! [`init`] returns (SIGHUP), unless `RUST_LOG` set it: the operator's
//! environment keeps winning.
//!
//! Must not read the configuration or decide what is logged; it only
//! sets up where lines go and how they look.

use std::ffi::OsStr;
use std::io::IsTerminal;

use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry, reload};

use crate::config::LogFormat;

/// The environment variable whose filter wins over `log.level`.
pub const RUST_LOG: &str = "RUST_LOG";
/// The environment variable that turns colors off (https://no-color.org).
pub const NO_COLOR: &str = "NO_COLOR";
/// The filter when neither `RUST_LOG` nor the level given is valid.
const FALLBACK_LEVEL: &str = "info";

#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    #[error("invalid log filter `{directive}`: {reason}")]
    InvalidLevel { directive: String, reason: String },
    #[error("cannot change the log level: {0}")]
    Reload(String),
    #[error("cannot set up logging: {0}")]
    Install(String),
}

/// What [`LogLevelHandle::set`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LevelChange {
    /// The new level filters lines from now on.
    Applied,
    /// `RUST_LOG` set the filter at start and keeps it: nothing changed.
    KeptRustLog,
}

/// Changes the running process's log level.
#[derive(Clone)]
pub struct LogLevelHandle {
    filter: reload::Handle<EnvFilter, Registry>,
    /// The filter came from `RUST_LOG`.
    from_rust_log: bool,
}

impl LogLevelHandle {
    /// Filters with `directive` (as `log.level`: `info`,
    /// `foyer=debug,info`) from now on, unless `RUST_LOG` set the filter.
    /// An invalid directive changes nothing.
    pub fn set(&self, directive: &str) -> Result<LevelChange, LoggingError> {
        if self.from_rust_log {
            return Ok(LevelChange::KeptRustLog);
        }
        let filter = parse_level(directive)?;
        self.filter
            .reload(filter)
            .map_err(|error| LoggingError::Reload(error.to_string()))?;
        Ok(LevelChange::Applied)
    }
}

/// Logs to stderr in `format`, filtered by `RUST_LOG` or else `level`;
/// colors only when stderr is a terminal and `NO_COLOR` is unset or
/// empty. Call once per process.
pub fn init(format: LogFormat, level: &str) -> Result<LogLevelHandle, LoggingError> {
    let color = use_color(
        std::env::var_os(NO_COLOR).as_deref(),
        std::io::stderr().is_terminal(),
    );
    install(format, level, Output::Stderr { color })
}

/// Logs to `file` (appended to, never colored) in `format`, filtered by
/// `RUST_LOG` or else `level`: a session host's lines in the hosts log,
/// laid out as the gateway's.
pub fn init_file(
    file: std::fs::File,
    format: LogFormat,
    level: &str,
) -> Result<LogLevelHandle, LoggingError> {
    install(format, level, Output::File(file))
}

/// Whether log lines get ANSI colors: only on a terminal, and not when
/// `NO_COLOR` is set to anything but the empty string (no-color.org).
pub fn use_color(no_color: Option<&OsStr>, terminal: bool) -> bool {
    let no_color = no_color.is_some_and(|value| !value.is_empty());
    terminal && !no_color
}

/// Where lines go.
enum Output {
    Stderr { color: bool },
    File(std::fs::File),
}

fn install(format: LogFormat, level: &str, output: Output) -> Result<LogLevelHandle, LoggingError> {
    let rust_log = std::env::var(RUST_LOG).ok();
    let (subscriber, handle, rejected) = subscriber(format, rust_log.as_deref(), level, output);
    subscriber
        .try_init()
        .map_err(|error| LoggingError::Install(error.to_string()))?;
    for error in rejected {
        tracing::warn!(%error, "log filter not applied");
    }
    Ok(handle)
}

/// The subscriber for `format`, the filter (`rust_log`, else `level`) and
/// `output`, not installed; the handle to its level; the filters it could
/// not take.
fn subscriber(
    format: LogFormat,
    rust_log: Option<&str>,
    level: &str,
    output: Output,
) -> (
    impl tracing::Subscriber + Send + Sync,
    LogLevelHandle,
    Vec<LoggingError>,
) {
    let (filter, from_rust_log, rejected) = starting_filter(rust_log, level);
    let (filter, handle) = reload::Layer::new(filter);
    let subscriber = tracing_subscriber::registry()
        .with(filter)
        .with(format_layer(format, output));
    let handle = LogLevelHandle {
        filter: handle,
        from_rust_log,
    };
    (subscriber, handle, rejected)
}

/// The filter to start with: `rust_log` when it is set (not empty) and
/// valid, else `level`, else `info`; whether it came from `RUST_LOG`; the
/// ones that were not valid.
fn starting_filter(rust_log: Option<&str>, level: &str) -> (EnvFilter, bool, Vec<LoggingError>) {
    let mut rejected = Vec::new();
    if let Some(rust_log) = rust_log.filter(|value| !value.is_empty()) {
        match parse_level(rust_log) {
            Ok(filter) => return (filter, true, rejected),
            Err(error) => rejected.push(error),
        }
    }
    match parse_level(level) {
        Ok(filter) => (filter, false, rejected),
        Err(error) => {
            rejected.push(error);
            (EnvFilter::new(FALLBACK_LEVEL), false, rejected)
        }
    }
}

fn parse_level(directive: &str) -> Result<EnvFilter, LoggingError> {
    EnvFilter::try_new(directive).map_err(|error| LoggingError::InvalidLevel {
        directive: directive.to_string(),
        reason: error.to_string(),
    })
}

/// The subscriber the formatting layer sits on.
type Filtered = tracing_subscriber::layer::Layered<reload::Layer<EnvFilter, Registry>, Registry>;

/// The formatting layer: the same fields in the same places for every
/// output, JSON events flattened (`message` at the top level).
fn format_layer(format: LogFormat, output: Output) -> Box<dyn Layer<Filtered> + Send + Sync> {
    let (writer, color) = match output {
        Output::Stderr { color } => (BoxMakeWriter::new(std::io::stderr), color),
        Output::File(file) => (BoxMakeWriter::new(std::sync::Mutex::new(file)), false),
    };
    let layer = tracing_subscriber::fmt::layer().with_writer(writer);
    match format {
        LogFormat::Json => layer
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .with_ansi(false)
            .boxed(),
        LogFormat::Text => layer.with_ansi(color).boxed(),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn rust_log_wins_when_set_and_valid() {
        let (_, from_rust_log, rejected) = starting_filter(Some("debug"), "warn");
        assert!(from_rust_log && rejected.is_empty());
        let (_, from_rust_log, rejected) = starting_filter(Some(""), "warn");
        assert!(
            !from_rust_log && rejected.is_empty(),
            "an empty RUST_LOG is unset"
        );
        let (_, from_rust_log, rejected) = starting_filter(Some("foyer=loud"), "warn");
        assert!(!from_rust_log, "an invalid RUST_LOG gives way to log.level");
        assert!(
            matches!(&rejected[..], [LoggingError::InvalidLevel { directive, .. }] if directive == "foyer=loud")
        );
        let (filter, _, rejected) = starting_filter(None, "foyer=loud");
        assert_eq!(rejected.len(), 1);
        assert_eq!(filter.to_string(), FALLBACK_LEVEL);
    }

    #[test]
    fn colors_only_on_a_terminal_without_no_color() {
        assert!(use_color(None, true));
        assert!(
            use_color(Some(OsStr::new("")), true),
            "empty NO_COLOR is unset"
        );
        assert!(!use_color(Some(OsStr::new("1")), true));
        assert!(
            !use_color(Some(OsStr::new("false")), true),
            "any value turns colors off"
        );
        assert!(!use_color(None, false));
    }

    /// A subscriber writing to a temporary file, the file, and its handle.
    fn to_file(
        format: LogFormat,
        level: &str,
    ) -> (
        impl tracing::Subscriber + Send + Sync,
        std::fs::File,
        LogLevelHandle,
    ) {
        let file = tempfile::tempfile().unwrap();
        let output = Output::File(file.try_clone().unwrap());
        let (subscriber, handle, rejected) = subscriber(format, None, level, output);
        assert!(rejected.is_empty(), "{rejected:?}");
        (subscriber, file, handle)
    }

    fn written(mut file: &std::fs::File) -> String {
        use std::io::Seek;
        let mut text = String::new();
        file.seek(std::io::SeekFrom::Start(0)).unwrap();
        file.read_to_string(&mut text).unwrap();
        text
    }

    #[test]
    fn a_json_line_has_the_message_and_fields_at_the_top_level() {
        let (subscriber, file, _handle) = to_file(LogFormat::Json, "info");
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("channel", user = "alice");
            let _entered = span.enter();
            tracing::info!(session = "alice/work", "attached");
        });
        let text = written(&file);
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["message"], "attached", "{line}");
        assert_eq!(line["session"], "alice/work", "{line}");
        assert_eq!(line["level"], "INFO", "{line}");
        assert_eq!(line["target"], module_path!(), "{line}");
        assert!(line["timestamp"].is_string(), "{line}");
        assert!(line.get("fields").is_none(), "{line}");
        assert_eq!(line["span"]["user"], "alice", "{line}");
        assert_eq!(line["spans"][0]["name"], "channel", "{line}");
    }

    #[test]
    fn a_text_line_in_a_file_has_no_colors() {
        let (subscriber, file, _handle) = to_file(LogFormat::Text, "info");
        tracing::subscriber::with_default(subscriber, || tracing::warn!(user = "alice", "refused"));
        let text = written(&file);
        assert!(
            text.contains("WARN") && text.contains("refused user=\"alice\""),
            "{text}"
        );
        assert!(!text.contains('\x1b'), "{text:?}");
    }

    #[test]
    fn the_level_changes_at_run_time() {
        let (subscriber, file, handle) = to_file(LogFormat::Text, "info");
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!("before the change");
            assert_eq!(handle.set("debug").unwrap(), LevelChange::Applied);
            tracing::debug!("after the change");
            assert!(matches!(
                handle.set("foyer=nonsense"),
                Err(LoggingError::InvalidLevel { .. })
            ));
            tracing::debug!("after a bad level");
        });
        let text = written(&file);
        assert!(!text.contains("before the change"), "{text}");
        assert!(text.contains("after the change"), "{text}");
        assert!(
            text.contains("after a bad level"),
            "a bad level changes nothing: {text}"
        );
    }

    #[test]
    fn rust_log_keeps_winning_over_a_reload() {
        let (subscriber, file, mut handle) = to_file(LogFormat::Text, "info");
        // As `init` makes it when RUST_LOG=info is set.
        handle.from_rust_log = true;
        tracing::subscriber::with_default(subscriber, || {
            assert_eq!(handle.set("debug").unwrap(), LevelChange::KeptRustLog);
            tracing::debug!("still filtered");
        });
        assert!(!written(&file).contains("still filtered"));
    }
}
