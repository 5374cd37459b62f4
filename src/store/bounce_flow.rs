//! The bounce policy's flow, once for both backends: for each event a report (or a refusal while
//! sending) carries, count the reader's earlier soft bounces if it is one, let the policy decide,
//! record the event with that decision, then apply it (the subscriber, their other lists and the
//! suppression list, the delivery) and pause the issue if sender blocks pile up.
//!
//! Each backend writes the statements ([`BounceStatements`], on its own connection type, in its own
//! dialect); the order of the steps and what depends on what lives only here. Everything runs inside
//! the caller's transaction.

use super::{
    StoreError,
    bounces::{DeliveryContext, NewBounce, NewReport, RecordedBounce},
    erasures::is_placeholder,
};
use crate::{
    clock::to_millis,
    domain::{
        BounceEffect, BounceKind, BouncePolicy, DeliveryId, DeliveryState, IssueId,
        SubscriberStatus,
    },
};
use chrono::{DateTime, Utc};

/// The event row to write: the event, the delivery it was matched to and where its token was found,
/// the decision's effect. Its columns' values come from the methods below, so what a row keeps
/// (and what it drops about an erased reader) is decided here once, not per backend.
pub(super) struct EventRow<'a> {
    pub(super) event: &'a NewBounce,
    target: Option<(&'a DeliveryContext, &'static str)>,
    pub(super) effect: BounceEffect,
    pub(super) at: i64,
}

impl EventRow<'_> {
    fn context(&self) -> Option<&DeliveryContext> {
        self.target.map(|(c, _)| c)
    }

    /// A report about a reader who was erased keeps none of what it says about them.
    fn erased(&self) -> bool {
        self.context().is_some_and(|c| is_placeholder(&c.email))
    }

    /// `(report_sha256, position)`: what makes a report seen twice a duplicate.
    fn report_key(&self) -> (Option<&str>, i64) {
        match &self.event.report {
            Some((sha, pos)) => (Some(sha.as_str()), i64::from(*pos)),
            None => (None, 0),
        }
    }

    fn diagnostic(&self) -> Option<&str> {
        self.event.diagnostic.as_deref().filter(|_| !self.erased())
    }

    /// The address the report names, else the matched delivery's.
    fn recipient(&self) -> Option<&str> {
        self.event
            .recipient
            .as_deref()
            .or(self.context().map(|c| c.email.as_str()))
            .filter(|_| !self.erased())
    }

    fn raw(&self) -> Option<&[u8]> {
        self.event
            .raw_deflated
            .as_deref()
            .filter(|_| !self.erased())
    }

    fn delivery_id(&self) -> Option<i64> {
        self.context().map(|c| c.delivery.0)
    }

    fn issue_id(&self) -> Option<i64> {
        self.context().map(|c| c.issue.0)
    }

    fn subscriber_id(&self) -> Option<i64> {
        self.context().map(|c| c.subscriber)
    }

    fn list_id(&self) -> Option<i64> {
        self.context().map(|c| c.list)
    }

    /// Where the matched delivery's token was found.
    fn matched_by(&self) -> Option<&'static str> {
        self.target.map(|(_, found_in)| found_in)
    }

    /// The statement that writes the row, the same for both backends (they read `$n` alike and
    /// take the same column types): it returns a row unless the report was seen before, and a
    /// duplicate that now names a delivery its earlier copy did not fills the copy in.
    pub(super) fn insert<'q, DB: sqlx::Database>(
        &'q self,
    ) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
    where
        i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        Option<&'q [u8]>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    {
        let e = self.event;
        let (sha, position) = self.report_key();
        sqlx::query(
            "INSERT INTO bounces (received_at, source, kind, class, reason, status, reply_code, action,
                                  diagnostic, remote_mta, recipient, delivery_id, issue_id, subscriber_id,
                                  list_id, matched_by, effect, report_sha256, position, raw)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
                     $19, $20)
             ON CONFLICT (report_sha256, position) DO UPDATE SET
                 delivery_id = excluded.delivery_id, issue_id = excluded.issue_id,
                 subscriber_id = excluded.subscriber_id, list_id = excluded.list_id,
                 matched_by = excluded.matched_by, effect = excluded.effect
             WHERE bounces.delivery_id IS NULL AND excluded.delivery_id IS NOT NULL
             RETURNING id",
        )
        .bind(self.at)
        .bind(e.source.as_str())
        .bind(e.kind.as_str())
        .bind(e.class.as_str())
        .bind(e.reason.as_str())
        .bind(e.status.map(|s| s.to_string()))
        .bind(e.reply_code.map(i64::from))
        .bind(e.action.as_deref())
        .bind(self.diagnostic())
        .bind(e.remote_mta.as_deref())
        .bind(self.recipient())
        .bind(self.delivery_id())
        .bind(self.issue_id())
        .bind(self.subscriber_id())
        .bind(self.list_id())
        .bind(self.matched_by())
        .bind(self.effect.as_str())
        .bind(sha)
        .bind(position)
        .bind(self.raw())
    }
}

/// The statements of the flow, written by each backend for its connection type.
pub(super) trait BounceStatements {
    /// The delivery and its subscriber, locked until the transaction ends (where the backend locks
    /// rows): the decision made from their states is applied before anyone else's.
    async fn delivery_context(
        &mut self,
        delivery: DeliveryId,
    ) -> Result<Option<DeliveryContext>, StoreError>;

    /// The highest issue of `c`'s list, other than `c`'s own, whose delivery to the reader went out
    /// at or before `settled` and came back without a bounce (0: none).
    async fn last_clean_issue(
        &mut self,
        c: &DeliveryContext,
        settled: i64,
    ) -> Result<i64, StoreError>;

    /// Distinct issues, after `after` and other than `c`'s own, on which the reader's bounces were
    /// counted as soft since `since`.
    async fn soft_counted_issues(
        &mut self,
        c: &DeliveryContext,
        since: i64,
        after: i64,
    ) -> Result<i64, StoreError>;

    /// Writes the event; false when the report was seen before (a duplicate: nothing to apply). A
    /// duplicate that now names a delivery its earlier copy did not fills the copy in.
    async fn insert_event(&mut self, row: EventRow<'_>) -> Result<bool, StoreError>;

    /// Moves one subscriber to `next`, from the statuses the domain allows.
    async fn move_subscriber(
        &mut self,
        subscriber: i64,
        next: SubscriberStatus,
        why: &str,
        at: i64,
    ) -> Result<(), StoreError>;

    /// Moves the same address on every list but `list` to `next`, and keeps it on the suppression
    /// list (a complaint already there stays one).
    async fn move_everywhere(
        &mut self,
        list: i64,
        email: &str,
        next: SubscriberStatus,
        why: &str,
        at: i64,
    ) -> Result<(), StoreError>;

    /// Moves the delivery to `next`, from the states the domain allows.
    async fn move_delivery(
        &mut self,
        delivery: DeliveryId,
        next: DeliveryState,
        at: i64,
    ) -> Result<(), StoreError>;

    /// Whether `issue` is sending, its row locked until the transaction ends.
    async fn issue_is_sending(&mut self, issue: IssueId) -> Result<bool, StoreError>;

    /// The lowest id among `issue`'s pending deliveries.
    async fn first_pending(&mut self, issue: IssueId) -> Result<Option<i64>, StoreError>;

    /// How many of `issue`'s deliveries with ids in `low..high` were attempted (not in
    /// [`DeliveryState::UNATTEMPTED`]), and how many distinct ones of them were refused for a
    /// [`BounceReason::sender_blocked`](crate::domain::BounceReason::sender_blocked) reason.
    async fn attempts_and_blocks(
        &mut self,
        issue: IssueId,
        low: i64,
        high: i64,
    ) -> Result<(i64, i64), StoreError>;

    /// Pauses `issue` with `reason` if it is sending; true when it moved.
    async fn pause_issue(&mut self, issue: IssueId, reason: &str) -> Result<bool, StoreError>;
}

/// Records one report's events.
pub(super) async fn apply_report<S: BounceStatements>(
    conn: &mut S,
    report: &NewReport,
    policy: &BouncePolicy,
    now: DateTime<Utc>,
) -> Result<Vec<RecordedBounce>, StoreError> {
    let context = match report.claimed {
        Some((delivery, _)) => conn.delivery_context(delivery).await?,
        None => None,
    };
    let events = &report.events;
    let attributed = context.as_ref().map(|c| report.attributed_to(&c.email));
    let mut out = Vec::with_capacity(events.len());
    for (i, e) in events.iter().enumerate() {
        let target = match (&context, report.claimed) {
            (Some(c), Some((_, found_in))) if Some(i) == attributed => Some((c, found_in)),
            _ => None,
        };
        out.push(apply_bounce(conn, e, target, policy, now).await?);
    }
    Ok(out)
}

/// Records one refusal herald got while sending `delivery`.
pub(super) async fn apply_smtp_bounce<S: BounceStatements>(
    conn: &mut S,
    delivery: DeliveryId,
    e: &NewBounce,
    policy: &BouncePolicy,
    now: DateTime<Utc>,
) -> Result<RecordedBounce, StoreError> {
    let context = conn.delivery_context(delivery).await?;
    apply_bounce(conn, e, context.as_ref().map(|c| (c, "smtp")), policy, now).await
}

/// Records one event and applies the policy's decision. The decision is made first, so the event is
/// written once with its final values.
async fn apply_bounce<S: BounceStatements>(
    conn: &mut S,
    e: &NewBounce,
    target: Option<(&DeliveryContext, &'static str)>,
    policy: &BouncePolicy,
    now: DateTime<Utc>,
) -> Result<RecordedBounce, StoreError> {
    let at = to_millis(now);
    let context = target.map(|(c, _)| c);
    let soft_count = match context {
        Some(c) if e.counts_as_soft() => soft_count(conn, c, policy, now).await?,
        _ => 0,
    };
    let decision = e.decide(context, policy, soft_count);
    let written = conn
        .insert_event(EventRow {
            event: e,
            target,
            effect: decision.effect,
            at,
        })
        .await?;
    if !written {
        return Ok(RecordedBounce {
            effect: None,
            issue: None,
            paused: None,
        });
    }
    let Some(c) = context else {
        return Ok(RecordedBounce {
            effect: Some(decision.effect),
            issue: None,
            paused: None,
        });
    };
    let why = e.why();
    if let Some(next) = decision.subscriber {
        conn.move_subscriber(c.subscriber, next, &why, at).await?;
    }
    if let Some(next) = decision.everywhere {
        conn.move_everywhere(c.list, &c.email, next, &why, at)
            .await?;
    }
    if let Some(next) = decision.delivery {
        conn.move_delivery(c.delivery, next, at).await?;
    }
    let paused = if e.reason.is_sender_blocked() && e.is_failure && e.kind == BounceKind::Bounce {
        pause_if_blocked(conn, c, e, policy).await?
    } else {
        None
    };
    Ok(RecordedBounce {
        effect: Some(decision.effect),
        issue: Some(c.issue),
        paused,
    })
}

/// Soft bounces counted against the subscriber on distinct issues within the window, this event's
/// included, since their last clean delivery: one that went out at least `clean_after` ago (long
/// enough for a relay to have given up on it) and came back with no bounce at all.
async fn soft_count<S: BounceStatements>(
    conn: &mut S,
    c: &DeliveryContext,
    policy: &BouncePolicy,
    now: DateTime<Utc>,
) -> Result<u32, StoreError> {
    let since = now - chrono::Duration::from_std(policy.soft_window).unwrap_or_default();
    let settled = now - chrono::Duration::from_std(policy.clean_after).unwrap_or_default();
    let last_clean = conn.last_clean_issue(c, to_millis(settled)).await?;
    if c.issue.0 < last_clean {
        // A late report about an issue older than a clean one: the count had already restarted.
        return Ok(0);
    }
    let earlier = conn
        .soft_counted_issues(c, to_millis(since), last_clean)
        .await?;
    Ok(u32::try_from(earlier).unwrap_or(u32::MAX).saturating_add(1))
}

/// Pauses the issue when sender-blocked refusals reach `block_pause_percent` of its most recent
/// `block_window` attempted deliveries (and at least `block_min` of them).
async fn pause_if_blocked<S: BounceStatements>(
    conn: &mut S,
    c: &DeliveryContext,
    e: &NewBounce,
    policy: &BouncePolicy,
) -> Result<Option<IssueId>, StoreError> {
    let issue = c.issue;
    if policy.block_pause_percent == 0 || !conn.issue_is_sending(issue).await? {
        return Ok(None);
    }
    // The most recent attempts: deliveries are claimed in id order, so those just below the first
    // still pending (else just past this event's own delivery), `block_window` ids wide.
    let frontier = match conn.first_pending(issue).await? {
        Some(id) => id,
        None => c.delivery.0 + 1,
    };
    let (attempted, blocked) = conn
        .attempts_and_blocks(issue, frontier - i64::from(policy.block_window), frontier)
        .await?;
    let share_reached = blocked * 100 >= i64::from(policy.block_pause_percent) * attempted.max(1);
    if blocked < i64::from(policy.block_min) || !share_reached {
        return Ok(None);
    }
    let last = [
        e.reply_code.map(|c| c.to_string()),
        e.status.map(|s| s.to_string()),
        e.diagnostic.clone(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    let reason = format!(
        "paused automatically: {blocked} of the last {attempted} deliveries were refused as {} \
         (a block of the sending IP or domain, not bad addresses; last: {last}); \
         `herald issue resume {issue}` to continue",
        e.reason
    );
    let moved = conn.pause_issue(issue, &reason).await?;
    Ok(moved.then_some(issue))
}
