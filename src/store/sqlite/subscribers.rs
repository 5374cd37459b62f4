//! Subscribers: adding one, importing many in one transaction, listing, and unsubscribing.
//!
//! An add or import never re-activates an address that unsubscribed or bounced: it updates the name
//! and attributes only. Re-subscribing is the subscriber's own act.

use super::Sqlite;
use crate::store::{DeliveredMessage, DeliveryRecipient};
use crate::store::{StoreError, Subscriber};
use crate::store::{erasures::is_placeholder, subscribers::parse_attributes};
use crate::{
    clock::{from_millis, to_millis},
    domain::{DeliveryId, EmailAddress, ListId, SubscriberId, SubscriberStatus},
};
use chrono::{DateTime, Utc};
use sqlx::Row;

impl Sqlite {
    pub async fn subscribers_page(
        &self,
        list: ListId,
        status: Option<SubscriberStatus>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Subscriber>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, email, name, attributes, status, created_at FROM subscribers
             WHERE list_id = ? AND (? IS NULL OR status = ?) AND id > ? ORDER BY id LIMIT ?",
        )
        .bind(list.0)
        .bind(status.map(|s| s.as_str()))
        .bind(status.map(|s| s.as_str()))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(subscriber_of).collect()
    }

    pub async fn attribute_names(&self, list: ListId) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT j.key FROM subscribers s, json_each(s.attributes) j WHERE s.list_id = ? ORDER BY 1",
        )
        .bind(list.0)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn subscriber(
        &self,
        list: ListId,
        email: &EmailAddress,
    ) -> Result<Subscriber, StoreError> {
        let row = sqlx::query(
            "SELECT id, email, name, attributes, status, created_at FROM subscribers
             WHERE list_id = ? AND email = ?",
        )
        .bind(list.0)
        .bind(email.as_str())
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("subscriber {email}")))?;
        subscriber_of(&row)
    }

    pub async fn unsubscribe_address(
        &self,
        list: ListId,
        email: &EmailAddress,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let subscriber = self.subscriber(list, email).await?;
        if !subscriber
            .status
            .can_move_to(SubscriberStatus::Unsubscribed)
        {
            return Ok(false);
        }
        let changed = sqlx::query(
            "UPDATE subscribers SET status = ?, unsubscribed_at = ?, updated_at = ? WHERE id = ? AND status = ?",
        )
        .bind(SubscriberStatus::Unsubscribed.as_str())
        .bind(to_millis(now))
        .bind(to_millis(now))
        .bind(subscriber.id.0)
        .bind(subscriber.status.as_str())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(changed == 1)
    }

    pub async fn unsubscribe_by_delivery(
        &self,
        delivery: DeliveryId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let subscriber: Option<i64> =
            sqlx::query_scalar("SELECT subscriber_id FROM deliveries WHERE id = ?")
                .bind(delivery.0)
                .fetch_optional(&self.pool)
                .await?;
        let subscriber =
            subscriber.ok_or_else(|| StoreError::NotFound(format!("delivery #{delivery}")))?;
        let changed = sqlx::query(
            "UPDATE subscribers SET status = ?, unsubscribed_at = ?, unsubscribed_via = ?, updated_at = ?
             WHERE id = ? AND status = ?",
        )
        .bind(SubscriberStatus::Unsubscribed.as_str())
        .bind(to_millis(now))
        .bind(delivery.0)
        .bind(to_millis(now))
        .bind(subscriber)
        .bind(SubscriberStatus::Active.as_str())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(changed == 1)
    }

    pub async fn delivered_message(
        &self,
        delivery: DeliveryId,
    ) -> Result<DeliveredMessage, StoreError> {
        let row = sqlx::query(
            "SELECT i.subject, i.html_template, s.email, s.name, s.attributes FROM deliveries d
             JOIN issues i ON i.id = d.issue_id JOIN subscribers s ON s.id = d.subscriber_id WHERE d.id = ?",
        )
        .bind(delivery.0)
        .fetch_optional(&self.pool)
        .await?
        .filter(|r| !is_placeholder(r.get("email")))
        .ok_or_else(|| StoreError::NotFound(format!("delivery #{delivery}")))?;
        Ok(DeliveredMessage {
            subject: row.get("subject"),
            html_template: row.get("html_template"),
            email: row.get("email"),
            name: row.get("name"),
            attributes: parse_attributes(row.get("attributes"))?,
        })
    }

    pub async fn rename_by_delivery(
        &self,
        delivery: DeliveryId,
        name: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE subscribers SET name = ?, updated_at = ?
             WHERE id = (SELECT subscriber_id FROM deliveries WHERE id = ?)",
        )
        .bind(name)
        .bind(to_millis(now))
        .bind(delivery.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn unsubscribe_everywhere(
        &self,
        email: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        debug_assert!(SubscriberStatus::Active.can_move_to(SubscriberStatus::Unsubscribed));
        Ok(sqlx::query(
            "UPDATE subscribers SET status = ?, unsubscribed_at = ?, updated_at = ? WHERE email = ? AND status = ?",
        )
        .bind(SubscriberStatus::Unsubscribed.as_str())
        .bind(to_millis(now))
        .bind(to_millis(now))
        .bind(email)
        .bind(SubscriberStatus::Active.as_str())
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    pub async fn recipient_of(
        &self,
        delivery: DeliveryId,
    ) -> Result<DeliveryRecipient, StoreError> {
        let row = sqlx::query(
            "SELECT l.name AS list_name, s.email, s.status FROM deliveries d
             JOIN subscribers s ON s.id = d.subscriber_id JOIN lists l ON l.id = s.list_id WHERE d.id = ?",
        )
        .bind(delivery.0)
        .fetch_optional(&self.pool)
        .await?
        .filter(|r| !is_placeholder(r.get("email")))
        .ok_or_else(|| StoreError::NotFound(format!("delivery #{delivery}")))?;
        Ok(DeliveryRecipient {
            list_name: row.get("list_name"),
            email: row.get("email"),
            status: row.get::<&str, _>("status").parse()?,
        })
    }
}

fn subscriber_of(r: &sqlx::sqlite::SqliteRow) -> Result<Subscriber, StoreError> {
    Ok(Subscriber {
        id: SubscriberId(r.get("id")),
        email: r.get("email"),
        name: r.get("name"),
        attributes: parse_attributes(r.get("attributes"))?,
        status: r.get::<&str, _>("status").parse()?,
        created_at: from_millis(r.get("created_at")),
    })
}
