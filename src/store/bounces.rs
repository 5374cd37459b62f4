//! Bounce events: one row per recipient a report names (or per refusal while sending), the policy's
//! decision applied in the same transaction, and the operator's views of them. A report delivered
//! twice is recorded once. Which subscriber and delivery states may move is decided by
//! [`BouncePolicy::decide`](crate::domain::BouncePolicy) and bound from the domain enums' tables of moves.

use super::{Store, StoreError, on_backend};
use crate::domain::{
    BounceClass, BounceEffect, BounceFacts, BounceKind, BouncePolicy, BounceReason, BounceSource,
    Decision, DeliveryId, DeliveryState, EnhancedStatus, IssueId, ListSlug, SubscriberStatus,
};
use chrono::{DateTime, Utc};

/// One event to record.
#[derive(Debug, Clone)]
pub struct NewBounce {
    pub source: BounceSource,
    pub kind: BounceKind,
    pub class: BounceClass,
    pub reason: BounceReason,
    pub status: Option<EnhancedStatus>,
    pub reply_code: Option<u16>,
    pub action: Option<String>,
    pub diagnostic: Option<String>,
    pub remote_mta: Option<String>,
    /// The address the report names.
    pub recipient: Option<String>,
    /// False for a `delayed` DSN: the MTA is still trying.
    pub is_failure: bool,
    /// The raw report's SHA-256 (hex) and the recipient's place in it; `None` for SMTP refusals.
    pub report: Option<(String, u32)>,
    /// The raw report, deflate-compressed (kept with the first recipient only).
    pub raw_deflated: Option<Vec<u8>>,
}

/// One returned report: an event per recipient it names, and the delivery its verified token names
/// (if any) with where the token was found. The store gives the delivery to the event whose
/// recipient is that delivery's subscriber, else to the first failure, else to the first event.
#[derive(Debug, Clone)]
pub struct NewReport {
    pub events: Vec<NewBounce>,
    pub claimed: Option<(DeliveryId, &'static str)>,
}

/// What recording one event did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RecordedBounce {
    /// `None`: the same report was recorded before; nothing changed.
    pub effect: Option<BounceEffect>,
    pub issue: Option<IssueId>,
    /// The issue paused itself because of this event (a burst of sender-blocked refusals).
    pub paused: Option<IssueId>,
}

/// A recorded event as `bounce ls` prints it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct BounceRow {
    pub id: i64,
    pub received_at: DateTime<Utc>,
    #[schema(value_type = String)]
    pub source: BounceSource,
    #[schema(value_type = String)]
    pub kind: BounceKind,
    #[schema(value_type = Option<String>)]
    pub class: Option<BounceClass>,
    #[schema(value_type = Option<String>)]
    pub reason: Option<BounceReason>,
    pub status: Option<String>,
    pub reply_code: Option<i64>,
    pub action: Option<String>,
    pub diagnostic: Option<String>,
    pub remote_mta: Option<String>,
    pub recipient: Option<String>,
    pub list: Option<String>,
    pub issue_id: Option<i64>,
    pub delivery_id: Option<i64>,
    pub matched_by: Option<String>,
    #[schema(value_type = String)]
    pub effect: BounceEffect,
}

/// Which events `bounce ls` shows.
#[derive(Debug, Clone, Default)]
pub struct BounceFilter {
    pub list: Option<ListSlug>,
    pub issue: Option<IssueId>,
    pub unmatched: bool,
    pub limit: Option<u32>,
}

impl Store {
    /// Records `reports` in one transaction, applying `policy`; one result per event, per report.
    pub async fn record_reports(
        &self,
        reports: &[&NewReport],
        policy: &BouncePolicy,
        now: DateTime<Utc>,
    ) -> Result<Vec<Vec<RecordedBounce>>, StoreError> {
        on_backend!(self, b => b.record_reports(reports, policy, now).await)
    }

    /// Recorded events, newest first.
    pub async fn bounces(&self, filter: &BounceFilter) -> Result<Vec<BounceRow>, StoreError> {
        on_backend!(self, b => b.bounces(filter).await)
    }

    /// Complaints recorded against `issue`.
    pub async fn complaint_count(&self, issue: IssueId) -> Result<i64, StoreError> {
        on_backend!(self, b => b.complaint_count(issue).await)
    }

    /// The raw report of an event, still compressed, if it is still kept.
    pub async fn bounce_raw(&self, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        on_backend!(self, b => b.bounce_raw(id).await)
    }

    /// Drops raw reports received before `before` (the events stay).
    pub async fn prune_raw_reports(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        on_backend!(self, b => b.prune_raw_reports(before).await)
    }
}

/// What the store knows about the delivery a token names.
pub(super) struct DeliveryContext {
    pub(super) delivery: DeliveryId,
    pub(super) state: DeliveryState,
    pub(super) issue: IssueId,
    pub(super) subscriber: i64,
    pub(super) status: SubscriberStatus,
    pub(super) list: i64,
    pub(super) email: String,
}

impl NewReport {
    /// Which event of the report a verified token's delivery (to `email`) belongs to: the one naming
    /// that address, else the first failure, else the first event.
    pub(super) fn attributed_to(&self, email: &str) -> usize {
        self.events
            .iter()
            .position(|e| {
                e.recipient
                    .as_deref()
                    .is_some_and(|r| r.eq_ignore_ascii_case(email))
            })
            .or_else(|| self.events.iter().position(|e| e.is_failure))
            .unwrap_or(0)
    }
}

impl NewBounce {
    /// Whether this event counts towards the soft-bounce threshold (the store then counts the
    /// earlier ones for the same reader).
    pub(super) fn counts_as_soft(&self) -> bool {
        BouncePolicy::counts_as_soft(self.kind, self.class, self.reason, self.is_failure)
    }

    /// The policy's decision for this event about the delivery `context` (none: unmatched).
    pub(super) fn decide(
        &self,
        context: Option<&DeliveryContext>,
        policy: &BouncePolicy,
        soft_count: u32,
    ) -> Decision {
        match context {
            Some(c) => policy.decide(&BounceFacts {
                kind: self.kind,
                class: self.class,
                reason: self.reason,
                is_failure: self.is_failure,
                subscriber: c.status,
                delivery: c.state,
                soft_count,
            }),
            // No verified token, or a genuine one for a delivery that no longer exists.
            None => Decision::only(BounceEffect::Unmatched),
        }
    }

    /// Why a subscriber's status moved, as kept in `status_reason`: `bounce user_unknown (5.1.1)`.
    pub(super) fn why(&self) -> String {
        format!(
            "{} {}{}",
            self.kind,
            self.reason,
            self.status.map(|s| format!(" ({s})")).unwrap_or_default()
        )
    }
}
