//! Subscribers: adding one, importing many in one transaction, listing, and unsubscribing.
//!
//! An add or import never re-activates an address that unsubscribed or bounced: it updates the name
//! and attributes only. Re-subscribing is the subscriber's own act.

use super::{Store, StoreError, Subscriber};
use crate::{
    clock::{from_millis, to_millis},
    domain::{DeliveryId, EmailAddress, ListId, SubscriberId, SubscriberStatus},
};
use chrono::{DateTime, Utc};
use sqlx::Row;
use std::collections::BTreeMap;

/// One parsed row of an import.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub email: EmailAddress,
    pub name: Option<String>,
    pub attributes: BTreeMap<String, String>,
}

/// Limits on what a subscriber row may hold: a name or an attribute is filled into every message,
/// so an oversized one (a 5 MB "name") would bloat every send and the database.
pub const MAX_NAME_CHARS: usize = 256;
pub const MAX_ATTRIBUTE_CHARS: usize = 1024;
pub const MAX_ATTRIBUTES: usize = 64;

impl ImportRow {
    /// A row within the limits above, or the reason it is not.
    pub fn new(
        email: EmailAddress,
        name: Option<String>,
        attributes: BTreeMap<String, String>,
    ) -> Result<Self, String> {
        if let Some(n) = &name {
            let chars = n.chars().count();
            if chars > MAX_NAME_CHARS {
                return Err(format!(
                    "name is {chars} characters long; at most {MAX_NAME_CHARS}"
                ));
            }
        }
        if attributes.len() > MAX_ATTRIBUTES {
            return Err(format!(
                "{} attributes; at most {MAX_ATTRIBUTES}",
                attributes.len()
            ));
        }
        for (key, value) in &attributes {
            let chars = key.chars().count().max(value.chars().count());
            if chars > MAX_ATTRIBUTE_CHARS {
                return Err(format!(
                    "attribute `{}` is {chars} characters long; at most {MAX_ATTRIBUTE_CHARS}",
                    key.chars().take(40).collect::<String>()
                ));
            }
        }
        Ok(Self {
            email,
            name,
            attributes,
        })
    }
}

/// A delivered message as its reader's browser copy needs it.
#[derive(Debug, Clone)]
pub struct DeliveredMessage {
    pub subject: String,
    pub html_template: String,
    pub email: String,
    pub name: Option<String>,
    pub attributes: BTreeMap<String, String>,
}

/// The recipient behind a delivery, as the unsubscribe page shows them.
#[derive(Debug, Clone)]
pub struct DeliveryRecipient {
    pub list_name: String,
    pub email: String,
    pub status: SubscriberStatus,
}

impl Store {
    /// Up to `limit` subscribers of `list` (optionally in `status`) with ids after `after`, in id
    /// order: one page of a cursor-paginated listing.
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

    /// Every attribute name used by a subscriber of `list`, sorted.
    pub async fn attribute_names(&self, list: ListId) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT j.key FROM subscribers s, json_each(s.attributes) j WHERE s.list_id = ? ORDER BY 1",
        )
        .bind(list.0)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The subscriber of `list` with address `email`.
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

    /// Unsubscribes `email` from `list` at the operator's request. Returns `false` when the
    /// subscriber was not active (already unsubscribed, bounced or complained: left as it is).
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

    /// Unsubscribes the recipient of `delivery` from that delivery's list. Idempotent: returns `false`
    /// when the subscriber was already unsubscribed. Their deliveries not yet sent become `skipped`
    /// when the sender claims them.
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
            "UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = ?, unsubscribed_via = ?, updated_at = ?
             WHERE id = ? AND status = 'active'",
        )
        .bind(to_millis(now))
        .bind(delivery.0)
        .bind(to_millis(now))
        .bind(subscriber)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(changed == 1)
    }

    /// What `delivery`'s reader got: the stored HTML and the reader's own values, for the
    /// "read in your browser" page; an erased reader's is gone (`NotFound`).
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
        .filter(|r| !super::erasures::is_placeholder(r.get("email")))
        .ok_or_else(|| StoreError::NotFound(format!("delivery #{delivery}")))?;
        Ok(DeliveredMessage {
            subject: row.get("subject"),
            html_template: row.get("html_template"),
            email: row.get("email"),
            name: row.get("name"),
            attributes: parse_attributes(row.get("attributes"))?,
        })
    }

    /// Sets the name of `delivery`'s reader (`None` removes it).
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

    /// Unsubscribes `email` from every list it is active on; returns how many.
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

    /// Who received `delivery`, from which list, and whether they are still subscribed; an erased
    /// reader is nobody (`NotFound`).
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
        .filter(|r| !super::erasures::is_placeholder(r.get("email")))
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

pub(super) fn parse_attributes(json: &str) -> Result<BTreeMap<String, String>, StoreError> {
    serde_json::from_str(json)
        .map_err(|e| StoreError::BadValue(format!("subscriber attributes: {e}")))
}
