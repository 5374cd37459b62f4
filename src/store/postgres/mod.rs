//! The PostgreSQL backend: several daemons, on one machine or many, share one queue.
//!
//! The statements mirror the SQLite backend's, with PostgreSQL's own means where they differ: id sets
//! bound as arrays (`= ANY($1)`, `unnest`) instead of JSON text, `FOR UPDATE SKIP LOCKED` claims with a
//! per-row lease instead of one daemon's file lock, `COPY` for bulk imports. States and statuses are
//! bound from the domain enums, never written as literals.

mod bounces;
mod deliveries;
mod erasures;
mod import;
pub use import::PgImport;
mod issues;
mod lanes;
mod leases;
pub use leases::PgLeadership;
mod lists;
mod settings;
mod signups;
mod subscribers;
mod tokens;

use super::StoreError;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::{str::FromStr, sync::Arc, time::Duration};

/// The PostgreSQL schema (`migrations/postgres`).
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone)]
pub struct Postgres {
    pub(super) pool: PgPool,
    /// This daemon's name in `deliveries.claimed_by` (host, process and a random part: a restarted
    /// daemon never takes itself for its predecessor).
    pub(super) daemon: Arc<str>,
    /// How long a claimed row stays this daemon's without a renewal.
    pub(super) lease: Duration,
    /// When this daemon last renewed its leases.
    pub(super) renewed: Arc<leases::Renewed>,
    /// The group commits' connections (outside the pool: see [`lanes`]).
    lanes: Arc<lanes::Lanes>,
}

impl Postgres {
    /// Connects to `url` (`postgres://…`), waiting at most `busy` for a connection, and applies
    /// pending migrations.
    pub async fn open(url: &str, busy: Duration) -> Result<Self, StoreError> {
        // Notices (e.g. "relation already exists, skipping" from the migrator) are not worth a log
        // line. Prepared statements keep one generic plan: herald's statements are the same few run
        // thousands of times with different arrays, which PostgreSQL would otherwise plan again at
        // every execution (a custom plan per array) at several times the cost of running them.
        let options = PgConnectOptions::from_str(url)?
            .application_name("herald")
            .options([
                ("client_min_messages", "warning"),
                ("plan_cache_mode", "force_generic_plan"),
            ]);
        let patience = busy + Duration::from_secs(1);
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .acquire_timeout(patience)
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self {
            pool,
            daemon: daemon_name(&crate::metrics::host_name()).into(),
            lease: Duration::from_secs(60),
            renewed: Arc::new(leases::Renewed::now()),
            lanes: Arc::new(lanes::Lanes::new(options, patience)),
        })
    }

    /// Sets the claim lease (`sending.lease_seconds`).
    pub fn set_lease(&mut self, lease: Duration) {
        self.lease = lease;
    }

    /// Claims are made as `name:pid:random` (`sending.daemon_name`).
    pub fn set_daemon_name(&mut self, name: &str) {
        self.daemon = daemon_name(name).into();
    }

    /// A transaction. PostgreSQL locks rows, not the database: statements that read before they write
    /// take their rows `FOR UPDATE`.
    pub(super) async fn transaction(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
        Ok(self.pool.begin().await?)
    }

    /// The migrations applied to this database, oldest first: (version, description).
    pub async fn applied_migrations(&self) -> Result<Vec<(i64, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT version, description FROM _sqlx_migrations WHERE success ORDER BY version",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every commit is durable once it returns (PostgreSQL's `synchronous_commit`): nothing to do.
    pub async fn sync_to_disk(&self) -> Result<(), StoreError> {
        Ok(())
    }

    pub async fn close(&self) {
        self.lanes.clear();
        self.pool.close().await;
    }
}

/// `name:pid:random`: a restarted daemon is never taken for its predecessor.
fn daemon_name(name: &str) -> String {
    format!(
        "{name}:{}:{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

/// Pauses `issue` with `reason` if it is sending (the circuit breaker, a burst of blocks), inside
/// the caller's transaction. True when it moved.
pub(super) async fn pause_sending_issue(
    conn: &mut sqlx::PgConnection,
    issue: crate::domain::IssueId,
    reason: &str,
) -> Result<bool, StoreError> {
    use crate::domain::IssueState;
    debug_assert!(IssueState::Sending.can_move_to(IssueState::Paused));
    let moved =
        sqlx::query("UPDATE issues SET state = $1, state_reason = $2 WHERE id = $3 AND state = $4")
            .bind(IssueState::Paused.as_str())
            .bind(reason)
            .bind(issue.0)
            .bind(IssueState::Sending.as_str())
            .execute(&mut *conn)
            .await?
            .rows_affected();
    Ok(moved == 1)
}

/// Whether PostgreSQL aborted a transaction because it crossed another: a deadlock (40P01) or a
/// serialization failure (40001). Trying it again goes through.
pub(super) fn crossed(e: &StoreError) -> bool {
    matches!(e, StoreError::Sqlx(sqlx::Error::Database(e))
        if matches!(e.code().as_deref(), Some("40P01" | "40001")))
}

/// `column = 'state'`, for the statements that find deliveries through one of the partial indexes
/// on their state (`deliveries_pending`, `_deferred`, `_sending`): PostgreSQL matches an index's
/// predicate only against a literal in the statement, never against a bound `$n` in a generic plan
/// (and herald's plans are generic). The name is the domain enum's own.
pub(super) fn state_is(column: &str, state: crate::domain::DeliveryState) -> String {
    format!("{column} = '{}'", state.as_str())
}

/// A lease in milliseconds.
pub(super) fn lease_millis(lease: Duration) -> i64 {
    i64::try_from(lease.as_millis()).unwrap_or(i64::MAX)
}

/// Runs `attempt` again (up to five times in all) when PostgreSQL aborted it because it crossed
/// another transaction (a deadlock, 40P01, or a serialization failure, 40001): two daemons, or a
/// daemon and a bounce intake, that lock the same rows in different orders. One of them always
/// goes through; the other is simply tried again.
pub(super) async fn retry_crossed<T, F, Fut>(mut attempt: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt().await {
            Err(e) if tries < 5 && crossed(&e) => {
                tracing::debug!(error = %e, "a transaction crossed another; trying it again");
            }
            other => return other,
        }
    }
}
