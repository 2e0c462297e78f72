//! The store's error type and the mapping from sqlx errors to it.
//!
//! Owns: `StoreError`, its user-readable messages, and the classification of
//! database errors (read-only, locked, unique and foreign-key violations).
//! Must not: run queries or know which table an error came from beyond the
//! short `context` the caller passes ("create a user").

use sqlx::error::DatabaseError;

use super::UserId;

/// Everything the store can refuse or fail with. Each message is written for
/// the person at the terminal: it says what was refused and, where useful,
/// what to do instead.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL names no backend we support.
    #[error("unsupported database URL {url}: use sqlite://PATH or postgres://…")]
    UnsupportedUrl { url: String },

    /// The database could not be opened or reached.
    #[error("cannot open the database {url}")]
    Unavailable {
        url: String,
        #[source]
        source: sqlx::Error,
    },

    /// Running the embedded migrations failed.
    #[error("could not bring the database schema up to date")]
    Migrate(#[from] sqlx::migrate::MigrateError),

    /// The database refused a write because it is read-only.
    #[error(
        "could not {context}: the database is read-only (check the permissions of the \
         database file and of its directory)"
    )]
    ReadOnly { context: &'static str },

    /// The database stayed locked by someone else for longer than the busy timeout.
    #[error("could not {context}: the database is locked by another process; try again")]
    Locked { context: &'static str },

    /// No connection could be had in time.
    #[error("could not {context}: timed out waiting for the database")]
    Timeout { context: &'static str },

    /// Any other database failure.
    #[error("could not {context}: database error")]
    Database {
        context: &'static str,
        #[source]
        source: sqlx::Error,
    },

    /// A stored value could not be read back (for example a malformed command).
    #[error("could not {context}: stored data is malformed ({detail})")]
    Corrupt {
        context: &'static str,
        detail: String,
    },

    /// A user name that does not follow the naming rule.
    #[error(
        "invalid user name {name:?}: use 1 to 32 characters from a-z, 0-9, _ and -, \
         starting with a letter or _"
    )]
    InvalidName { name: String },

    /// A session name that does not follow the naming rule.
    #[error(
        "invalid session name {name:?}: use 1 to 63 characters from a-z, 0-9, '.', _ and -, \
         starting with a letter or a digit"
    )]
    InvalidSessionName { name: String },

    /// A user with this name already exists.
    #[error("a user named {name} already exists")]
    UserExists { name: String },

    /// A session with this name already exists for the same owner.
    #[error("a session named {name} already exists")]
    NameTaken { name: String },

    /// No user has this name.
    #[error("no user named {name}")]
    UserNotFound { name: String },

    /// No user has this id (the user was removed meanwhile).
    #[error("no user with id {id} (was the user removed?)")]
    UserIdNotFound { id: UserId },

    /// The key is already registered, to this user or to another.
    #[error("the key {fingerprint} is already registered")]
    KeyTaken { fingerprint: String },

    /// Removing this key would leave its user without any key.
    #[error("refusing to remove the only key of this user: add another key first")]
    LastKey,

    /// A public key line that cannot be used.
    #[error("invalid public key: {reason}")]
    InvalidKey { reason: String },

    /// An authorized_keys line whose options foyer cannot honour: the key
    /// is not trusted without them.
    #[error(
        "the key {fingerprint}{comment} has the option `{option}`, which foyer cannot \
         enforce ({reason}); remove the option from the line to trust the key without it"
    )]
    KeyOption {
        fingerprint: String,
        /// ` (COMMENT)`, or empty.
        comment: String,
        option: String,
        reason: &'static str,
    },
}

/// SQLite primary result codes we give their own message.
const SQLITE_BUSY: i32 = 5;
const SQLITE_LOCKED: i32 = 6;
const SQLITE_READONLY: i32 = 8;

impl StoreError {
    /// Classify a sqlx error raised while doing `context`.
    pub(crate) fn from_sqlx(context: &'static str, source: sqlx::Error) -> StoreError {
        match &source {
            sqlx::Error::PoolTimedOut => return StoreError::Timeout { context },
            sqlx::Error::Database(db) => {
                if let Some(sqlite) = db.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
                    let code = sqlite
                        .code()
                        .and_then(|c| c.parse::<i32>().ok())
                        .unwrap_or(0);
                    match code & 0xff {
                        SQLITE_READONLY => return StoreError::ReadOnly { context },
                        SQLITE_BUSY | SQLITE_LOCKED => return StoreError::Locked { context },
                        _ => {}
                    }
                } else if let Some(code) = db.code() {
                    // PostgreSQL SQLSTATE codes.
                    match code.as_ref() {
                        "25006" => return StoreError::ReadOnly { context },
                        "55P03" | "40P01" => return StoreError::Locked { context },
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        StoreError::Database { context, source }
    }

    /// Whether a sqlx error is a unique-constraint violation.
    pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
        matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
    }

    /// Whether a sqlx error is a foreign-key violation.
    pub(crate) fn is_foreign_key_violation(err: &sqlx::Error) -> bool {
        matches!(err, sqlx::Error::Database(db) if db.is_foreign_key_violation())
    }
}

/// `map_err` helper: `.map_err(db("create a user"))`.
pub(crate) fn db(context: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::from_sqlx(context, source)
}
