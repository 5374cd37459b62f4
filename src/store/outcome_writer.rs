//! The recorder's writer: outcome groups committed from the recorder's own thread (blocking).
//!
//! On SQLite it steps its own connection (see `sqlite/outcome_writer.rs`); on PostgreSQL a group is
//! one round trip to the server whichever thread sends it, so it goes through the pool.

use super::{Backend, Outcome, RecordedBounce, Refund, Store, StoreError};
use crate::domain::BouncePolicy;
use chrono::{DateTime, Utc};

/// Commits outcome groups; blocking: call it from a thread of its own (the recorder's).
pub enum OutcomeWriter {
    Sqlite(super::sqlite::SqliteOutcomeWriter),
    Pooled {
        store: Store,
        runtime: tokio::runtime::Handle,
    },
}

impl Store {
    /// A writer for the recorder's thread; groups that need the pool run on `runtime`.
    pub fn outcome_writer(
        &self,
        runtime: tokio::runtime::Handle,
    ) -> Result<OutcomeWriter, StoreError> {
        Ok(match &self.backend {
            Backend::Sqlite(b) => OutcomeWriter::Sqlite(b.outcome_writer(runtime)?),
            Backend::Postgres(_) => OutcomeWriter::Pooled {
                store: self.clone(),
                runtime,
            },
        })
    }
}

impl OutcomeWriter {
    /// [`Store::record_outcomes`], returning once the group is committed.
    pub fn record(
        &mut self,
        outcomes: &[Outcome],
        refunds: &[Refund],
        policy: &BouncePolicy,
        now: DateTime<Utc>,
    ) -> Result<Vec<RecordedBounce>, StoreError> {
        match self {
            Self::Sqlite(w) => w.record(outcomes, refunds, policy, now),
            Self::Pooled { store, runtime } => {
                runtime.block_on(store.record_outcomes(outcomes, refunds, policy, now))
            }
        }
    }
}
