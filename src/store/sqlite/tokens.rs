//! Admin API tokens: stored as a prefix (to find the row) and a hash (never the token itself).

use super::Sqlite;
use crate::clock::{from_millis, to_millis};
use crate::store::StoreError;
use crate::store::{StoredToken, TokenRow};
use chrono::{DateTime, Utc};
use sqlx::Row;

impl Sqlite {
    pub async fn create_token(
        &self,
        name: &str,
        prefix: &str,
        hash: &[u8],
        read_only: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO api_tokens (name, prefix, hash, read_only, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(name)
        .bind(prefix)
        .bind(hash)
        .bind(read_only)
        .bind(to_millis(now))
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::Conflict(
                format!("a token named `{name}` exists; revoke it first or pick another name"),
            )),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, prefix, read_only, created_at, last_used_at, revoked_at FROM api_tokens ORDER BY id DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| TokenRow {
                name: r.get("name"),
                prefix: format!("hld_{}", r.get::<String, _>("prefix")),
                read_only: r.get("read_only"),
                created_at: from_millis(r.get("created_at")),
                last_used_at: r.get::<Option<i64>, _>("last_used_at").map(from_millis),
                revoked_at: r.get::<Option<i64>, _>("revoked_at").map(from_millis),
            })
            .collect())
    }

    pub async fn revoke_token(&self, name: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
        )
        .bind(to_millis(now))
        .bind(name)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("token `{name}`")));
        }
        Ok(())
    }

    pub async fn token_by_prefix(&self, prefix: &str) -> Result<Option<StoredToken>, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, hash, read_only FROM api_tokens WHERE prefix = ? AND revoked_at IS NULL",
        )
        .bind(prefix)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| StoredToken {
            id: r.get("id"),
            name: r.get("name"),
            hash: r.get("hash"),
            read_only: r.get("read_only"),
        }))
    }

    pub async fn touch_token(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        let now = to_millis(now);
        sqlx::query(
            "UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
        )
        .bind(now)
        .bind(id)
        .bind(now - 60_000)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
