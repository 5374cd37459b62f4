//! Issues: queueing, reading, state moves (checked against `IssueState::can_move_to`), starting (which
//! freezes the recipients) and finishing.

use super::Sqlite;
use crate::domain::{DeliveryState, SubscriberStatus};
use crate::store::NewIssue;
use crate::store::issues::summary;
use crate::store::{Issue, IssueSummary, SlotClaim, StoreError};
use crate::{
    clock::{from_millis, to_millis},
    domain::{IssueId, IssueState, ListId, ListSlug},
};
use chrono::{DateTime, Utc};
use sqlx::{Row, sqlite::SqliteRow};
use std::collections::BTreeMap;

const ISSUE_COLUMNS: &str =
    "i.id, i.list_id, l.slug, i.subject, i.preheader, i.source_path, i.html_template,
     i.text_template, i.state, i.state_reason, i.send_at, i.queued_at, i.started_at, i.finished_at";

/// Finishes a sending issue none of whose deliveries is unfinished.
pub(super) static FINISH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "UPDATE issues SET state = ?, finished_at = ? WHERE id = ? AND state = ?
         AND NOT EXISTS (SELECT 1 FROM deliveries WHERE issue_id = ? AND state IN ({}) AND {})",
        super::placeholders(DeliveryState::unfinished().count()),
        unsent!(),
    )
});

/// A cancelled issue's deliveries still waiting (pending, deferred) are skipped.
pub(super) const SKIP_WAITING: &str = concat!(
    "UPDATE deliveries SET state = ?, last_reply = 'issue cancelled', updated_at = ?
     WHERE issue_id = ? AND state IN (?, ?) AND ",
    unsent!()
);

impl Sqlite {
    pub async fn insert_issue(
        &self,
        new: &NewIssue,
        now: DateTime<Utc>,
    ) -> Result<IssueId, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO issues (list_id, subject, preheader, source_path, html_template, text_template, state,
                                 send_at, queued_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
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
            "SELECT {ISSUE_COLUMNS} FROM issues i JOIN lists l ON l.id = i.list_id WHERE i.id = ?"
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
             WHERE i.state = ? ORDER BY COALESCE(i.started_at, i.queued_at), i.id"
        );
        let rows = sqlx::query(&sql)
            .bind(state.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(issue_from_row).collect()
    }

    pub async fn sent_issues(&self, list: ListId) -> Result<Vec<Issue>, StoreError> {
        let sql = format!(
            "SELECT {ISSUE_COLUMNS} FROM issues i JOIN lists l ON l.id = i.list_id
             WHERE i.list_id = ? AND i.state = ? ORDER BY COALESCE(i.finished_at, i.queued_at) DESC, i.id DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(list.0)
            .bind(IssueState::Sent.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(issue_from_row).collect()
    }

    pub async fn issue_states(
        &self,
        ids: &[IssueId],
    ) -> Result<BTreeMap<IssueId, IssueState>, StoreError> {
        let json =
            serde_json::to_string(&ids.iter().map(|i| i.0).collect::<Vec<_>>()).unwrap_or_default();
        let rows = sqlx::query(
            "SELECT id, state FROM issues WHERE id IN (SELECT value FROM json_each(?))",
        )
        .bind(json)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((IssueId(r.get("id")), r.get::<&str, _>("state").parse()?)))
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
             WHERE (? IS NULL OR i.list_id = ?) ORDER BY i.id"
        );
        let rows = sqlx::query(&sql)
            .bind(list.map(|l| l.0))
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

    pub async fn move_issue(
        &self,
        id: IssueId,
        to: IssueState,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<IssueState, StoreError> {
        let mut tx = self.write_transaction().await?;
        let current = issue_state(&mut tx, id).await?;
        if !current.can_move_to(to) {
            return Err(StoreError::Conflict(format!(
                "issue #{id} is {current}; it cannot become {to}"
            )));
        }
        // A finished or cancelled issue records when.
        let finished = to.is_finished().then(|| to_millis(now));
        sqlx::query(
            "UPDATE issues SET state = ?, state_reason = ?, finished_at = COALESCE(?, finished_at)
             WHERE id = ?",
        )
        .bind(to.as_str())
        .bind(reason)
        .bind(finished)
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
        if to == IssueState::Cancelled {
            sqlx::query(SKIP_WAITING)
                .bind(DeliveryState::Skipped.as_str())
                .bind(to_millis(now))
                .bind(id.0)
                .bind(DeliveryState::Pending.as_str())
                .bind(DeliveryState::Deferred.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(current)
    }

    pub async fn resume_issue(
        &self,
        id: IssueId,
        now: DateTime<Utc>,
    ) -> Result<IssueState, StoreError> {
        let issue = self.issue(id).await?;
        if issue.state != IssueState::Paused {
            return Err(StoreError::Conflict(format!(
                "issue #{id} is {}; only a paused issue can resume",
                issue.state
            )));
        }
        let to = if issue.started_at.is_some() {
            IssueState::Sending
        } else {
            IssueState::Queued
        };
        if to == IssueState::Queued && issue.send_at.is_some_and(|t| t < now) {
            sqlx::query("UPDATE issues SET send_at = ? WHERE id = ?")
                .bind(to_millis(now))
                .bind(id.0)
                .execute(&self.pool)
                .await?;
        }
        self.move_issue(id, to, None, now).await?;
        Ok(to)
    }

    pub async fn start_issue(
        &self,
        id: IssueId,
        now: DateTime<Utc>,
        slot: Option<SlotClaim>,
    ) -> Result<u64, StoreError> {
        let mut tx = self.write_transaction().await?;
        if let Some(claim) = slot {
            let taken =
                sqlx::query("UPDATE lists SET last_slot_at = ? WHERE id = ? AND last_slot_at IS ?")
                    .bind(to_millis(claim.slot))
                    .bind(claim.list.0)
                    .bind(claim.previous.map(to_millis))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            claim.taken(taken)?;
        }
        debug_assert!(IssueState::Queued.can_move_to(IssueState::Sending));
        let moved = sqlx::query(
            "UPDATE issues SET state = ?, state_reason = NULL, started_at = ? WHERE id = ? AND state = ?",
        )
        .bind(IssueState::Sending.as_str())
        .bind(to_millis(now))
        .bind(id.0)
        .bind(IssueState::Queued.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved != 1 {
            return Err(StoreError::Conflict(format!(
                "issue #{id} is no longer queued"
            )));
        }
        let frozen = sqlx::query(
            "INSERT INTO deliveries (issue_id, subscriber_id, state, updated_at)
             SELECT ?1, s.id, ?2, ?3 FROM subscribers s
             WHERE s.list_id = (SELECT list_id FROM issues WHERE id = ?1) AND s.status = ?4
             ORDER BY s.id
             ON CONFLICT (issue_id, subscriber_id) DO NOTHING",
        )
        .bind(id.0)
        .bind(DeliveryState::Pending.as_str())
        .bind(to_millis(now))
        .bind(SubscriberStatus::Active.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(frozen)
    }

    pub async fn finish_issue_if_done(
        &self,
        id: IssueId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut q = sqlx::query(&FINISH)
            .bind(IssueState::Sent.as_str())
            .bind(to_millis(now))
            .bind(id.0)
            .bind(IssueState::Sending.as_str())
            .bind(id.0);
        for s in DeliveryState::unfinished() {
            q = q.bind(s.as_str());
        }
        let done = q.execute(&self.pool).await?.rows_affected();
        Ok(done == 1)
    }
}

/// An issue's state, read inside the caller's transaction.
pub(super) async fn issue_state(
    conn: &mut sqlx::SqliteConnection,
    id: IssueId,
) -> Result<IssueState, StoreError> {
    let state: Option<String> = sqlx::query_scalar("SELECT state FROM issues WHERE id = ?")
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(state
        .ok_or_else(|| StoreError::NotFound(format!("issue #{id}")))?
        .parse()?)
}

fn issue_from_row(r: &SqliteRow) -> Result<Issue, StoreError> {
    Ok(Issue {
        id: IssueId(r.get("id")),
        list_id: ListId(r.get("list_id")),
        list_slug: ListSlug::parse(r.get("slug"))
            .map_err(|e| StoreError::BadValue(e.to_string()))?,
        subject: r.get("subject"),
        preheader: r.get("preheader"),
        source_path: r.get("source_path"),
        html_template: r.get("html_template"),
        text_template: r.get("text_template"),
        state: r.get::<&str, _>("state").parse()?,
        state_reason: r.get("state_reason"),
        send_at: r.get::<Option<i64>, _>("send_at").map(from_millis),
        queued_at: from_millis(r.get("queued_at")),
        started_at: r.get::<Option<i64>, _>("started_at").map(from_millis),
        finished_at: r.get::<Option<i64>, _>("finished_at").map(from_millis),
    })
}
