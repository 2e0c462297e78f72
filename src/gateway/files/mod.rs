//! Files in and out of a session, for every transport: an upload saved in
//! the session user's `~/.cache/foyer/uploads/NAME/` (audited with its
//! name and size), and the view of the session's working directory (a
//! listing or one file's bytes). Both run as the session's user where its
//! programs run (`Runtime::run_as`), so they can do nothing that user's
//! own shell could not; the working directory is the program's current
//! one when this host can see it (local sessions), else the one the
//! session started in.
//!
//! `names` makes the network's names safe, `scripts` holds the commands.
//! The caller has checked that the asker may write to the session.
//! Must not know HTTP: errors say what happened and the transport words
//! them.

pub mod names;
pub mod scripts;

use std::time::Duration;

use bytes::Bytes;

use super::{App, SessionEntry};
use crate::audit::AuditEvent;
use crate::runtime::Owner;
use crate::runtime::as_user::{RunAsError, UserCommand, UserOutput};
pub use names::PathRefusal;
pub use scripts::{Entry, Shown};

/// How long viewing may take before the helper is killed.
const VIEW_TIMEOUT: Duration = Duration::from_secs(10);
/// How long saving an upload may take.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(60);
/// A listing's output is cut here (its last entries are then not shown).
const LISTING_MAX: usize = 4 << 20;
/// Room for the view command's own words before a file's bytes.
const HEADER_ROOM: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error(transparent)]
    Path(#[from] PathRefusal),
    #[error("{0} is outside the session's working directory")]
    Outside(String),
    #[error("no such file or directory: {0}")]
    NotFound(String),
    #[error("{user} cannot read {path}")]
    Unreadable { user: String, path: String },
    #[error("{path} is neither a file nor a directory")]
    NotAFile { path: String },
    #[error("{path} is {size} bytes, more than web.file_view_max ({max} bytes)")]
    TooLarge { path: String, size: u64, max: u64 },
    #[error("the session's working directory cannot be entered")]
    NoDirectory,
    #[error("cannot save the upload in {user}'s home: {detail}")]
    CannotWrite { user: String, detail: String },
    #[error(transparent)]
    Runtime(#[from] RunAsError),
    #[error(
        "where the session runs there is no `{0}` (the file view and uploads need sh, realpath, find, stat, head and ln)"
    )]
    MissingTools(String),
    #[error("the file helper failed (status {status}): {detail}")]
    Helper { status: i32, detail: String },
}

/// What a session's file view shows at one path.
#[derive(Debug, Clone)]
pub enum Viewed {
    Directory {
        /// The working directory, absolute.
        root: String,
        /// The path shown, relative to `root` (`""` for `root` itself).
        path: String,
        entries: Vec<Entry>,
        /// Whether the listing was cut short.
        truncated: bool,
    },
    File {
        path: String,
        bytes: Vec<u8>,
    },
}

fn owner_of(entry: &SessionEntry) -> Owner {
    Owner {
        id: entry.record.owner_id.0,
        name: entry.record.owner.clone(),
    }
}

/// Shows `requested` (relative to the session's working directory).
pub async fn view(app: &App, entry: &SessionEntry, requested: &str) -> Result<Viewed, FilesError> {
    let path = names::relative_path(requested)?.join("/");
    let max = app.live.borrow().file_view_max;
    let pid = entry.link.status().await.ok().and_then(|s| s.program_pid);
    let command = UserCommand {
        argv: scripts::view_command(max, &entry.record.cwd, pid, &path),
        stdin: Bytes::new(),
        output_limit: LISTING_MAX.max(usize::try_from(max).unwrap_or(usize::MAX)) + HEADER_ROOM,
        timeout: VIEW_TIMEOUT,
    };
    let output = app.runtime.run_as(&owner_of(entry), command).await?;
    read_view(entry, path, max, output)
}

fn read_view(
    entry: &SessionEntry,
    path: String,
    max: u64,
    output: UserOutput,
) -> Result<Viewed, FilesError> {
    let shown = || {
        if path.is_empty() {
            ".".to_string()
        } else {
            path.clone()
        }
    };
    match (output.status, scripts::read_view(&output.stdout)) {
        (0, Some(Shown::Directory { root, entries })) => Ok(Viewed::Directory {
            root,
            path,
            entries,
            truncated: output.truncated,
        }),
        (0, Some(Shown::File(bytes))) => Ok(Viewed::File { path, bytes }),
        (scripts::TOO_LARGE, Some(Shown::TooLarge { size })) => Err(FilesError::TooLarge {
            path: shown(),
            size,
            max,
        }),
        (scripts::NO_DIRECTORY, _) => Err(FilesError::NoDirectory),
        (scripts::NOT_FOUND, _) => Err(FilesError::NotFound(shown())),
        (scripts::OUTSIDE, _) => Err(FilesError::Outside(shown())),
        (scripts::UNREADABLE, _) => Err(FilesError::Unreadable {
            user: entry.record.owner.clone(),
            path: shown(),
        }),
        (scripts::NOT_A_FILE, _) => Err(FilesError::NotAFile { path: shown() }),
        (status, _) => Err(helper_failed(status, &output.stderr)),
    }
}

/// A helper's unexpected end: a missing tool (127) is named.
fn helper_failed(status: i32, stderr: &str) -> FilesError {
    let first = stderr.lines().next().unwrap_or_default();
    if status == 127 {
        let tool = first.rsplit(": ").nth(1).unwrap_or(first);
        return FilesError::MissingTools(tool.to_string());
    }
    FilesError::Helper {
        status,
        detail: if first.is_empty() {
            "no message".into()
        } else {
            first.to_string()
        },
    }
}

/// Saves `bytes` as `requested` among the session's uploads and returns
/// its absolute path (where the session's programs see it).
pub async fn upload(
    app: &App,
    who: &str,
    entry: &SessionEntry,
    requested: &str,
    bytes: Bytes,
) -> Result<String, FilesError> {
    let owner = owner_of(entry);
    let account = app.runtime.account_for(&owner).map_err(RunAsError::from)?;
    let name = names::upload_name(requested);
    let session = names::upload_name(&entry.record.name).name;
    let size = bytes.len();
    let command = UserCommand {
        argv: scripts::upload_command(&account.home.to_string_lossy(), &session, &name),
        stdin: bytes,
        output_limit: 4096,
        timeout: UPLOAD_TIMEOUT,
    };
    let output = app.runtime.run_as(&owner, command).await?;
    let path = match output.status {
        0 => String::from_utf8_lossy(&output.stdout).into_owned(),
        scripts::CANNOT_WRITE | scripts::NAMES_USED => {
            return Err(FilesError::CannotWrite {
                user: account.user,
                detail: cannot_write_detail(output.status),
            });
        }
        status => return Err(helper_failed(status, &output.stderr)),
    };
    let event = AuditEvent::new(Some(who), "upload")
        .session(entry.label())
        .detail(format!("{} ({size} bytes)", saved_name(&path)));
    app.audit.record(event).await;
    tracing::info!(user = %who, session = %entry.label(), %path, size, "upload saved");
    Ok(path)
}

/// The file name at the end of `path`.
fn saved_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn cannot_write_detail(status: i32) -> String {
    if status == scripts::NAMES_USED {
        "a thousand files of that name are there already".into()
    } else {
        "the uploads directory cannot be made or written (is the disk full?)".into()
    }
}
