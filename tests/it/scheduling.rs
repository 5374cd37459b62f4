//! The scheduler with a moved clock: `--at`, cron slots in a list's time zone, and start times that
//! passed while herald was down (catch up or hold).

use chrono::{DateTime, Utc};
use herald::{
    clock::ManualClock,
    config::{Config, MissedSlots},
    domain::{CronSchedule, IssueId, IssueState, ListSlug, Mailbox},
    queue::queue_issue,
    scheduler::Scheduler,
    store::{NewList, SlotClaim, Store, StoreError},
};
use std::sync::Arc;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

struct Harness {
    _dir: tempfile::TempDir,
    /// The test's database, dropped with the harness.
    _database: crate::database::TestDb,
    store: Store,
    clock: ManualClock,
    config: Config,
    issue_file: std::path::PathBuf,
}

impl Harness {
    async fn new(start: &str, missed: MissedSlots) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database = crate::database::fresh(dir.path());
        let url = herald::store::DatabaseUrl::parse(&database).unwrap();
        let store = Store::open(&url).await.unwrap();
        let mut config = Config::default();
        config.render.templates_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates").into();
        config.scheduler.missed = missed;
        config.scheduler.grace = std::time::Duration::from_secs(300);
        let issue_file = dir.path().join("issue.md");
        std::fs::write(&issue_file, crate::helpers::ISSUE_MD).unwrap();
        Self {
            _dir: dir,
            _database: database,
            store,
            clock: ManualClock::new(t(start)),
            config,
            issue_file,
        }
    }

    async fn list(&self, slug: &str, schedule: Option<(&str, &str)>) {
        let new = NewList {
            slug: ListSlug::parse(slug).unwrap(),
            name: slug.into(),
            from: Mailbox::parse("news@example.com").unwrap(),
            reply_to: None,
            schedule: schedule.map(|(p, z)| CronSchedule::parse(p, z).unwrap()),
            layout: "default".into(),
            language: Default::default(),
            postal_address: None,
            archive: false,
            signup: false,
            thanks_url: None,
        };
        self.store.create_list(&new, self.now()).await.unwrap();
    }

    fn now(&self) -> DateTime<Utc> {
        use herald::clock::Clock;
        self.clock.now()
    }

    async fn queue(&self, slug: &str, at: Option<&str>) -> IssueId {
        let slug = ListSlug::parse(slug).unwrap();
        queue_issue(
            &self.store,
            &self.config,
            &slug,
            &self.issue_file,
            None,
            at.map(t),
            self.now(),
        )
        .await
        .unwrap()
        .id
    }

    fn scheduler(&self) -> Scheduler {
        Scheduler::new(
            self.store.clone(),
            Arc::new(self.clock.clone()),
            self.config.scheduler.clone(),
        )
    }

    async fn state(&self, id: IssueId) -> IssueState {
        self.store.issue(id).await.unwrap().state
    }

    /// Moves the clock to `to` and ticks once; returns the issues started.
    async fn tick_at(&self, to: &str) -> Vec<IssueId> {
        self.clock.set(t(to));
        self.scheduler()
            .tick()
            .await
            .unwrap()
            .started
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    }
}

#[tokio::test]
async fn an_issue_queued_with_at_starts_when_the_clock_reaches_it_not_before() {
    let h = Harness::new("2026-12-01T08:00:00Z", MissedSlots::CatchUp).await;
    h.list("weekly", None).await;
    let id = h.queue("weekly", Some("2026-12-01T09:00:00+01:00")).await;

    assert!(h.tick_at("2026-12-01T07:59:59Z").await.is_empty());
    assert_eq!(h.state(id).await, IssueState::Queued);
    assert_eq!(h.tick_at("2026-12-01T08:00:00Z").await, vec![id]);
    assert_eq!(h.state(id).await, IssueState::Sending);
}

#[tokio::test]
async fn an_issue_without_at_on_an_unscheduled_list_starts_at_once() {
    let h = Harness::new("2026-12-01T08:00:00Z", MissedSlots::CatchUp).await;
    h.list("weekly", None).await;
    let id = h.queue("weekly", None).await;
    assert_eq!(h.tick_at("2026-12-01T08:00:00Z").await, vec![id]);
}

#[tokio::test]
async fn a_cron_list_starts_the_oldest_queued_issue_at_each_slot_in_its_time_zone() {
    // 09:00 Paris on Mondays: 08:00 UTC in winter. 2026-11-30 and 2026-12-07 are Mondays.
    let h = Harness::new("2026-11-26T12:00:00Z", MissedSlots::CatchUp).await;
    h.list("weekly", Some(("0 9 * * MON", "Europe/Paris")))
        .await;
    let first = h.queue("weekly", None).await;
    let second = h.queue("weekly", None).await;

    assert!(
        h.tick_at("2026-11-30T07:59:00Z").await.is_empty(),
        "not before the slot"
    );
    assert_eq!(
        h.tick_at("2026-11-30T08:00:00Z").await,
        vec![first],
        "one issue per slot, oldest first"
    );
    assert!(
        h.tick_at("2026-11-30T08:00:30Z").await.is_empty(),
        "a slot fires once"
    );
    assert_eq!(h.state(second).await, IssueState::Queued);
    assert_eq!(h.tick_at("2026-12-07T08:00:01Z").await, vec![second]);
}

#[tokio::test]
async fn slots_missed_while_down_fire_once_on_restart_under_catch_up() {
    let h = Harness::new("2026-11-26T12:00:00Z", MissedSlots::CatchUp).await;
    h.list("daily", Some(("0 9 * * *", "UTC"))).await;
    let first = h.queue("daily", None).await;
    let second = h.queue("daily", None).await;

    // Down from Thursday to Sunday: three slots missed.
    assert_eq!(
        h.tick_at("2026-11-29T12:00:00Z").await,
        vec![first],
        "the missed slots count once"
    );
    assert_eq!(h.state(second).await, IssueState::Queued);
    assert_eq!(h.tick_at("2026-11-30T09:00:00Z").await, vec![second]);
}

#[tokio::test]
async fn under_hold_a_missed_slot_is_skipped_and_a_missed_at_time_pauses_with_the_reason() {
    let h = Harness::new("2026-11-26T12:00:00Z", MissedSlots::Hold).await;
    h.list("daily", Some(("0 9 * * *", "UTC"))).await;
    h.list("weekly", None).await;
    let slotted = h.queue("daily", None).await;
    let timed = h.queue("weekly", Some("2026-11-27T10:00:00Z")).await;

    // Back at 11:00 on the 27th: the 09:00 slot is two hours late, the --at time one hour.
    assert!(h.tick_at("2026-11-27T11:00:00Z").await.is_empty());
    assert_eq!(
        h.state(slotted).await,
        IssueState::Queued,
        "waits for the next slot"
    );
    assert_eq!(h.state(timed).await, IssueState::Paused);
    let reason = h.store.issue(timed).await.unwrap().state_reason.unwrap();
    assert!(reason.contains("missed its start time"), "{reason}");

    // Within the grace period a slot still fires.
    assert_eq!(h.tick_at("2026-11-28T09:04:00Z").await, vec![slotted]);
    // Resuming the held issue sends it now.
    h.store.resume_issue(timed, h.now()).await.unwrap();
    assert_eq!(h.tick_at("2026-11-28T09:04:01Z").await, vec![timed]);
}

#[tokio::test]
async fn a_late_start_within_grace_is_not_held() {
    let h = Harness::new("2026-11-26T12:00:00Z", MissedSlots::Hold).await;
    h.list("weekly", None).await;
    let id = h.queue("weekly", Some("2026-11-26T12:10:00Z")).await;
    assert_eq!(h.tick_at("2026-11-26T12:14:00Z").await, vec![id]);
}

#[tokio::test]
async fn under_hold_a_start_that_falls_due_while_herald_runs_is_never_held() {
    let h = Harness::new("2026-11-26T12:00:00Z", MissedSlots::Hold).await;
    h.list("weekly", None).await;
    let id = h.queue("weekly", Some("2026-11-26T12:10:00Z")).await;
    let running = h.scheduler();

    // A long round kept the daemon busy past the grace period: the issue is late, not missed.
    h.clock.set(t("2026-11-26T12:30:00Z"));
    let started: Vec<IssueId> = running
        .tick()
        .await
        .unwrap()
        .started
        .into_iter()
        .map(|(id, _)| id)
        .collect();

    assert_eq!(started, vec![id]);
}

#[test]
fn a_long_hand_out_of_one_issue_does_not_delay_another_lists_start() {
    use crate::helpers::*;
    use std::time::Duration;
    let sink = SmtpSink::start(&[]);
    let app = TestApp::new(
        Smtp::Port(sink.port),
        &[("sending.batch_size", "500"), ("smtp.connections", "1")],
    );
    app.list_with_subscribers(300);
    app.ok(&[
        "list",
        "create",
        "daily",
        "--name",
        "Daily",
        "--from",
        "daily@example.com",
    ]);
    app.ok(&["subscriber", "add", "daily", "one@example.com"]);
    let long = app.queue_issue(&[]);
    let mut server = app.spawn_serve_paced(20);
    app.wait_for_issue(long, Duration::from_secs(20), |i| count(i, "sent") >= 5);

    let at = (chrono::Utc::now() + chrono::Duration::seconds(1)).to_rfc3339();
    let file = app.write("daily.md", ISSUE_MD);
    let queued = app.json(&[
        "issue",
        "queue",
        "daily",
        file.to_str().unwrap(),
        "--at",
        &at,
    ]);
    let short = queued["id"].as_i64().unwrap();
    let started = app.wait_for_issue(short, Duration::from_secs(8), |i| i["state"] != "queued");

    assert_eq!(started["state"], "sending", "started on time: {started}");
    assert_eq!(
        app.issue(long)["state"],
        "sending",
        "while the long hand-out was still going"
    );
    sigterm(&server);
    assert!(wait_exit(&mut server, Duration::from_secs(30)).success());
}

/// Two schedulers (two daemons on one PostgreSQL queue, say) that read the same slot: the start
/// takes the slot in its own transaction, so only one issue starts in it.
#[tokio::test]
async fn a_cron_slot_is_taken_once_even_when_two_schedulers_claim_it_together() {
    let h = Harness::new("2026-03-02T08:00:00Z", MissedSlots::CatchUp).await;
    h.list("weekly", Some(("0 9 * * 1", "UTC"))).await;
    let first = h.queue("weekly", None).await;
    let second = h.queue("weekly", None).await;
    let list = h
        .store
        .list(&ListSlug::parse("weekly").unwrap())
        .await
        .unwrap();
    let slot = t("2026-03-02T09:00:00Z");
    let claim = SlotClaim {
        list: list.id,
        previous: list.last_slot_at,
        slot,
    };
    let (a, b) = tokio::join!(
        h.store.start_issue(first, slot, Some(claim)),
        h.store.start_issue(second, slot, Some(claim))
    );
    let started: Vec<_> = [(first, &a), (second, &b)]
        .into_iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(id, _)| id)
        .collect();
    assert_eq!(started.len(), 1, "{a:?} {b:?}");
    assert!(
        matches!(
            (&a, &b),
            (Err(StoreError::Conflict(_)), _) | (_, Err(StoreError::Conflict(_)))
        ),
        "{a:?} {b:?}"
    );
    let queued = if started[0] == first { second } else { first };
    assert_eq!(h.state(queued).await, IssueState::Queued);
    let list = h
        .store
        .list(&ListSlug::parse("weekly").unwrap())
        .await
        .unwrap();
    assert_eq!(list.last_slot_at, Some(slot));
}
