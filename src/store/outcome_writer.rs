//! The recorder's writer: outcome groups that only change states, committed in one short blocking
//! call by whichever sending connection needs them committed.
//!
//! On SQLite it steps its own connection (see `sqlite/outcome_writer.rs`). On PostgreSQL there is
//! none: a group is one round trip to the server, which the recorder awaits on the runtime.

use super::{Backend, Outcome, Refund, Store, StoreError};
use chrono::{DateTime, Utc};

/// Commits outcome groups that only change states; blocking, briefly (no checkpoint, no wait for
/// the write lock unless asked).
pub struct OutcomeWriter(super::sqlite::SqliteOutcomeWriter);

impl Store {
    /// A writer where a commit is a call on a connection of its own (SQLite); `None` where a
    /// commit is a round trip to a server (PostgreSQL), which the recorder awaits instead
    /// ([`Store::record_outcomes`]).
    pub fn outcome_writer(&self) -> Result<Option<OutcomeWriter>, StoreError> {
        Ok(match &self.backend {
            Backend::Sqlite(b) => Some(OutcomeWriter(b.outcome_writer()?)),
            Backend::Postgres(_) => None,
        })
    }
}

/// What became of a group handed to [`OutcomeWriter::record_plain`].
#[derive(Debug)]
pub enum PlainCommit {
    /// Committed, or failed.
    Done(Result<(), StoreError>),
    /// Not only state changes (a bounce event, a refunded run): it goes through
    /// [`Store::record_outcomes`]. Nothing was written.
    NeedsPool,
    /// Another connection holds the database's write lock (only when not asked to wait). Nothing
    /// was written.
    Busy,
}

impl OutcomeWriter {
    /// Commits `outcomes` if they only change states, waiting for the write lock only if `wait`.
    pub fn record_plain(
        &mut self,
        outcomes: &[Outcome],
        refunds: &[Refund],
        now: DateTime<Utc>,
        wait: bool,
    ) -> PlainCommit {
        self.0.record_plain(outcomes, refunds, now, wait)
    }
}
