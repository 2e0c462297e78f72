//! The database: one [`Store`] handle over SQLite or PostgreSQL through sqlx's
//! `Any` driver, with runtime queries (no compile-time `DATABASE_URL`).
//!
//! Owns: opening the database (creating the SQLite file and its directory,
//! WAL, busy timeout, foreign keys), running the embedded migrations, the id
//! newtypes and the time helper. The tables are handled in the submodules:
//! `users` (users and their keys), `sessions` (session records), `keys`
//! (parsing public-key lines), `key_options` (what authorized_keys options
//! foyer honours), `grants`, `tokens` (sign-in links, guest
//! links, browser sign-ins and API tokens, stored hashed), `error` (the
//! error type), `redact` (a database URL's secrets hidden for display).
//! Must not: know about SSH connections, PTYs or the session hub; keep any
//! state besides the connection pool; print anything.
//!
//! Conventions shared by every query: `$1`-style placeholders (both
//! backends), times as i64 unix seconds, booleans as integers 0/1.

mod audit;
mod error;
mod grants;
mod key_options;
mod keys;
pub mod leases;
pub mod notices;
mod redact;
mod sessions;
mod tokens;
mod users;

#[cfg(test)]
mod tests;

use std::fmt;
use std::time::Duration;

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

pub use audit::{AuditRecord, NewAuditRow};
pub use error::StoreError;
pub use grants::{Grant, GrantRecord};
pub use keys::{
    AuthorizedLine, ParsedKey, normalize_fingerprint, parse_authorized_line, parse_key_line,
    parse_public_key,
};
pub use redact::redact_url;
pub use sessions::{NewSession, SessionHost, SessionRecord, SessionState, valid_session_name};
pub use tokens::{Minted, NewToken, TokenId, TokenKind, TokenRecord, hash_secret};
pub use users::{User, UserKey, valid_user_name};

/// Most connections a server (or admin command) holds to PostgreSQL at
/// once; each is a socket. Size `max_connections` on the PostgreSQL side
/// for this times the number of servers, plus admin commands.
pub const POSTGRES_MAX_CONNECTIONS: u32 = 10;

/// Most connections to a SQLite database (file descriptors of one file).
const SQLITE_MAX_CONNECTIONS: u32 = 8;

/// Result type of every store operation.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A user's database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(pub i64);

pub use crate::wire::SessionId;

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Which database engine a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a URL names, if any.
    pub fn from_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A handle on the database. Cheap to clone (the pool is shared).
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Open (and for SQLite create, with its directory) the database at `url`:
    /// `sqlite://PATH` (relative to the working directory; `sqlite:///abs`
    /// for an absolute path) or `postgres://…`. Does not migrate: call
    /// [`Store::migrate`].
    pub async fn open(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url).ok_or_else(|| StoreError::UnsupportedUrl {
            url: redact_url(url),
        })?;
        let unavailable = |source: sqlx::Error| StoreError::Unavailable {
            url: redact_url(url),
            source,
        };
        let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        let pool = match backend {
            Backend::Postgres => {
                // One direct connection first: the pool retries until its
                // timeout and then reports only that, hiding the cause
                // (refused, unknown host, bad password).
                probe_connection(url).await.map_err(unavailable)?;
                options
                    .max_connections(POSTGRES_MAX_CONNECTIONS)
                    .connect(url)
                    .await
            }
            Backend::Sqlite => {
                let url = prepare_sqlite_url(url).map_err(|e| unavailable(sqlx::Error::Io(e)))?;
                options
                    .max_connections(SQLITE_MAX_CONNECTIONS)
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            // busy_timeout first: switching to WAL may wait for a lock.
                            sqlx::query("PRAGMA busy_timeout = 5000")
                                .execute(&mut *conn)
                                .await?;
                            sqlx::query("PRAGMA foreign_keys = ON")
                                .execute(&mut *conn)
                                .await?;
                            sqlx::query("PRAGMA journal_mode = WAL")
                                .execute(&mut *conn)
                                .await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await
            }
        }
        .map_err(unavailable)?;
        Ok(Store { pool, backend })
    }

    /// Bring the schema up to date with the migrations embedded in the
    /// binary (`migrations/sqlite` or `migrations/postgres`). Safe to run
    /// on every start and while another process uses the database.
    pub async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite").run(&self.pool).await?,
            Backend::Postgres => {
                sqlx::migrate!("migrations/postgres")
                    .run(&self.pool)
                    .await?
            }
        }
        Ok(())
    }

    /// Which engine this store talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The underlying pool, for store extensions in later modules.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Close every connection (waits for those in use to be returned).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Connects once to `url` and closes again, within the pool's timeout.
async fn probe_connection(url: &str) -> std::result::Result<(), sqlx::Error> {
    use sqlx::Connection;
    let connect = sqlx::AnyConnection::connect(url);
    match tokio::time::timeout(Duration::from_secs(10), connect).await {
        Ok(connection) => connection?.close().await,
        Err(_) => Err(sqlx::Error::PoolTimedOut),
    }
}

/// For a `sqlite:` URL: create the file's parent directory if missing and
/// make sure the file is created (`mode=rwc`) unless the URL sets a mode.
fn prepare_sqlite_url(url: &str) -> std::io::Result<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let (path, params) = match rest.split_once('?') {
        Some((path, params)) => (path, Some(params)),
        None => (rest, None),
    };
    let has_mode = params.is_some_and(|p| p.split('&').any(|kv| kv.starts_with("mode=")));
    let in_memory = path.is_empty() || path == ":memory:";
    if !in_memory
        && !has_mode
        && let Some(parent) = std::path::Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)?;
    }
    Ok(match (has_mode || in_memory, params) {
        (true, _) => url.to_string(),
        (false, Some(_)) => format!("{url}&mode=rwc"),
        (false, None) => format!("{url}?mode=rwc"),
    })
}
