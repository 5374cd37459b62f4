//! A connection worker: owns one session, takes jobs from the shared queue and sends them. Each
//! outcome is parked with the recorder; the next message's body goes out only once it is committed,
//! and a worker about to wait for work settles it first. While it waits, the worker takes the next
//! job if one can go at once (`look_ahead`): its envelope goes out behind the current message's final
//! dot, so each message costs one round trip. See `crate::send::dispatcher` for why this gives crash
//! safety.

use super::{Connector, MessageTemplate, OpenFailure, RateLimiter, Session, outcome_for};
use crate::{
    clock::SharedClock,
    config::Config,
    domain::{IssueId, mask, mask_all},
    store::{ClaimedDelivery, Outcome, OutcomeKind},
    track::{Recorder, Tokens},
};
use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// One delivery to send, with its issue's prepared message.
pub struct Job {
    pub delivery: ClaimedDelivery,
    pub message: Arc<MessageTemplate>,
    /// The signed message, being built on the blocking pool since the job was handed out (see
    /// `Job::new`); `None` when the message is built by the worker.
    pub built: Option<tokio::task::JoinHandle<(Vec<u8>, String)>>,
    /// When its delivery was claimed (before the claim began): on PostgreSQL the claim is this
    /// daemon's only while its leases have been renewed without a lapse since then.
    pub claimed_at: std::time::Instant,
}

impl Job {
    /// A job; a message that gets DKIM signatures starts being built and signed at once, on the
    /// blocking pool, so signatures are made on every core ahead of the sessions that send them and
    /// a session never waits for its next message's signature while it could be sending.
    pub fn new(
        delivery: ClaimedDelivery,
        message: Arc<MessageTemplate>,
        tokens: &Tokens,
        clock: &SharedClock,
        claimed_at: std::time::Instant,
    ) -> Self {
        let built = message.signs().then(|| {
            let (message, tokens, delivery) = (message.clone(), tokens.clone(), delivery.clone());
            let now = clock.now();
            tokio::task::spawn_blocking(move || {
                message.build(&tokens, &delivery, &date_header(now), now.timestamp())
            })
        });
        Self {
            delivery,
            message,
            built,
            claimed_at,
        }
    }
}

/// How many "slow down" replies in a row one delivery is released for without spending an attempt;
/// the next one in the same run is deferred like any 4xx.
pub const MAX_THROTTLED: u32 = 5;

/// State shared by the dispatcher and its workers.
pub struct Shared {
    /// Replaced on reload (SIGHUP): read it with [`Shared::config`].
    pub config: RwLock<Arc<Config>>,
    pub clock: SharedClock,
    pub tokens: Tokens,
    pub recorder: Recorder,
    pub rate: RateLimiter,
    /// `smtp.global_rate_per_second`: the pace all daemons on the queue share (PostgreSQL).
    pub global_rate: Option<super::global_rate::GlobalRate>,
    /// Asked before each message whether this daemon still holds its claims (PostgreSQL leases).
    pub store: crate::store::Store,
    pub connector: Connector,
    /// Issues whose jobs may be sent; a job of any other issue is released unsent.
    pub active: RwLock<HashSet<IssueId>>,
    /// Jobs handed to workers whose outcome is not yet committed.
    pub in_flight: AtomicUsize,
    /// Since when, and why, no session could be opened.
    pub unreachable: Mutex<Option<(tokio::time::Instant, String)>>,
    /// Why the server refused the envelope sender (a 5xx to MAIL): sending issues pause.
    pub sender_refused: Mutex<Option<String>>,
    /// Why the server cannot be used as configured until someone changes something (a refused
    /// certificate or login, no STARTTLS): sending issues pause at once.
    pub unusable: Mutex<Option<String>>,
    /// Set when an outcome could not be committed: sending must stop. (Shared on its own so that it
    /// can be read after the workers and the recorder are gone.)
    pub fatal: Arc<Mutex<Option<String>>>,
    /// Deliveries the relay answered "slow down" for, and how many times in a row: each is retried
    /// without spending an attempt up to [`MAX_THROTTLED`] times, then deferred like any 4xx (a
    /// greylisting server says 451 4.7.1 too).
    pub throttled: Mutex<HashMap<crate::domain::DeliveryId, u32>>,
    pub shutdown: CancellationToken,
}

impl Shared {
    /// The configuration in force.
    pub fn config(&self) -> Arc<Config> {
        self.config.read().expect("config lock").clone()
    }

    fn is_active(&self, issue: IssueId) -> bool {
        self.active.read().expect("active lock").contains(&issue)
    }

    /// `job` may still go out: not stopping, its issue still sending, and (PostgreSQL) this daemon's
    /// claim on it held (a daemon whose leases lapsed may have had it taken over by another).
    fn may_send(&self, job: &Job) -> bool {
        !self.shutdown.is_cancelled()
            && self.is_active(job.message.issue_id)
            && self.store.holds_claim(job.claimed_at)
    }
}

/// The Date header value, formatted once per second per thread rather than once per message.
fn date_header(now: chrono::DateTime<chrono::Utc>) -> String {
    thread_local! {
        static CACHE: std::cell::RefCell<(i64, String)> = const { std::cell::RefCell::new((i64::MIN, String::new())) };
    }
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.0 != now.timestamp() {
            *cache = (now.timestamp(), now.to_rfc2822());
        }
        cache.1.clone()
    })
}

/// The worker's outcomes not yet known to be committed: the last one parked, and how many; and why
/// one could not be committed, if that happened.
#[derive(Default)]
struct Unsettled {
    last: Option<crate::track::Parked>,
    count: usize,
    failed: Option<String>,
}

impl Unsettled {
    /// Parks `job`'s outcome with the recorder (and counts it in the metrics).
    fn park(&mut self, shared: &Shared, job: &Job, kind: OutcomeKind) {
        count_outcome(&kind, &job.message.counters);
        self.last = Some(shared.recorder.park(Outcome {
            delivery: job.delivery.id,
            issue: job.delivery.issue_id,
            kind,
        }));
        self.count += 1;
    }

    /// Waits until every outcome parked so far is committed. A failed commit stops sending, and
    /// every settle after it fails too (nothing more may go out once an outcome is not recorded).
    /// Cancel-safe (the transaction's timeout may drop it): what it did not settle stays.
    async fn settle(&mut self, shared: &Shared) -> Result<(), String> {
        if let Some(reason) = &self.failed {
            return Err(reason.clone());
        }
        let Some(last) = self.last.as_mut() else {
            return Ok(());
        };
        let settled = shared.recorder.settle(last).await;
        self.last = None;
        shared
            .in_flight
            .fetch_sub(std::mem::take(&mut self.count), Ordering::SeqCst);
        settled.map_err(|e| {
            let reason = e.to_string();
            *shared.fatal.lock().expect("fatal lock") = Some(reason.clone());
            shared.shutdown.cancel();
            self.failed = Some(reason.clone());
            reason
        })
    }
}

pub async fn run(
    shared: Arc<Shared>,
    jobs: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>,
    worker: usize,
) {
    let mut session: Option<Session> = None;
    let mut backoff = Duration::from_millis(250);
    let mut unsettled = Unsettled::default();
    let mut ahead: Option<Ahead> = None;
    loop {
        // A session beyond what the relay's "slow down" replies left allowed closes and waits. The
        // job it took ahead goes back to the queue unsent (sessions may not come back soon; its
        // envelope, if sent, goes with the session).
        while !shared.rate.session_allowed(worker) && !shared.shutdown.is_cancelled() {
            if let Some(Ahead { job, .. }) = ahead.take() {
                unsettled.park(&shared, &job, OutcomeKind::Released);
            }
            if unsettled.settle(&shared).await.is_err() {
                break;
            }
            if let Some(parked) = session.take() {
                parked.close().await;
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                _ = shared.shutdown.cancelled() => {}
            }
        }
        // A job at hand is taken at once. Otherwise (no job, or another worker holds the queue while
        // it waits for one) this worker's outcomes are committed first: nobody else would ask for
        // that while it waits.
        // The job taken ahead while the last message went out comes first.
        let (job, prepared) = match ahead.take() {
            Some(Ahead { job, prepared }) => (Some(job), prepared),
            None => {
                let next = jobs
                    .try_lock()
                    .ok()
                    .and_then(|mut queue| queue.try_recv().ok());
                let job = match next {
                    Some(job) => Some(job),
                    None => {
                        if unsettled.settle(&shared).await.is_err() {
                            break;
                        }
                        jobs.lock().await.recv().await
                    }
                };
                (job, None)
            }
        };
        let Some(mut job) = job else { break };
        let kind = attempt(
            &shared,
            &mut job,
            prepared,
            &mut session,
            &mut backoff,
            worker,
            &mut unsettled,
            (&jobs, &mut ahead),
        )
        .await;
        unsettled.park(&shared, &job, kind);
        if shared.fatal.lock().expect("fatal lock").is_some() {
            break;
        }
    }
    let _ = unsettled.settle(&shared).await;
    if let Some(session) = session {
        session.close().await;
    }
}

#[tracing::instrument(name = "send", level = "debug", skip_all, fields(worker, issue_id = %job.message.issue_id, delivery_id = %job.delivery.id))]
#[allow(clippy::too_many_arguments)]
async fn attempt(
    shared: &Shared,
    job: &mut Job,
    prepared: Option<Prepared>,
    session: &mut Option<Session>,
    backoff: &mut Duration,
    worker: usize,
    unsettled: &mut Unsettled,
    (jobs, ahead): (&Jobs, &mut Option<Ahead>),
) -> OutcomeKind {
    tracing::Span::current().record("worker", worker);
    // A job taken ahead was checked then; if its envelope is staged on the session, it goes on.
    let mut built = None;
    let staged = match prepared {
        Some(Prepared::Ready(outgoing))
            if session
                .as_ref()
                .is_some_and(|s| s.has_staged(outgoing.stem())) =>
        {
            // Stopping, or its issue paused since: released unsent, and the session, in the middle
            // of its transaction, is dropped (the server discards the envelope).
            if !shared.may_send(job) {
                drop(session.take());
                return OutcomeKind::Released;
            }
            Some(outgoing)
        }
        // Made ready for a session that broke since: made ready again for the next one.
        Some(Prepared::Ready(outgoing)) => {
            built = Some(outgoing.into_message());
            None
        }
        Some(Prepared::Done(kind)) => return kind,
        None => None,
    };
    let outgoing = match staged {
        Some(outgoing) => outgoing,
        None => match ready(shared, job, built, session, backoff).await {
            Ok(outgoing) => outgoing,
            Err(kind) => return kind,
        },
    };
    let open = session.as_mut().expect("a session holds the job");
    let capabilities = open.capabilities();
    let reused = open.is_reused();
    let began = std::time::Instant::now();
    // The time spent waiting for the previous outcome's commit is not the server's.
    let mut committing = Duration::ZERO;
    // The gate found the claim lapsed (a later renewal may make `holds_claim` true again: what
    // counts is what the gate saw).
    let mut lapsed = false;
    let claimed_at = job.claimed_at;
    let gate = async {
        // The next job, taken now if it is at hand, goes out behind this message's final dot.
        let next = if capabilities.pipelines() {
            look_ahead(shared, worker, &capabilities, jobs, ahead).await
        } else {
            None
        };
        let waited = std::time::Instant::now();
        let settled = unsettled.settle(shared).await;
        committing = waited.elapsed();
        // The envelope may have taken long (a tarpitting relay, a stalled process): the claim is
        // checked again right before the message goes out.
        if settled.is_ok() && !shared.store.holds_claim(claimed_at) {
            lapsed = true;
            return Err(
                "this daemon's claim on the delivery lapsed (its leases were not renewed in time)"
                    .to_owned(),
            );
        }
        settled.map(|()| next)
    };
    let result = open.transmit(outgoing, gate).await;
    count_reply(&result, began.elapsed().saturating_sub(committing), open);
    if !open.is_usable()
        && let Some(broken) = session.take()
    {
        broken.close().await;
    }
    judge(shared, &job.delivery, result, reused, lapsed, claimed_at)
}

/// The queue the workers take their jobs from.
type Jobs = Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>;

/// A job taken ahead, while the worker's session carried the message before it.
struct Ahead {
    job: Job,
    /// What became of it when it was taken; `None`: it could not go at once and takes the usual
    /// path.
    prepared: Option<Prepared>,
}

/// A job's message, made ready for the wire ahead of its turn.
enum Prepared {
    /// Ready; its envelope went out behind the last message's dot if the session holds it staged.
    Ready(super::Outgoing),
    /// Building it failed.
    Done(OutcomeKind),
}

/// Takes the next job if one is at hand and it can go at once (its issue still sending, its claim
/// held, its pace due, its signature made), makes it ready for this session and returns its
/// envelope and stem, to go out behind the current message's final dot. A job taken that cannot
/// go at once is left in `ahead` as it is, for the worker's next turn.
async fn look_ahead(
    shared: &Shared,
    worker: usize,
    capabilities: &super::Capabilities,
    jobs: &Jobs,
    ahead: &mut Option<Ahead>,
) -> Option<(String, String)> {
    if shared.shutdown.is_cancelled()
        || shared.global_rate.is_some()
        || !shared.rate.session_allowed(worker)
    {
        return None;
    }
    let mut job = jobs.try_lock().ok()?.try_recv().ok()?;
    let at_once = shared.may_send(&job)
        && job.built.as_ref().is_none_or(|b| b.is_finished())
        && shared.rate.try_acquire();
    if !at_once {
        *ahead = Some(Ahead {
            job,
            prepared: None,
        });
        return None;
    }
    let prepared = match build(shared, &mut job).await {
        Err(kind) => Prepared::Done(kind),
        Ok((bytes, from)) => {
            match capabilities.prepare(from, &job.delivery.email, bytes, stem(&job)) {
                Ok(outgoing) => Prepared::Ready(outgoing),
                // (Only a pipelining SMTP session takes jobs ahead.)
                Err(failure) => Prepared::Done(refuse(shared, &job, failure, true)),
            }
        }
    };
    let next = match &prepared {
        Prepared::Ready(outgoing) => outgoing.ahead(),
        _ => None,
    };
    *ahead = Some(Ahead {
        job,
        prepared: Some(prepared),
    });
    next
}

/// Names a job's message: its outbox file, and its envelope staged on a session.
fn stem(job: &Job) -> String {
    format!("{}-{}", job.message.issue_id, job.delivery.id)
}

/// The job's message: signed on the blocking pool since it was handed out, or built now.
async fn build(shared: &Shared, job: &mut Job) -> Result<(Vec<u8>, String), OutcomeKind> {
    match job.built.take() {
        Some(signing) => signing.await.map_err(|e| {
            // A bug (a panic) that would repeat on every try: the delivery fails, with the
            // reason, rather than being handed out again and again.
            tracing::error!(error = %e, "building a signed message failed");
            OutcomeKind::Failed {
                error: crate::domain::AttemptError::Unsendable(format!(
                    "building the signed message failed: {e}"
                )),
                gave_up_after: None,
                bounce: None,
            }
        }),
        None => {
            let now = shared.clock.now();
            Ok(job.message.build(
                &shared.tokens,
                &job.delivery,
                &date_header(now),
                now.timestamp(),
            ))
        }
    }
}

/// Everything before a job's message goes out: its issue still sending, its pace, a session, its
/// message made ready for that session (`built`: already built once).
async fn ready(
    shared: &Shared,
    job: &mut Job,
    built: Option<(Vec<u8>, String)>,
    session: &mut Option<Session>,
    backoff: &mut Duration,
) -> Result<super::Outgoing, OutcomeKind> {
    if !shared.may_send(job) {
        return Err(OutcomeKind::Released);
    }
    shared.rate.acquire().await;
    if let Some(global) = &shared.global_rate {
        global.acquire().await;
    }
    // The wait may have spanned a pause, a shutdown or a lapse of this daemon's leases.
    if !shared.may_send(job) {
        return Err(OutcomeKind::Released);
    }
    if session.as_ref().is_some_and(Session::is_stale)
        && let Some(idle) = session.take()
    {
        idle.close().await;
    }
    if session.is_none() {
        match shared.connector.open().await {
            Ok(opened) => {
                *session = Some(opened);
                *backoff = Duration::from_millis(250);
                *shared.unreachable.lock().expect("unreachable lock") = None;
            }
            Err(super::OpenError { reason, kind }) => {
                tracing::warn!(reason = %mask_all(&reason), ?kind, retry_in_ms = backoff.as_millis() as u64, "cannot open a sending session");
                match kind {
                    // Out of file descriptors (EMFILE/ENFILE) is this machine's passing shortage,
                    // not the relay's fault: retried, never counted towards pausing the issue.
                    OpenFailure::LocalShortage => {}
                    OpenFailure::Unreachable => {
                        shared
                            .unreachable
                            .lock()
                            .expect("unreachable lock")
                            .get_or_insert_with(|| (tokio::time::Instant::now(), String::new()))
                            .1 = reason;
                    }
                    // A refused certificate or login will be refused again: the dispatcher pauses
                    // at once rather than after `smtp.unreachable_pause_seconds`.
                    OpenFailure::Configuration => {
                        *shared.unusable.lock().expect("unusable lock") = Some(reason);
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(*backoff) => {}
                    _ = shared.shutdown.cancelled() => {}
                }
                *backoff = (*backoff * 2).min(Duration::from_secs(30));
                return Err(OutcomeKind::Released);
            }
        }
    }
    let open = session.as_mut().expect("session opened above");
    let (bytes, from) = match built {
        Some(built) => built,
        None => build(shared, job).await?,
    };
    let smtp = matches!(open, Session::Smtp { .. });
    open.capabilities()
        .prepare(from, &job.delivery.email, bytes, stem(job))
        .map_err(|failure| refuse(shared, job, failure, smtp))
}

/// A message the session cannot carry (an address, SMTPUTF8), refused before anything was sent:
/// counted as a transaction without a reply code when the session is SMTP, and judged.
fn refuse(shared: &Shared, job: &Job, failure: super::SendFailure, smtp: bool) -> OutcomeKind {
    let result = Err(super::session::refused(failure));
    if smtp {
        count(&result, Duration::ZERO);
    }
    judge(shared, &job.delivery, result, false, false, job.claimed_at)
}

/// What a transaction's result means for its delivery. `reused`: the session had carried messages
/// before; `lapsed`: the gate found the claim lapsed.
fn judge(
    shared: &Shared,
    delivery: &ClaimedDelivery,
    result: Result<crate::domain::SmtpReply, super::transaction::Failed>,
    reused: bool,
    lapsed: bool,
    claimed_at: std::time::Instant,
) -> OutcomeKind {
    match result {
        Ok(reply) => {
            shared
                .throttled
                .lock()
                .expect("throttled lock")
                .remove(&delivery.id);
            if !reused {
                // A fresh session delivered: whatever failed to open before is over.
                *shared.unreachable.lock().expect("unreachable lock") = None;
            }
            tracing::debug!(to = %mask(&delivery.email), reply = %mask_all(&reply.to_string()), "sent");
            if let Some(limits) = shared.rate.clean() {
                tracing::info!(rate = ?limits.rate, sessions = limits.sessions, "replies are clean: sending pace raised");
            }
            OutcomeKind::Sent { reply }
        }
        // Recording an earlier outcome failed, so this body was held back: sending stops.
        Err(failed) if failed.before_data && shared.fatal.lock().expect("fatal lock").is_some() => {
            OutcomeKind::Released
        }
        // The claim lapsed before the body went out: another daemon may send it; nothing was
        // attempted here.
        Err(failed) if failed.before_data && (lapsed || !shared.store.holds_claim(claimed_at)) => {
            OutcomeKind::Released
        }
        // A reused session that broke before the body went out had gone stale: nothing was
        // delivered, so the delivery goes back unattempted and the next session is a fresh one.
        Err(failed) if failed.broken && failed.before_data && reused => {
            tracing::info!(reply = %mask_all(&failed.failure.text()), "reused session was dropped by the server");
            OutcomeKind::Released
        }
        Err(failed)
            if matches!(&failed.failure, super::SendFailure::Transient(r) if super::is_throttle(r))
                && {
                    let mut counts = shared.throttled.lock().expect("throttled lock");
                    let n = counts.entry(delivery.id).or_default();
                    *n += 1;
                    *n <= MAX_THROTTLED
                } =>
        {
            // The relay asks to slow down: no attempt spent, the recipient goes back to the queue
            // and the pace drops.
            if let Some(limits) = shared.rate.throttled() {
                tracing::warn!(reply = %mask_all(&failed.failure.text()), rate = ?limits.rate, sessions = limits.sessions, "the relay asks to slow down: sending pace lowered");
            }
            OutcomeKind::Released
        }
        Err(failed) if failed.sender_refused => {
            let reason = failed.failure.text();
            tracing::error!(reply = %mask_all(&reason), "the server refused the envelope sender");
            *shared.sender_refused.lock().expect("sender lock") = Some(reason);
            OutcomeKind::Released
        }
        Err(failed) => {
            // Not a slow-down: the next one starts a new run of them.
            shared
                .throttled
                .lock()
                .expect("throttled lock")
                .remove(&delivery.id);
            let kind = outcome_for(
                failed.failure,
                delivery.attempts,
                delivery.unconfirmed,
                &shared.config().sending,
                shared.clock.now(),
            );
            match &kind {
                OutcomeKind::Deferred { error, .. } => {
                    tracing::info!(to = %mask(&delivery.email), state = "deferred", reply = %mask_all(&error.to_string()), "not delivered")
                }
                OutcomeKind::Failed { error, bounce, .. } => {
                    tracing::info!(
                        to = %mask(&delivery.email),
                        state = "failed",
                        bounce = ?bounce.as_ref().map(|b| (b.class, b.reason)),
                        reply = %mask_all(&error.to_string()),
                        "not delivered"
                    )
                }
                _ => {}
            }
            kind
        }
    }
}

/// `herald_messages_total{outcome, list}`.
fn count_outcome(kind: &OutcomeKind, counters: &crate::metrics::ListCounters) {
    // Indexes into `metrics::OUTCOMES`.
    counters.inc(match kind {
        OutcomeKind::Sent { .. } => 0,
        OutcomeKind::Deferred { .. } => 1,
        OutcomeKind::Failed {
            bounce: Some(b), ..
        } if b.class == crate::domain::BounceClass::Hard => 3,
        OutcomeKind::Failed { .. } => 2,
        OutcomeKind::Unconfirmed { .. } => 4,
        OutcomeKind::Released => 5,
    });
}

/// `herald_smtp_replies_total{code}` and the transaction's time, for an SMTP session.
fn count_reply(
    result: &Result<crate::domain::SmtpReply, super::transaction::Failed>,
    took: Duration,
    session: &Session,
) {
    if matches!(session, Session::Smtp { .. }) {
        count(result, took);
    }
}

/// [`count_reply`] for a transaction known to be SMTP.
fn count(result: &Result<crate::domain::SmtpReply, super::transaction::Failed>, took: Duration) {
    let m = crate::metrics::Metrics::get();
    m.smtp_seconds.observe(took.as_secs_f64());
    let code = match result {
        Ok(reply) => Some(reply.code),
        Err(failed) => match &failed.failure {
            super::SendFailure::Transient(r) | super::SendFailure::Permanent(r) => Some(r.code),
            _ => None,
        },
    };
    // The counter of each code this thread has seen, so a reply costs no label string.
    thread_local! {
        static BY_CODE: std::cell::RefCell<HashMap<Option<u16>, prometheus_client::metrics::counter::Counter>> =
            std::cell::RefCell::default();
    }
    BY_CODE.with(|by_code| {
        by_code
            .borrow_mut()
            .entry(code)
            .or_insert_with(|| {
                let code = code.map_or_else(|| "none".to_owned(), |c| c.to_string());
                m.smtp_replies
                    .get_or_create_owned(&crate::metrics::CodeLabels { code })
            })
            .inc();
    });
}
