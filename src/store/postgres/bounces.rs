//! Bounce events on PostgreSQL: one row per recipient a report names (or per refusal while
//! sending), the policy's decision applied in the same transaction, and the operator's views of them.
//!
//! A report delivered twice (the MTA retried after a crash, or a mailbox message processed again
//! before it was removed) is recorded once: `(report_sha256, position)` is unique, and a duplicate
//! changes nothing. Which subscriber and delivery states may move is decided by
//! [`BouncePolicy::decide`] and bound from the domain enums' tables of moves, not written here.
//! The rows a decision is made from (the delivery, its subscriber, the issue before a pause) are
//! locked while it is applied, as SQLite's write lock kept them.

use super::{Postgres, deliveries::issue_state, pause_sending_issue};
use crate::store::bounce_flow::{BounceStatements, EventRow, apply_report};
use crate::store::bounces::DeliveryContext;
use crate::{
    clock::{from_millis, to_millis},
    domain::{
        BounceEffect, BounceKind, BouncePolicy, BounceReason, DeliveryId, DeliveryState, IssueId,
        IssueState, SubscriberStatus,
    },
    store::{BounceFilter, BounceRow, NewReport, RecordedBounce, StoreError},
};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Row};

impl Postgres {
    /// Records `reports` in one transaction, applying `policy`; one result per event, per report.
    pub async fn record_reports(
        &self,
        reports: &[&NewReport],
        policy: &BouncePolicy,
        now: DateTime<Utc>,
    ) -> Result<Vec<Vec<RecordedBounce>>, StoreError> {
        super::retry_crossed(|| async {
            let mut tx = self.transaction().await?;
            let mut out = Vec::with_capacity(reports.len());
            for report in reports {
                out.push(apply_report(&mut *tx, report, policy, now).await?);
            }
            tx.commit().await?;
            Ok(out)
        })
        .await
    }

    /// Recorded events, newest first.
    pub async fn bounces(&self, filter: &BounceFilter) -> Result<Vec<BounceRow>, StoreError> {
        // `LIMIT NULL` is no limit.
        let rows = sqlx::query(
            "SELECT b.id, b.received_at, b.source, b.kind, b.class, b.reason, b.status, b.reply_code,
                    b.action, b.diagnostic, b.remote_mta, b.recipient, l.slug, b.issue_id,
                    b.delivery_id, b.matched_by, b.effect
             FROM bounces b LEFT JOIN lists l ON l.id = b.list_id
             WHERE ($1::text IS NULL OR l.slug = $1) AND ($2::bigint IS NULL OR b.issue_id = $2)
               AND (NOT $3 OR b.delivery_id IS NULL)
             ORDER BY b.id DESC LIMIT $4",
        )
        .bind(filter.list.as_ref().map(|l| l.as_str()))
        .bind(filter.issue.map(|i| i.0))
        .bind(filter.unmatched)
        .bind(filter.limit.map(i64::from))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let text = |col: &str| r.get::<Option<String>, _>(col);
                Ok(BounceRow {
                    id: r.get("id"),
                    received_at: from_millis(r.get("received_at")),
                    source: r.get::<String, _>("source").parse()?,
                    kind: r.get::<String, _>("kind").parse()?,
                    class: text("class").map(|c| c.parse()).transpose()?,
                    reason: text("reason").map(|c| c.parse()).transpose()?,
                    status: r.get("status"),
                    reply_code: r.get("reply_code"),
                    action: r.get("action"),
                    diagnostic: r.get("diagnostic"),
                    remote_mta: r.get("remote_mta"),
                    recipient: r.get("recipient"),
                    list: r.get("slug"),
                    issue_id: r.get("issue_id"),
                    delivery_id: r.get("delivery_id"),
                    matched_by: r.get("matched_by"),
                    effect: r.get::<String, _>("effect").parse()?,
                })
            })
            .collect()
    }

    /// Complaints recorded against `issue`.
    pub async fn complaint_count(&self, issue: IssueId) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM bounces WHERE issue_id = $1 AND kind = $2")
                .bind(issue.0)
                .bind(BounceKind::Complaint.as_str())
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// The raw report of an event, still compressed, if it is still kept.
    pub async fn bounce_raw(&self, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT raw FROM bounces
             WHERE report_sha256 = (SELECT report_sha256 FROM bounces WHERE id = $1)
               AND raw IS NOT NULL LIMIT 1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .flatten())
    }

    /// Drops raw reports received before `before` (the events stay).
    pub async fn prune_raw_reports(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("UPDATE bounces SET raw = NULL WHERE raw IS NOT NULL AND received_at < $1")
                .bind(to_millis(before))
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}

/// The bounce policy's statements on PostgreSQL (the flow is `store::bounce_flow`'s).
impl BounceStatements for PgConnection {
    /// Locks the delivery and its subscriber (`FOR NO KEY UPDATE`): the decision made from their
    /// states is applied before anyone else's.
    async fn delivery_context(
        &mut self,
        delivery: DeliveryId,
    ) -> Result<Option<DeliveryContext>, StoreError> {
        let row = sqlx::query(
            "SELECT d.state, d.issue_id, d.subscriber_id, s.status, s.list_id, s.email
             FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE d.id = $1
             FOR NO KEY UPDATE OF d, s",
        )
        .bind(delivery.0)
        .fetch_optional(&mut *self)
        .await?;
        row.map(|r| {
            Ok(DeliveryContext {
                delivery,
                state: r.get::<String, _>("state").parse()?,
                issue: IssueId(r.get("issue_id")),
                subscriber: r.get("subscriber_id"),
                status: r.get::<String, _>("status").parse()?,
                list: r.get("list_id"),
                email: r.get("email"),
            })
        })
        .transpose()
    }

    async fn last_clean_issue(
        &mut self,
        c: &DeliveryContext,
        settled: i64,
    ) -> Result<i64, StoreError> {
        // Deliveries are looked up per issue of the list: (issue_id, subscriber_id) is indexed.
        Ok(sqlx::query_scalar(
            "SELECT COALESCE(MAX(d.issue_id), 0) FROM deliveries d
             WHERE d.issue_id IN (SELECT id FROM issues WHERE list_id = $1) AND d.subscriber_id = $2
               AND d.state = $3 AND d.sent_at <= $4 AND d.issue_id <> $5
               AND NOT EXISTS (SELECT 1 FROM bounces b WHERE b.delivery_id = d.id AND b.kind = $6)",
        )
        .bind(c.list)
        .bind(c.subscriber)
        .bind(DeliveryState::Sent.as_str())
        .bind(settled)
        .bind(c.issue.0)
        .bind(BounceKind::Bounce.as_str())
        .fetch_one(&mut *self)
        .await?)
    }

    async fn soft_counted_issues(
        &mut self,
        c: &DeliveryContext,
        since: i64,
        after: i64,
    ) -> Result<i64, StoreError> {
        // Through the subscriber's deliveries (per issue of the list) to their events: no index on
        // bounces by subscriber to maintain on every event.
        Ok(sqlx::query_scalar(
            "SELECT COUNT(DISTINCT b.issue_id) FROM deliveries d JOIN bounces b ON b.delivery_id = d.id
             WHERE d.issue_id IN (SELECT id FROM issues WHERE list_id = $1) AND d.subscriber_id = $2
               AND b.effect = $3 AND b.received_at >= $4 AND b.issue_id > $5 AND b.issue_id <> $6",
        )
        .bind(c.list)
        .bind(c.subscriber)
        .bind(BounceEffect::SoftCounted.as_str())
        .bind(since)
        .bind(after)
        .bind(c.issue.0)
        .fetch_one(&mut *self)
        .await?)
    }

    async fn insert_event(&mut self, row: EventRow<'_>) -> Result<bool, StoreError> {
        // No row back: a duplicate.
        Ok(row
            .insert::<sqlx::Postgres>()
            .fetch_optional(&mut *self)
            .await?
            .is_some())
    }

    async fn move_subscriber(
        &mut self,
        subscriber: i64,
        next: SubscriberStatus,
        why: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        move_subscribers(self, "id = $5", &[Bind::Int(subscriber)], next, why, at).await
    }

    async fn move_everywhere(
        &mut self,
        list: i64,
        email: &str,
        next: SubscriberStatus,
        why: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        // Other lists are searched by their (list, address) index, one list at a time.
        move_subscribers(
            self,
            "list_id IN (SELECT id FROM lists WHERE id <> $5) AND email = $6",
            &[Bind::Int(list), Bind::Text(email)],
            next,
            why,
            at,
        )
        .await?;
        sqlx::query(
            "INSERT INTO suppressions (email, status, reason, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (email) DO UPDATE SET status = EXCLUDED.status, reason = EXCLUDED.reason
             WHERE suppressions.status <> $5",
        )
        .bind(email)
        .bind(next.as_str())
        .bind(why)
        .bind(at)
        .bind(SubscriberStatus::Complained.as_str())
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    async fn move_delivery(
        &mut self,
        delivery: DeliveryId,
        next: DeliveryState,
        at: i64,
    ) -> Result<(), StoreError> {
        let sources: Vec<&str> = DeliveryState::sources_of(next)
            .into_iter()
            .map(|s| s.as_str())
            .collect();
        sqlx::query(
            "UPDATE deliveries SET state = $1, updated_at = $2 WHERE id = $3 AND state = ANY($4)",
        )
        .bind(next.as_str())
        .bind(at)
        .bind(delivery.0)
        .bind(sources)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    /// Locks the issue until the transaction ends: two daemons' refusals are counted one after the
    /// other, from the check to the pause.
    async fn issue_is_sending(&mut self, issue: IssueId) -> Result<bool, StoreError> {
        Ok(issue_state(self, issue).await? == IssueState::Sending)
    }

    async fn first_pending(&mut self, issue: IssueId) -> Result<Option<i64>, StoreError> {
        // The `deliveries_pending` index answers at once.
        static FIRST_PENDING: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "SELECT MIN(id) FROM deliveries WHERE issue_id = $1 AND {}",
                super::state_is("state", DeliveryState::Pending)
            )
        });
        Ok(sqlx::query_scalar(&FIRST_PENDING)
            .bind(issue.0)
            .fetch_one(&mut *self)
            .await?)
    }

    async fn attempts_and_blocks(
        &mut self,
        issue: IssueId,
        low: i64,
        high: i64,
    ) -> Result<(i64, i64), StoreError> {
        let unattempted: Vec<&str> = DeliveryState::UNATTEMPTED.map(|s| s.as_str()).to_vec();
        let attempted: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM deliveries WHERE id >= $1 AND id < $2 AND issue_id = $3
               AND state <> ALL($4)",
        )
        .bind(low)
        .bind(high)
        .bind(issue.0)
        .bind(unattempted)
        .fetch_one(&mut *self)
        .await?;
        let blocked_reasons: Vec<&str> =
            BounceReason::sender_blocked().map(|r| r.as_str()).collect();
        let blocked: i64 = sqlx::query_scalar(
            "SELECT COUNT(DISTINCT delivery_id) FROM bounces
             WHERE issue_id = $1 AND delivery_id >= $2 AND delivery_id < $3 AND reason = ANY($4)",
        )
        .bind(issue.0)
        .bind(low)
        .bind(high)
        .bind(blocked_reasons)
        .fetch_one(&mut *self)
        .await?;
        Ok((attempted, blocked))
    }

    async fn pause_issue(&mut self, issue: IssueId, reason: &str) -> Result<bool, StoreError> {
        pause_sending_issue(self, issue, reason).await
    }
}

enum Bind<'a> {
    Int(i64),
    Text(&'a str),
}

/// Moves the subscribers `filter` selects to `next`, from the states the domain allows. `filter`'s
/// placeholders start at `$5`, taking `binds` in order.
async fn move_subscribers(
    conn: &mut PgConnection,
    filter: &str,
    binds: &[Bind<'_>],
    next: SubscriberStatus,
    why: &str,
    at: i64,
) -> Result<(), StoreError> {
    let sources: Vec<&str> = SubscriberStatus::sources_of(next)
        .into_iter()
        .map(|s| s.as_str())
        .collect();
    let sql = format!(
        "UPDATE subscribers SET status = $1, status_reason = $2, updated_at = $3
         WHERE status = ANY($4) AND {filter}"
    );
    let mut q = sqlx::query(&sql)
        .bind(next.as_str())
        .bind(why)
        .bind(at)
        .bind(sources);
    for b in binds {
        q = match b {
            Bind::Int(i) => q.bind(*i),
            Bind::Text(t) => q.bind(*t),
        };
    }
    q.execute(&mut *conn).await?;
    Ok(())
}
