//! Erasing a person: every row that holds their address or name loses it (subscriber rows become
//! anonymous placeholders, so issue counts and delivery ids stay as they were), and a salted hash of
//! the address keeps them from being imported again.

use super::Sqlite;
use crate::store::StoreError;
use crate::store::erasures::{ERASED_DOMAIN, hash};
use crate::store::{Erased, Erasures};
use crate::{
    clock::to_millis,
    domain::{EmailAddress, SubscriberStatus},
};
use chrono::{DateTime, Utc};

impl Sqlite {
    pub async fn erasures(&self, salt: String) -> Result<Erasures, StoreError> {
        let hashes = sqlx::query_scalar("SELECT hash FROM erasures")
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .collect();
        Ok(Erasures { salt, hashes })
    }

    pub async fn erase(
        &self,
        email: &EmailAddress,
        salt: &str,
        now: DateTime<Utc>,
    ) -> Result<Erased, StoreError> {
        let mut tx = self.write_transaction().await?;
        let subscribers: Vec<(i64, String)> = sqlx::query_as(
            "SELECT s.id, l.slug FROM subscribers s JOIN lists l ON l.id = s.list_id WHERE s.email = ? ORDER BY l.slug",
        )
        .bind(email.as_str())
        .fetch_all(&mut *tx)
        .await?;
        let ids = serde_json::to_string(&subscribers.iter().map(|(id, _)| *id).collect::<Vec<_>>())
            .map_err(|e| StoreError::BadValue(e.to_string()))?;
        let bounces = sqlx::query(
            "UPDATE bounces SET recipient = NULL, diagnostic = NULL, raw = NULL
             WHERE subscriber_id IN (SELECT value FROM json_each(?)) OR recipient = ?",
        )
        .bind(&ids)
        .bind(email.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // The deliveries stay (an issue's counts do not change, and their ids are never handed to
        // another reader, whose links would then open this one's pages), without the server's reply,
        // which may quote the address.
        let deliveries = sqlx::query(
            "UPDATE deliveries SET last_reply = NULL WHERE subscriber_id IN (SELECT value FROM json_each(?))",
        )
        .bind(&ids)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // Each subscriber row becomes an anonymous tombstone: a random address under the reserved
        // `.invalid` domain (RFC 2606), no name, no attributes, and never `active` again.
        debug_assert!(SubscriberStatus::Active.can_move_to(SubscriberStatus::Unsubscribed));
        sqlx::query(
            "UPDATE subscribers SET email = 'erased-' || lower(hex(randomblob(12))) || ?, name = NULL,
                 attributes = '{}', status = CASE WHEN status = ? THEN ? ELSE status END,
                 status_reason = 'erased at the person''s request', unsubscribed_via = NULL, updated_at = ?
             WHERE id IN (SELECT value FROM json_each(?))",
        )
        .bind(ERASED_DOMAIN)
        .bind(SubscriberStatus::Active.as_str())
        .bind(SubscriberStatus::Unsubscribed.as_str())
        .bind(to_millis(now))
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM signups WHERE email = ?")
            .bind(email.as_str())
            .execute(&mut *tx)
            .await?;
        let suppressed: Option<String> =
            sqlx::query_scalar("DELETE FROM suppressions WHERE email = ? RETURNING status")
                .bind(email.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        sqlx::query(
            "INSERT INTO erasures (hash, status, erased_at) VALUES (?, ?, ?)
             ON CONFLICT (hash) DO UPDATE SET status = COALESCE(excluded.status, erasures.status)",
        )
        .bind(hash(salt, email))
        .bind(suppressed)
        .bind(to_millis(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Erased {
            found: !subscribers.is_empty(),
            lists: subscribers.into_iter().map(|(_, slug)| slug).collect(),
            deliveries,
            bounces,
        })
    }
}
