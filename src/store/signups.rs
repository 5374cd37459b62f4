//! Signups waiting for their confirmation link (double opt-in), the confirmation mailer's queue, and
//! confirming one into a subscriber.

use super::{Store, StoreError, on_backend};
use crate::domain::SubscriberStatus;
use crate::domain::{EmailAddress, ListId};
use chrono::{DateTime, Utc};

/// A signup as the confirmation mailer and the confirm page need it.
#[derive(Debug, Clone)]
pub struct Signup {
    pub id: i64,
    pub list_id: ListId,
    pub email: String,
    pub name: Option<String>,
    pub attempts: i64,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
}

/// What confirming a signup did.
#[derive(Debug, Clone)]
pub struct Confirmed {
    pub list_id: ListId,
    /// The subscriber's status before (`None`: a new subscriber).
    pub was: Option<SubscriberStatus>,
}

/// A repeated signup sends the confirmation again only when the last one is older than this.
pub(super) const RESEND_AFTER_MS: i64 = 3_600_000;

impl Store {
    /// Records a signup (or refreshes the pending one of the same address); returns its id.
    pub async fn create_signup(
        &self,
        list: ListId,
        email: &EmailAddress,
        name: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        on_backend!(self, b => b.create_signup(list, email, name, now).await)
    }

    /// Signups whose confirmation mail is due.
    pub async fn due_signups(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Signup>, StoreError> {
        on_backend!(self, b => b.due_signups(now, limit).await)
    }

    pub async fn signup_mailed(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        on_backend!(self, b => b.signup_mailed(id, now).await)
    }

    /// The confirmation could not be sent: tried again at `retry_at`, or never when `None`.
    pub async fn signup_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        on_backend!(self, b => b.signup_failed(id, error, retry_at).await)
    }

    pub async fn signup(&self, id: i64) -> Result<Signup, StoreError> {
        on_backend!(self, b => b.signup(id).await)
    }

    /// Confirms signup `id`: the address becomes an active subscriber of its list. A confirmed
    /// signup is the person's own act, so it is the one way back to `active` for an address that
    /// unsubscribed, bounced or complained (no operator action or import reactivates one).
    pub async fn confirm_signup(
        &self,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<Confirmed, StoreError> {
        on_backend!(self, b => b.confirm_signup(id, now).await)
    }

    /// Whether `email` is stopped on every list (a bounce or complaint with `bounce.suppress =
    /// "all_lists"`): a signup form must not make herald mail it.
    pub async fn is_suppressed(&self, email: &EmailAddress) -> Result<bool, StoreError> {
        on_backend!(self, b => b.is_suppressed(email).await)
    }

    /// Forgets signups not confirmed since `before`; returns how many.
    pub async fn expire_signups(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        on_backend!(self, b => b.expire_signups(before).await)
    }
}
