//! Issues on PostgreSQL: queueing, reading, state moves (checked against `IssueState::can_move_to`
//! under the issue's row lock), starting (which freezes the recipients exactly once) and finishing.

use super::{Postgres, deliveries::issue_state};
use crate::{
    clock::{from_millis, to_millis},
    domain::{DeliveryState, IssueId, IssueState, ListId, ListSlug, SubscriberStatus},
    store::{Issue, IssueSummary, NewIssue, SlotClaim, StoreError, issues::summary},
};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Row, postgres::PgRow};
use std::collections::BTreeMap;

const ISSUE_COLUMNS: &str =
    "i.id, i.list_id, l.slug, i.subject, i.preheader, i.source_path, i.html_template,
     i.text_template, i.state, i.state_reason, i.send_at, i.queued_at, i.started_at, i.finished_at";

/// Subscriber ids per statement when freezing an issue's recipients: one statement never inserts
/// more than this many deliveries.
const FREEZE_CHUNK: i64 = 50_000;

impl Postgres {
    pub async fn insert_issue(
        &self,
        new: &NewIssue,
        now: DateTime<Utc>,
    ) -> Result<IssueId, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO issues (list_id, subject, preheader, source_path, html_template, text_template, state,
                                 send_at, queued_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(new.list_id.0)
        .bind(&new.subject)
        .bind(new.preheader.as_deref())
        .bind(&new.source_path)
        .bind(&new.html_template)
        .bind(&new.text_template)
        .bind(IssueState::Queued.as_str())
        .bind(new.send_at.map(to_millis))
        .bind(to_millis(now))
        .fetch_one(&self.pool)
        .await?;
        Ok(IssueId(id))
    }

    pub async fn issue(&self, id: IssueId) -> Result<Issue, StoreError> {
        let sql = format!(
            "SELECT {ISSUE_COLUMNS} FROM issues i JOIN lists l ON l.id = i.list_id WHERE i.id = $1"
        );
        let row = sqlx::query(&sql)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| issue_from_row(&r))
            .unwrap_or_else(|| Err(StoreError::NotFound(format!("issue #{id}"))))
    }

    pub async fn issues_in_state(&self, state: IssueState) -> Result<Vec<Issue>, StoreError> {
        let sql = format!(
            "SELECT {ISSUE_COLUMNS} FROM issues i JOIN lists l ON l.id = i.list_id
             WHERE i.state = $1 ORDER BY COALESCE(i.started_at, i.queued_at), i.id"
        );
        let rows = sqlx::query(&sql)
            .bind(state.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(issue_from_row).collect()
    }

    /// The sent issues of `list`, newest first: its archive.
    pub async fn sent_issues(&self, list: ListId) -> Result<Vec<Issue>, StoreError> {
        let sql = format!(
            "SELECT {ISSUE_COLUMNS} FROM issues i JOIN lists l ON l.id = i.list_id
             WHERE i.list_id = $1 AND i.state = $2 ORDER BY COALESCE(i.finished_at, i.queued_at) DESC, i.id DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(list.0)
            .bind(IssueState::Sent.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(issue_from_row).collect()
    }

    /// Just the states of the given issues: what the sender polls to notice a pause or cancel.
    pub async fn issue_states(
        &self,
        ids: &[IssueId],
    ) -> Result<BTreeMap<IssueId, IssueState>, StoreError> {
        let ids: Vec<i64> = ids.iter().map(|i| i.0).collect();
        let rows = sqlx::query("SELECT id, state FROM issues WHERE id = ANY($1)")
            .bind(ids)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((IssueId(r.get("id")), r.get::<String, _>("state").parse()?)))
            .collect()
    }

    pub async fn issue_summary(&self, id: IssueId) -> Result<IssueSummary, StoreError> {
        let issue = self.issue(id).await?;
        let deliveries = self.delivery_counts(id).await?;
        let complaints = self.complaint_count(id).await?;
        Ok(summary(issue, deliveries, complaints))
    }

    pub async fn issue_summaries(
        &self,
        list: Option<ListId>,
    ) -> Result<Vec<IssueSummary>, StoreError> {
        let sql = format!(
            "SELECT {ISSUE_COLUMNS} FROM issues i JOIN lists l ON l.id = i.list_id
             WHERE ($1::BIGINT IS NULL OR i.list_id = $1) ORDER BY i.id"
        );
        let rows = sqlx::query(&sql)
            .bind(list.map(|l| l.0))
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let issue = issue_from_row(row)?;
            let counts = self.delivery_counts(issue.id).await?;
            let complaints = self.complaint_count(issue.id).await?;
            out.push(summary(issue, counts, complaints));
        }
        Ok(out)
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
        let mut tx = self.transaction().await?;
        let current = issue_state(&mut tx, id).await?;
        move_locked(&mut tx, id, current, to, reason, now).await?;
        tx.commit().await?;
        Ok(current)
    }

    /// Resumes a paused issue: back to `sending` if it had started, else back to `queued` (due at once if
    /// its start time has passed, since the operator asked for it).
    pub async fn resume_issue(
        &self,
        id: IssueId,
        now: DateTime<Utc>,
    ) -> Result<IssueState, StoreError> {
        let mut tx = self.transaction().await?;
        let row =
            sqlx::query("SELECT state, send_at, started_at FROM issues WHERE id = $1 FOR UPDATE")
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("issue #{id}")))?;
        let state: IssueState = row.get::<String, _>("state").parse()?;
        if state != IssueState::Paused {
            return Err(StoreError::Conflict(format!(
                "issue #{id} is {state}; only a paused issue can resume"
            )));
        }
        let started_at: Option<i64> = row.get("started_at");
        let send_at = row.get::<Option<i64>, _>("send_at").map(from_millis);
        let to = if started_at.is_some() {
            IssueState::Sending
        } else {
            IssueState::Queued
        };
        if to == IssueState::Queued && send_at.is_some_and(|t| t < now) {
            sqlx::query("UPDATE issues SET send_at = $1 WHERE id = $2")
                .bind(to_millis(now))
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
        }
        move_locked(&mut tx, id, state, to, None, now).await?;
        tx.commit().await?;
        Ok(to)
    }

    /// Exactly once when several daemons start the same issue: the conditional move takes the
    /// issue's row lock, so a second daemon waits for the first to commit, then finds the issue no
    /// longer queued (no row back) and freezes nothing.
    pub async fn start_issue(
        &self,
        id: IssueId,
        now: DateTime<Utc>,
        slot: Option<SlotClaim>,
    ) -> Result<u64, StoreError> {
        debug_assert!(IssueState::Queued.can_move_to(IssueState::Sending));
        let now = to_millis(now);
        let mut tx = self.transaction().await?;
        if let Some(claim) = slot {
            // Compare and set: a second scheduler that read the same slot finds it taken.
            let taken = sqlx::query(
                "UPDATE lists SET last_slot_at = $1 WHERE id = $2 AND last_slot_at IS NOT DISTINCT FROM $3",
            )
            .bind(to_millis(claim.slot))
            .bind(claim.list.0)
            .bind(claim.previous.map(to_millis))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            claim.taken(taken)?;
        }
        let list: Option<i64> = sqlx::query_scalar(
            "UPDATE issues SET state = $1, state_reason = NULL, started_at = $2
             WHERE id = $3 AND state = $4 RETURNING list_id",
        )
        .bind(IssueState::Sending.as_str())
        .bind(now)
        .bind(id.0)
        .bind(IssueState::Queued.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(list) = list else {
            return Err(StoreError::Conflict(format!(
                "issue #{id} is no longer queued"
            )));
        };
        let (low, high): (Option<i64>, Option<i64>) = sqlx::query_as(
            "SELECT MIN(id), MAX(id) FROM subscribers WHERE list_id = $1 AND status = $2",
        )
        .bind(list)
        .bind(SubscriberStatus::Active.as_str())
        .fetch_one(&mut *tx)
        .await?;
        let mut frozen = 0;
        if let (Some(low), Some(high)) = (low, high) {
            let mut from = low;
            loop {
                let to = from.saturating_add(FREEZE_CHUNK - 1).min(high);
                frozen += sqlx::query(
                    "INSERT INTO deliveries (issue_id, subscriber_id, state, updated_at)
                     SELECT $1, s.id, $2, $3 FROM subscribers s
                     WHERE s.list_id = $4 AND s.status = $5 AND s.id BETWEEN $6 AND $7
                     ORDER BY s.id
                     ON CONFLICT (issue_id, subscriber_id) DO NOTHING",
                )
                .bind(id.0)
                .bind(DeliveryState::Pending.as_str())
                .bind(now)
                .bind(list)
                .bind(SubscriberStatus::Active.as_str())
                .bind(from)
                .bind(to)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if to >= high {
                    break;
                }
                from = to + 1;
            }
        }
        tx.commit().await?;
        Ok(frozen)
    }

    /// Marks a sending issue `sent` once none of its deliveries can still change. Returns whether it did.
    ///
    /// The issue's row is locked first, so the deliveries are read after any transaction that
    /// reopened them under that lock (`issue retry`) has committed: a single statement would judge
    /// them by the snapshot it started with.
    pub async fn finish_issue_if_done(
        &self,
        id: IssueId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        debug_assert!(IssueState::Sending.can_move_to(IssueState::Sent));
        let mut tx = self.transaction().await?;
        let sending: Option<i64> =
            sqlx::query_scalar("SELECT id FROM issues WHERE id = $1 AND state = $2 FOR UPDATE")
                .bind(id.0)
                .bind(IssueState::Sending.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        if sending.is_none() {
            return Ok(false);
        }
        // No delivery left in a state that is not final, each looked up in its partial index.
        static FINISH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            let none_open: Vec<String> = DeliveryState::unfinished()
                .map(|s| {
                    format!(
                        "NOT EXISTS (SELECT 1 FROM deliveries WHERE issue_id = $3 AND {})",
                        super::state_is("state", s)
                    )
                })
                .collect();
            format!(
                "UPDATE issues SET state = $1, finished_at = $2 WHERE id = $3 AND state = $4 AND {}",
                none_open.join(" AND ")
            )
        });
        let done = sqlx::query(&FINISH)
            .bind(IssueState::Sent.as_str())
            .bind(to_millis(now))
            .bind(id.0)
            .bind(IssueState::Sending.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(done == 1)
    }
}

/// Moves a locked issue from `current` to `to`, if that move is allowed; a cancelled issue's
/// deliveries still waiting become `skipped`.
async fn move_locked(
    conn: &mut PgConnection,
    id: IssueId,
    current: IssueState,
    to: IssueState,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if !current.can_move_to(to) {
        return Err(StoreError::Conflict(format!(
            "issue #{id} is {current}; it cannot become {to}"
        )));
    }
    let finished = to.is_finished().then(|| to_millis(now));
    sqlx::query(
        "UPDATE issues SET state = $1, state_reason = $2, finished_at = COALESCE($3, finished_at)
         WHERE id = $4",
    )
    .bind(to.as_str())
    .bind(reason)
    .bind(finished)
    .bind(id.0)
    .execute(&mut *conn)
    .await?;
    if to == IssueState::Cancelled {
        debug_assert!(
            DeliveryState::Pending.can_move_to(DeliveryState::Skipped)
                && DeliveryState::Deferred.can_move_to(DeliveryState::Skipped)
        );
        sqlx::query(
            "UPDATE deliveries SET state = $1, last_reply = 'issue cancelled', updated_at = $2
             WHERE issue_id = $3 AND state IN ($4, $5)",
        )
        .bind(DeliveryState::Skipped.as_str())
        .bind(to_millis(now))
        .bind(id.0)
        .bind(DeliveryState::Pending.as_str())
        .bind(DeliveryState::Deferred.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

fn issue_from_row(r: &PgRow) -> Result<Issue, StoreError> {
    let slug: String = r.get("slug");
    Ok(Issue {
        id: IssueId(r.get("id")),
        list_id: ListId(r.get("list_id")),
        list_slug: ListSlug::parse(&slug).map_err(|e| StoreError::BadValue(e.to_string()))?,
        subject: r.get("subject"),
        preheader: r.get("preheader"),
        source_path: r.get("source_path"),
        html_template: r.get("html_template"),
        text_template: r.get("text_template"),
        state: r.get::<String, _>("state").parse()?,
        state_reason: r.get("state_reason"),
        send_at: r.get::<Option<i64>, _>("send_at").map(from_millis),
        queued_at: from_millis(r.get("queued_at")),
        started_at: r.get::<Option<i64>, _>("started_at").map(from_millis),
        finished_at: r.get::<Option<i64>, _>("finished_at").map(from_millis),
    })
}
