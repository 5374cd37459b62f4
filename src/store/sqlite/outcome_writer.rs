//! The recorder's own connection: outcome groups committed on one SQLite connection that only the
//! recorder's thread steps.
//!
//! Through the pool, every statement is a round trip to sqlx's worker thread (two thread wake-ups)
//! on whichever pooled connection is free, whose page cache the other connections' writes keep
//! invalidating. At a few thousand messages a second that hand-off, not SQLite, was most of the
//! daemon's CPU time. Here a group of outcomes is one call on a warm connection. Groups with bounce
//! events or a refunded run (rare, and they run the bounce policy) go through
//! [`Store::record_outcomes`], so that logic exists once.

use super::{Sqlite, deliveries::OutcomePlan};
use crate::store::{Outcome, RecordedBounce, Refund, StoreError};
use crate::{clock::to_millis, domain::BouncePolicy};
use chrono::{DateTime, Utc};

/// Commits outcome groups; blocking: call it from a thread of its own (the recorder's).
pub struct SqliteOutcomeWriter {
    connection: rusqlite::Connection,
    store: Sqlite,
    runtime: tokio::runtime::Handle,
}

impl Sqlite {
    /// A writer with its own connection to this store's file (never creating it); groups that need
    /// the pool run on `runtime`.
    pub fn outcome_writer(
        &self,
        runtime: tokio::runtime::Handle,
    ) -> Result<SqliteOutcomeWriter, StoreError> {
        use rusqlite::OpenFlags;
        let connection = rusqlite::Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(self.busy)?;
        // As the pool's connections: a commit survives a crash of herald (synchronous = NORMAL in
        // WAL mode), foreign keys enforced.
        connection.execute_batch(
            "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -6144;",
        )?;
        Ok(SqliteOutcomeWriter {
            connection,
            store: self.clone(),
            runtime,
        })
    }
}

impl SqliteOutcomeWriter {
    pub fn record(
        &mut self,
        outcomes: &[Outcome],
        refunds: &[Refund],
        policy: &BouncePolicy,
        now: DateTime<Utc>,
    ) -> Result<Vec<RecordedBounce>, StoreError> {
        let plan = OutcomePlan::new(outcomes, refunds);
        if !plan.is_plain(refunds) {
            return self
                .runtime
                .block_on(self.store.record_outcomes(outcomes, refunds, policy, now));
        }
        let at = to_millis(now);
        let tx = self
            .connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for statement in &plan.statements {
            let states: Vec<&str> = statement.states().collect();
            let mut params: Vec<&dyn rusqlite::ToSql> = vec![&at, &statement.rows];
            params.extend(states.iter().map(|s| s as &dyn rusqlite::ToSql));
            tx.prepare_cached(statement.sql)
                .and_then(|mut prepared| prepared.execute(&*params))?;
        }
        tx.commit()?;
        Ok(vec![])
    }
}
