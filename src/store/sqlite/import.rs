//! Bulk import: a dedicated thread with its own SQLite connection steps one prepared upsert per row,
//! a transaction per chunk, as the `sqlite3` shell's `.import` does. The async side parses the next
//! chunk meanwhile. (Through sqlx, each statement is a round trip to its worker thread; a million of
//! them cost several times SQLite's own work.)

use super::Sqlite;
use crate::store::ImportCounts;
use crate::store::{ImportRow, StoreError};
use crate::{
    clock::to_millis,
    domain::{ListId, SubscriberStatus},
};
use chrono::{DateTime, Utc};
use std::{sync::mpsc, thread::JoinHandle, time::Duration};

// A plain INSERT, and the UPDATE only when it hits the unique (list, email) index: an upsert clause
// would search that index twice for every row, and most rows of an import are new.
// A new subscriber starts `active`, the column's default.
const INSERT: &str =
    "INSERT INTO subscribers (list_id, email, name, attributes, created_at, updated_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?5)";
const UPDATE: &str =
    "UPDATE subscribers SET name = COALESCE(?3, name), attributes = json_patch(attributes, ?4),
    updated_at = ?5 WHERE list_id = ?1 AND email = ?2";

// Addresses stopped on every list (`bounce.suppress = "all_lists"`) never start `active`. Run per
// chunk, inside its transaction; with an empty `suppressions` table it costs nothing.
const SUPPRESS: &str = "UPDATE subscribers SET status = (SELECT status FROM suppressions x WHERE x.email = subscribers.email),
    status_reason = 'suppressed on every list: ' || (SELECT reason FROM suppressions x WHERE x.email = subscribers.email)
    WHERE list_id = ?1 AND status = ?2 AND email IN (SELECT email FROM suppressions)";

/// A row ready for the writer: attributes already JSON.
struct Encoded {
    email: crate::domain::EmailAddress,
    name: Option<String>,
    attributes: String,
}

/// An import in progress on SQLite; chunks are written in the order given.
pub struct SqliteImport {
    chunks: Option<mpsc::SyncSender<Vec<Encoded>>>,
    writer: Option<JoinHandle<Result<ImportCounts, StoreError>>>,
}

impl Sqlite {
    pub fn bulk_import(
        &self,
        list: ListId,
        now: DateTime<Utc>,
    ) -> Result<SqliteImport, StoreError> {
        let mut connection = rusqlite::Connection::open(&self.path).map_err(sqlite)?;
        connection
            .busy_timeout(Duration::from_secs(30))
            .map_err(sqlite)?;
        // The list was looked up before the import started; checking its foreign key per row is wasted work.
        connection
            .execute_batch("PRAGMA foreign_keys = OFF; PRAGMA cache_size = -65536;")
            .map_err(sqlite)?;
        // One chunk parsed ahead while one is written.
        let (chunks, incoming) = mpsc::sync_channel::<Vec<Encoded>>(1);
        let now = to_millis(now);
        let writer = std::thread::Builder::new()
            .name("herald-import".into())
            .spawn(move || {
                let mut counts = ImportCounts::default();
                for chunk in incoming {
                    let tx = connection
                        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                        .map_err(sqlite)?;
                    {
                        let mut insert = tx.prepare_cached(INSERT).map_err(sqlite)?;
                        let mut update = tx.prepare_cached(UPDATE).map_err(sqlite)?;
                        for row in &chunk {
                            let values = rusqlite::params![
                                list.0,
                                row.email.as_str(),
                                row.name.as_deref(),
                                row.attributes,
                                now
                            ];
                            match insert.execute(values) {
                                Ok(_) => counts.added += 1,
                                Err(rusqlite::Error::SqliteFailure(e, _))
                                    if e.extended_code
                                        == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
                                {
                                    update.execute(values).map_err(sqlite)?;
                                    counts.updated += 1;
                                }
                                Err(e) => return Err(sqlite(e)),
                            }
                        }
                    }
                    tx.execute(
                        SUPPRESS,
                        rusqlite::params![list.0, SubscriberStatus::Active.as_str()],
                    )
                    .map_err(sqlite)?;
                    tx.commit().map_err(sqlite)?;
                }
                Ok(counts)
            })
            .map_err(|e| StoreError::BadValue(format!("cannot start the import thread: {e}")))?;
        Ok(SqliteImport {
            chunks: Some(chunks),
            writer: Some(writer),
        })
    }
}

impl SqliteImport {
    pub async fn write(&self, chunk: Vec<ImportRow>) -> Result<(), StoreError> {
        // Encode here, on the parsing side: the writer thread is the import's bottleneck.
        let chunk = chunk
            .into_iter()
            .map(|row| {
                let attributes = serde_json::to_string(&row.attributes)
                    .map_err(|e| StoreError::BadValue(e.to_string()))?;
                Ok(Encoded {
                    email: row.email,
                    name: row.name,
                    attributes,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // In address order, consecutive inserts land side by side in the unique (list, address) index.
        // The sort is stable: of one address given twice, the later row still wins.
        let mut chunk = chunk;
        chunk.sort_by(|a, b| a.email.as_str().cmp(b.email.as_str()));
        let sender = self.chunks.clone().expect("import open");
        match tokio::task::spawn_blocking(move || sender.send(chunk)).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(StoreError::BadValue("the import writer stopped".into())),
        }
    }

    pub async fn finish(mut self) -> Result<ImportCounts, StoreError> {
        self.chunks = None;
        match self.writer.take() {
            Some(writer) => tokio::task::spawn_blocking(move || writer.join())
                .await
                .map_err(|e| StoreError::BadValue(e.to_string()))?
                .map_err(|_| StoreError::BadValue("the import thread panicked".into()))?,
            None => Ok(ImportCounts::default()),
        }
    }
}

fn sqlite(e: rusqlite::Error) -> StoreError {
    StoreError::BadValue(format!("import: {e}"))
}
