//! Erasing a person on PostgreSQL: every row that holds their address or name loses it (subscriber
//! rows become anonymous placeholders, so issue counts and delivery ids stay as they were), and a
//! salted hash of the address keeps them from being imported again.

use super::Postgres;
use crate::{
    clock::to_millis,
    domain::{EmailAddress, SubscriberStatus},
    store::{
        Erased, Erasures, StoreError,
        erasures::{ERASED_DOMAIN, hash},
    },
};
use chrono::{DateTime, Utc};

impl Postgres {
    /// Every erased address's hash.
    pub async fn erasures(&self, salt: String) -> Result<Erasures, StoreError> {
        let hashes = sqlx::query_scalar::<_, Vec<u8>>("SELECT hash FROM erasures")
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .collect();
        Ok(Erasures { salt, hashes })
    }

    /// Erases `email` from every list, in one transaction.
    pub async fn erase(
        &self,
        email: &EmailAddress,
        salt: &str,
        now: DateTime<Utc>,
    ) -> Result<Erased, StoreError> {
        let mut tx = self.transaction().await?;
        // The subscriber rows are locked until the commit: an unsubscribe or a rename cannot slip in
        // between this read and their erasure. Slugs in code-point order, as SQLite sorts them.
        let subscribers: Vec<(i64, String)> = sqlx::query_as(
            "SELECT s.id, l.slug FROM subscribers s JOIN lists l ON l.id = s.list_id WHERE s.email = $1
             ORDER BY l.slug COLLATE \"C\" FOR UPDATE OF s",
        )
        .bind(email.as_str())
        .fetch_all(&mut *tx)
        .await?;
        let ids: Vec<i64> = subscribers.iter().map(|(id, _)| *id).collect();
        let bounces = sqlx::query(
            "UPDATE bounces SET recipient = NULL, diagnostic = NULL, raw = NULL
             WHERE subscriber_id = ANY($1) OR recipient = $2",
        )
        .bind(&ids[..])
        .bind(email.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // The deliveries stay (an issue's counts do not change, and their ids are never handed to
        // another reader, whose links would then open this one's pages), without the server's reply,
        // which may quote the address.
        let deliveries =
            sqlx::query("UPDATE deliveries SET last_reply = NULL WHERE subscriber_id = ANY($1)")
                .bind(&ids[..])
                .execute(&mut *tx)
                .await?
                .rows_affected();
        // Each subscriber row becomes an anonymous tombstone: a random address under the reserved
        // `.invalid` domain (RFC 2606), no name, no attributes, and never `active` again.
        debug_assert!(SubscriberStatus::Active.can_move_to(SubscriberStatus::Unsubscribed));
        let placeholders: Vec<String> = ids.iter().map(|_| placeholder()).collect();
        sqlx::query(
            "UPDATE subscribers SET email = e.placeholder, name = NULL,
                 attributes = '{}', status = CASE WHEN status = $1 THEN $2 ELSE status END,
                 status_reason = 'erased at the person''s request', unsubscribed_via = NULL, updated_at = $3
             FROM unnest($4::BIGINT[], $5::TEXT[]) AS e(id, placeholder)
             WHERE subscribers.id = e.id",
        )
        .bind(SubscriberStatus::Active.as_str())
        .bind(SubscriberStatus::Unsubscribed.as_str())
        .bind(to_millis(now))
        .bind(&ids[..])
        .bind(&placeholders[..])
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM signups WHERE email = $1")
            .bind(email.as_str())
            .execute(&mut *tx)
            .await?;
        let suppressed: Option<String> =
            sqlx::query_scalar("DELETE FROM suppressions WHERE email = $1 RETURNING status")
                .bind(email.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        sqlx::query(
            "INSERT INTO erasures (hash, status, erased_at) VALUES ($1, $2, $3)
             ON CONFLICT (hash) DO UPDATE SET status = COALESCE(EXCLUDED.status, erasures.status)",
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

/// A fresh tombstone address, `erased-` and 24 random hex digits under [`ERASED_DOMAIN`]: one per
/// row, so the tombstones of one person on several lists cannot be linked.
fn placeholder() -> String {
    let bytes: [u8; 12] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("erased-{hex}{ERASED_DOMAIN}")
}
