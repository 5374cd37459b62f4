//! Bulk import on PostgreSQL: a task `COPY`s each chunk into a temporary table and upserts it into
//! `subscribers` in one statement, a transaction per chunk. The caller's side dedupes and encodes the
//! next chunk meanwhile.

use super::Postgres;
use crate::{
    clock::to_millis,
    domain::{ListId, SubscriberStatus},
    store::{ImportCounts, ImportRow, StoreError},
};
use chrono::{DateTime, Utc};
use sqlx::postgres::PgPool;
use tokio::{sync::mpsc, task::JoinHandle};

/// The chunk's rows, dropped with its transaction.
const CREATE_ROWS: &str = "CREATE TEMP TABLE import_rows (email TEXT NOT NULL, name TEXT,
    attributes TEXT NOT NULL) ON COMMIT DROP";
const COPY_ROWS: &str = "COPY import_rows (email, name, attributes) FROM STDIN WITH (FORMAT text)";

// Every address is in the chunk once (`encode`): ON CONFLICT cannot touch one row twice in one
// statement. `xmax = 0` tells a row inserted from one updated.
const UPSERT: &str = "WITH upserted AS (
        INSERT INTO subscribers (list_id, email, name, attributes, status, created_at, updated_at)
        SELECT $1::BIGINT, email, name, attributes, $2::TEXT, $3::BIGINT, $3::BIGINT FROM import_rows
        ON CONFLICT (list_id, email) DO UPDATE SET name = COALESCE(EXCLUDED.name, subscribers.name),
            attributes = (subscribers.attributes::jsonb || EXCLUDED.attributes::jsonb)::text,
            updated_at = EXCLUDED.updated_at
        RETURNING (xmax = 0) AS inserted)
    SELECT COUNT(*) FILTER (WHERE inserted), COUNT(*) FILTER (WHERE NOT inserted) FROM upserted";

// Addresses stopped on every list (`bounce.suppress = "all_lists"`) never start `active`. Run per
// chunk, inside its transaction; with an empty `suppressions` table it costs nothing.
const SUPPRESS: &str = "UPDATE subscribers SET status = x.status,
    status_reason = 'suppressed on every list: ' || x.reason
    FROM suppressions x WHERE x.email = subscribers.email AND subscribers.list_id = $1
    AND subscribers.status = $2";

/// A chunk ready for the writer.
struct Encoded {
    /// The rows in `COPY` text format, one per address.
    copy: Vec<u8>,
    /// Rows merged into a later row for the same address: each counts as an update.
    repeated: u64,
}

/// An import in progress; chunks are written in the order given.
pub struct PgImport {
    chunks: mpsc::Sender<Encoded>,
    writer: JoinHandle<Result<ImportCounts, StoreError>>,
}

impl Postgres {
    /// Starts a bulk import into `list`.
    pub fn bulk_import(&self, list: ListId, now: DateTime<Utc>) -> Result<PgImport, StoreError> {
        // One chunk parsed ahead while one is written.
        let (chunks, incoming) = mpsc::channel(1);
        let writer = tokio::spawn(write_chunks(
            self.pool.clone(),
            list,
            to_millis(now),
            incoming,
        ));
        Ok(PgImport { chunks, writer })
    }
}

impl PgImport {
    /// Queues `chunk`; waits only while the writer is busy with the one before. When the writer has
    /// stopped, [`PgImport::finish`] says why.
    pub async fn write(&self, chunk: Vec<ImportRow>) -> Result<(), StoreError> {
        // Encode here, on the parsing side: the writer is the import's bottleneck.
        let chunk = encode(chunk)?;
        self.chunks
            .send(chunk)
            .await
            .map_err(|_| StoreError::BadValue("the import writer stopped".into()))
    }

    /// Waits for every chunk to be committed.
    pub async fn finish(self) -> Result<ImportCounts, StoreError> {
        let Self { chunks, writer } = self;
        // The writer ends once the chunks queued before this are written.
        drop(chunks);
        writer
            .await
            .map_err(|e| StoreError::BadValue(format!("the import task stopped: {e}")))?
    }
}

/// The writer: one transaction per chunk, in the order received, until the sender is dropped.
async fn write_chunks(
    pool: PgPool,
    list: ListId,
    now: i64,
    mut incoming: mpsc::Receiver<Encoded>,
) -> Result<ImportCounts, StoreError> {
    let mut counts = ImportCounts::default();
    while let Some(chunk) = incoming.recv().await {
        let mut tx = pool.begin().await?;
        sqlx::query(CREATE_ROWS).execute(&mut *tx).await?;
        let mut copy = tx.copy_in_raw(COPY_ROWS).await?;
        copy.send(chunk.copy).await?;
        copy.finish().await?;
        let (added, updated): (i64, i64) = sqlx::query_as(UPSERT)
            .bind(list.0)
            .bind(SubscriberStatus::Active.as_str())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query(SUPPRESS)
            .bind(list.0)
            .bind(SubscriberStatus::Active.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        counts.added += count(added);
        counts.updated += count(updated) + chunk.repeated;
    }
    Ok(counts)
}

/// A `COUNT(*)`, never negative.
fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or_default()
}

/// Sorts `rows` by address, merges the rows of one address into its last, and writes them out for
/// `COPY`.
fn encode(mut rows: Vec<ImportRow>) -> Result<Encoded, StoreError> {
    let given = rows.len();
    // In address order, consecutive inserts land side by side in the unique (list, address) index,
    // and two imports into one list lock their rows in the same order. The sort is stable: of one
    // address given twice, the later row still wins.
    rows.sort_by(|a, b| a.email.as_str().cmp(b.email.as_str()));
    // As upserting each row in turn would: the later row's name unless it has none, and its
    // attributes over the earlier row's.
    rows.dedup_by(|later, kept| {
        if later.email.as_str() != kept.email.as_str() {
            return false;
        }
        if let Some(name) = later.name.take() {
            kept.name = Some(name);
        }
        kept.attributes.append(&mut later.attributes);
        true
    });
    let mut copy = Vec::with_capacity(rows.len() * 64);
    for row in &rows {
        let attributes = serde_json::to_string(&row.attributes)
            .map_err(|e| StoreError::BadValue(e.to_string()))?;
        push_field(&mut copy, Some(row.email.as_str()));
        copy.push(b'\t');
        push_field(&mut copy, row.name.as_deref());
        copy.push(b'\t');
        push_field(&mut copy, Some(&attributes));
        copy.push(b'\n');
    }
    Ok(Encoded {
        copy,
        repeated: (given - rows.len()) as u64,
    })
}

/// One field of `COPY`'s text format: `\N` for NULL, and backslash, tab, newline and carriage
/// return escaped (each is ASCII, so never part of a longer UTF-8 sequence).
fn push_field(out: &mut Vec<u8>, value: Option<&str>) {
    let Some(value) = value else {
        out.extend_from_slice(b"\\N");
        return;
    };
    for byte in value.bytes() {
        match byte {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(byte),
        }
    }
}
