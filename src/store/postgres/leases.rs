//! Who does what when several daemons share the queue: the scheduler's leader (a session-level
//! advisory lock held on a connection of its own) and the global send-rate bucket.

use super::Postgres;
use crate::store::StoreError;
use sqlx::{Connection, PgConnection};
use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

/// When a daemon last renewed its leases, and since when it has renewed them without a lapse, on
/// its monotonic clock (milliseconds after `origin`).
#[derive(Debug)]
pub struct Renewed {
    origin: Instant,
    last: AtomicU64,
    /// The start of the current run of renewals with no gap longer than the limit: claims made
    /// before it may have been taken over during the gap.
    streak: AtomicU64,
}

impl Renewed {
    pub(super) fn now() -> Self {
        Self {
            origin: Instant::now(),
            last: AtomicU64::new(0),
            streak: AtomicU64::new(0),
        }
    }

    fn ms(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.origin).as_millis()).unwrap_or(u64::MAX)
    }

    /// A renewal that began at `began` (before its statement was sent: the leases it set run from
    /// no earlier) went through; a gap since the last one longer than `limit` starts a new run. One
    /// writer (the renewal loop); `streak` is stored before `last`, so a reader that sees the new
    /// `last` also sees the new run.
    pub(super) fn mark(&self, began: Instant, limit: Duration) {
        let now = self.ms(began);
        let last = self.last.load(Ordering::SeqCst);
        if Duration::from_millis(now.saturating_sub(last)) >= limit {
            self.streak.store(now, Ordering::SeqCst);
        }
        self.last.fetch_max(now, Ordering::SeqCst);
    }

    /// A claim made at `claimed_at` is still held: renewed within `limit`, and the current run of
    /// renewals began before the claim.
    pub(super) fn holds(&self, claimed_at: Instant, limit: Duration) -> bool {
        let now = self.ms(Instant::now());
        let last = self.last.load(Ordering::SeqCst);
        Duration::from_millis(now.saturating_sub(last)) < limit
            && self.ms(claimed_at) >= self.streak.load(Ordering::SeqCst)
    }
}

/// The advisory lock key of the scheduler's leadership ("herald.scheduler" in ASCII, truncated).
const SCHEDULER_LOCK: i64 = 0x6865_7261_6c64_2e73;

/// A daemon's hold on the scheduler: the connection the advisory lock lives on. PostgreSQL releases
/// the lock when that connection ends, so a daemon that dies gives up the leadership with it.
#[derive(Default)]
pub struct PgLeadership {
    connection: Option<PgConnection>,
    held: bool,
}

impl Postgres {
    /// Whether this daemon leads the scheduler now: takes the lock if it is free, and checks that
    /// the connection holding it is still alive (a connection the server dropped lost the lock).
    pub async fn lead(&self, leadership: &mut PgLeadership) -> Result<bool, StoreError> {
        if leadership.connection.is_none() {
            leadership.connection = Some(self.pool.acquire().await?.detach());
            leadership.held = false;
        }
        let Some(connection) = leadership.connection.as_mut() else {
            return Ok(false);
        };
        let checked = if leadership.held {
            connection.ping().await.map(|()| true)
        } else {
            sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1)")
                .bind(SCHEDULER_LOCK)
                .fetch_one(&mut *connection)
                .await
        };
        match checked {
            Ok(held) => {
                if held && !leadership.held {
                    tracing::info!(daemon = %self.daemon, "this daemon now runs the scheduler");
                }
                leadership.held = held;
                Ok(held)
            }
            Err(e) => {
                if leadership.held {
                    tracing::warn!(error = %e, "lost the scheduler's lock with its connection");
                }
                *leadership = PgLeadership::default();
                Err(e.into())
            }
        }
    }

    /// Takes up to `wanted` sends from the shared bucket that refills at `rate` a second (at most one
    /// second's worth banked): how many this daemon may send now.
    pub async fn take_global_sends(
        &self,
        rate: f64,
        wanted: u32,
        now_ms: i64,
    ) -> Result<u32, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO rate_buckets (name, tokens, updated_at) VALUES ('send', $1, $2)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(rate)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        let (tokens, updated_at): (f64, i64) = sqlx::query_as(
            "SELECT tokens, updated_at FROM rate_buckets WHERE name = 'send' FOR UPDATE",
        )
        .fetch_one(&mut *tx)
        .await?;
        let elapsed = (now_ms - updated_at).max(0) as f64 / 1000.0;
        let available = (tokens + elapsed * rate).min(rate.max(1.0));
        let taken = available.floor().clamp(0.0, f64::from(wanted));
        sqlx::query("UPDATE rate_buckets SET tokens = $1, updated_at = $2 WHERE name = 'send'")
            .bind(available - taken)
            .bind(now_ms.max(updated_at))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(taken as u32)
    }
}
