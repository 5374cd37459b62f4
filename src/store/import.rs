//! Bulk import of subscribers: each backend writes chunks its own fastest way (SQLite: a prepared
//! statement stepped on a thread of its own; PostgreSQL: `COPY`), in order, one transaction per chunk.

use super::{Backend, ImportRow, Store, StoreError};
use crate::domain::ListId;
use chrono::{DateTime, Utc};

/// What an import did: rows that added a subscriber, and rows that updated one (an address already on
/// the list, or repeated in the file).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportCounts {
    pub added: u64,
    pub updated: u64,
}

/// An import in progress; chunks are written in the order given.
pub enum BulkImport {
    Sqlite(super::sqlite::SqliteImport),
    Postgres(super::postgres::PgImport),
}

impl Store {
    /// Starts a bulk import into `list`.
    pub fn bulk_import(&self, list: ListId, now: DateTime<Utc>) -> Result<BulkImport, StoreError> {
        Ok(match &self.backend {
            Backend::Sqlite(b) => BulkImport::Sqlite(b.bulk_import(list, now)?),
            Backend::Postgres(b) => BulkImport::Postgres(b.bulk_import(list, now)?),
        })
    }
}

impl BulkImport {
    /// Queues `chunk`; waits only while the writer is busy with the one before. When the writer has
    /// stopped, [`BulkImport::finish`] says why.
    pub async fn write(&self, chunk: Vec<ImportRow>) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(i) => i.write(chunk).await,
            Self::Postgres(i) => i.write(chunk).await,
        }
    }

    /// Waits for every chunk to be committed.
    pub async fn finish(self) -> Result<ImportCounts, StoreError> {
        match self {
            Self::Sqlite(i) => i.finish().await,
            Self::Postgres(i) => i.finish().await,
        }
    }
}
