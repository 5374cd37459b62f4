//! Subscribers: reading them, the rows an import writes, and what a reader's links (unsubscribe, view,
//! manage) do to them.

use super::{Store, StoreError, Subscriber, on_backend};
use crate::domain::{DeliveryId, EmailAddress, ListId, SubscriberStatus};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// Limits on what a subscriber row may hold: a name or an attribute is filled into every message,
/// so an oversized one (a 5 MB "name") would bloat every send and the database.
pub const MAX_NAME_CHARS: usize = 256;
pub const MAX_ATTRIBUTE_CHARS: usize = 1024;
pub const MAX_ATTRIBUTES: usize = 64;

/// One parsed row of an import.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub email: EmailAddress,
    pub name: Option<String>,
    pub attributes: BTreeMap<String, String>,
}

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

pub(super) fn parse_attributes(json: &str) -> Result<BTreeMap<String, String>, StoreError> {
    serde_json::from_str(json)
        .map_err(|e| StoreError::BadValue(format!("subscriber attributes: {e}")))
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
        on_backend!(self, b => b.subscribers_page(list, status, after, limit).await)
    }

    /// Every attribute name used by a subscriber of `list`, sorted.
    pub async fn attribute_names(&self, list: ListId) -> Result<Vec<String>, StoreError> {
        on_backend!(self, b => b.attribute_names(list).await)
    }

    /// The subscriber of `list` with address `email`.
    pub async fn subscriber(
        &self,
        list: ListId,
        email: &EmailAddress,
    ) -> Result<Subscriber, StoreError> {
        on_backend!(self, b => b.subscriber(list, email).await)
    }

    /// Unsubscribes `email` from `list` at the operator's request. Returns `false` when the
    /// subscriber was not active (already unsubscribed, bounced or complained: left as it is).
    pub async fn unsubscribe_address(
        &self,
        list: ListId,
        email: &EmailAddress,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        on_backend!(self, b => b.unsubscribe_address(list, email, now).await)
    }

    /// Unsubscribes the recipient of `delivery` from that delivery's list. Idempotent: returns `false`
    /// when the subscriber was already unsubscribed. Their deliveries not yet sent become `skipped`
    /// when the sender claims them.
    pub async fn unsubscribe_by_delivery(
        &self,
        delivery: DeliveryId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        on_backend!(self, b => b.unsubscribe_by_delivery(delivery, now).await)
    }

    /// What `delivery`'s reader got: the stored HTML and the reader's own values, for the
    /// "read in your browser" page; an erased reader's is gone (`NotFound`).
    pub async fn delivered_message(
        &self,
        delivery: DeliveryId,
    ) -> Result<DeliveredMessage, StoreError> {
        on_backend!(self, b => b.delivered_message(delivery).await)
    }

    /// Sets the name of `delivery`'s reader (`None` removes it).
    pub async fn rename_by_delivery(
        &self,
        delivery: DeliveryId,
        name: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_backend!(self, b => b.rename_by_delivery(delivery, name, now).await)
    }

    /// Unsubscribes `email` from every list it is active on; returns how many.
    pub async fn unsubscribe_everywhere(
        &self,
        email: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        on_backend!(self, b => b.unsubscribe_everywhere(email, now).await)
    }

    /// Who received `delivery`, from which list, and whether they are still subscribed; an erased
    /// reader is nobody (`NotFound`).
    pub async fn recipient_of(
        &self,
        delivery: DeliveryId,
    ) -> Result<DeliveryRecipient, StoreError> {
        on_backend!(self, b => b.recipient_of(delivery).await)
    }
}
