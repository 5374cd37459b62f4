//! The recorder: one task that commits delivery outcomes to the store in groups.
//!
//! A sending connection hands its outcome to the recorder and waits for the commit before it starts
//! its next SMTP transaction. That wait is what makes a crash safe: at any instant, each connection
//! has at most one message whose fate is not yet in SQLite, the one in its SMTP transaction. Grouping
//! the outcomes of all connections into one transaction keeps that rule cheap.

use super::Breaker;
use crate::{
    clock::SharedClock,
    domain::BouncePolicy,
    store::{Outcome, Refund, Store},
};
use tokio::sync::{mpsc, oneshot};

#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot record delivery outcomes: {0}")]
pub struct RecorderError(String);

type Request = (Outcome, oneshot::Sender<Result<(), RecorderError>>);

#[derive(Debug, Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Request>,
}

/// At most this many outcomes go into one transaction.
const MAX_GROUP: usize = 1024;

impl Recorder {
    /// Starts the recorder on `tracker`; it ends once every `Recorder` handle is dropped and the queue
    /// is drained, so nothing handed to it is lost at shutdown.
    pub fn spawn(
        store: Store,
        clock: SharedClock,
        policy: BouncePolicy,
        breaker_run: usize,
        tracker: &tokio_util::task::TaskTracker,
    ) -> Self {
        let (tx, mut rx) = mpsc::channel::<Request>(MAX_GROUP);
        tracker.spawn(async move {
            let mut group = Vec::with_capacity(MAX_GROUP);
            let mut breaker = Breaker::new(breaker_run);
            while rx.recv_many(&mut group, MAX_GROUP).await > 0 {
                let (outcomes, replies): (Vec<_>, Vec<_>) = group.drain(..).unzip();
                // The breaker sees the group before it is committed, so a tripped run is refunded
                // in the same transaction as the outcomes that tripped it.
                let refunds: Vec<Refund> = breaker
                    .observe(&outcomes)
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
                    .collect();
                let began = std::time::Instant::now();
                let result = store
                    .record_outcomes(&outcomes, &refunds, &policy, clock.now())
                    .await
                    .inspect(|_| {
                        crate::metrics::Metrics::get()
                            .db_write_seconds
                            .observe(began.elapsed().as_secs_f64())
                    })
                    .map(|bounces| {
                        for paused in bounces.iter().filter_map(|b| b.paused) {
                            tracing::warn!(issue_id = %paused, "issue paused: too many refusals about the sender (blocked, spam, policy)");
                        }
                    })
                    .map_err(|e| {
                        tracing::error!(error = %e, count = outcomes.len(), "recording outcomes failed");
                        RecorderError(e.to_string())
                    });
                for reply in replies {
                    let _ = reply.send(result.clone());
                }
            }
        });
        Self { tx }
    }

    /// Records `outcome`, returning once it is committed.
    pub async fn record(&self, outcome: Outcome) -> Result<(), RecorderError> {
        let (reply, done) = oneshot::channel();
        self.tx
            .send((outcome, reply))
            .await
            .map_err(|_| RecorderError("the recorder has stopped".into()))?;
        done.await
            .map_err(|_| RecorderError("the recorder has stopped".into()))?
    }
}
