//! Deliveries: claiming batches for the sender, recording each outcome, and crash recovery.
//!
//! A claim moves rows `pending` (or `deferred` and due) → `sending` in one transaction; an outcome moves
//! `sending` → `sent | deferred | failed | skipped | pending`, guarded by `state = sending` so an
//! outcome can never overwrite a row that has moved on. Rows left in `sending` by a crash are moved back
//! to `pending` by [`Store::recover_interrupted`] when the daemon starts.

use super::{Sqlite, issues::issue_state, pause_sending_issue};
use crate::store::bounce_flow::apply_smtp_bounce;
use crate::store::deliveries::{OutcomeGroups, OutcomeRow};
use crate::store::{ClaimedDelivery, DeliveryCounts, DeliveryRow, Outcome, Refund};
use crate::store::{NewBounce, RecordedBounce, StoreError, subscribers::parse_attributes};
use crate::{
    clock::to_millis,
    domain::{BouncePolicy, DeliveryId, DeliveryState, IssueId, IssueState, SubscriberStatus},
};
use chrono::{DateTime, Utc};
use sqlx::Row;

// Outcome statements, one row each: ?1 is now, ?2 the delivery, ?3 its reply, ?4 its retry time, ?5 1
// if its message went out unconfirmed, ?6 the state it moves to, ?7 `sending` (and for released rows
// ?8 `cancelled`, ?9 `skipped`): states are bound from the domain enums (see
// `OutcomeStatement::states`). (A set-based statement over a JSON array of the rows cost more than
// it saved: a group holds one or two outcomes when the sender is busiest.)
const RECORD_SENT: &str = "UPDATE deliveries SET state = ?6, attempts = attempts + 1,
        last_reply = ?3, sent_at = ?1, updated_at = ?1 WHERE id = ?2 AND state = ?7";
const RECORD_DEFERRED: &str = "UPDATE deliveries SET state = ?6, attempts = attempts + 1,
        unconfirmed = unconfirmed + ?5, last_reply = ?3, next_attempt_at = ?4, updated_at = ?1
    WHERE id = ?2 AND state = ?7";
const RECORD_UNCONFIRMED: &str = "UPDATE deliveries SET state = ?6, attempts = attempts + 1,
        unconfirmed = unconfirmed + 1, last_reply = ?3, updated_at = ?1 WHERE id = ?2 AND state = ?7";
const RECORD_FAILED: &str = "UPDATE deliveries SET state = ?6, attempts = attempts + 1,
        last_reply = ?3, updated_at = ?1 WHERE id = ?2 AND state = ?7";
const RECORD_RELEASED: &str = "UPDATE deliveries SET updated_at = ?1,
        state = CASE WHEN (SELECT state FROM issues WHERE id = deliveries.issue_id) = ?8 THEN ?9 ELSE ?6 END
    WHERE id = ?2 AND state = ?7";

/// One outcome statement with the rows it is run for and the states it binds.
pub(super) struct OutcomeStatement {
    pub(super) sql: &'static str,
    pub(super) rows: Vec<OutcomeRow>,
    pub(super) next: DeliveryState,
}

impl OutcomeStatement {
    /// ?6 onwards: the state the rows move to, `sending`, and for released rows `cancelled` and
    /// `skipped` (a released row of a cancelled issue is skipped).
    pub(super) fn states(&self) -> impl Iterator<Item = &'static str> {
        debug_assert!(DeliveryState::Sending.can_move_to(self.next));
        let released = (self.next == DeliveryState::Pending).then_some([
            IssueState::Cancelled.as_str(),
            DeliveryState::Skipped.as_str(),
        ]);
        [self.next.as_str(), DeliveryState::Sending.as_str()]
            .into_iter()
            .chain(released.into_iter().flatten())
    }
}

/// A group of outcomes as statements: one UPDATE per resulting state, run once per row, and the
/// 5xx refusals to record as bounce events.
pub(super) struct OutcomePlan {
    pub(super) statements: Vec<OutcomeStatement>,
    pub(super) bounces: Vec<(DeliveryId, NewBounce)>,
}

impl OutcomePlan {
    pub(super) fn new(outcomes: &[Outcome], refunds: &[Refund]) -> Self {
        let groups = OutcomeGroups::new(outcomes, refunds);
        let statements = [
            (RECORD_SENT, DeliveryState::Sent, groups.sent),
            (RECORD_DEFERRED, DeliveryState::Deferred, groups.deferred),
            (
                RECORD_UNCONFIRMED,
                DeliveryState::Unconfirmed,
                groups.unconfirmed,
            ),
            (RECORD_FAILED, DeliveryState::Failed, groups.failed),
            (RECORD_RELEASED, DeliveryState::Pending, groups.released),
        ]
        .into_iter()
        .filter(|(_, _, rows)| !rows.is_empty())
        .map(|(sql, next, rows)| OutcomeStatement { sql, rows, next })
        .collect();
        Self {
            statements,
            bounces: groups.bounces,
        }
    }

    /// Only state changes: no bounce event to apply the policy to, no refunded run.
    pub(super) fn is_plain(&self, refunds: &[Refund]) -> bool {
        self.bounces.is_empty() && refunds.is_empty()
    }
}

/// Applies `refund` in the outcomes' transaction: pauses a sending issue; moves the run's deliveries
/// recorded by earlier groups (failed or deferred) back to `pending` with their attempt refunded and
/// drops the bounce events their refusals made. Only while the issue is sending or paused: a
/// cancelled or finished issue keeps what it has.
async fn refund_run(
    conn: &mut sqlx::SqliteConnection,
    refund: &Refund,
    at: i64,
) -> Result<(), StoreError> {
    pause_sending_issue(conn, refund.issue, &refund.reason).await?;
    // Attempts to give back per delivery: one per time it appears in the run (a deferred delivery
    // can be tried again, and fail again, before the run trips).
    let mut counts: std::collections::BTreeMap<i64, i64> = std::collections::BTreeMap::new();
    for d in &refund.deliveries {
        *counts.entry(d.0).or_default() += 1;
    }
    let rows: Vec<serde_json::Value> = counts
        .iter()
        .map(|(id, n)| serde_json::json!({ "i": id, "n": n }))
        .collect();
    let ids = serde_json::to_string(&counts.keys().collect::<Vec<_>>())
        .map_err(|e| StoreError::BadValue(e.to_string()))?;
    if !rows.is_empty() {
        let [failed, deferred] = crate::store::deliveries::REFUNDED_BACK_TO_PENDING;
        let [released, claimed] = crate::store::deliveries::REFUNDED_IN_PLACE;
        // Failed and deferred deliveries go back to pending; the others keep their state.
        sqlx::query(
            "UPDATE deliveries SET
                    state = CASE WHEN deliveries.state IN (?5, ?6) THEN ?7 ELSE deliveries.state END,
                    attempts = MAX(attempts - json_extract(j.value, '$.n'), 0),
                    next_attempt_at = CASE WHEN deliveries.state IN (?5, ?6) THEN NULL
                                      ELSE deliveries.next_attempt_at END,
                    updated_at = ?1
             FROM json_each(?2) AS j
             WHERE deliveries.id = json_extract(j.value, '$.i') AND deliveries.issue_id = ?3
               AND deliveries.state IN (?5, ?6, ?8, ?9)
               AND (SELECT state FROM issues WHERE id = ?3) IN (?10, ?4)",
        )
        .bind(at)
        .bind(serde_json::Value::Array(rows).to_string())
        .bind(refund.issue.0)
        .bind(IssueState::Paused.as_str())
        .bind(failed.as_str())
        .bind(deferred.as_str())
        .bind(DeliveryState::Pending.as_str())
        .bind(released.as_str())
        .bind(claimed.as_str())
        .bind(IssueState::Sending.as_str())
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query(
        "DELETE FROM bounces WHERE source = 'smtp' AND delivery_id IN (SELECT value FROM json_each(?))
           AND (SELECT state FROM deliveries WHERE id = bounces.delivery_id) = ?",
    )
    .bind(&ids)
    .bind(DeliveryState::Pending.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A claim's two reads: the issue's pending deliveries in id order, then its deferred ones that are
/// due, oldest due first.
const CLAIM_PENDING: &str = concat!(
    "SELECT d.id, d.attempts, d.unconfirmed, s.email, s.name, s.attributes, s.status
     FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
     WHERE d.issue_id = ? AND d.state = ? AND d.",
    unsent!(),
    " ORDER BY d.id LIMIT ?"
);
const CLAIM_DEFERRED: &str = concat!(
    "SELECT d.id, d.attempts, d.unconfirmed, s.email, s.name, s.attributes, s.status
     FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
     WHERE d.issue_id = ? AND d.state = ? AND d.",
    unsent!(),
    " AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at, d.id LIMIT ?"
);
/// The issue's deliveries by state: those not sent counted in the index, the sent ones as the
/// issue's total less those (one statement, so one snapshot).
const COUNTS: &str = concat!(
    "WITH unsent AS (SELECT state, COUNT(*) AS n FROM deliveries WHERE issue_id = ?1 AND ",
    unsent!(),
    " GROUP BY state)
     SELECT state, n FROM (
         SELECT state, n FROM unsent
         UNION ALL
         SELECT ?2, (SELECT COUNT(*) FROM deliveries WHERE issue_id = ?1)
                    - (SELECT COALESCE(SUM(n), 0) FROM unsent))
     WHERE n > 0"
);
/// `issue retry`: the issue's failed (or deferred) deliveries, those whose last reply holds ?5 if
/// given, back to pending.
const REQUEUE: &str = concat!(
    "UPDATE deliveries SET state = ?, attempts = 0, next_attempt_at = NULL, updated_at = ?
     WHERE issue_id = ? AND state = ? AND ",
    unsent!(),
    " AND (?5 IS NULL OR instr(last_reply, ?5) > 0)"
);
const NEXT_RETRY: &str = concat!(
    "SELECT MIN(next_attempt_at) FROM deliveries WHERE issue_id = ? AND state = ? AND ",
    unsent!()
);

impl Sqlite {
    pub async fn recover_interrupted(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        // Rows of an issue cancelled meanwhile (while no daemon ran) are skipped, not pending: a
        // cancelled issue is never claimed again, so a pending row would stay pending for good.
        Ok(sqlx::query(
            "UPDATE deliveries SET updated_at = ?1,
                 state = CASE WHEN (SELECT state FROM issues WHERE id = deliveries.issue_id) = ?2
                              THEN ?3 ELSE ?4 END
             WHERE state = ?5",
        )
        .bind(to_millis(now))
        .bind(IssueState::Cancelled.as_str())
        .bind(DeliveryState::Skipped.as_str())
        .bind(DeliveryState::Pending.as_str())
        .bind(DeliveryState::Sending.as_str())
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    pub async fn claim_batch(
        &self,
        issue: IssueId,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let mut tx = self.write_transaction().await?;
        let mut rows = sqlx::query(CLAIM_PENDING)
            .bind(issue.0)
            .bind(DeliveryState::Pending.as_str())
            .bind(limit as i64)
            .fetch_all(&mut *tx)
            .await?;
        if rows.len() < limit {
            rows.extend(
                sqlx::query(CLAIM_DEFERRED)
                    .bind(issue.0)
                    .bind(DeliveryState::Deferred.as_str())
                    .bind(to_millis(now))
                    .bind((limit - rows.len()) as i64)
                    .fetch_all(&mut *tx)
                    .await?,
            );
        }
        let mut claimed = Vec::with_capacity(rows.len());
        let mut skipped = Vec::new();
        for r in &rows {
            let id: i64 = r.get("id");
            let status: SubscriberStatus = r.get::<&str, _>("status").parse()?;
            if status != SubscriberStatus::Active {
                skipped.push(id);
                continue;
            }
            claimed.push(ClaimedDelivery {
                id: DeliveryId(id),
                issue_id: issue,
                attempts: r.get::<i64, _>("attempts") as u32,
                unconfirmed: r.get::<i64, _>("unconfirmed") as u32,
                email: r.get("email"),
                name: r.get("name"),
                attributes: parse_attributes(r.get("attributes"))?,
            });
        }
        let ids = |v: &mut dyn Iterator<Item = i64>| {
            serde_json::to_string(&v.collect::<Vec<_>>()).unwrap_or_default()
        };
        sqlx::query(
            "UPDATE deliveries SET state = ?, updated_at = ? WHERE id IN (SELECT value FROM json_each(?))",
        )
        .bind(DeliveryState::Sending.as_str())
        .bind(to_millis(now))
        .bind(ids(&mut claimed.iter().map(|c| c.id.0)))
        .execute(&mut *tx)
        .await?;
        if !skipped.is_empty() {
            sqlx::query(
                "UPDATE deliveries SET state = ?, last_reply = 'subscriber is no longer active', updated_at = ?
                 WHERE id IN (SELECT value FROM json_each(?))",
            )
            .bind(DeliveryState::Skipped.as_str())
            .bind(to_millis(now))
            .bind(ids(&mut skipped.into_iter()))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(claimed)
    }

    pub async fn record_outcomes(
        &self,
        outcomes: &[Outcome],
        refunds: &[Refund],
        policy: &BouncePolicy,
        now: DateTime<Utc>,
    ) -> Result<Vec<RecordedBounce>, StoreError> {
        let plan = OutcomePlan::new(outcomes, refunds);
        let at = to_millis(now);
        let mut tx = self.write_transaction().await?;
        for statement in &plan.statements {
            for row in &statement.rows {
                let mut q = sqlx::query(statement.sql)
                    .bind(at)
                    .bind(row.id)
                    .bind(row.reply.as_deref())
                    .bind(row.retry_at)
                    .bind(row.unconfirmed);
                for state in statement.states() {
                    q = q.bind(state);
                }
                q.execute(&mut *tx).await?;
            }
        }
        let mut recorded = Vec::with_capacity(plan.bounces.len());
        for (delivery, b) in &plan.bounces {
            recorded.push(apply_smtp_bounce(&mut *tx, *delivery, b, policy, now).await?);
        }
        for refund in refunds {
            refund_run(&mut tx, refund, at).await?;
        }
        tx.commit().await?;
        Ok(recorded)
    }

    pub async fn retry_deliveries(
        &self,
        issue: IssueId,
        state: DeliveryState,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        if !matches!(state, DeliveryState::Failed | DeliveryState::Deferred)
            || !state.can_move_to(DeliveryState::Pending)
        {
            return Err(StoreError::Conflict(format!(
                "{state} deliveries cannot be queued again: only failed or deferred ones"
            )));
        }
        let at = to_millis(now);
        let mut tx = self.write_transaction().await?;
        let current = issue_state(&mut tx, issue).await?;
        if matches!(current, IssueState::Queued | IssueState::Cancelled) {
            return Err(StoreError::Conflict(format!(
                "issue #{issue} is {current}: it has no deliveries to retry"
            )));
        }
        let requeued = sqlx::query(REQUEUE)
            .bind(DeliveryState::Pending.as_str())
            .bind(at)
            .bind(issue.0)
            .bind(state.as_str())
            .bind(reason)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if requeued > 0 && current == IssueState::Sent {
            debug_assert!(IssueState::Sent.can_move_to(IssueState::Sending));
            sqlx::query(
                "UPDATE issues SET state = ?, state_reason = ?, finished_at = NULL WHERE id = ? AND state = ?",
            )
            .bind(IssueState::Sending.as_str())
            .bind(format!("reopened: {requeued} deliveries re-queued by `issue retry`"))
            .bind(issue.0)
            .bind(IssueState::Sent.as_str())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(requeued)
    }

    pub async fn delivery_counts(&self, issue: IssueId) -> Result<DeliveryCounts, StoreError> {
        let rows = sqlx::query(COUNTS)
            .bind(issue.0)
            .bind(DeliveryState::Sent.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.get::<&str, _>("state").parse()?, r.get("n"))))
            .collect()
    }

    pub async fn deliveries(
        &self,
        issue: IssueId,
        state: Option<DeliveryState>,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        self.deliveries_page(issue, state, 0, i64::MAX).await
    }

    pub async fn deliveries_page(
        &self,
        issue: IssueId,
        state: Option<DeliveryState>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.id, s.email, d.state, d.attempts, d.last_reply, d.sent_at, d.next_attempt_at
             FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
             WHERE d.issue_id = ? AND (? IS NULL OR d.state = ?) AND d.id > ? ORDER BY d.id LIMIT ?",
        )
        .bind(issue.0)
        .bind(state.map(|s| s.as_str()))
        .bind(state.map(|s| s.as_str()))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DeliveryRow {
                    id: DeliveryId(r.get("id")),
                    email: r.get("email"),
                    state: r.get::<&str, _>("state").parse()?,
                    attempts: r.get("attempts"),
                    last_reply: r.get("last_reply"),
                    sent_at: r
                        .get::<Option<i64>, _>("sent_at")
                        .map(crate::clock::from_millis),
                    next_attempt_at: r
                        .get::<Option<i64>, _>("next_attempt_at")
                        .map(crate::clock::from_millis),
                })
            })
            .collect()
    }

    pub async fn next_retry_at(&self, issue: IssueId) -> Result<Option<DateTime<Utc>>, StoreError> {
        let at: Option<i64> = sqlx::query_scalar(NEXT_RETRY)
            .bind(issue.0)
            .bind(DeliveryState::Deferred.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(at.map(crate::clock::from_millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store with one sending issue of seven deliveries: three sent, one each pending, deferred,
    /// sending and failed.
    async fn store_with_states() -> (tempfile::TempDir, Sqlite) {
        let dir = tempfile::tempdir().unwrap();
        let store = Sqlite::open_with_timeout(
            &dir.path().join("herald.db"),
            std::time::Duration::from_secs(5),
        )
        .await
        .unwrap();
        sqlx::raw_sql(
            "INSERT INTO lists (id, slug, name, from_address, created_at)
                 VALUES (1, 'weekly', 'Weekly', 'news@example.com', 0);
             INSERT INTO issues (id, list_id, subject, source_path, html_template, text_template, state, queued_at)
                 VALUES (1, 1, 'Subject', 'issue.md', '', '', 'sending', 0);
             INSERT INTO subscribers (id, list_id, email, created_at, updated_at)
                 SELECT value, 1, 'reader' || value || '@example.com', 0, 0
                 FROM json_each('[1, 2, 3, 4, 5, 6, 7]');
             INSERT INTO deliveries (id, issue_id, subscriber_id, state, next_attempt_at) VALUES
                 (1, 1, 1, 'sent', NULL), (2, 1, 2, 'pending', NULL), (3, 1, 3, 'sent', NULL),
                 (4, 1, 4, 'deferred', 0), (5, 1, 5, 'sending', NULL), (6, 1, 6, 'failed', NULL),
                 (7, 1, 7, 'sent', NULL);",
        )
        .execute(&store.pool)
        .await
        .unwrap();
        (dir, store)
    }

    #[test]
    fn the_unsent_index_condition_names_the_domains_sent_state() {
        assert_eq!(
            unsent!(),
            format!("state <> '{}'", DeliveryState::Sent.as_str())
        );
    }

    #[tokio::test]
    async fn sent_deliveries_are_counted_as_the_total_less_the_rest() {
        let (_dir, store) = store_with_states().await;
        let counts = store.delivery_counts(IssueId(1)).await.unwrap();
        let expected: DeliveryCounts = [
            (DeliveryState::Sent, 3),
            (DeliveryState::Pending, 1),
            (DeliveryState::Deferred, 1),
            (DeliveryState::Sending, 1),
            (DeliveryState::Failed, 1),
        ]
        .into_iter()
        .collect();
        assert_eq!(counts, expected);
        // No sent delivery: no `sent` entry (as a GROUP BY gives), and another issue counts nothing.
        sqlx::query("UPDATE deliveries SET state = 'skipped' WHERE state = 'sent'")
            .execute(&store.pool)
            .await
            .unwrap();
        let counts = store.delivery_counts(IssueId(1)).await.unwrap();
        assert_eq!(counts.get(&DeliveryState::Sent), None);
        assert_eq!(counts.get(&DeliveryState::Skipped), Some(&3));
        assert!(store.delivery_counts(IssueId(2)).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn statements_that_find_deliveries_by_state_search_the_unsent_index() {
        let (dir, store) = store_with_states().await;
        let db = rusqlite::Connection::open(dir.path().join("herald.db")).unwrap();
        let statements = [
            ("claim pending", CLAIM_PENDING),
            ("claim deferred", CLAIM_DEFERRED),
            ("counts", COUNTS),
            ("next retry", NEXT_RETRY),
            ("retry", REQUEUE),
            ("finish", &super::super::issues::FINISH),
            ("skip on cancel", super::super::issues::SKIP_WAITING),
            ("first pending", super::super::bounces::FIRST_PENDING),
        ];
        for (name, sql) in statements {
            let mut explain = db
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            // (Unbound parameters are NULL: the plan does not depend on them.)
            let mut rows = explain.raw_query();
            let mut plan: Vec<String> = Vec::new();
            while let Some(row) = rows.next().unwrap() {
                plan.push(row.get(3).unwrap());
            }
            assert!(
                plan.iter().any(
                    |step| step.contains("USING COVERING INDEX deliveries_unsent")
                        || step.contains("USING INDEX deliveries_unsent")
                ),
                "{name} does not search deliveries_unsent: {plan:?}"
            );
        }
        // Claims, counts and the finish check still see the right rows.
        let claimed = store
            .claim_batch(IssueId(1), 10, chrono::Utc::now())
            .await
            .unwrap();
        let ids: Vec<i64> = claimed.iter().map(|c| c.id.0).collect();
        assert_eq!(ids, [2, 4]);
    }
}
