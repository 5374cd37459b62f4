//! Issues: queueing, reading, state moves (checked against `IssueState::can_move_to`), starting (which
//! freezes the recipients) and finishing.

use super::{Issue, IssueSummary, Store, StoreError, on_backend};
use crate::domain::{DeliveryState, IssueId, IssueState, ListId};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// A cron slot an issue starts in: the start takes the slot only if the list's last handled slot is
/// still `previous` (in the same transaction), so two schedulers ticking together cannot both start
/// an issue for it.
#[derive(Debug, Clone, Copy)]
pub struct SlotClaim {
    pub list: ListId,
    pub previous: Option<DateTime<Utc>>,
    pub slot: DateTime<Utc>,
}

impl SlotClaim {
    /// The compare and set's verdict from the rows it `moved`: none means another scheduler took
    /// the slot first.
    pub(super) fn taken(&self, moved: u64) -> Result<(), StoreError> {
        if moved == 1 {
            return Ok(());
        }
        Err(StoreError::Conflict(format!(
            "the slot {} was already used",
            self.slot.to_rfc3339()
        )))
    }
}

#[derive(Debug, Clone)]
pub struct NewIssue {
    pub list_id: ListId,
    pub subject: String,
    pub preheader: Option<String>,
    pub source_path: String,
    pub html_template: String,
    pub text_template: String,
    /// `None`: the list's next cron slot, or at once when the list has no schedule.
    pub send_at: Option<DateTime<Utc>>,
}

impl Store {
    pub async fn insert_issue(
        &self,
        new: &NewIssue,
        now: DateTime<Utc>,
    ) -> Result<IssueId, StoreError> {
        on_backend!(self, b => b.insert_issue(new, now).await)
    }

    pub async fn issue(&self, id: IssueId) -> Result<Issue, StoreError> {
        on_backend!(self, b => b.issue(id).await)
    }

    pub async fn issues_in_state(&self, state: IssueState) -> Result<Vec<Issue>, StoreError> {
        on_backend!(self, b => b.issues_in_state(state).await)
    }

    /// The sent issues of `list`, newest first: its archive.
    pub async fn sent_issues(&self, list: ListId) -> Result<Vec<Issue>, StoreError> {
        on_backend!(self, b => b.sent_issues(list).await)
    }

    /// Just the states of the given issues: what the sender polls to notice a pause or cancel.
    pub async fn issue_states(
        &self,
        ids: &[IssueId],
    ) -> Result<BTreeMap<IssueId, IssueState>, StoreError> {
        on_backend!(self, b => b.issue_states(ids).await)
    }

    pub async fn issue_summary(&self, id: IssueId) -> Result<IssueSummary, StoreError> {
        on_backend!(self, b => b.issue_summary(id).await)
    }

    pub async fn issue_summaries(
        &self,
        list: Option<ListId>,
    ) -> Result<Vec<IssueSummary>, StoreError> {
        on_backend!(self, b => b.issue_summaries(list).await)
    }

    /// Moves an issue to `to` if the move is allowed from its current state; `reason` is kept for
    /// operators (`issue show`). Returns the state it moved from.
    pub async fn move_issue(
        &self,
        id: IssueId,
        to: IssueState,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<IssueState, StoreError> {
        on_backend!(self, b => b.move_issue(id, to, reason, now).await)
    }

    /// Resumes a paused issue: back to `sending` if it had started, else back to `queued` (due at once if
    /// its start time has passed, since the operator asked for it).
    pub async fn resume_issue(
        &self,
        id: IssueId,
        now: DateTime<Utc>,
    ) -> Result<IssueState, StoreError> {
        on_backend!(self, b => b.resume_issue(id, now).await)
    }

    /// Starts a queued issue: freezes its recipients (one `pending` delivery per active subscriber,
    /// unique per issue and subscriber) and moves it to `sending`, in one transaction. Returns the
    /// number of recipients.
    pub async fn start_issue(
        &self,
        id: IssueId,
        now: DateTime<Utc>,
        slot: Option<SlotClaim>,
    ) -> Result<u64, StoreError> {
        on_backend!(self, b => b.start_issue(id, now, slot).await)
    }

    /// Marks a sending issue `sent` once none of its deliveries can still change. Returns whether it did.
    pub async fn finish_issue_if_done(
        &self,
        id: IssueId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        on_backend!(self, b => b.finish_issue_if_done(id, now).await)
    }
}

/// An issue with its delivery counts by state and its complaints.
pub(super) fn summary(
    issue: Issue,
    deliveries: BTreeMap<DeliveryState, i64>,
    complaints: i64,
) -> IssueSummary {
    IssueSummary {
        id: issue.id,
        list: issue.list_slug.to_string(),
        subject: issue.subject,
        state: issue.state,
        state_reason: issue.state_reason,
        send_at: issue.send_at,
        queued_at: issue.queued_at,
        started_at: issue.started_at,
        finished_at: issue.finished_at,
        deliveries: DeliveryState::ALL
            .iter()
            .copied()
            .map(|s| (s.as_str(), deliveries.get(&s).copied().unwrap_or(0)))
            .collect(),
        complaints,
    }
}
