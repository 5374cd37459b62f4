//! `herald db copy`: moves an installation from one database to another (SQLite to PostgreSQL, or
//! back), table by table in foreign-key order, ids kept, then checks that every table has as many
//! rows on both sides.
//!
//! Both schemas have the same tables and columns (PostgreSQL adds the claim lease, which a copy
//! leaves empty); only the column types differ (flags are BOOLEAN on PostgreSQL, INTEGER on SQLite),
//! so each column is read and written as the type herald gives it.

use super::{Backend, Store, StoreError};
use crate::domain::{DeliveryState, IssueState};
use sqlx::Row;

/// How herald reads and writes a column.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Int,
    Text,
    Bool,
    Blob,
}

/// One value, `None` for NULL.
#[derive(Debug, Clone)]
enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    Bool(Option<bool>),
    Blob(Option<Vec<u8>>),
}

use Kind::{Blob, Bool, Int, Text};

/// The tables in foreign-key order, with their columns; the first column orders the copy.
const TABLES: &[(&str, &[(&str, Kind)])] = &[
    ("settings", &[("key", Text), ("value", Text)]),
    (
        "lists",
        &[
            ("id", Int),
            ("slug", Text),
            ("name", Text),
            ("from_name", Text),
            ("from_address", Text),
            ("reply_to", Text),
            ("schedule", Text),
            ("timezone", Text),
            ("layout", Text),
            ("last_slot_at", Int),
            ("created_at", Int),
            ("language", Text),
            ("postal_address", Text),
            ("archive", Bool),
            ("signup", Bool),
            ("thanks_url", Text),
        ],
    ),
    (
        "subscribers",
        &[
            ("id", Int),
            ("list_id", Int),
            ("email", Text),
            ("name", Text),
            ("attributes", Text),
            ("status", Text),
            ("created_at", Int),
            ("updated_at", Int),
            ("unsubscribed_at", Int),
            ("unsubscribed_via", Int),
            ("status_reason", Text),
        ],
    ),
    (
        "issues",
        &[
            ("id", Int),
            ("list_id", Int),
            ("subject", Text),
            ("preheader", Text),
            ("source_path", Text),
            ("html_template", Text),
            ("text_template", Text),
            ("state", Text),
            ("state_reason", Text),
            ("send_at", Int),
            ("queued_at", Int),
            ("started_at", Int),
            ("finished_at", Int),
        ],
    ),
    (
        "deliveries",
        &[
            ("id", Int),
            ("issue_id", Int),
            ("subscriber_id", Int),
            ("state", Text),
            ("attempts", Int),
            ("unconfirmed", Int),
            ("next_attempt_at", Int),
            ("last_reply", Text),
            ("updated_at", Int),
            ("sent_at", Int),
        ],
    ),
    (
        "bounces",
        &[
            ("id", Int),
            ("received_at", Int),
            ("source", Text),
            ("kind", Text),
            ("class", Text),
            ("reason", Text),
            ("status", Text),
            ("reply_code", Int),
            ("action", Text),
            ("diagnostic", Text),
            ("remote_mta", Text),
            ("recipient", Text),
            ("delivery_id", Int),
            ("issue_id", Int),
            ("subscriber_id", Int),
            ("list_id", Int),
            ("matched_by", Text),
            ("effect", Text),
            ("report_sha256", Text),
            ("position", Int),
            ("raw", Blob),
        ],
    ),
    (
        "suppressions",
        &[
            ("email", Text),
            ("status", Text),
            ("reason", Text),
            ("created_at", Int),
        ],
    ),
    (
        "api_tokens",
        &[
            ("id", Int),
            ("name", Text),
            ("prefix", Text),
            ("hash", Blob),
            ("read_only", Bool),
            ("created_at", Int),
            ("last_used_at", Int),
            ("revoked_at", Int),
        ],
    ),
    (
        "erasures",
        &[("hash", Blob), ("status", Text), ("erased_at", Int)],
    ),
    (
        "signups",
        &[
            ("id", Int),
            ("list_id", Int),
            ("email", Text),
            ("name", Text),
            ("created_at", Int),
            ("mailed_at", Int),
            ("attempts", Int),
            ("next_attempt_at", Int),
            ("last_error", Text),
            ("confirmed_at", Int),
        ],
    ),
];

/// Rows read and written per statement.
const CHUNK: i64 = 500;

/// One table's rows on each side after the copy.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CopiedTable {
    pub table: &'static str,
    pub source: i64,
    pub target: i64,
}

impl Store {
    /// Copies every row of this database into `target`, which must be empty (freshly migrated), and
    /// returns each table's row counts on both sides. Deliveries a stopped daemon left `sending` are
    /// copied as `pending`, or `skipped` for a cancelled issue (what its next start would have made
    /// them), with no claim. Run it with no daemon
    /// sending from either database.
    pub async fn copy_into(&self, target: &Store) -> Result<Vec<CopiedTable>, StoreError> {
        for (table, _) in TABLES {
            if target.count(table).await? > 0 {
                return Err(StoreError::Conflict(format!(
                    "the target database is not empty: its `{table}` table has rows (copy into a new database)"
                )));
            }
        }
        let mut report = Vec::with_capacity(TABLES.len());
        // Issues cancelled while their deliveries were being sent: those rows become `skipped`.
        let mut cancelled: std::collections::HashSet<i64> = std::collections::HashSet::new();
        for (table, columns) in TABLES {
            let keyed = matches!(columns[0], ("id", Int));
            let mut after = i64::MIN;
            loop {
                let mut rows = self.read_rows(table, columns, keyed, after).await?;
                if rows.is_empty() {
                    break;
                }
                if *table == "issues" {
                    for row in &rows {
                        if let (Value::Int(Some(id)), Value::Text(Some(state))) = (&row[0], &row[7])
                            && state == IssueState::Cancelled.as_str()
                        {
                            cancelled.insert(*id);
                        }
                    }
                }
                if *table == "deliveries" {
                    for row in &mut rows {
                        let issue = match &row[1] {
                            Value::Int(Some(id)) => *id,
                            _ => 0,
                        };
                        if let Value::Text(Some(state)) = &mut row[3]
                            && state == DeliveryState::Sending.as_str()
                        {
                            // What the stopped daemon's next start would have made of them.
                            let now = if cancelled.contains(&issue) {
                                DeliveryState::Skipped
                            } else {
                                DeliveryState::Pending
                            };
                            *state = now.as_str().to_owned();
                        }
                    }
                }
                if let Some(Value::Int(Some(id))) = rows.last().map(|r| &r[0]) {
                    after = *id;
                }
                let done = !keyed || (rows.len() as i64) < CHUNK;
                for chunk in rows.chunks(100) {
                    target.write_rows(table, columns, chunk).await?;
                }
                if done {
                    break;
                }
            }
            report.push(CopiedTable {
                table,
                source: self.count(table).await?,
                target: target.count(table).await?,
            });
        }
        let signups_high = self.signup_high_water().await?;
        target.after_copy(signups_high).await?;
        Ok(report)
    }

    async fn count(&self, table: &str) -> Result<i64, StoreError> {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        Ok(match &self.backend {
            Backend::Sqlite(b) => sqlx::query_scalar(&sql).fetch_one(&b.pool).await?,
            Backend::Postgres(b) => sqlx::query_scalar(&sql).fetch_one(&b.pool).await?,
        })
    }

    /// The next chunk of `table` (by id after `after` when `keyed`, else the whole table).
    async fn read_rows(
        &self,
        table: &str,
        columns: &[(&str, Kind)],
        keyed: bool,
        after: i64,
    ) -> Result<Vec<Vec<Value>>, StoreError> {
        let names: Vec<&str> = columns.iter().map(|(c, _)| *c).collect();
        let (filter, param) = match &self.backend {
            Backend::Sqlite(_) => ("id > ?", "?"),
            Backend::Postgres(_) => ("id > $1", "$2"),
        };
        let sql = if keyed {
            format!(
                "SELECT {} FROM {table} WHERE {filter} ORDER BY id LIMIT {param}",
                names.join(", ")
            )
        } else {
            format!("SELECT {} FROM {table} ORDER BY 1", names.join(", "))
        };
        macro_rules! read {
            ($pool:expr) => {{
                let rows = if keyed {
                    sqlx::query(&sql)
                        .bind(after)
                        .bind(CHUNK)
                        .fetch_all($pool)
                        .await?
                } else {
                    sqlx::query(&sql).fetch_all($pool).await?
                };
                rows.iter()
                    .map(|r| {
                        columns
                            .iter()
                            .enumerate()
                            .map(|(i, (_, kind))| {
                                Ok(match kind {
                                    Int => Value::Int(r.try_get(i)?),
                                    Text => Value::Text(r.try_get(i)?),
                                    Bool => Value::Bool(r.try_get(i)?),
                                    Blob => Value::Blob(r.try_get(i)?),
                                })
                            })
                            .collect::<Result<Vec<_>, sqlx::Error>>()
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()?
            }};
        }
        Ok(match &self.backend {
            Backend::Sqlite(b) => read!(&b.pool),
            Backend::Postgres(b) => read!(&b.pool),
        })
    }

    /// Inserts `rows` into `table` in one statement.
    async fn write_rows(
        &self,
        table: &str,
        columns: &[(&str, Kind)],
        rows: &[Vec<Value>],
    ) -> Result<(), StoreError> {
        let names: Vec<&str> = columns.iter().map(|(c, _)| *c).collect();
        let postgres = matches!(self.backend, Backend::Postgres(_));
        let mut n = 0;
        let values: Vec<String> = rows
            .iter()
            .map(|_| {
                let marks: Vec<String> = (0..columns.len())
                    .map(|_| {
                        n += 1;
                        if postgres {
                            format!("${n}")
                        } else {
                            "?".into()
                        }
                    })
                    .collect();
                format!("({})", marks.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO {table} ({}) VALUES {}",
            names.join(", "),
            values.join(", ")
        );
        macro_rules! write {
            ($pool:expr) => {{
                let mut q = sqlx::query(&sql);
                for value in rows.iter().flatten() {
                    q = match value {
                        Value::Int(v) => q.bind(*v),
                        Value::Text(v) => q.bind(v.clone()),
                        Value::Bool(v) => q.bind(*v),
                        Value::Blob(v) => q.bind(v.clone()),
                    };
                }
                q.execute($pool).await?;
            }};
        }
        match &self.backend {
            Backend::Sqlite(b) => write!(&b.pool),
            Backend::Postgres(b) => write!(&b.pool),
        }
        Ok(())
    }

    /// The highest signup id ever handed out (a confirmation link names its signup by id, so an id
    /// must never be handed out twice, also after the signup expired).
    async fn signup_high_water(&self) -> Result<i64, StoreError> {
        Ok(match &self.backend {
            Backend::Sqlite(b) => sqlx::query_scalar(
                "SELECT MAX(n) FROM (SELECT seq AS n FROM sqlite_sequence WHERE name = 'signups'
                                     UNION ALL SELECT MAX(id) FROM signups)",
            )
            .fetch_one(&b.pool)
            .await
            .map(|n: Option<i64>| n.unwrap_or(0))?,
            Backend::Postgres(b) => {
                // The sequence itself: `last_value` is the next id minus one until it is first
                // used after a `setval(…, false)` (as a copy leaves it).
                let sequence: String =
                    sqlx::query_scalar("SELECT pg_get_serial_sequence('signups', 'id')")
                        .fetch_one(&b.pool)
                        .await?;
                let used: i64 = sqlx::query_scalar(&format!(
                    "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM {sequence}"
                ))
                .fetch_one(&b.pool)
                .await?;
                let highest: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM signups")
                    .fetch_one(&b.pool)
                    .await?;
                used.max(highest.unwrap_or(0))
            }
        })
    }

    /// Ids go on after the highest one copied in (PostgreSQL's identity columns), and signup ids
    /// after the highest one the source ever handed out.
    async fn after_copy(&self, signups_high: i64) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Postgres(b) => {
                for (table, columns) in TABLES {
                    if matches!(columns[0], ("id", Int)) {
                        let floor = if *table == "signups" { signups_high } else { 0 };
                        sqlx::query(&format!(
                            "SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                                           GREATEST(COALESCE(MAX(id), 0), $1) + 1, false) FROM {table}"
                        ))
                        .bind(floor)
                        .execute(&b.pool)
                        .await?;
                    }
                }
            }
            Backend::Sqlite(b) => {
                // AUTOINCREMENT's high-water mark; the row exists once a signup was inserted.
                sqlx::query("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'signups'")
                    .bind(signups_high)
                    .execute(&b.pool)
                    .await?;
                sqlx::query(
                    "INSERT INTO sqlite_sequence (name, seq) SELECT 'signups', ?
                     WHERE ? > 0 AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'signups')",
                )
                .bind(signups_high)
                .bind(signups_high)
                .execute(&b.pool)
                .await?;
            }
        }
        Ok(())
    }
}
