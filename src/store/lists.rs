//! Lists: creating, updating and reading them, and the scheduler's record of the cron slots handled.

use super::{List, ListSummary, Store, StoreError, on_backend};
use crate::domain::Mailbox;
use crate::domain::{CronSchedule, EmailAddress, LanguageTag, ListId, ListSlug, PostalAddress};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone)]
pub struct NewList {
    pub slug: ListSlug,
    pub name: String,
    pub from: Mailbox,
    pub reply_to: Option<EmailAddress>,
    pub schedule: Option<CronSchedule>,
    pub layout: String,
    pub language: LanguageTag,
    pub postal_address: Option<PostalAddress>,
    /// Sent issues shown publicly at /a/LIST.
    pub archive: bool,
    /// The signup form at /s/LIST is open.
    pub signup: bool,
    /// Where the form sends people after they sign up.
    pub thanks_url: Option<String>,
}

/// What `list update` changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ListUpdate {
    pub language: Option<LanguageTag>,
    /// `Some(None)` removes the address.
    pub postal_address: Option<Option<PostalAddress>>,
    pub archive: Option<bool>,
    pub signup: Option<bool>,
    /// `Some(None)` removes it.
    pub thanks_url: Option<Option<String>>,
}

impl Store {
    pub async fn create_list(&self, new: &NewList, now: DateTime<Utc>) -> Result<List, StoreError> {
        on_backend!(self, b => b.create_list(new, now).await)
    }

    /// Applies `update` to the list and returns it as it now is.
    pub async fn update_list(
        &self,
        slug: &ListSlug,
        update: &ListUpdate,
    ) -> Result<List, StoreError> {
        on_backend!(self, b => b.update_list(slug, update).await)
    }

    pub async fn list(&self, slug: &ListSlug) -> Result<List, StoreError> {
        on_backend!(self, b => b.list(slug).await)
    }

    pub async fn list_by_id(&self, id: ListId) -> Result<List, StoreError> {
        on_backend!(self, b => b.list_by_id(id).await)
    }

    /// Lists that carry a cron schedule.
    pub async fn scheduled_lists(&self) -> Result<Vec<List>, StoreError> {
        on_backend!(self, b => b.scheduled_lists().await)
    }

    /// Records that every slot up to `slot` has been handled for this list (never moving back).
    pub async fn set_last_slot(&self, list: ListId, slot: DateTime<Utc>) -> Result<(), StoreError> {
        on_backend!(self, b => b.set_last_slot(list, slot).await)
    }

    pub async fn list_summaries(&self) -> Result<Vec<ListSummary>, StoreError> {
        on_backend!(self, b => b.list_summaries().await)
    }
}
