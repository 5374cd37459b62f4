//! Opening the SQLite file: WAL so the CLI can read while the daemon writes, foreign keys on, a busy
//! timeout so the CLI and the daemon can share the file, and the migrations under `migrations/`.

/// The condition of the partial index `deliveries_unsent` (`(issue_id, state, id)` over every
/// delivery not `sent`), as a literal for `concat!`: SQLite uses a partial index only for a
/// statement that states its condition word for word, so every statement that finds an issue's
/// deliveries by a state other than `sent` adds `AND` it (prefixed `d.` where the table has an
/// alias). Checked against the domain's name for `sent`, and each statement's query plan, in
/// `deliveries.rs`'s tests.
macro_rules! unsent {
    () => {
        "state <> 'sent'"
    };
}

mod bounces;
mod deliveries;
mod erasures;
mod import;
mod issues;
mod lists;
mod outcome_writer;
mod settings;
mod signups;
mod subscribers;
mod tokens;

pub use import::SqliteImport;
pub use outcome_writer::SqliteOutcomeWriter;

use super::{StoreError, create_database_file};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::{path::Path, time::Duration};

#[derive(Debug, Clone)]
pub struct Sqlite {
    pub(super) pool: SqlitePool,
    /// The database file, for the bulk importer's and the recorder's own connections.
    pub(super) path: std::path::PathBuf,
    /// How long a statement waits for another connection's write lock.
    pub(super) busy: Duration,
}

/// The SQLite schema (`migrations/sqlite`; a PostgreSQL backend gets its own directory).
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// `?, ?, …` for `n` values.
pub(super) fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// Pauses `issue` with `reason` if it is sending (the circuit breaker, a burst of blocks), inside
/// the caller's transaction. True when it moved.
pub(super) async fn pause_sending_issue(
    conn: &mut sqlx::SqliteConnection,
    issue: crate::domain::IssueId,
    reason: &str,
) -> Result<bool, StoreError> {
    use crate::domain::IssueState;
    debug_assert!(IssueState::Sending.can_move_to(IssueState::Paused));
    let moved =
        sqlx::query("UPDATE issues SET state = ?, state_reason = ? WHERE id = ? AND state = ?")
            .bind(IssueState::Paused.as_str())
            .bind(reason)
            .bind(issue.0)
            .bind(IssueState::Sending.as_str())
            .execute(&mut *conn)
            .await?
            .rows_affected();
    Ok(moved == 1)
}

impl Sqlite {
    /// [`Store::open`], waiting at most `busy` for another process's write lock (each statement,
    /// and the pool's wait for a connection).
    pub async fn open_with_timeout(path: &Path, busy: Duration) -> Result<Self, StoreError> {
        Self::open_inner(path, busy, true, SqliteSynchronous::Normal, 6).await
    }

    /// For `herald bounce ingest`: an existing database only (an MTA pipe run from another working
    /// directory must not create an empty database and lose reports into it), with every commit
    /// synced to disk (`synchronous = FULL`) before the MTA is told the report is safe.
    pub async fn open_for_intake(path: &Path, busy: Duration) -> Result<Self, StoreError> {
        if !path.is_file() {
            return Err(StoreError::NotFound(format!(
                "database {} (bounce ingest never creates one: check database.url; a relative path is \
                 read from the working directory, which an MTA's pipe does not share)",
                path.display()
            )));
        }
        // A short-lived process touching random rows of large tables: a larger page cache.
        Self::open_inner(path, busy, false, SqliteSynchronous::Full, 64).await
    }

    async fn open_inner(
        path: &Path,
        busy: Duration,
        create: bool,
        synchronous: SqliteSynchronous,
        cache_mib: u32,
    ) -> Result<Self, StoreError> {
        if create {
            // Created here, owner-only, before SQLite opens it: the database holds the token key
            // (from which unsubscribe links could be forged). SQLite gives its -wal and -shm files
            // the database file's permissions.
            create_database_file(path)?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode: a committed transaction survives a crash of herald (it is in the OS
            // page cache and the WAL); only a power loss can lose the last commits.
            .synchronous(synchronous)
            .foreign_keys(true)
            .busy_timeout(busy)
            // 6 MiB of page cache per connection for the daemon: peak memory stays flat whatever the
            // list size.
            .pragma("cache_size", format!("-{}", cache_mib * 1024));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            // No ping (a round trip to the connection's thread) each time a connection is taken:
            // a local file does not go away like a server connection.
            .test_before_acquire(false)
            .min_connections(1)
            .acquire_timeout(busy * 2 + Duration::from_secs(1))
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self {
            pool,
            path: path.to_owned(),
            busy,
        })
    }

    /// A transaction that takes the write lock at once (`BEGIN IMMEDIATE`), waiting out the busy
    /// timeout if another process holds it. A plain `BEGIN` that reads first and writes later fails at
    /// once with "database is locked" when another connection wrote in between.
    pub(super) async fn write_transaction(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Makes every commit so far durable (a WAL checkpoint syncs the log to disk first): called
    /// before a mailbox message is removed, since the daemon commits with `synchronous = NORMAL`.
    pub async fn sync_to_disk(&self) -> Result<(), StoreError> {
        sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn applied_migrations(&self) -> Result<Vec<(i64, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT version, description FROM _sqlx_migrations WHERE success ORDER BY version",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
