//! The dispatcher: claims batches of deliveries for issues in `sending`, hands them to the connection
//! workers, notices pauses and cancels, and marks issues `sent` when every delivery is final.
//!
//! # Exactly once, across crashes
//! A delivery is claimed (`pending → sending`) before it is handed out, and its outcome is committed
//! (`sending → sent | deferred | failed`) before its worker sends the body of another message (the
//! next envelope is already out, behind the last final dot: a server delivers nothing before the end
//! of the body). So when
//! the process dies at any instant, every row still in `sending` is either one the server cannot
//! have accepted, or the one message (per connection) that was last accepted. On restart
//! `Store::recover_interrupted` puts them all back to `pending`: the unattempted ones are sent once,
//! and at most `smtp.connections` recipients, one per connection whose last message was accepted
//! but not yet recorded, may receive the issue a second time. Nobody is skipped, because nothing becomes `sent` before the server
//! has answered 2xx. A pause, a cancel or a shutdown releases claimed rows back to `pending` unsent.

use super::{
    Connector, MessageTemplate, RateLimiter,
    worker::{self, Job, Shared},
};
use crate::{
    clock::SharedClock,
    config::Config,
    domain::{IssueId, IssueState},
    store::{ClaimedDelivery, Issue, Outcome, OutcomeKind, Store, StoreError},
    track::{Recorder, Tokens},
};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, RwLock, atomic::Ordering},
    time::Duration,
};
use tokio::sync::mpsc::{self, PermitIterator};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

/// How often a long dispatch re-reads its issue's state to notice a pause or cancel.
const STATE_CHECK: Duration = Duration::from_millis(200);
/// How often a hand-out waiting for busy sessions looks at the interrupt flag (and feeds the
/// watchdog, whose interval is never this short).
const INTERRUPT_CHECK: Duration = Duration::from_millis(250);

pub struct Dispatcher {
    store: Store,
    shared: Arc<Shared>,
    jobs: Option<mpsc::Sender<Job>>,
    /// How many jobs' room the hand-out waits for at a time: it wakes once per that many.
    refill: usize,
    templates: HashMap<IssueId, Arc<MessageTemplate>>,
    /// In every Message-ID: derived from the token key and the database file's canonical path, so a
    /// reset database (a new key) or a staging copy (another file) never repeats the Message-IDs of
    /// mail already sent, which Gmail would silently drop; stable for one database, so a copy sent
    /// twice after a crash carries the same Message-ID as the first.
    id_tag: String,
    signer: Option<Arc<super::dkim::Signer>>,
    /// Watchdog pings while the hand-out waits for busy sessions (see `crate::service`).
    notifier: Arc<crate::service::Notifier>,
    /// Set when the hand-out should stop early (see `interrupted_by`).
    interrupt: Arc<std::sync::atomic::AtomicBool>,
    workers: Workers,
}

/// The worker tasks, one per session, and what starting more on reload needs.
struct Workers {
    tracker: TaskTracker,
    jobs: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>,
    /// Worker tasks started so far (they park while beyond the sessions allowed).
    started: usize,
}

impl Workers {
    /// Starts workers until there are `n` (never stops any: extra ones park).
    fn grow_to(&mut self, n: usize, shared: &Arc<Shared>) {
        for index in self.started..n {
            self.tracker
                .spawn(worker::run(shared.clone(), self.jobs.clone(), index));
        }
        self.started = self.started.max(n);
    }
}

/// What one round of dispatching did.
#[derive(Debug, Default)]
pub struct PumpReport {
    pub dispatched: usize,
    /// Jobs in workers' hands when the round began.
    pub in_flight_before: usize,
    pub finished: Vec<IssueId>,
}

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("sending stopped: {0}")]
    Fatal(String),
}

impl Dispatcher {
    /// Starts the recorder and `smtp.connections` workers on `tracker`.
    pub fn start(
        store: Store,
        clock: SharedClock,
        config: Arc<Config>,
        tokens: Tokens,
        signer: Option<Arc<super::dkim::Signer>>,
        tracker: &TaskTracker,
        shutdown: CancellationToken,
    ) -> Self {
        let recorder = Recorder::spawn(
            store.clone(),
            clock.clone(),
            config.bounce.policy.clone(),
            config.sending.breaker_run,
            tracker,
        );
        let connector = Connector::from_config(&config);
        let workers = connector.sessions(&config);
        let shared = Arc::new(Shared {
            store: store.clone(),
            rate: RateLimiter::with_sessions(config.smtp.rate_per_second, workers),
            global_rate: (config.smtp.global_rate_per_second > 0.0).then(|| {
                super::global_rate::GlobalRate::new(
                    store.clone(),
                    clock.clone(),
                    config.smtp.global_rate_per_second,
                )
            }),
            throttled: Mutex::default(),
            config: RwLock::new(config),
            clock,
            tokens,
            recorder,
            connector,
            active: RwLock::default(),
            in_flight: Default::default(),
            unreachable: Mutex::default(),
            sender_refused: Mutex::default(),
            unusable: Mutex::default(),
            fatal: Arc::default(),
            shutdown,
        });
        // Signed messages are built as they are queued (`Job::new`): a deeper queue keeps every core
        // signing ahead of the sessions.
        // And room is handed out `refill` jobs at a time (see `dispatch`), on top of that depth.
        let ahead = if signer.is_some() {
            workers + 2 * std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            workers
        };
        let refill = (4 * workers).max(8);
        let (tx, rx) = mpsc::channel(ahead + refill);
        let mut pool = Workers {
            tracker: tracker.clone(),
            jobs: Arc::new(tokio::sync::Mutex::new(rx)),
            started: 0,
        };
        pool.grow_to(workers, &shared);
        tracing::info!(transport = %shared.connector.describe(), workers, "sender started");
        // Message-IDs carry a tag of the database they were sent from: its canonical path, or the
        // PostgreSQL database's name, the same for every daemon sharing it whatever host name or
        // options each one's URL gives (a delivery taken over by another daemon keeps its ID).
        let database = match &shared.config().database.url {
            crate::store::DatabaseUrl::Sqlite(path) => std::fs::canonicalize(path)
                .unwrap_or_else(|_| path.clone())
                .to_string_lossy()
                .into_owned(),
            url => format!("postgres:{}", url.database_name()),
        };
        let id_tag = shared.tokens.tag_for(database.as_bytes());
        Self {
            store,
            shared,
            jobs: Some(tx),
            refill,
            templates: HashMap::new(),
            id_tag,
            signer,
            notifier: Arc::new(crate::service::Notifier::disabled()),
            interrupt: Arc::default(),
            workers: pool,
        }
    }

    /// A configuration re-read on SIGHUP: the pace, the number of sessions, the retry policy and the
    /// DKIM keys apply from the next message; sessions in flight are not dropped. Issues already
    /// prepared keep the keys they were signed with only for jobs already handed out.
    pub fn reconfigure(&mut self, config: Arc<Config>, signer: Option<Arc<super::dkim::Signer>>) {
        let connections = self.shared.connector.sessions(&config);
        self.shared
            .rate
            .reconfigure(config.smtp.rate_per_second, connections);
        self.workers.grow_to(connections, &self.shared);
        *self.shared.config.write().expect("config lock") = config;
        self.signer = signer;
        // Built again, with the new keys, on the next hand-out.
        self.templates.clear();
    }

    /// Feeds `notifier`'s watchdog while the hand-out waits for busy sessions.
    pub fn watched_by(mut self, notifier: Arc<crate::service::Notifier>) -> Self {
        self.notifier = notifier;
        self
    }

    /// A hand-out waiting for busy sessions stops (its unsent jobs go back to pending) once `flag`
    /// is set, so a reload (SIGHUP) is not held up by a slow batch.
    pub fn interrupted_by(mut self, flag: Arc<std::sync::atomic::AtomicBool>) -> Self {
        self.interrupt = flag;
        self
    }

    /// The pace in force when a relay's "slow down" replies lowered it below the configuration.
    pub fn throttled_to(&self) -> Option<super::rate::Limits> {
        self.shared.rate.throttled_limits()
    }

    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::SeqCst)
    }

    /// One round: for each issue in `sending`, claim a batch and hand it out.
    pub async fn pump(&mut self) -> Result<PumpReport, DispatchError> {
        let mut report = PumpReport {
            in_flight_before: self.in_flight(),
            ..PumpReport::default()
        };
        self.check_fatal()?;
        self.pause_if_blocked().await?;
        let sending = self.store.issues_in_state(IssueState::Sending).await?;
        if sending.is_empty() {
            // Nothing to send: an old failure to connect says nothing about the next issue.
            *self.shared.unreachable.lock().expect("unreachable lock") = None;
        }
        *self.shared.active.write().expect("active lock") = sending.iter().map(|i| i.id).collect();
        self.templates
            .retain(|id, _| sending.iter().any(|i| i.id == *id));
        for issue in &sending {
            if self.shared.shutdown.is_cancelled() {
                break;
            }
            let Some(message) = self.template(issue).await? else {
                continue;
            };
            let now = self.shared.clock.now();
            // Before the claim: its leases run from a moment after this.
            let claimed_at = std::time::Instant::now();
            let batch = self
                .store
                .claim_batch(issue.id, self.shared.config().sending.batch_size, now)
                .await?;
            if batch.is_empty() {
                if self.store.finish_issue_if_done(issue.id, now).await? {
                    tracing::info!(issue_id = %issue.id, "issue sent: every delivery is final");
                    report.finished.push(issue.id);
                }
                continue;
            }
            report.dispatched += self.dispatch(issue.id, batch, claimed_at, &message).await?;
        }
        Ok(report)
    }

    async fn dispatch(
        &mut self,
        issue: IssueId,
        batch: Vec<ClaimedDelivery>,
        claimed_at: std::time::Instant,
        message: &Arc<MessageTemplate>,
    ) -> Result<usize, DispatchError> {
        let jobs = self.jobs.as_ref().expect("dispatcher open").clone();
        let mut checked = tokio::time::Instant::now();
        let mut batch = batch.into_iter();
        let mut handed = 0;
        let mut slots: Option<PermitIterator<'_, Job>> = None;
        while let Some(delivery) = batch.next() {
            let stop = if self.shared.shutdown.is_cancelled() {
                true
            } else if checked.elapsed() >= STATE_CHECK {
                checked = tokio::time::Instant::now();
                self.check_fatal()?;
                // Stop handing out work the workers can only release; the next round pauses the issue.
                self.blocked().is_some() || !self.still_sending(issue).await?
            } else {
                false
            };
            // Room in the queue is reserved a handful of jobs at a time: the dispatcher wakes once
            // per handful rather than once per message a session takes.
            if !stop && slots.as_ref().is_none_or(|s| s.len() == 0) {
                slots = self.reserve(&jobs, self.refill.min(batch.len() + 1)).await;
            }
            let slot = if stop {
                None
            } else {
                slots.as_mut().and_then(Iterator::next)
            };
            let Some(slot) = slot else {
                let rest: Vec<_> = std::iter::once(delivery).chain(batch).collect();
                self.release(&rest).await?;
                break;
            };
            self.shared.in_flight.fetch_add(1, Ordering::SeqCst);
            slot.send(Job::new(
                delivery,
                message.clone(),
                &self.shared.tokens,
                &self.shared.clock,
                claimed_at,
            ));
            handed += 1;
            // A long hand-out at a slow pace is work going on: the watchdog hears of each job.
            self.notifier.alive();
        }
        Ok(handed)
    }

    /// Room for `wanted` jobs in the queue, waited for while the sessions take jobs; after
    /// [`INTERRUPT_CHECK`] of waiting, whatever room there is (sessions backing off or a slow relay
    /// take jobs slowly). `None` on a reload, a shutdown, or a commit that failed (the workers are
    /// gone). The wait is work going on, not a wedge: the watchdog is fed while it lasts (the
    /// sessions' own timeouts bound it).
    async fn reserve<'a>(
        &self,
        jobs: &'a mpsc::Sender<Job>,
        wanted: usize,
    ) -> Option<PermitIterator<'a, Job>> {
        loop {
            if self.interrupt.load(Ordering::SeqCst)
                || self.shared.shutdown.is_cancelled()
                || self.shared.fatal.lock().expect("fatal lock").is_some()
            {
                return None;
            }
            match tokio::time::timeout(INTERRUPT_CHECK, jobs.reserve_many(wanted)).await {
                Ok(reserved) => return reserved.ok(),
                Err(_) => {
                    self.notifier.alive();
                    let free = jobs.capacity().min(wanted);
                    if free > 0
                        && let Ok(reserved) = jobs.try_reserve_many(free)
                    {
                        return Some(reserved);
                    }
                }
            }
        }
    }

    /// Re-reads the issue's state; when it left `sending`, its queued jobs are released by the workers.
    async fn still_sending(&self, issue: IssueId) -> Result<bool, StoreError> {
        let states = self.store.issue_states(&[issue]).await?;
        let sending = states.get(&issue) == Some(&IssueState::Sending);
        if !sending {
            self.shared
                .active
                .write()
                .expect("active lock")
                .remove(&issue);
            tracing::info!(issue_id = %issue, state = ?states.get(&issue), "issue left sending; releasing its claimed deliveries");
        }
        Ok(sending)
    }

    async fn release(&self, deliveries: &[ClaimedDelivery]) -> Result<(), StoreError> {
        let outcomes: Vec<_> = deliveries
            .iter()
            .map(|d| Outcome {
                delivery: d.id,
                issue: d.issue_id,
                kind: OutcomeKind::Released,
            })
            .collect();
        self.store
            .record_outcomes(
                &outcomes,
                &[],
                &self.shared.config().bounce.policy,
                self.shared.clock.now(),
            )
            .await
            .map(drop)
    }

    /// The prepared message of `issue`, built on first use. An issue whose stored template does not
    /// compile (it was refused at queue time, so only a hand-edited database gets here) is paused.
    async fn template(
        &mut self,
        issue: &Issue,
    ) -> Result<Option<Arc<MessageTemplate>>, StoreError> {
        if let Some(t) = self.templates.get(&issue.id) {
            return Ok(Some(t.clone()));
        }
        let list = self.store.list_by_id(issue.list_id).await?;
        let c = self.shared.config();
        match MessageTemplate::new(
            issue,
            &list,
            &c.sending.domain,
            &c.http.public_url,
            c.sending.bounce_address.as_str(),
            &self.id_tag,
            self.signer.clone(),
        ) {
            Ok(t) => {
                if let Some(signer) = &self.signer
                    && !signer
                        .signatures()
                        .iter()
                        .any(|s| super::dkim::aligned(list.from.address.domain(), &s.domain))
                {
                    tracing::warn!(issue_id = %issue.id, list = %list.slug, from_domain = %list.from.address.domain(), "no DKIM signature aligns with the list's From domain: DMARC fails for this issue");
                }
                let t = Arc::new(t);
                self.templates.insert(issue.id, t.clone());
                Ok(Some(t))
            }
            Err(e) => {
                let reason = format!("stored template is invalid: {e}");
                tracing::error!(issue_id = %issue.id, %reason, "pausing issue");
                self.store
                    .move_issue(
                        issue.id,
                        IssueState::Paused,
                        Some(&reason),
                        self.shared.clock.now(),
                    )
                    .await?;
                Ok(None)
            }
        }
    }

    /// Why sending cannot go on: a session could not be opened for a reason retrying cannot fix (a
    /// refused certificate or login, no STARTTLS: at once, since waiting only delays the operator),
    /// the server refused the envelope sender, or no session could be opened for
    /// `smtp.unreachable_pause_seconds`.
    fn blocked(&self) -> Option<String> {
        // Its reason names the server (or the file) already.
        if let Some(reason) = &*self.shared.unusable.lock().expect("unusable lock") {
            return Some(reason.clone());
        }
        if let Some(reply) = &*self.shared.sender_refused.lock().expect("sender lock") {
            return Some(format!(
                "{} refused the envelope sender {} ({reply}); check sending.bounce_address and the SMTP login",
                self.shared.connector.describe(),
                self.shared.config().sending.bounce_address
            ));
        }
        let guard = self.shared.unreachable.lock().expect("unreachable lock");
        match &*guard {
            Some((since, reason))
                if since.elapsed() >= self.shared.config().smtp.unreachable_pause =>
            {
                Some(format!(
                    "{} unreachable for over {}s ({reason})",
                    self.shared.connector.describe(),
                    self.shared.config().smtp.unreachable_pause.as_secs()
                ))
            }
            _ => None,
        }
    }

    /// Pauses every sending issue, with the reason, when [`Dispatcher::blocked`] says so.
    async fn pause_if_blocked(&self) -> Result<(), StoreError> {
        let Some(reason) = self.blocked() else {
            return Ok(());
        };
        let now = self.shared.clock.now();
        for issue in self.store.issues_in_state(IssueState::Sending).await? {
            let why = format!(
                "paused automatically: {reason}; `herald issue resume {}` to retry",
                issue.id
            );
            tracing::warn!(issue_id = %issue.id, reason = %why, "pausing issue");
            self.store
                .move_issue(issue.id, IssueState::Paused, Some(&why), now)
                .await?;
        }
        self.shared.active.write().expect("active lock").clear();
        *self.shared.unreachable.lock().expect("unreachable lock") = None;
        *self.shared.sender_refused.lock().expect("sender lock") = None;
        *self.shared.unusable.lock().expect("unusable lock") = None;
        Ok(())
    }

    fn check_fatal(&self) -> Result<(), DispatchError> {
        match &*self.shared.fatal.lock().expect("fatal lock") {
            Some(reason) => Err(DispatchError::Fatal(reason.clone())),
            None => Ok(()),
        }
    }

    /// Stops handing out work; workers finish (or release) what they hold, then the recorder drains.
    pub fn close(&mut self) {
        self.jobs = None;
    }

    /// Reads the reason sending stopped (a commit that failed) later, after the dispatcher is gone
    /// (a commit that fails while the workers drain at shutdown still counts).
    pub fn fatal_later(&self) -> impl Fn() -> Option<String> + use<> {
        // Only the flag: holding `Shared` would keep the recorder's handle, and the recorder
        // (which the drain waits for) ends only once every handle is gone.
        let fatal = self.shared.fatal.clone();
        move || fatal.lock().expect("fatal lock").clone()
    }
}
