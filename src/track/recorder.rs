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
//! On SQLite the recorder runs on a blocking thread with a connection of its own
//! ([`crate::store::OutcomeWriter`]): a commit there costs one wake-up each way, where the pool's
//! worker thread costs two per statement. On PostgreSQL a commit is a round trip to the server: the
//! recorder is a task, and up to four group commits are under way at once.

use super::Breaker;
use crate::{
    clock::SharedClock,
    domain::BouncePolicy,
    store::{Outcome, OutcomeWriter, Refund, Store},
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
    /// Asks the recorder to commit what is parked.
    commit: mpsc::Sender<()>,
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
    /// Starts the recorder on `tracker` (call it inside the runtime): on a blocking thread of its own
    /// where a commit is a call (SQLite), as a task where it is a round trip to a server
    /// (PostgreSQL). It ends once every `Recorder` handle is dropped, after committing what is still
    /// parked, so nothing handed to it is lost at shutdown.
    pub fn spawn(
        store: Store,
        clock: SharedClock,
        policy: BouncePolicy,
        breaker_run: usize,
        tracker: &tokio_util::task::TaskTracker,
    ) -> Self {
        let (commit, requests) = mpsc::channel::<()>(MAX_GROUP);
        let parked: Arc<Mutex<Vec<Request>>> = Arc::default();
        let runtime = tokio::runtime::Handle::current();
        let queue = Queue {
            parked: parked.clone(),
            requests,
            breaker: Breaker::new(breaker_run),
        };
        match store.outcome_writer(runtime).transpose() {
            None => {
                tracker.spawn(commit_concurrently(store, clock, policy, queue));
            }
            Some(writer) => {
                tracker.spawn_blocking(move || commit_serially(writer, clock, policy, queue));
            }
        }
        Self { parked, commit }
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
        match parked.0.try_recv() {
            Ok(done) => return done,
            Err(oneshot::error::TryRecvError::Closed) => return Err(stopped()),
            Err(oneshot::error::TryRecvError::Empty) => {}
        }
        self.commit.send(()).await.map_err(|_| stopped())?;
        (&mut parked.0).await.map_err(|_| stopped())?
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
    /// The next group of parked outcomes (up to [`MAX_GROUP`], in the order parked) with the runs
    /// it trips the circuit breaker on; `None` once nothing is parked.
    fn next_group(&mut self) -> Option<Group> {
        let group: Vec<Request> = {
            let mut queue = self.parked.lock().expect("recorder queue");
            let n = queue.len().min(MAX_GROUP);
            queue.drain(..n).collect()
        };
        if group.is_empty() {
            return None;
        }
        let (outcomes, replies): (Vec<_>, Vec<_>) = group.into_iter().unzip();
        let refunds = refunds_for(&mut self.breaker, &outcomes);
        Some(Group {
            outcomes,
            refunds,
            replies,
        })
    }
}

/// Outcomes committed together, the runs they refund, and who waits for them.
struct Group {
    outcomes: Vec<Outcome>,
    refunds: Vec<Refund>,
    replies: Vec<oneshot::Sender<Done>>,
}

/// The recorder where a commit is a call on its own connection (SQLite, one writer): groups one
/// after the other, on this thread.
fn commit_serially(
    mut writer: Result<OutcomeWriter, crate::store::StoreError>,
    clock: SharedClock,
    policy: BouncePolicy,
    mut queue: Queue,
) {
    let mut writer = writer.as_mut().map_err(|e| {
        tracing::error!(error = %e, "cannot open the recorder's database connection");
        RecorderError(format!("cannot open the recorder's connection: {e}"))
    });
    let mut signals = Vec::with_capacity(MAX_GROUP);
    loop {
        let open = queue.requests.blocking_recv_many(&mut signals, MAX_GROUP) > 0;
        signals.clear();
        while let Some(Group {
            outcomes,
            refunds,
            replies,
        }) = queue.next_group()
        {
            let result = match &mut writer {
                Ok(writer) => {
                    let began = std::time::Instant::now();
                    let result = writer.record(&outcomes, &refunds, &policy, clock.now());
                    recorded(result, outcomes.len(), began)
                }
                Err(e) => Err(e.clone()),
            };
            if let Err(e) = &result {
                // Nothing more is written once a commit failed: sending stops.
                writer = Err(e.clone());
            }
            for reply in replies {
                let _ = reply.send(result.clone());
            }
        }
        if !open {
            break;
        }
    }
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
