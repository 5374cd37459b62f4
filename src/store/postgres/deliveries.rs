//! Deliveries on PostgreSQL: claiming batches for the sender (several daemons share the queue),
//! recording each outcome, the claim leases, and taking over a dead daemon's rows.
//!
//! A claim moves rows `pending` (or `deferred` and due, or `sending` with an expired lease) →
//! `sending` in one transaction, picking them `FOR UPDATE SKIP LOCKED` so two daemons never claim
//! the same row, and stamps them with this daemon's name and a lease. An outcome moves `sending` →
//! `sent | deferred | failed | unconfirmed | skipped | pending`, guarded by `state = 'sending'` and
//! `claimed_by` = this daemon, so an outcome can never overwrite a row that has moved on or that
//! another daemon took over after this one's lease ran out; it clears the claim.

use super::{Postgres, lease_millis, pause_sending_issue, state_is};
use crate::store::bounce_flow::apply_smtp_bounce;
use crate::{
    clock::{from_millis, to_millis},
    domain::{BouncePolicy, DeliveryId, DeliveryState, IssueId, IssueState, SubscriberStatus},
    store::{
        ClaimedDelivery, DeliveryCounts, DeliveryRow, Outcome, RecordedBounce, Refund, StoreError,
        deliveries::{OutcomeGroups, OutcomeRow},
        subscribers::parse_attributes,
    },
};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Row};
use std::{
    collections::{BTreeMap, BTreeSet, HashSet},
    sync::LazyLock,
};

/// The database server's clock in milliseconds: leases are set and compared on one clock, whatever
/// the daemons' own clocks say.
const DB_NOW_MS: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

// Claim picks, each walking the partial index of the state it picks from: $1 the issue, $2 how
// many, $3 now (due retries) or this daemon (expired leases). Rows another daemon is claiming at this
// moment are skipped, not waited for.
/// `pending` rows in id order.
static PICK_PENDING: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT d.id FROM deliveries d WHERE d.issue_id = $1 AND {}
         ORDER BY d.id LIMIT $2 FOR UPDATE SKIP LOCKED",
        state_is("d.state", DeliveryState::Pending)
    )
});
/// `deferred` rows whose retry is due, earliest first.
static PICK_DUE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT d.id FROM deliveries d
         WHERE d.issue_id = $1 AND {} AND d.next_attempt_at <= $3
         ORDER BY d.next_attempt_at, d.id LIMIT $2 FOR UPDATE SKIP LOCKED",
        state_is("d.state", DeliveryState::Deferred)
    )
});
/// `sending` rows whose holder's lease ran out (a dead or stalled daemon's): taken over. Never this
/// daemon's own: those may be in flight here (a lapsed lease stops its sending, see
/// [`Postgres::holds_claim`]) and come back through their outcome.
static PICK_EXPIRED: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT d.id FROM deliveries d
         WHERE d.issue_id = $1 AND {}
           AND (d.lease_until IS NULL OR d.lease_until < {DB_NOW_MS})
           AND d.claimed_by IS DISTINCT FROM $3
         ORDER BY d.id LIMIT $2 FOR UPDATE SKIP LOCKED",
        state_is("d.state", DeliveryState::Sending)
    )
});

/// `sending` rows whose holder's lease ran out, other than this daemon's ($1), across issues.
static EXPIRED: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{} AND (d.lease_until IS NULL OR d.lease_until < {DB_NOW_MS})
         AND d.claimed_by IS DISTINCT FROM $1",
        state_is("d.state", DeliveryState::Sending)
    )
});
/// Locks the issues of [`EXPIRED`] rows, in id order.
static LOCK_EXPIRED_ISSUES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT i.id FROM issues i
         WHERE i.id IN (SELECT d.issue_id FROM deliveries d WHERE {})
         ORDER BY i.id FOR NO KEY UPDATE",
        *EXPIRED
    )
});
/// Moves [`EXPIRED`] rows back to `pending` ($5), or `skipped` ($4) when their issue is `cancelled`
/// ($3), at $2.
static TAKE_BACK_EXPIRED: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE deliveries AS d SET updated_at = $2, claimed_by = NULL, lease_until = NULL,
             state = CASE WHEN i.state = $3 THEN $4 ELSE $5 END
         FROM issues i
         WHERE i.id = d.issue_id AND d.id IN (
             SELECT d.id FROM deliveries d WHERE {} ORDER BY d.id FOR UPDATE SKIP LOCKED)",
        *EXPIRED
    )
});

// Outcome statements: $1 is now, $2–$5 the rows (id, reply, retry_at, unconfirmed) as parallel
// arrays, $6 `sending`, $7 this daemon, $8 the state the rows move to (and, for released rows, $9
// `cancelled` and $10 `skipped`). Only rows this daemon still holds move; the claim is cleared.
const RECORD_SENT: &str = "UPDATE deliveries AS d SET state = $8, attempts = d.attempts + 1,
        last_reply = j.reply, sent_at = $1, updated_at = $1, claimed_by = NULL, lease_until = NULL
    FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::bigint[]) AS j(id, reply, retry_at, unconfirmed)
    WHERE d.id = j.id AND d.state = $6 AND d.claimed_by = $7";
const RECORD_DEFERRED: &str = "UPDATE deliveries AS d SET state = $8, attempts = d.attempts + 1,
        unconfirmed = d.unconfirmed + j.unconfirmed, last_reply = j.reply,
        next_attempt_at = j.retry_at, updated_at = $1, claimed_by = NULL, lease_until = NULL
    FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::bigint[]) AS j(id, reply, retry_at, unconfirmed)
    WHERE d.id = j.id AND d.state = $6 AND d.claimed_by = $7";
const RECORD_UNCONFIRMED: &str = "UPDATE deliveries AS d SET state = $8, attempts = d.attempts + 1,
        unconfirmed = d.unconfirmed + 1, last_reply = j.reply, updated_at = $1,
        claimed_by = NULL, lease_until = NULL
    FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::bigint[]) AS j(id, reply, retry_at, unconfirmed)
    WHERE d.id = j.id AND d.state = $6 AND d.claimed_by = $7";
const RECORD_FAILED: &str = "UPDATE deliveries AS d SET state = $8, attempts = d.attempts + 1,
        last_reply = j.reply, updated_at = $1, claimed_by = NULL, lease_until = NULL
    FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::bigint[]) AS j(id, reply, retry_at, unconfirmed)
    WHERE d.id = j.id AND d.state = $6 AND d.claimed_by = $7";
const RECORD_RELEASED: &str = "UPDATE deliveries AS d SET updated_at = $1, claimed_by = NULL, lease_until = NULL,
        state = CASE WHEN (SELECT i.state FROM issues i WHERE i.id = d.issue_id) = $9 THEN $10 ELSE $8 END
    FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::bigint[]) AS j(id, reply, retry_at, unconfirmed)
    WHERE d.id = j.id AND d.state = $6 AND d.claimed_by = $7";

impl Postgres {
    /// Moves `sending` rows whose lease has expired back to `pending` (or `skipped`, if their issue
    /// was cancelled meanwhile), clearing their claim.
    ///
    /// Unlike SQLite's, this is no blanket reset: other daemons share the queue and their rows are
    /// in flight, so only rows no live daemon holds move (their holder died, or stalled past its
    /// lease and will find them gone). Claims take such rows over by themselves; this also frees
    /// those of issues no longer claimed from (paused or cancelled). A row with no lease at all
    /// counts as expired.
    pub async fn recover_interrupted(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let at = to_millis(now);
        let mut tx = self.transaction().await?;
        // Their issues first, in id order (as an outcome group takes them): a cancel cannot slip
        // between reading an issue's state and moving its rows.
        sqlx::query(&LOCK_EXPIRED_ISSUES)
            .bind(&*self.daemon)
            .execute(&mut *tx)
            .await?;
        // Rows of an issue cancelled meanwhile are skipped, not pending: a cancelled issue is never
        // claimed again, so a pending row would stay pending for good. Rows being claimed or
        // recorded right now are left alone (SKIP LOCKED), in id order: never a deadlock.
        let moved = sqlx::query(&TAKE_BACK_EXPIRED)
            .bind(&*self.daemon)
            .bind(at)
            .bind(IssueState::Cancelled.as_str())
            .bind(DeliveryState::Skipped.as_str())
            .bind(DeliveryState::Pending.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(moved)
    }

    /// Claims up to `limit` deliveries of `issue`: `pending` ones in id order first, then `deferred` ones
    /// whose retry is due, then `sending` ones whose lease expired. Recipients who are no longer
    /// active are marked `skipped` instead.
    pub async fn claim_batch(
        &self,
        issue: IssueId,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let at = to_millis(now);
        let mut tx = self.transaction().await?;
        let mut picked: Vec<i64> = Vec::with_capacity(limit);
        for (state, sql) in [
            (DeliveryState::Pending, &*PICK_PENDING),
            (DeliveryState::Deferred, &*PICK_DUE),
            (DeliveryState::Sending, &*PICK_EXPIRED),
        ] {
            let wanted = limit.saturating_sub(picked.len());
            if wanted == 0 {
                break;
            }
            let mut q = sqlx::query_scalar(sql)
                .bind(issue.0)
                .bind(i64::try_from(wanted).unwrap_or(i64::MAX));
            match state {
                DeliveryState::Deferred => q = q.bind(at),
                DeliveryState::Sending => q = q.bind(&*self.daemon),
                _ => {}
            }
            let ids: Vec<i64> = q.fetch_all(&mut *tx).await?;
            picked.extend(ids);
        }
        if picked.is_empty() {
            return Ok(vec![]);
        }
        // In the order picked.
        let rows = sqlx::query(
            "SELECT d.id, d.attempts, d.unconfirmed, s.email, s.name, s.attributes, s.status
             FROM unnest($1::bigint[]) WITH ORDINALITY AS p(id, n)
             JOIN deliveries d ON d.id = p.id JOIN subscribers s ON s.id = d.subscriber_id
             ORDER BY p.n",
        )
        .bind(picked.as_slice())
        .fetch_all(&mut *tx)
        .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        let mut skipped = Vec::new();
        for r in &rows {
            let id: i64 = r.get("id");
            let status: SubscriberStatus = r.get::<String, _>("status").parse()?;
            if status != SubscriberStatus::Active {
                skipped.push(id);
                continue;
            }
            claimed.push(ClaimedDelivery {
                id: DeliveryId(id),
                issue_id: issue,
                attempts: u32::try_from(r.get::<i64, _>("attempts")).unwrap_or(u32::MAX),
                unconfirmed: u32::try_from(r.get::<i64, _>("unconfirmed")).unwrap_or(u32::MAX),
                email: r.get("email"),
                name: r.get("name"),
                attributes: parse_attributes(&r.get::<String, _>("attributes"))?,
            });
        }
        let claimed_ids: Vec<i64> = claimed.iter().map(|c| c.id.0).collect();
        sqlx::query(&format!(
            "UPDATE deliveries SET state = $1, claimed_by = $2, lease_until = {DB_NOW_MS} + $3, updated_at = $4
             WHERE id = ANY($5)"
        ))
        .bind(DeliveryState::Sending.as_str())
        .bind(&*self.daemon)
        .bind(lease_millis(self.lease))
        .bind(at)
        .bind(claimed_ids)
        .execute(&mut *tx)
        .await?;
        if !skipped.is_empty() {
            sqlx::query(
                "UPDATE deliveries SET state = $1, last_reply = 'subscriber is no longer active',
                     claimed_by = NULL, lease_until = NULL, updated_at = $2
                 WHERE id = ANY($3)",
            )
            .bind(DeliveryState::Skipped.as_str())
            .bind(at)
            .bind(skipped)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Records outcomes (the sender's group commit). Each update only applies to a row still in
    /// `sending` and held by this daemon. A group of plain outcomes (sent, deferred, unconfirmed,
    /// failed without a bounce event) is one statement, one round trip; one with released rows, 5xx
    /// refusals or a refunded run is one transaction that locks the issues concerned first. It goes
    /// through one of the daemon's commit lanes (see [`super::lanes`]). A deadlock or serialization
    /// failure (another daemon's transaction crossed this one) is tried again, and so is a commit
    /// whose connection the server had dropped, on a new one: the outcome statements only move rows
    /// this daemon still holds in `sending`, so one that did commit before its reply was lost moves
    /// nothing the second time. Not a group that refunds a run: its refund would give the attempts
    /// back twice; it fails, and sending stops as for any failed commit.
    pub async fn record_outcomes(
        &self,
        outcomes: &[Outcome],
        refunds: &[Refund],
        policy: &BouncePolicy,
        now: DateTime<Utc>,
    ) -> Result<Vec<RecordedBounce>, StoreError> {
        let groups = OutcomeGroups::new(outcomes, refunds);
        let at = to_millis(now);
        let plain = groups.released.is_empty() && groups.bounces.is_empty() && refunds.is_empty();
        let began = std::time::Instant::now();
        let (mut crossed, mut lost) = (0, 0);
        loop {
            let result = match self.lanes.take().await {
                Ok(mut lane) => {
                    let result = if plain {
                        record_plain(lane.conn(), &groups, at, &self.daemon)
                            .await
                            .map(|_| vec![])
                    } else {
                        self.record_in_transaction(
                            lane.conn(),
                            outcomes,
                            refunds,
                            &groups,
                            policy,
                            now,
                        )
                        .await
                    };
                    // A transaction the server rolled back (crossed) leaves the connection usable.
                    if result.as_ref().is_ok() || result.as_ref().is_err_and(super::crossed) {
                        lane.release();
                    }
                    result
                }
                Err(e) => Err(e),
            };
            match result {
                Err(e) if super::crossed(&e) && crossed < 4 => {
                    crossed += 1;
                    tracing::debug!(error = %e, "a transaction crossed another; trying it again");
                }
                // A dropped connection is replaced at once; a server that is restarting is waited
                // for as long as the pool would wait for a connection.
                Err(e)
                    if super::lanes::connection_lost(&e)
                        && refunds.is_empty()
                        && began.elapsed() < self.lanes.patience() =>
                {
                    self.lanes.clear();
                    if lost == 0 {
                        tracing::info!(error = %e, "the database dropped a connection; recording again on a new one");
                    } else {
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                    lost += 1;
                }
                other => return other,
            }
        }
    }

    async fn record_in_transaction(
        &self,
        conn: &mut PgConnection,
        outcomes: &[Outcome],
        refunds: &[Refund],
        groups: &OutcomeGroups,
        policy: &BouncePolicy,
        now: DateTime<Utc>,
    ) -> Result<Vec<RecordedBounce>, StoreError> {
        let at = to_millis(now);
        let mut tx = sqlx::Connection::begin(conn).await?;
        let issues = issues_to_lock(outcomes, refunds, groups);
        if !issues.is_empty() {
            sqlx::query("SELECT id FROM issues WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE")
                .bind(issues)
                .execute(&mut *tx)
                .await?;
        }
        let mut failed_here = HashSet::new();
        for (next, sql, rows) in [
            (DeliveryState::Sent, RECORD_SENT, &groups.sent),
            (DeliveryState::Deferred, RECORD_DEFERRED, &groups.deferred),
            (
                DeliveryState::Unconfirmed,
                RECORD_UNCONFIRMED,
                &groups.unconfirmed,
            ),
            (DeliveryState::Failed, RECORD_FAILED, &groups.failed),
            (DeliveryState::Pending, RECORD_RELEASED, &groups.released),
        ] {
            if !rows.is_empty() {
                let moved = record_group(&mut tx, sql, next, rows, at, &self.daemon).await?;
                if next == DeliveryState::Failed {
                    failed_here.extend(moved);
                }
            }
        }
        // A refusal counts only for a row this daemon still held: another daemon that took the
        // delivery over (this one's lease ran out) has its own outcome for it.
        let mut recorded = Vec::with_capacity(groups.bounces.len());
        for (delivery, b) in &groups.bounces {
            if failed_here.contains(&delivery.0) {
                recorded.push(apply_smtp_bounce(&mut *tx, *delivery, b, policy, now).await?);
            }
        }
        for refund in refunds {
            refund_run(&mut tx, refund, at).await?;
        }
        tx.commit().await?;
        Ok(recorded)
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
        if !matches!(state, DeliveryState::Failed | DeliveryState::Deferred)
            || !state.can_move_to(DeliveryState::Pending)
        {
            return Err(StoreError::Conflict(format!(
                "{state} deliveries cannot be queued again: only failed or deferred ones"
            )));
        }
        let at = to_millis(now);
        let mut tx = self.transaction().await?;
        let current = issue_state(&mut tx, issue).await?;
        if matches!(current, IssueState::Queued | IssueState::Cancelled) {
            return Err(StoreError::Conflict(format!(
                "issue #{issue} is {current}: it has no deliveries to retry"
            )));
        }
        let requeued = sqlx::query(
            "UPDATE deliveries SET state = $1, attempts = 0, next_attempt_at = NULL, updated_at = $2
             WHERE issue_id = $3 AND state = $4 AND ($5::text IS NULL OR strpos(last_reply, $5) > 0)",
        )
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
                "UPDATE issues SET state = $1, state_reason = $2, finished_at = NULL
                 WHERE id = $3 AND state = $4",
            )
            .bind(IssueState::Sending.as_str())
            .bind(format!(
                "reopened: {requeued} deliveries re-queued by `issue retry`"
            ))
            .bind(issue.0)
            .bind(IssueState::Sent.as_str())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(requeued)
    }

    pub async fn delivery_counts(&self, issue: IssueId) -> Result<DeliveryCounts, StoreError> {
        let rows = sqlx::query(
            "SELECT state, COUNT(*) AS n FROM deliveries WHERE issue_id = $1 GROUP BY state",
        )
        .bind(issue.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.get::<String, _>("state").parse()?, r.get::<i64, _>("n"))))
            .collect()
    }

    /// Deliveries of `issue`, optionally only those in `state`, in id order.
    pub async fn deliveries(
        &self,
        issue: IssueId,
        state: Option<DeliveryState>,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        self.deliveries_page(issue, state, 0, i64::MAX).await
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
        let rows = sqlx::query(
            "SELECT d.id, s.email, d.state, d.attempts, d.last_reply, d.sent_at, d.next_attempt_at
             FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
             WHERE d.issue_id = $1 AND ($2::text IS NULL OR d.state = $2) AND d.id > $3
             ORDER BY d.id LIMIT $4",
        )
        .bind(issue.0)
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
                    state: r.get::<String, _>("state").parse()?,
                    attempts: r.get("attempts"),
                    last_reply: r.get("last_reply"),
                    sent_at: r.get::<Option<i64>, _>("sent_at").map(from_millis),
                    next_attempt_at: r.get::<Option<i64>, _>("next_attempt_at").map(from_millis),
                })
            })
            .collect()
    }

    /// The earliest retry time among an issue's deferred deliveries.
    pub async fn next_retry_at(&self, issue: IssueId) -> Result<Option<DateTime<Utc>>, StoreError> {
        static NEXT_RETRY: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT MIN(next_attempt_at) FROM deliveries WHERE issue_id = $1 AND {}",
                state_is("state", DeliveryState::Deferred)
            )
        });
        let at: Option<i64> = sqlx::query_scalar(&NEXT_RETRY)
            .bind(issue.0)
            .fetch_one(&self.pool)
            .await?;
        Ok(at.map(from_millis))
    }

    /// Extends the lease of every row this daemon holds to the database's now + the lease: called
    /// while it lives (every third of a lease), so its rows are never taken over from under it.
    /// Rows being recorded at this moment are skipped (they are leaving `sending`), in id order:
    /// renewing never deadlocks with a group commit. Returns the rows renewed.
    pub async fn renew_leases(&self) -> Result<u64, StoreError> {
        let began = std::time::Instant::now();
        static RENEW: LazyLock<String> = LazyLock::new(|| {
            format!(
                "UPDATE deliveries SET lease_until = {DB_NOW_MS} + $1
                 WHERE id IN (SELECT id FROM deliveries WHERE {} AND claimed_by = $2
                              ORDER BY id FOR UPDATE SKIP LOCKED)",
                state_is("state", DeliveryState::Sending)
            )
        });
        let renewed = sqlx::query(&RENEW)
            .bind(lease_millis(self.lease))
            .bind(&*self.daemon)
            .execute(&self.pool)
            .await?
            .rows_affected();
        self.renewed.mark(began, self.lapse());
        Ok(renewed)
    }

    /// Whether a delivery claimed at `claimed_at` is still this daemon's: its leases were renewed
    /// within the last two thirds of a lease, and without a longer gap since the claim (after one,
    /// other daemons may have taken the rows over, even though renewals go on now). A daemon that
    /// could not renew (the database out of reach, the process stalled) stops sending what it
    /// claimed before.
    pub fn holds_claim(&self, claimed_at: std::time::Instant) -> bool {
        self.renewed.holds(claimed_at, self.lapse())
    }

    /// How long without a renewal this daemon stops trusting its claims: two thirds of a lease,
    /// leaving a third for a message already past its checks to go out before others take over.
    fn lapse(&self) -> std::time::Duration {
        self.lease * 2 / 3
    }

    /// Rows other daemons hold right now: `sending`, with a lease that has not expired, claimed by
    /// another daemon.
    pub async fn leased_elsewhere(&self) -> Result<i64, StoreError> {
        static LEASED_ELSEWHERE: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT COUNT(*) FROM deliveries
                 WHERE {} AND lease_until >= {DB_NOW_MS} AND claimed_by IS DISTINCT FROM $1",
                state_is("state", DeliveryState::Sending)
            )
        });
        Ok(sqlx::query_scalar(&LEASED_ELSEWHERE)
            .bind(&*self.daemon)
            .fetch_one(&self.pool)
            .await?)
    }
}

/// An issue's state, read inside the caller's transaction and locked until it ends (`FOR NO KEY
/// UPDATE`: the lock an update of the row takes, which still lets rows referencing it be written),
/// so the state cannot change between this read and the caller's writes.
pub(super) async fn issue_state(
    conn: &mut PgConnection,
    id: IssueId,
) -> Result<IssueState, StoreError> {
    let state: Option<String> =
        sqlx::query_scalar("SELECT state FROM issues WHERE id = $1 FOR NO KEY UPDATE")
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(state
        .ok_or_else(|| StoreError::NotFound(format!("issue #{id}")))?
        .parse()?)
}

/// The issues a group reads the state of or may pause (those of its released rows and its 5xx
/// refusals, and the refunded runs'), to lock up front in id order: two daemons never wait on each
/// other crosswise, and a release cannot slip past a concurrent cancel (its rows would stay
/// pending for good).
fn issues_to_lock(outcomes: &[Outcome], refunds: &[Refund], groups: &OutcomeGroups) -> Vec<i64> {
    let touched: HashSet<i64> = groups
        .released
        .iter()
        .map(|r| r.id)
        .chain(groups.bounces.iter().map(|(d, _)| d.0))
        .collect();
    outcomes
        .iter()
        .filter(|o| touched.contains(&o.delivery.0))
        .map(|o| o.issue.0)
        .chain(refunds.iter().map(|r| r.issue.0))
        .collect::<BTreeSet<i64>>()
        .into_iter()
        .collect()
}

/// Runs one outcome statement (see the `RECORD_*` constants) for `rows`, moving them to `next`;
/// returns the ids it moved (those this daemon still held).
async fn record_group(
    conn: &mut PgConnection,
    sql: &str,
    next: DeliveryState,
    rows: &[OutcomeRow],
    at: i64,
    daemon: &str,
) -> Result<Vec<i64>, StoreError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let replies: Vec<Option<&str>> = rows.iter().map(|r| r.reply.as_deref()).collect();
    let retry_at: Vec<Option<i64>> = rows.iter().map(|r| r.retry_at).collect();
    let unconfirmed: Vec<i64> = rows.iter().map(|r| r.unconfirmed).collect();
    let sql = format!("{sql} RETURNING d.id");
    let mut q = sqlx::query_scalar(&sql)
        .bind(at)
        .bind(ids)
        .bind(replies)
        .bind(retry_at)
        .bind(unconfirmed)
        .bind(DeliveryState::Sending.as_str())
        .bind(daemon)
        .bind(next.as_str());
    if next == DeliveryState::Pending {
        // Released: a row of a cancelled issue is skipped instead.
        debug_assert!(DeliveryState::Sending.can_move_to(DeliveryState::Skipped));
        q = q
            .bind(IssueState::Cancelled.as_str())
            .bind(DeliveryState::Skipped.as_str());
    }
    Ok(q.fetch_all(&mut *conn).await?)
}

/// A group of plain outcomes (no released row, no bounce event, no refund) as one statement: each
/// row's new state, reply and retry time side by side in arrays. Without an explicit transaction it
/// is one round trip to the server, which is most of what a group commit costs.
async fn record_plain(
    conn: &mut PgConnection,
    groups: &OutcomeGroups,
    at: i64,
    daemon: &str,
) -> Result<u64, StoreError> {
    let rows = [
        (DeliveryState::Sent, &groups.sent),
        (DeliveryState::Deferred, &groups.deferred),
        (DeliveryState::Unconfirmed, &groups.unconfirmed),
        (DeliveryState::Failed, &groups.failed),
    ];
    let mut ids = Vec::new();
    let mut states = Vec::new();
    let mut replies = Vec::new();
    let mut retry_at = Vec::new();
    let mut unconfirmed = Vec::new();
    for (state, group) in rows {
        debug_assert!(DeliveryState::Sending.can_move_to(state));
        for r in group.iter() {
            ids.push(r.id);
            states.push(state.as_str());
            replies.push(r.reply.as_deref());
            retry_at.push(r.retry_at);
            // A lost reply counts towards `unconfirmed`: always for that state, and for a deferred
            // row when its message went out.
            unconfirmed.push(if state == DeliveryState::Unconfirmed {
                1
            } else {
                r.unconfirmed
            });
        }
    }
    Ok(sqlx::query(
        "UPDATE deliveries AS d SET state = j.state, attempts = d.attempts + 1,
             unconfirmed = d.unconfirmed + j.unconfirmed, last_reply = j.reply,
             next_attempt_at = CASE WHEN j.state = $7 THEN j.retry_at ELSE d.next_attempt_at END,
             sent_at = CASE WHEN j.state = $8 THEN $1 ELSE d.sent_at END,
             updated_at = $1, claimed_by = NULL, lease_until = NULL
         FROM unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::bigint[])
              AS j(id, state, reply, retry_at, unconfirmed)
         WHERE d.id = j.id AND d.state = $9 AND d.claimed_by = $10",
    )
    .bind(at)
    .bind(ids)
    .bind(states)
    .bind(replies)
    .bind(retry_at)
    .bind(unconfirmed)
    .bind(DeliveryState::Deferred.as_str())
    .bind(DeliveryState::Sent.as_str())
    .bind(DeliveryState::Sending.as_str())
    .bind(daemon)
    .execute(conn)
    .await?
    .rows_affected())
}

/// Applies `refund` in the outcomes' transaction: pauses a sending issue; moves the run's deliveries
/// recorded by earlier groups (failed or deferred) back to `pending` with their attempt refunded and
/// drops the bounce events their refusals made. Only while the issue is sending or paused: a
/// cancelled or finished issue keeps what it has.
async fn refund_run(conn: &mut PgConnection, refund: &Refund, at: i64) -> Result<(), StoreError> {
    pause_sending_issue(conn, refund.issue, &refund.reason).await?;
    // Attempts to give back per delivery: one per time it appears in the run (a deferred delivery
    // can be tried again, and fail again, before the run trips).
    let mut counts: BTreeMap<i64, i64> = BTreeMap::new();
    for d in &refund.deliveries {
        *counts.entry(d.0).or_default() += 1;
    }
    let ids: Vec<i64> = counts.keys().copied().collect();
    if !ids.is_empty() {
        let times: Vec<i64> = counts.values().copied().collect();
        let moved: Vec<&str> = crate::store::deliveries::REFUNDED_BACK_TO_PENDING
            .iter()
            .map(|s| s.as_str())
            .collect();
        let kept: Vec<&str> = crate::store::deliveries::REFUNDED_IN_PLACE
            .iter()
            .map(|s| s.as_str())
            .collect();
        // Failed and deferred deliveries go back to pending; the others keep their state.
        sqlx::query(
            "UPDATE deliveries AS d SET
                    state = CASE WHEN d.state = ANY($6) THEN $1 ELSE d.state END,
                    attempts = GREATEST(d.attempts - j.n, 0),
                    next_attempt_at = CASE WHEN d.state = ANY($6) THEN NULL ELSE d.next_attempt_at END,
                    updated_at = $2
             FROM unnest($3::bigint[], $4::bigint[]) AS j(id, n)
             WHERE d.id = j.id AND d.issue_id = $5
               AND (d.state = ANY($6) OR d.state = ANY($7))
               AND (SELECT i.state FROM issues i WHERE i.id = $5) IN ($8, $9)",
        )
        .bind(DeliveryState::Pending.as_str())
        .bind(at)
        .bind(ids.as_slice())
        .bind(times)
        .bind(refund.issue.0)
        .bind(moved)
        .bind(kept)
        .bind(IssueState::Sending.as_str())
        .bind(IssueState::Paused.as_str())
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query(
        "DELETE FROM bounces AS b USING deliveries d
         WHERE d.id = b.delivery_id AND b.source = $1 AND b.delivery_id = ANY($2) AND d.state = $3",
    )
    .bind(crate::domain::BounceSource::Smtp.as_str())
    .bind(ids)
    .bind(DeliveryState::Pending.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}
