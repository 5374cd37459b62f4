//! Deliveries: claiming batches for the sender, recording each outcome, and crash recovery.
//!
//! A claim moves rows `pending` (or `deferred` and due) → `sending`; an outcome moves `sending` →
//! `sent | deferred | failed | unconfirmed | skipped | pending`, guarded so that an outcome can never
//! overwrite a row that has moved on. How a backend keeps rows a dead daemon left in `sending` from
//! being lost is its own: SQLite resets them when its one daemon starts, PostgreSQL lets another daemon
//! take them over once their lease runs out.

use super::RecordedBounce;
use super::{NewBounce, Store, StoreError, on_backend};
use crate::{
    clock::to_millis,
    domain::{
        AttemptError, BounceClass, BounceKind, BouncePolicy, BounceReason, BounceSource,
        DeliveryId, DeliveryState, EnhancedStatus, IssueId, SmtpReply,
    },
};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashSet};

/// A delivery claimed for sending, with what personalisation needs.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub id: DeliveryId,
    pub issue_id: IssueId,
    /// Attempts made before this one.
    pub attempts: u32,
    /// Of those, attempts whose message went out but whose reply was lost.
    pub unconfirmed: u32,
    pub email: String,
    pub name: Option<String>,
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub delivery: DeliveryId,
    pub issue: IssueId,
    pub kind: OutcomeKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum OutcomeKind {
    /// The server accepted the message (2xx); its reply is kept.
    Sent { reply: SmtpReply },
    /// A transient failure; tried again at `retry_at`. `unconfirmed`: the message went out and its
    /// reply was lost (probably delivered), so it is tried once more at most.
    Deferred {
        error: AttemptError,
        retry_at: DateTime<Utc>,
        unconfirmed: bool,
    },
    /// The message went out but its reply was lost, again after one retry: probably delivered; not
    /// tried again.
    Unconfirmed { error: AttemptError },
    /// A permanent failure, or transient ones until `sending.max_attempts` (`gave_up_after`). A 5xx
    /// reply is also a bounce event (`bounce`), recorded and acted on in the same transaction.
    Failed {
        error: AttemptError,
        gave_up_after: Option<u32>,
        bounce: Option<SmtpBounce>,
    },
    /// Not attempted (pause, shutdown, server unreachable): back to `pending`, no attempt counted.
    Released,
}

/// A 5xx refusal while sending, classified like a returned report.
#[derive(Debug, Clone, PartialEq)]
pub struct SmtpBounce {
    pub reason: BounceReason,
    pub class: BounceClass,
    /// As the server wrote it, or derived from the reason.
    pub status: Option<EnhancedStatus>,
    pub reply: SmtpReply,
}

impl OutcomeKind {
    /// The text kept in `deliveries.last_reply`.
    pub(super) fn last_reply(&self) -> Option<String> {
        match self {
            Self::Sent { reply } => Some(reply.to_string()),
            Self::Deferred { error, .. } | Self::Unconfirmed { error } => Some(error.to_string()),
            Self::Failed {
                error,
                gave_up_after: Some(n),
                ..
            } => Some(format!("gave up after {n} attempts; last: {error}")),
            Self::Failed { error, .. } => Some(error.to_string()),
            Self::Released => None,
        }
    }
}

pub type DeliveryCounts = BTreeMap<DeliveryState, i64>;

/// A run of refusals the circuit breaker blames on the relay: the issue pauses with `reason`, and
/// the run's deliveries go back to `pending` with their attempt refunded.
#[derive(Debug, Clone)]
pub struct Refund {
    pub issue: IssueId,
    pub deliveries: Vec<DeliveryId>,
    pub reason: String,
}

/// One recipient's fate, as `issue deliveries` prints it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DeliveryRow {
    #[schema(value_type = i64)]
    pub id: DeliveryId,
    pub email: String,
    #[schema(value_type = String)]
    pub state: DeliveryState,
    pub attempts: i64,
    pub last_reply: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

impl Store {
    /// Moves rows a crashed or killed daemon left in `sending` back to `pending` (or `skipped`, if
    /// their issue was cancelled meanwhile). Only the daemon that holds the serve lock calls this,
    /// before it claims anything.
    pub async fn recover_interrupted(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        on_backend!(self, b => b.recover_interrupted(now).await)
    }

    /// Claims up to `limit` deliveries of `issue`: `pending` ones in id order first, then `deferred` ones
    /// whose retry is due. Recipients who are no longer active are marked `skipped` instead.
    pub async fn claim_batch(
        &self,
        issue: IssueId,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        on_backend!(self, b => b.claim_batch(issue, limit, now).await)
    }

    /// Records outcomes (the sender's group commit), all or none: on PostgreSQL set-based statements
    /// taking the group's rows as arrays (round trips, whatever the group's size); on SQLite, where
    /// a statement is a call, one UPDATE per outcome by id. Each update only
    /// applies to a row still in `sending`. A released row of a cancelled issue becomes `skipped`,
    /// not `pending`.
    pub async fn record_outcomes(
        &self,
        outcomes: &[Outcome],
        refunds: &[Refund],
        policy: &BouncePolicy,
        now: DateTime<Utc>,
    ) -> Result<Vec<RecordedBounce>, StoreError> {
        on_backend!(self, b => b.record_outcomes(outcomes, refunds, policy, now).await)
    }

    /// `issue retry`: moves `issue`'s deliveries in `state` (failed or deferred), optionally only
    /// those whose last reply contains `reason`, back to `pending` with a fresh count of attempts. A
    /// finished (`sent`) issue is reopened; a cancelled or not yet started one is refused.
    pub async fn retry_deliveries(
        &self,
        issue: IssueId,
        state: DeliveryState,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        on_backend!(self, b => b.retry_deliveries(issue, state, reason, now).await)
    }

    pub async fn delivery_counts(&self, issue: IssueId) -> Result<DeliveryCounts, StoreError> {
        on_backend!(self, b => b.delivery_counts(issue).await)
    }

    /// Deliveries of `issue`, optionally only those in `state`, in id order.
    pub async fn deliveries(
        &self,
        issue: IssueId,
        state: Option<DeliveryState>,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        on_backend!(self, b => b.deliveries(issue, state).await)
    }

    /// Up to `limit` deliveries of `issue` (optionally in `state`) with ids after `after`, in id
    /// order: one page of a cursor-paginated listing.
    pub async fn deliveries_page(
        &self,
        issue: IssueId,
        state: Option<DeliveryState>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        on_backend!(self, b => b.deliveries_page(issue, state, after, limit).await)
    }

    /// The earliest retry time among an issue's deferred deliveries.
    pub async fn next_retry_at(&self, issue: IssueId) -> Result<Option<DateTime<Utc>>, StoreError> {
        on_backend!(self, b => b.next_retry_at(issue).await)
    }
}

/// One outcome's values for its group's statement.
pub(super) struct OutcomeRow {
    pub(super) id: i64,
    pub(super) reply: Option<String>,
    /// `deliveries.next_attempt_at` (deferred only).
    pub(super) retry_at: Option<i64>,
    /// 1 when the message went out and its reply was lost (deferred only).
    pub(super) unconfirmed: i64,
}

/// The states a refunded run's deliveries go back to `pending` from.
pub(super) const REFUNDED_BACK_TO_PENDING: [DeliveryState; 2] =
    [DeliveryState::Failed, DeliveryState::Deferred];

/// The states a refunded run's deliveries keep (released since, or claimed again since their failure
/// was recorded), getting their attempts back all the same.
pub(super) const REFUNDED_IN_PLACE: [DeliveryState; 2] =
    [DeliveryState::Pending, DeliveryState::Sending];

/// A group of outcomes sorted by the state each moves its delivery to (one statement per state:
/// set-based on PostgreSQL, run once per row on SQLite), the 5xx refusals to record as bounce
/// events, and the deliveries of this group a refunded run covers.
pub(super) struct OutcomeGroups {
    pub(super) sent: Vec<OutcomeRow>,
    pub(super) deferred: Vec<OutcomeRow>,
    pub(super) unconfirmed: Vec<OutcomeRow>,
    pub(super) failed: Vec<OutcomeRow>,
    pub(super) released: Vec<OutcomeRow>,
    pub(super) bounces: Vec<(DeliveryId, NewBounce)>,
    pub(super) refunded_here: HashSet<i64>,
}

impl OutcomeGroups {
    pub(super) fn new(outcomes: &[Outcome], refunds: &[Refund]) -> Self {
        // Outcomes of this group that belong to a refunded run are recorded as released: back to
        // pending, their attempt not counted, no bounce event.
        let refunded_here: HashSet<i64> = refunds
            .iter()
            .flat_map(|r| r.deliveries.iter().map(|d| d.0))
            .filter(|d| outcomes.iter().any(|o| o.delivery.0 == *d))
            .collect();
        let mut groups = Self {
            sent: Vec::new(),
            deferred: Vec::new(),
            unconfirmed: Vec::new(),
            failed: Vec::new(),
            released: Vec::new(),
            bounces: Vec::new(),
            refunded_here,
        };
        for o in outcomes {
            let row = OutcomeRow {
                id: o.delivery.0,
                reply: o.kind.last_reply(),
                retry_at: None,
                unconfirmed: 0,
            };
            if groups.refunded_here.contains(&row.id) {
                groups.released.push(row);
                continue;
            }
            match &o.kind {
                OutcomeKind::Sent { .. } => groups.sent.push(row),
                OutcomeKind::Deferred {
                    retry_at,
                    unconfirmed,
                    ..
                } => groups.deferred.push(OutcomeRow {
                    retry_at: Some(to_millis(*retry_at)),
                    unconfirmed: i64::from(*unconfirmed),
                    ..row
                }),
                OutcomeKind::Unconfirmed { .. } => groups.unconfirmed.push(row),
                OutcomeKind::Failed { bounce, .. } => {
                    groups.failed.push(row);
                    if let Some(b) = bounce {
                        groups.bounces.push((o.delivery, b.event()));
                    }
                }
                OutcomeKind::Released => groups.released.push(row),
            }
        }
        groups
    }
}

impl SmtpBounce {
    /// The bounce event a refusal while sending records.
    fn event(&self) -> NewBounce {
        NewBounce {
            source: BounceSource::Smtp,
            kind: BounceKind::Bounce,
            class: self.class,
            reason: self.reason,
            status: self.status,
            reply_code: Some(self.reply.code),
            action: Some("failed".into()),
            diagnostic: Some(self.reply.to_string()),
            remote_mta: None,
            recipient: None,
            is_failure: true,
            report: None,
            raw_deflated: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refund_moves_only_what_the_domain_lets_go_back_to_pending() {
        for state in REFUNDED_BACK_TO_PENDING {
            assert!(state.can_move_to(DeliveryState::Pending), "{state:?}");
        }
        for state in REFUNDED_IN_PLACE {
            assert!(!REFUNDED_BACK_TO_PENDING.contains(&state), "{state:?}");
        }
    }
}
