//! Bounce events: one row per recipient a report names (or per refusal while sending), the policy's
//! decision applied in the same transaction, and the operator's views of them.
//!
//! A report delivered twice (the MTA retried after a crash, or a mailbox message processed again
//! before it was removed) is recorded once: `(report_sha256, position)` is unique, and a duplicate
//! changes nothing. Which subscriber and delivery states may move is decided by
//! [`BouncePolicy::decide`] and bound from the domain enums' tables of moves, not written here.

use super::{
    Sqlite,
    issues::issue_state,
    {pause_sending_issue, placeholders},
};
use crate::store::StoreError;
use crate::store::bounce_flow::{BounceStatements, EventRow, apply_report};
use crate::store::bounces::DeliveryContext;
use crate::store::{BounceFilter, BounceRow, NewReport, RecordedBounce};
use crate::{
    clock::{from_millis, to_millis},
    domain::{
        BounceEffect, BounceKind, BouncePolicy, BounceReason, DeliveryId, DeliveryState, IssueId,
        IssueState, SubscriberStatus,
    },
};
use chrono::{DateTime, Utc};
use sqlx::{Row, SqliteConnection};

impl Sqlite {
    pub async fn record_reports(
        &self,
        reports: &[&NewReport],
        policy: &BouncePolicy,
        now: DateTime<Utc>,
    ) -> Result<Vec<Vec<RecordedBounce>>, StoreError> {
        let mut tx = self.write_transaction().await?;
        let mut out = Vec::with_capacity(reports.len());
        for report in reports {
            out.push(apply_report(&mut *tx, report, policy, now).await?);
        }
        tx.commit().await?;
        Ok(out)
    }

    pub async fn bounces(&self, filter: &BounceFilter) -> Result<Vec<BounceRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT b.id, b.received_at, b.source, b.kind, b.class, b.reason, b.status, b.reply_code,
                    b.action, b.diagnostic, b.remote_mta, b.recipient, l.slug, b.issue_id,
                    b.delivery_id, b.matched_by, b.effect
             FROM bounces b LEFT JOIN lists l ON l.id = b.list_id
             WHERE (?1 IS NULL OR l.slug = ?1) AND (?2 IS NULL OR b.issue_id = ?2)
               AND (?3 = 0 OR b.delivery_id IS NULL)
             ORDER BY b.id DESC LIMIT ?4",
        )
        .bind(filter.list.as_ref().map(|l| l.as_str()))
        .bind(filter.issue.map(|i| i.0))
        .bind(filter.unmatched)
        .bind(filter.limit.map(i64::from).unwrap_or(-1))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let parsed = |col: &str| -> Result<Option<String>, StoreError> { Ok(r.get(col)) };
                Ok(BounceRow {
                    id: r.get("id"),
                    received_at: from_millis(r.get("received_at")),
                    source: r.get::<&str, _>("source").parse()?,
                    kind: r.get::<&str, _>("kind").parse()?,
                    class: parsed("class")?.map(|c| c.parse()).transpose()?,
                    reason: parsed("reason")?.map(|c| c.parse()).transpose()?,
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
                    effect: r.get::<&str, _>("effect").parse()?,
                })
            })
            .collect()
    }

    pub async fn complaint_count(&self, issue: IssueId) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM bounces WHERE issue_id = ? AND kind = 'complaint'",
        )
        .bind(issue.0)
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn bounce_raw(&self, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT raw FROM bounces WHERE report_sha256 = (SELECT report_sha256 FROM bounces WHERE id = ?)
             AND raw IS NOT NULL LIMIT 1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .flatten())
    }

    pub async fn prune_raw_reports(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("UPDATE bounces SET raw = NULL WHERE raw IS NOT NULL AND received_at < ?")
                .bind(to_millis(before))
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}

/// The issue's first pending delivery.
pub(super) const FIRST_PENDING: &str = concat!(
    "SELECT MIN(id) FROM deliveries WHERE issue_id = ? AND state = ? AND ",
    unsent!()
);

/// The bounce policy's statements on SQLite (the flow is `store::bounce_flow`'s), inside the
/// caller's write transaction, which holds the database's one write lock.
impl BounceStatements for SqliteConnection {
    async fn delivery_context(
        &mut self,
        delivery: DeliveryId,
    ) -> Result<Option<DeliveryContext>, StoreError> {
        let row = sqlx::query(
            "SELECT d.state, d.issue_id, d.subscriber_id, s.status, s.list_id, s.email
             FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE d.id = ?",
        )
        .bind(delivery.0)
        .fetch_optional(&mut *self)
        .await?;
        row.map(|r| {
            Ok(DeliveryContext {
                delivery,
                state: r.get::<&str, _>("state").parse()?,
                issue: IssueId(r.get("issue_id")),
                subscriber: r.get("subscriber_id"),
                status: r.get::<&str, _>("status").parse()?,
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
             WHERE d.issue_id IN (SELECT id FROM issues WHERE list_id = ?) AND d.subscriber_id = ?
               AND d.state = ? AND d.sent_at <= ? AND d.issue_id != ?
               AND NOT EXISTS (SELECT 1 FROM bounces b WHERE b.delivery_id = d.id AND b.kind = ?)",
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
             WHERE d.issue_id IN (SELECT id FROM issues WHERE list_id = ?) AND d.subscriber_id = ?
               AND b.effect = ? AND b.received_at >= ? AND b.issue_id > ? AND b.issue_id != ?",
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
            .insert::<sqlx::Sqlite>()
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
        move_subscribers(self, "id = ?", &[Bind::Int(subscriber)], next, why, at).await
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
            "list_id IN (SELECT id FROM lists WHERE id != ?) AND email = ?",
            &[Bind::Int(list), Bind::Text(email)],
            next,
            why,
            at,
        )
        .await?;
        sqlx::query(
            "INSERT INTO suppressions (email, status, reason, created_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (email) DO UPDATE SET status = excluded.status, reason = excluded.reason
             WHERE suppressions.status != ?",
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
        let sources = DeliveryState::sources_of(next);
        let sql = format!(
            "UPDATE deliveries SET state = ?, updated_at = ? WHERE id = ? AND state IN ({})",
            placeholders(sources.len())
        );
        let mut q = sqlx::query(&sql)
            .bind(next.as_str())
            .bind(at)
            .bind(delivery.0);
        for s in &sources {
            q = q.bind(s.as_str());
        }
        q.execute(&mut *self).await?;
        Ok(())
    }

    async fn issue_is_sending(&mut self, issue: IssueId) -> Result<bool, StoreError> {
        Ok(issue_state(self, issue).await? == IssueState::Sending)
    }

    async fn first_pending(&mut self, issue: IssueId) -> Result<Option<i64>, StoreError> {
        // The (issue, state, id) index of unsent deliveries answers at once.
        Ok(sqlx::query_scalar(FIRST_PENDING)
            .bind(issue.0)
            .bind(DeliveryState::Pending.as_str())
            .fetch_one(&mut *self)
            .await?)
    }

    async fn attempts_and_blocks(
        &mut self,
        issue: IssueId,
        low: i64,
        high: i64,
    ) -> Result<(i64, i64), StoreError> {
        // `+issue_id`: walk the id range (rowids), not the issue's whole index range.
        let sql = format!(
            "SELECT COUNT(*) FROM deliveries WHERE id >= ? AND id < ? AND +issue_id = ?
               AND state NOT IN ({})",
            placeholders(DeliveryState::UNATTEMPTED.len())
        );
        let mut q = sqlx::query_scalar(&sql).bind(low).bind(high).bind(issue.0);
        for s in DeliveryState::UNATTEMPTED {
            q = q.bind(s.as_str());
        }
        let attempted: i64 = q.fetch_one(&mut *self).await?;
        let sql = format!(
            "SELECT COUNT(DISTINCT delivery_id) FROM bounces
             WHERE +issue_id = ? AND delivery_id >= ? AND delivery_id < ? AND reason IN ({})",
            placeholders(BounceReason::sender_blocked().count())
        );
        let mut q = sqlx::query_scalar(&sql).bind(issue.0).bind(low).bind(high);
        for r in BounceReason::sender_blocked() {
            q = q.bind(r.as_str());
        }
        let blocked: i64 = q.fetch_one(&mut *self).await?;
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

/// Moves the subscribers `filter` selects to `next`, from the states the domain allows.
async fn move_subscribers(
    conn: &mut SqliteConnection,
    filter: &str,
    binds: &[Bind<'_>],
    next: SubscriberStatus,
    why: &str,
    at: i64,
) -> Result<(), StoreError> {
    let sources = SubscriberStatus::sources_of(next);
    let sql = format!(
        "UPDATE subscribers SET status = ?, status_reason = ?, updated_at = ?
         WHERE {filter} AND status IN ({})",
        placeholders(sources.len())
    );
    let mut q = sqlx::query(&sql).bind(next.as_str()).bind(why).bind(at);
    for b in binds {
        q = match b {
            Bind::Int(i) => q.bind(*i),
            Bind::Text(t) => q.bind(*t),
        };
    }
    for s in &sources {
        q = q.bind(s.as_str());
    }
    q.execute(&mut *conn).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BounceClass, BounceSource};
    use crate::store::{NewBounce, Store};

    fn event(sha: &str) -> NewReport {
        NewReport {
            events: vec![NewBounce {
                source: BounceSource::Pipe,
                kind: BounceKind::Other,
                class: BounceClass::Soft,
                reason: BounceReason::Undefined,
                status: None,
                reply_code: None,
                action: None,
                diagnostic: None,
                remote_mta: None,
                recipient: None,
                is_failure: true,
                report: Some((sha.into(), 0)),
                raw_deflated: Some(b"compressed report".to_vec()),
            }],
            claimed: None,
        }
    }

    #[tokio::test]
    async fn raw_reports_past_the_keep_period_are_dropped_and_their_events_stay() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&crate::store::DatabaseUrl::Sqlite(
            dir.path().join("herald.db"),
        ))
        .await
        .unwrap();
        let now = Utc::now();
        let policy = BouncePolicy::default();
        store
            .record_reports(&[&event("old")], &policy, now - chrono::Duration::days(40))
            .await
            .unwrap();
        store
            .record_reports(&[&event("new")], &policy, now)
            .await
            .unwrap();

        let dropped = store
            .prune_raw_reports(now - chrono::Duration::days(30))
            .await
            .unwrap();

        assert_eq!(dropped, 1);
        let rows = store.bounces(&BounceFilter::default()).await.unwrap();
        assert_eq!(rows.len(), 2, "the events stay");
        let (new, old) = (rows[0].id, rows[1].id);
        assert_eq!(store.bounce_raw(old).await.unwrap(), None);
        assert_eq!(
            store.bounce_raw(new).await.unwrap().as_deref(),
            Some(&b"compressed report"[..])
        );
    }
}
