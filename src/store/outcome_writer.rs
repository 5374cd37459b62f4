//! The recorder's writer: outcome groups committed from the recorder's own thread (blocking).
//!
//! On SQLite it steps its own connection (see `sqlite/outcome_writer.rs`). On PostgreSQL there is
//! none: a group is one round trip to the server, which the recorder awaits on the runtime.

use super::{Backend, Outcome, RecordedBounce, Refund, Store, StoreError};
use crate::domain::BouncePolicy;
use chrono::{DateTime, Utc};

/// Commits outcome groups; blocking: call it from a thread of its own (the recorder's).
pub struct OutcomeWriter(super::sqlite::SqliteOutcomeWriter);

impl Store {
    /// A writer for the recorder's thread, where a commit is a call on a connection of its own
    /// (SQLite); `None` where a commit is a round trip to a server (PostgreSQL), which the recorder
    /// awaits on the runtime instead ([`Store::record_outcomes`]). Groups that need the pool run on
    /// `runtime`.
    pub fn outcome_writer(
        &self,
        runtime: tokio::runtime::Handle,
    ) -> Result<Option<OutcomeWriter>, StoreError> {
        Ok(match &self.backend {
            Backend::Sqlite(b) => Some(OutcomeWriter(b.outcome_writer(runtime)?)),
            Backend::Postgres(_) => None,
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
        self.0.record(outcomes, refunds, policy, now)
    }
}
