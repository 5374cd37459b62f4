//! Rows as the rest of herald sees them: domain types, not strings.

use crate::domain::{
    CronSchedule, DeliveryState, EmailAddress, IssueId, IssueState, LanguageTag, ListId, ListSlug,
    Mailbox, PostalAddress, SubscriberId, SubscriberStatus,
};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct List {
    pub id: ListId,
    pub slug: ListSlug,
    pub name: String,
    pub from: Mailbox,
    pub reply_to: Option<EmailAddress>,
    pub schedule: Option<CronSchedule>,
    pub layout: String,
    /// `<html lang>` of every message.
    pub language: LanguageTag,
    /// Printed in the footer of the default layout (`{{ list.postal_address }}`).
    pub postal_address: Option<PostalAddress>,
    /// Sent issues shown publicly at /a/LIST.
    pub archive: bool,
    /// The signup form at /s/LIST is open.
    pub signup: bool,
    /// Where the form sends people after they sign up (default: herald's own page).
    pub thanks_url: Option<String>,
    pub last_slot_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ListSummary {
    pub slug: String,
    pub name: String,
    pub from: String,
    pub schedule: Option<String>,
    pub timezone: String,
    pub layout: String,
    pub language: String,
    pub postal_address: Option<String>,
    pub subscribers: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Subscriber {
    #[schema(value_type = i64)]
    pub id: SubscriberId,
    pub email: String,
    pub name: Option<String>,
    pub attributes: BTreeMap<String, String>,
    #[schema(value_type = String)]
    pub status: SubscriberStatus,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Issue {
    pub id: IssueId,
    pub list_id: ListId,
    pub list_slug: ListSlug,
    pub subject: String,
    pub preheader: Option<String>,
    pub source_path: String,
    pub html_template: String,
    pub text_template: String,
    pub state: IssueState,
    pub state_reason: Option<String>,
    pub send_at: Option<DateTime<Utc>>,
    pub queued_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// An issue with its progress, as `issue show` and `issue ls` print it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct IssueSummary {
    #[schema(value_type = i64)]
    pub id: IssueId,
    pub list: String,
    pub subject: String,
    #[schema(value_type = String)]
    pub state: IssueState,
    pub state_reason: Option<String>,
    pub send_at: Option<DateTime<Utc>>,
    pub queued_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Deliveries by state.
    #[schema(value_type = std::collections::BTreeMap<String, i64>)]
    pub deliveries: BTreeMap<&'static str, i64>,
    /// Complaints (feedback-loop reports) recorded against the issue.
    pub complaints: i64,
}

impl IssueSummary {
    pub fn count(&self, state: DeliveryState) -> i64 {
        self.deliveries.get(state.as_str()).copied().unwrap_or(0)
    }

    /// Every delivery of the issue.
    pub fn total(&self) -> i64 {
        self.deliveries.values().sum()
    }

    /// Deliveries still to be settled (pending, sending, deferred): not [`DeliveryState::is_final`].
    pub fn open(&self) -> i64 {
        DeliveryState::unfinished().map(|s| self.count(s)).sum()
    }
}
