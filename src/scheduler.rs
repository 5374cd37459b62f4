//! The scheduler: decides when a queued issue starts sending, reading time from the clock it is given.
//!
//! - An issue queued with `--at T` starts at T.
//! - An issue queued without `--at` on a list with a cron schedule waits for the list's next slot; at
//!   each slot the oldest such issue of the list starts (one per slot). A slot with nothing queued
//!   passes unused.
//! - An issue with neither starts at once.
//!
//! Slots are read in the list's time zone (see [`crate::domain::CronSchedule`]); `--at` is an absolute
//! RFC 3339 instant. When herald was down at a start time, `scheduler.missed` decides: `catch_up` (the
//! default) starts the issue on the first tick after restart, and several missed slots of one list count
//! as one; `hold` starts it only if it is less than `scheduler.grace_seconds` late, otherwise an `--at`
//! issue is paused with the reason (resume sends it) and a missed slot is skipped, its issue waiting for
//! the next slot. Only start times before the daemon started count as missed; one that comes while it
//! runs is always honoured, however late a busy round makes it.

use crate::{
    clock::SharedClock,
    config::{MissedSlots, SchedulerConfig},
    domain::{IssueId, IssueState, ListId},
    store::{Issue, Leadership, SlotClaim, Store, StoreError},
};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

pub struct Scheduler {
    store: Store,
    clock: SharedClock,
    config: SchedulerConfig,
    /// When this daemon started: only start times before it were missed "while herald was down". A
    /// start that is late because the daemon was busy is never held.
    up_since: DateTime<Utc>,
    /// One tick at a time: the daemon ticks on its own interval and again whenever the sender idles,
    /// and two ticks at once could start two issues in one cron slot. It holds this daemon's claim
    /// to the scheduler: with several daemons on one PostgreSQL queue only one of them schedules.
    ticking: tokio::sync::Mutex<Leadership>,
}

/// What one tick decided.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Issues started, with their number of recipients.
    pub started: Vec<(IssueId, u64)>,
    /// `--at` issues paused because they missed their time under `hold`.
    pub held: Vec<IssueId>,
}

impl Scheduler {
    pub fn new(store: Store, clock: SharedClock, config: SchedulerConfig) -> Self {
        let up_since = clock.now();
        Self {
            store,
            clock,
            config,
            up_since,
            ticking: tokio::sync::Mutex::new(Leadership::default()),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub async fn tick(&self) -> Result<TickReport, StoreError> {
        let mut leadership = self.ticking.lock().await;
        match self.store.lead_scheduler(&mut leadership).await {
            Ok(true) => {}
            Ok(false) => return Ok(TickReport::default()),
            // Tried again next tick; meanwhile another daemon may lead.
            Err(e) => {
                tracing::warn!(error = %e, "cannot tell whether this daemon runs the scheduler");
                return Ok(TickReport::default());
            }
        }
        let now = self.clock.now();
        let mut report = TickReport::default();
        let queued = self.store.issues_in_state(IssueState::Queued).await?;
        let mut waiting_for_slot: BTreeMap<ListId, Vec<&Issue>> = BTreeMap::new();
        for issue in &queued {
            match issue.send_at {
                Some(at) if at <= now => {
                    if self.holds(at, now) {
                        let reason = format!(
                            "missed its start time {} by {}s while herald was down (scheduler.missed = hold); \
                             `herald issue resume {}` sends it now",
                            at.to_rfc3339(),
                            (now - at).num_seconds(),
                            issue.id
                        );
                        self.store
                            .move_issue(issue.id, IssueState::Paused, Some(&reason), now)
                            .await?;
                        tracing::warn!(issue_id = %issue.id, %reason, "issue held");
                        report.held.push(issue.id);
                    } else {
                        self.start(issue.id, Some(at), None, &mut report).await?;
                    }
                }
                Some(_) => {}
                None => waiting_for_slot
                    .entry(issue.list_id)
                    .or_default()
                    .push(issue),
            }
        }
        for list in self.store.scheduled_lists().await? {
            let Some(schedule) = &list.schedule else {
                continue;
            };
            let after = list.last_slot_at.unwrap_or(list.created_at);
            let Some(slot) = schedule.latest_between(after, now) else {
                continue;
            };
            let next = waiting_for_slot
                .get_mut(&list.id)
                .filter(|w| !w.is_empty())
                .map(|w| w.remove(0));
            match next {
                Some(issue) if self.holds(slot, now) => {
                    tracing::warn!(issue_id = %issue.id, list = %list.slug, slot = %slot.to_rfc3339(),
                        "slot missed while herald was down (scheduler.missed = hold); waiting for the next slot");
                }
                Some(issue) => {
                    let claim = SlotClaim {
                        list: list.id,
                        previous: list.last_slot_at,
                        slot,
                    };
                    self.start(issue.id, Some(slot), Some(claim), &mut report)
                        .await?
                }
                None => {}
            }
            self.store.set_last_slot(list.id, slot).await?;
        }
        // Lists without a schedule: an issue without `--at` starts at once.
        for (list_id, issues) in waiting_for_slot {
            if self.store.list_by_id(list_id).await?.schedule.is_none() {
                for issue in issues {
                    self.start(issue.id, None, None, &mut report).await?;
                }
            }
        }
        Ok(report)
    }

    fn holds(&self, due: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        self.config.missed == MissedSlots::Hold
            && due < self.up_since
            && (now - due).to_std().unwrap_or_default() > self.config.grace
    }

    /// Starts `issue`, due at `due` (its `--at` or its list's slot; `None`: as soon as queued).
    async fn start(
        &self,
        issue: IssueId,
        due: Option<DateTime<Utc>>,
        slot: Option<SlotClaim>,
        report: &mut TickReport,
    ) -> Result<(), StoreError> {
        let began = std::time::Instant::now();
        let now = self.clock.now();
        match self.store.start_issue(issue, now, slot).await {
            Ok(recipients) => {
                if let Some(due) = due {
                    let lag = (now - due).to_std().unwrap_or_default().as_secs_f64();
                    crate::metrics::Metrics::get()
                        .scheduler_lag_seconds
                        .set(lag);
                }
                let freeze_ms = began.elapsed().as_millis() as u64;
                tracing::info!(issue_id = %issue, recipients, freeze_ms, "issue started");
                report.started.push((issue, recipients));
                Ok(())
            }
            // Paused or cancelled by an operator between our read and now, or its slot taken by
            // another daemon's scheduler.
            Err(StoreError::Conflict(why)) => {
                tracing::info!(issue_id = %issue, %why, "issue not started");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}
