//! The recorder: commits delivery outcomes to the store in groups.
//!
//! A sending connection parks each outcome with the recorder and goes on; before it sends the body of
//! its next message it waits until that outcome is committed ([`Recorder::settle`]). That rule is
//! what makes a crash safe: at any instant, each connection has at most one message the server may
//! have accepted whose fate is not yet in SQLite. Outcomes are committed when a connection needs
//! one committed (or goes idle), and then every parked outcome goes in the same transaction: with
//! several connections a group commit usually covers the others' outcomes too, so most of them
//! never wait and never wake the recorder. Meanwhile the connection's next envelope (MAIL, RCPT,
//! DATA) is already out, so the commit costs no round trip.
//!
//! On SQLite a commit is a short call on a connection of its own ([`crate::store::OutcomeWriter`]),
//! made by the connection that needs it, on its own thread: whoever takes the committer commits
//! every parked group, in the order parked, and the others waiting meanwhile find theirs done or
//! take the next turn. (A recorder thread cost two thread hand-offs per commit, which were most of
//! a message's CPU time at four connections.) A group that needs the pool (bounce events, a
//! refunded run) or that would wait for another writer's lock is committed by a task of its own,
//! so no runtime thread waits on the database. On PostgreSQL a commit is a round trip to the server:
//! the recorder is a task, and up to four group commits are under way at once.

use super::Breaker;
use crate::{
    clock::SharedClock,
    domain::BouncePolicy,
    store::{Outcome, OutcomeWriter, PlainCommit, Refund, Store},
};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot record delivery outcomes: {0}")]
pub struct RecorderError(String);

type Done = Result<(), RecorderError>;
type Request = (Outcome, oneshot::Sender<Done>);

#[derive(Debug, Clone)]
pub struct Recorder {
    /// Outcomes waiting for the next group commit, in the order they were parked.
    parked: Arc<Mutex<Vec<Request>>>,
    /// Asks the recorder's task to commit what is parked (PostgreSQL); on either backend, its
    /// closing (every handle dropped) has the task commit what is left and end.
    commit: mpsc::Sender<()>,
    /// SQLite: the committer a settling connection takes to commit the parked groups itself.
    inline: Option<Arc<Inline>>,
}

/// SQLite's committer and the signal that a turn at it ended.
struct Inline {
    committer: Arc<tokio::sync::Mutex<Committer>>,
    /// Told at the end of each turn: connections waiting for the committer look again.
    turn_ended: tokio::sync::Notify,
}

impl std::fmt::Debug for Inline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Inline")
    }
}

/// What commits on SQLite: its writer, and the circuit breaker that sees every group in order.
struct Committer {
    /// Nothing more is written once a commit failed: sending stops.
    writer: Result<OutcomeWriter, RecorderError>,
    breaker: Breaker,
    store: Store,
    clock: SharedClock,
    policy: BouncePolicy,
}

/// What a turn made of a group on the writer: done (committed or failed), or left for the pool or
/// for a wait for the write lock (see [`PlainCommit`]).
enum Commit {
    Done(Done),
    NeedsPool,
    Busy,
}

impl Committer {
    /// Commits `group` on the writer if it only changes states, waiting for the write lock only if
    /// `wait`. A bug (a panic) in the writer is a failure like any other (which [`Turn::answer`]
    /// makes stop every later commit); after a failure nothing more is written.
    fn commit(&mut self, group: &Group, now: chrono::DateTime<chrono::Utc>, wait: bool) -> Commit {
        let writer = match &mut self.writer {
            Ok(writer) => writer,
            Err(e) => return Commit::Done(Err(e.clone())),
        };
        let began = std::time::Instant::now();
        let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            writer.record_plain(&group.outcomes, &group.refunds, now, wait)
        }));
        match attempt {
            Ok(PlainCommit::Done(result)) => Commit::Done(recorded(
                result.map(|()| vec![]),
                group.outcomes.len(),
                began,
            )),
            Ok(PlainCommit::NeedsPool) => Commit::NeedsPool,
            Ok(PlainCommit::Busy) => Commit::Busy,
            Err(_) => {
                tracing::error!(
                    count = group.outcomes.len(),
                    "recording outcomes failed: the writer panicked"
                );
                Commit::Done(Err(RecorderError(
                    "the outcome writer panicked (a bug)".into(),
                )))
            }
        }
    }
}

/// A turn at the committer; when it ends, however it ends (a settle dropped while its task goes on),
/// the committer is free again and whoever waits for it is told.
struct Turn {
    committer: Option<tokio::sync::OwnedMutexGuard<Committer>>,
    inline: Arc<Inline>,
    parked: Arc<Mutex<Vec<Request>>>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        drop(self.committer.take());
        self.inline.turn_ended.notify_waiters();
    }
}

impl Turn {
    fn committer(&mut self) -> &mut Committer {
        self.committer.as_mut().expect("a turn holds the committer")
    }

    fn next_group(&mut self) -> Option<Group> {
        let committer = self.committer.as_mut().expect("a turn holds the committer");
        next_group(&self.parked, &mut committer.breaker)
    }

    /// Commits the next parked group (`all`: every one, until none is parked), on this thread. A
    /// group that needs the pool or that would wait for the write lock goes on in a task of its own
    /// (so a settle dropped meanwhile loses nothing); this returns once that task is done.
    async fn commit_parked(mut self, all: bool) {
        while let Some(group) = self.next_group() {
            let now = self.committer().clock.now();
            match self.committer().commit(&group, now, false) {
                Commit::Done(result) => self.answer(group, result),
                elsewhere => {
                    let _ = tokio::spawn(self.commit_patiently(group, elsewhere, all)).await;
                    return;
                }
            }
            if !all {
                return;
            }
        }
    }

    /// Commits `group`, which `first` says needs the pool or a wait for the write lock (the wait
    /// off the runtime's threads); `all`: then every group parked after it.
    async fn commit_patiently(mut self, mut group: Group, first: Commit, all: bool) {
        let mut commit = first;
        loop {
            let now = self.committer().clock.now();
            if let Commit::Busy = commit {
                let mut guard = self.committer.take().expect("a turn holds the committer");
                let waited = tokio::task::spawn_blocking(move || {
                    let commit = guard.commit(&group, now, true);
                    (guard, group, commit)
                })
                .await;
                // Only a runtime shutting down gets here: the group's waiters see the recorder
                // stopped.
                let Ok((guard, waited_for, done)) = waited else {
                    return;
                };
                self.committer = Some(guard);
                (group, commit) = (waited_for, done);
            }
            let result = match commit {
                Commit::Done(result) => result,
                // (A commit that may wait is never `Busy`; the pool would commit it all the same.)
                Commit::NeedsPool | Commit::Busy => {
                    let committer = self.committer();
                    let (store, policy) = (committer.store.clone(), committer.policy.clone());
                    let began = std::time::Instant::now();
                    let result = store
                        .record_outcomes(&group.outcomes, &group.refunds, &policy, now)
                        .await;
                    recorded(result, group.outcomes.len(), began)
                }
            };
            self.answer(group, result);
            if !all {
                return;
            }
            let Some(next) = self.next_group() else {
                return;
            };
            let now = self.committer().clock.now();
            commit = self.committer().commit(&next, now, false);
            group = next;
        }
    }

    /// Tells `group`'s waiters how its commit went; a failure stops every later commit.
    fn answer(&mut self, group: Group, result: Done) {
        if let Err(e) = &result {
            self.committer().writer = Err(e.clone());
        }
        for reply in group.replies {
            let _ = reply.send(result.clone());
        }
    }
}

/// An outcome parked with the recorder, not yet known to be committed.
#[derive(Debug)]
pub struct Parked(oneshot::Receiver<Done>);

/// At most this many outcomes go into one transaction.
const MAX_GROUP: usize = 1024;

/// Group commits under way at once where a commit is a round trip to a database server
/// (PostgreSQL): each connection waits only for its own outcome's commit, not for the queue of
/// commits before it. (SQLite has one writer: its commits run one after the other.)
const CONCURRENT_COMMITS: u32 = 4;

impl Recorder {
    /// Starts the recorder on `tracker` (call it inside the runtime): commits made by the settling
    /// connections where a commit is a call (SQLite), a task where it is a round trip to a server
    /// (PostgreSQL). It ends once every `Recorder` handle is dropped, after committing what is still
    /// parked, so nothing handed to it is lost at shutdown.
    pub fn spawn(
        store: Store,
        clock: SharedClock,
        policy: BouncePolicy,
        breaker_run: usize,
        tracker: &tokio_util::task::TaskTracker,
    ) -> Self {
        let (commit, mut requests) = mpsc::channel::<()>(MAX_GROUP);
        let parked: Arc<Mutex<Vec<Request>>> = Arc::default();
        let breaker = Breaker::new(breaker_run);
        let Some(writer) = store.outcome_writer().transpose() else {
            let queue = Queue {
                parked: parked.clone(),
                requests,
                breaker,
            };
            tracker.spawn(commit_concurrently(store, clock, policy, queue));
            return Self {
                parked,
                commit,
                inline: None,
            };
        };
        let writer = writer.map_err(|e| {
            tracing::error!(error = %e, "cannot open the recorder's database connection");
            RecorderError(format!("cannot open the recorder's connection: {e}"))
        });
        let inline = Arc::new(Inline {
            committer: Arc::new(tokio::sync::Mutex::new(Committer {
                writer,
                breaker,
                store,
                clock,
                policy,
            })),
            turn_ended: tokio::sync::Notify::new(),
        });
        // What is still parked once the last handle is gone is committed before the recorder ends.
        tracker.spawn({
            let (inline, parked) = (inline.clone(), parked.clone());
            async move {
                while requests.recv().await.is_some() {}
                let committer = inline.committer.clone().lock_owned().await;
                Turn {
                    committer: Some(committer),
                    inline,
                    parked,
                }
                .commit_parked(true)
                .await;
            }
        });
        Self {
            parked,
            commit,
            inline: Some(inline),
        }
    }

    /// Parks `outcome` for the next group commit, without asking for one.
    pub fn park(&self, outcome: Outcome) -> Parked {
        let (reply, done) = oneshot::channel();
        self.parked
            .lock()
            .expect("recorder queue")
            .push((outcome, reply));
        Parked(done)
    }

    /// Returns once `parked` is committed (and with it every outcome parked before it), asking for a
    /// commit unless one already took it.
    /// Cancel-safe: a settle dropped while it waits can be started again with the same `parked`.
    pub async fn settle(&self, parked: &mut Parked) -> Result<(), RecorderError> {
        let stopped = || RecorderError("the recorder has stopped".into());
        loop {
            match parked.0.try_recv() {
                Ok(done) => return done,
                Err(oneshot::error::TryRecvError::Closed) => return Err(stopped()),
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
            let Some(inline) = &self.inline else {
                self.commit.send(()).await.map_err(|_| stopped())?;
                return (&mut parked.0).await.map_err(|_| stopped())?;
            };
            // Listening before looking, so that a turn ending in between is not missed.
            let turn_ended = inline.turn_ended.notified();
            tokio::pin!(turn_ended);
            turn_ended.as_mut().enable();
            match inline.committer.clone().try_lock_owned() {
                Ok(committer) => {
                    // The next group holds this outcome (it was parked before), unless an earlier
                    // turn's group was full: then the loop comes back for another turn.
                    Turn {
                        committer: Some(committer),
                        inline: inline.clone(),
                        parked: self.parked.clone(),
                    }
                    .commit_parked(false)
                    .await;
                }
                // Another connection's turn: it may commit this outcome too; if not, the next
                // turn is this one's.
                Err(_) => tokio::select! {
                    () = turn_ended => {}
                    done = &mut parked.0 => return done.map_err(|_| stopped())?,
                },
            }
        }
    }
}

/// What the recorder's loop takes its groups from.
struct Queue {
    parked: Arc<Mutex<Vec<Request>>>,
    /// Asks for a commit; closed once every `Recorder` handle is dropped.
    requests: mpsc::Receiver<()>,
    breaker: Breaker,
}

impl Queue {
    fn next_group(&mut self) -> Option<Group> {
        next_group(&self.parked, &mut self.breaker)
    }
}

/// The next group of parked outcomes (up to [`MAX_GROUP`], in the order parked) with the runs it
/// trips the circuit breaker on; `None` once nothing is parked.
fn next_group(parked: &Mutex<Vec<Request>>, breaker: &mut Breaker) -> Option<Group> {
    let group: Vec<Request> = {
        let mut queue = parked.lock().expect("recorder queue");
        let n = queue.len().min(MAX_GROUP);
        queue.drain(..n).collect()
    };
    if group.is_empty() {
        return None;
    }
    let (outcomes, replies): (Vec<_>, Vec<_>) = group.into_iter().unzip();
    let refunds = refunds_for(breaker, &outcomes);
    Some(Group {
        outcomes,
        refunds,
        replies,
    })
}

/// Outcomes committed together, the runs they refund, and who waits for them.
struct Group {
    outcomes: Vec<Outcome>,
    refunds: Vec<Refund>,
    replies: Vec<oneshot::Sender<Done>>,
}

/// The recorder where a commit is a round trip to a server (PostgreSQL): up to
/// [`CONCURRENT_COMMITS`] groups under way at once, each a task, so that no connection waits for the
/// queue of commits before its own. Their waiters are answered in group order all the same: each
/// group answers only after the one before it did (`previous`), and with that group's failure if it
/// failed, so a settled outcome always means every outcome parked before it is committed. A group
/// that refunds a run waits for every earlier one (it must see their rows).
async fn commit_concurrently(
    store: Store,
    clock: SharedClock,
    policy: BouncePolicy,
    mut queue: Queue,
) {
    let in_flight = Arc::new(tokio::sync::Semaphore::new(CONCURRENT_COMMITS as usize));
    // Every commit under way has ended (and answered).
    let drain = || async {
        drop(in_flight.acquire_many(CONCURRENT_COMMITS).await);
    };
    let failed: Arc<Mutex<Option<RecorderError>>> = Arc::default();
    let mut previous: Option<oneshot::Receiver<Done>> = None;
    let mut signals = Vec::with_capacity(MAX_GROUP);
    loop {
        let open = queue.requests.recv_many(&mut signals, MAX_GROUP).await > 0;
        signals.clear();
        loop {
            // A free commit first, then the group: what is parked while every commit is under way
            // goes into the one that starts when the first of them ends.
            let permit = in_flight
                .clone()
                .acquire_owned()
                .await
                .expect("recorder permits");
            let Some(Group {
                outcomes,
                refunds,
                replies,
            }) = queue.next_group()
            else {
                break;
            };
            if refunds.is_empty() && failed.lock().expect("recorder failure").is_none() {
                let (store, policy, clock, failed) =
                    (store.clone(), policy.clone(), clock.clone(), failed.clone());
                let before = previous.take();
                let (done, this) = oneshot::channel::<Done>();
                previous = Some(this);
                tokio::spawn(async move {
                    let began = std::time::Instant::now();
                    let result = store
                        .record_outcomes(&outcomes, &[], &policy, clock.now())
                        .await;
                    let mut result = recorded(result, outcomes.len(), began);
                    if let Err(e) = &result {
                        *failed.lock().expect("recorder failure") = Some(e.clone());
                    }
                    if let Some(before) = before {
                        let earlier = before.await.unwrap_or_else(|_| {
                            Err(RecorderError("an earlier group commit was lost".into()))
                        });
                        if let (Err(e), Ok(())) = (earlier, &result) {
                            result = Err(e);
                        }
                    }
                    for reply in replies {
                        let _ = reply.send(result.clone());
                    }
                    let _ = done.send(result);
                    drop(permit);
                });
                continue;
            }
            // Every commit under way first (and its failure seen).
            drop(permit);
            drain().await;
            previous = None;
            let earlier = failed.lock().expect("recorder failure").clone();
            let result = match earlier {
                // Nothing more is written once a commit failed: sending stops.
                Some(e) => Err(e),
                None => {
                    let began = std::time::Instant::now();
                    let result = store
                        .record_outcomes(&outcomes, &refunds, &policy, clock.now())
                        .await;
                    recorded(result, outcomes.len(), began)
                }
            };
            if let Err(e) = &result {
                *failed.lock().expect("recorder failure") = Some(e.clone());
            }
            for reply in replies {
                let _ = reply.send(result.clone());
            }
        }
        if !open {
            break;
        }
    }
    // Every commit under way ends before the recorder does.
    drain().await;
}

/// The runs the circuit breaker blames on the relay in this group (seen before the group is
/// committed, so a tripped run is refunded in the same transaction as the outcomes that tripped it).
fn refunds_for(breaker: &mut Breaker, outcomes: &[Outcome]) -> Vec<Refund> {
    breaker
        .observe(outcomes)
        .into_iter()
        .map(|trip| {
            tracing::warn!(issue_id = %trip.issue, deliveries = trip.deliveries.len(), reply = %crate::domain::mask_all(&trip.reply), "circuit breaker: pausing the issue, refunding the run");
            Refund {
                reason: format!(
                    "paused automatically: deliveries in a row were refused with `{}`, which is about \
                     the relay or the sender, not the readers; they are pending again. Fix the cause, \
                     then `herald issue resume {}`",
                    trip.reply, trip.issue
                ),
                issue: trip.issue,
                deliveries: trip.deliveries,
            }
        })
        .collect()
}

/// A group's commit, logged and timed.
fn recorded(
    result: Result<Vec<crate::store::RecordedBounce>, crate::store::StoreError>,
    count: usize,
    began: std::time::Instant,
) -> Result<(), RecorderError> {
    let bounces = result.map_err(|e| {
        tracing::error!(error = %e, count, "recording outcomes failed");
        RecorderError(e.to_string())
    })?;
    crate::metrics::Metrics::get()
        .db_write_seconds
        .observe(began.elapsed().as_secs_f64());
    for paused in bounces.iter().filter_map(|b| b.paused) {
        tracing::warn!(issue_id = %paused, "issue paused: too many refusals about the sender (blocked, spam, policy)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{DeliveryId, IssueId, SmtpReply};
    use crate::store::{DatabaseUrl, OutcomeKind};

    /// A database with one sending issue and `n` deliveries in `sending` (ids 1..=n).
    async fn sending(n: i64) -> (tempfile::TempDir, Store, rusqlite::Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("herald.db");
        let store = Store::open(&DatabaseUrl::Sqlite(path.clone()))
            .await
            .unwrap();
        let db = rusqlite::Connection::open(&path).unwrap();
        db.execute_batch(
            "INSERT INTO lists (id, slug, name, from_address, created_at)
                 VALUES (1, 'weekly', 'Weekly', 'news@example.com', 0);
             INSERT INTO issues (id, list_id, subject, source_path, html_template, text_template, state, queued_at)
                 VALUES (1, 1, 'Subject', 'issue.md', '', '', 'sending', 0);",
        )
        .unwrap();
        for i in 1..=n {
            db.execute(
                "INSERT INTO subscribers (id, list_id, email, created_at, updated_at) VALUES (?1, 1, ?2, 0, 0)",
                rusqlite::params![i, format!("reader{i}@example.com")],
            )
            .unwrap();
            db.execute(
                "INSERT INTO deliveries (id, issue_id, subscriber_id, state) VALUES (?1, 1, ?1, 'sending')",
                [i],
            )
            .unwrap();
        }
        (dir, store, db)
    }

    fn sent(delivery: i64) -> Outcome {
        Outcome {
            delivery: DeliveryId(delivery),
            issue: IssueId(1),
            kind: OutcomeKind::Sent {
                reply: SmtpReply::new(250, &["2.0.0 queued"]),
            },
        }
    }

    fn state(db: &rusqlite::Connection, delivery: i64) -> String {
        db.query_row(
            "SELECT state FROM deliveries WHERE id = ?1",
            [delivery],
            |r| r.get(0),
        )
        .unwrap()
    }

    fn recorder(store: &Store, tracker: &tokio_util::task::TaskTracker) -> Recorder {
        Recorder::spawn(
            store.clone(),
            Arc::new(crate::clock::SystemClock),
            BouncePolicy::default(),
            100,
            tracker,
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_outcome_settled_by_any_of_many_connections_is_committed_when_settle_returns() {
        let (dir, store, _) = sending(400).await;
        let path = dir.path().join("herald.db");
        let tracker = tokio_util::task::TaskTracker::new();
        let recorder = recorder(&store, &tracker);
        let connections: Vec<_> = (0..8)
            .map(|c| {
                let (recorder, path) = (recorder.clone(), path.clone());
                tokio::spawn(async move {
                    // A reader of the file of its own: what a crash would leave.
                    let db = rusqlite::Connection::open(path).unwrap();
                    for delivery in (1..=400).filter(|d| d % 8 == c) {
                        let mut parked = recorder.park(sent(delivery));
                        recorder.settle(&mut parked).await.unwrap();
                        assert_eq!(state(&db, delivery), "sent", "delivery {delivery}");
                    }
                })
            })
            .collect();
        for connection in connections {
            connection.await.unwrap();
        }
        drop(recorder);
        tracker.close();
        tracker.wait().await;
    }

    #[tokio::test]
    async fn a_refunded_run_gives_back_the_attempt_of_a_delivery_claimed_again_meanwhile() {
        let (_dir, store, db) = sending(2).await;
        let policy = BouncePolicy::default();
        let deferred = |delivery| Outcome {
            delivery: DeliveryId(delivery),
            issue: IssueId(1),
            kind: OutcomeKind::Deferred {
                error: crate::domain::AttemptError::Reply(SmtpReply::new(
                    451,
                    &["4.3.0 relay trouble"],
                )),
                retry_at: chrono::Utc::now(),
                unconfirmed: false,
            },
        };
        let attempts = |delivery: i64| -> (String, i64) {
            db.query_row(
                "SELECT state, attempts FROM deliveries WHERE id = ?1",
                [delivery],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
        };
        let now = chrono::Utc::now();
        store
            .record_outcomes(&[deferred(1)], &[], &policy, now)
            .await
            .unwrap();
        // Due again at once: claimed again before the run trips.
        db.execute("UPDATE deliveries SET state = 'sending' WHERE id = 1", [])
            .unwrap();
        let refund = Refund {
            issue: IssueId(1),
            deliveries: vec![DeliveryId(1), DeliveryId(2)],
            reason: "paused automatically".into(),
        };
        store
            .record_outcomes(&[deferred(2)], &[refund], &policy, now)
            .await
            .unwrap();

        assert_eq!(attempts(2), ("pending".into(), 0));
        assert_eq!(
            attempts(1),
            ("sending".into(), 0),
            "its failure in the run is given back; it stays claimed"
        );
        store
            .record_outcomes(&[released(1)], &[], &policy, now)
            .await
            .unwrap();
        assert_eq!(attempts(1), ("pending".into(), 0));
    }

    fn released(delivery: i64) -> Outcome {
        Outcome {
            delivery: DeliveryId(delivery),
            issue: IssueId(1),
            kind: OutcomeKind::Released,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_commit_that_must_wait_for_another_writer_does_not_hold_up_the_runtime() {
        let (_dir, store, db) = sending(3).await;
        let tracker = tokio_util::task::TaskTracker::new();
        let recorder = recorder(&store, &tracker);
        db.execute_batch("BEGIN IMMEDIATE").unwrap();
        let ticks = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let ticker = tokio::spawn({
            let ticks = ticks.clone();
            async move {
                loop {
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    ticks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            }
        });
        let settling = tokio::spawn({
            let recorder = recorder.clone();
            async move {
                let mut parked = recorder.park(sent(2));
                recorder.settle(&mut parked).await
            }
        });
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(!settling.is_finished(), "the write lock is held elsewhere");
        assert!(
            ticks.load(std::sync::atomic::Ordering::SeqCst) >= 20,
            "the runtime's one thread kept running meanwhile"
        );
        db.execute_batch("COMMIT").unwrap();
        settling.await.unwrap().unwrap();
        assert_eq!(state(&db, 2), "sent");
        assert_eq!(state(&db, 1), "sending");
        ticker.abort();
        drop(recorder);
        tracker.close();
        tracker.wait().await;
    }
}
