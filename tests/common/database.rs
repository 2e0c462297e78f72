//! The database behind each test server: SQLite in its data directory, or,
//! when `FOYER_TEST_DATABASE` holds a PostgreSQL URL, a fresh database of
//! its own on that server (created on start, dropped with the server), so
//! tests running in parallel never see each other's rows.
//!
//! The URL names a role that may create databases, and the database it
//! connects to for that (`postgres` will do):
//! `FOYER_TEST_DATABASE=postgres://foyer:foyer@127.0.0.1:5432/postgres`.
//! `.ci/run` sets it for its PostgreSQL pass; `tools/start-test-postgres`
//! creates that role.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection;

/// The environment variable that switches the suite to PostgreSQL.
pub const ENV: &str = "FOYER_TEST_DATABASE";

/// One test server's database.
pub enum TestDatabase {
    /// `data/foyer.db` in the server's directory (the server's default).
    Sqlite,
    /// A database named `name` created through `admin_url`.
    Postgres { admin_url: String, name: String },
    /// A database the test manages itself (neither created nor dropped).
    Given { url: String },
}

/// True when this run's servers use PostgreSQL.
pub fn on_postgres() -> bool {
    postgres_admin_url().is_some()
}

/// For a test that reaches into SQLite itself: on the PostgreSQL pass,
/// prints `foyer-test: SKIPPED TEST: WHY` past the test harness's output
/// capture (so a skip is never a silent pass; `.ci/run` counts these
/// lines as skipped) and returns false; the test then returns at once.
pub fn sqlite_only(test: &str, why: &str) -> bool {
    if !on_postgres() {
        return true;
    }
    skipped(test, &format!("SQLite only on the PostgreSQL pass ({why})"));
    false
}

/// Prints `foyer-test: SKIPPED TEST: WHY` past the output capture, for a
/// test that returns early because it does not apply here.
pub fn skipped(test: &str, why: &str) {
    // Written to the file descriptor, not with eprintln!: libtest
    // captures the macros' output of passing tests.
    let line = format!("foyer-test: SKIPPED {test}: {why}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}

fn postgres_admin_url() -> Option<String> {
    let value = std::env::var(ENV).ok()?;
    match value.as_str() {
        "" | "sqlite" => None,
        url if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Some(url.to_string())
        }
        other => panic!("{ENV}={other}: expected `sqlite` or a postgres:// URL"),
    }
}

impl TestDatabase {
    /// The database for a new server: SQLite, or a fresh PostgreSQL one.
    pub fn create() -> TestDatabase {
        let Some(admin_url) = postgres_admin_url() else {
            return TestDatabase::Sqlite;
        };
        let name = unique_name();
        if let Err(error) = execute(&admin_url, format!("CREATE DATABASE \"{name}\"")) {
            panic!("cannot create the test database {name} through {ENV}: {error}");
        }
        TestDatabase::Postgres { admin_url, name }
    }

    /// The URL `serve` and the admin CLI use for a server in `dir`.
    pub fn url(&self, dir: &Path) -> String {
        match self {
            TestDatabase::Sqlite => format!("sqlite://{}/data/foyer.db", dir.display()),
            TestDatabase::Postgres { admin_url, name } => with_database(admin_url, name),
            TestDatabase::Given { url } => url.clone(),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { admin_url, name } = self {
            // FORCE: a server killed hard may leave a connection closing.
            let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
            if let Err(error) = execute(admin_url, sql) {
                let line = format!("foyer-test: could not drop test database {name}: {error}\n");
                let _ = std::io::stderr().write_all(line.as_bytes());
            }
        }
    }
}

/// `foyer_t_PID_N`: unique among this process's servers, and among the
/// processes running at once.
fn unique_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "foyer_t_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// `url` with its database (the path) replaced by `name`, query kept.
fn with_database(url: &str, name: &str) -> String {
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    let (base, query) = match url.find('?') {
        Some(i) => (&url[..i], &url[i..]),
        None => (url, ""),
    };
    let base = match base[authority_start..].find('/') {
        Some(i) => &base[..authority_start + i],
        None => base,
    };
    format!("{base}/{name}{query}")
}

/// Runs one statement on its own connection, on a thread of its own so
/// that callers inside a tokio runtime (the russh tests) can use it too.
fn execute(url: &str, sql: String) -> Result<(), String> {
    let url = url.to_string();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("tokio runtime: {e}"))?;
        runtime.block_on(async {
            let mut conn = sqlx::PgConnection::connect(&url)
                .await
                .map_err(|e| format!("connect: {e}"))?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            conn.close().await.map_err(|e| e.to_string())
        })
    })
    .join()
    .map_err(|_| "the database thread panicked".to_string())?
}
