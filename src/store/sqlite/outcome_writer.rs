//! The recorder's own connection: outcome groups that only change states, committed on one SQLite
//! connection that one settling connection at a time steps (see `crate::track::recorder`).
//!
//! Through the pool, every statement is a round trip to sqlx's worker thread (two thread wake-ups)
//! on whichever pooled connection is free, whose page cache the other connections' writes keep
//! invalidating. At a few thousand messages a second that hand-off, not SQLite, was most of the
//! daemon's CPU time. Here a group of outcomes is one call on a warm connection, made by whichever
//! sending connection needs it committed (see `crate::track::recorder`). Groups with bounce events
//! or a refunded run (rare, and they run the bounce policy) go through [`Store::record_outcomes`], so
//! that logic exists once.
//!
//! This connection never checkpoints the WAL (`wal_autocheckpoint = 0`): a checkpoint writes pages
//! back and syncs the file, too long for a runtime thread. The pool's connections checkpoint as
//! they commit (claims, every batch), as SQLite does by default.

use super::{Sqlite, deliveries::OutcomePlan};
use crate::clock::to_millis;
use crate::store::{Outcome, PlainCommit, Refund, StoreError};
use chrono::{DateTime, Utc};

/// Commits outcome groups that only change states; blocking, briefly.
pub struct SqliteOutcomeWriter {
    connection: rusqlite::Connection,
    store: Sqlite,
    /// The connection's busy timeout now: none for a commit on a runtime thread, the store's for
    /// one that may wait.
    patience: std::time::Duration,
}

impl Sqlite {
    /// A writer with its own connection to this store's file (never creating it).
    pub fn outcome_writer(&self) -> Result<SqliteOutcomeWriter, StoreError> {
        use rusqlite::OpenFlags;
        let connection = rusqlite::Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(self.busy)?;
        // As the pool's connections: a commit survives a crash of herald (synchronous = NORMAL in
        // WAL mode), foreign keys enforced.
        connection.execute_batch(
            "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -6144;
             PRAGMA wal_autocheckpoint = 0;",
        )?;
        Ok(SqliteOutcomeWriter {
            connection,
            store: self.clone(),
            patience: self.busy,
        })
    }
}

impl SqliteOutcomeWriter {
    /// Commits a group that only changes states (no bounce event, no refunded run) on this
    /// connection, waiting for another connection's write lock only if `wait`.
    pub fn record_plain(
        &mut self,
        outcomes: &[Outcome],
        refunds: &[Refund],
        now: DateTime<Utc>,
        wait: bool,
    ) -> PlainCommit {
        let plan = OutcomePlan::new(outcomes, refunds);
        if !plan.is_plain(refunds) {
            return PlainCommit::NeedsPool;
        }
        let patience = if wait {
            self.store.busy
        } else {
            std::time::Duration::ZERO
        };
        if patience != self.patience {
            if let Err(e) = self.connection.busy_timeout(patience) {
                return PlainCommit::Done(Err(e.into()));
            }
            self.patience = patience;
        }
        // BEGIN and COMMIT as cached statements too (`Transaction` prepares them every time).
        match self.execute("BEGIN IMMEDIATE") {
            Err(StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)))
                if !wait && e.code == rusqlite::ErrorCode::DatabaseBusy =>
            {
                return PlainCommit::Busy;
            }
            Err(e) => return PlainCommit::Done(Err(e)),
            Ok(()) => {}
        }
        let at = to_millis(now);
        let result = plan
            .statements
            .iter()
            .try_for_each(|statement| {
                let states: Vec<&str> = statement.states().collect();
                let mut prepared = self.connection.prepare_cached(statement.sql)?;
                for row in &statement.rows {
                    let mut params: Vec<&dyn rusqlite::ToSql> =
                        vec![&at, &row.id, &row.reply, &row.retry_at, &row.unconfirmed];
                    params.extend(states.iter().map(|s| s as &dyn rusqlite::ToSql));
                    prepared.execute(&*params)?;
                }
                Ok(())
            })
            .and_then(|()| self.execute("COMMIT"));
        if result.is_err() && !self.connection.is_autocommit() {
            // What failed is not committed; the connection is left ready for the next group.
            let _ = self.connection.execute_batch("ROLLBACK");
        }
        PlainCommit::Done(result)
    }

    /// Runs `sql` (no parameters) as a cached statement.
    fn execute(&self, sql: &str) -> Result<(), StoreError> {
        self.connection.prepare_cached(sql)?.execute([])?;
        Ok(())
    }
}
