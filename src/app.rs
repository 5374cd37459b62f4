//! The daemon: scheduler, sender and HTTP in one process, with shutdown and time given as parameters.
//!
//! One `herald serve` runs per database: it holds an exclusive lock on the database file itself,
//! which is what lets it move rows a previous crash left in `sending` back to `pending` at start.

use crate::{
    clock::{SharedClock, SystemClock},
    config::Config,
    domain::IssueState,
    http,
    scheduler::Scheduler,
    send::Dispatcher,
    service::Notifier,
    store::Store,
    track::Tokens,
};
use anyhow::Context;
use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Exit once nothing is due and nothing is in flight.
    pub until_idle: bool,
}

/// A daemon with its database open, its lock held and its HTTP port bound, ready to run.
pub struct App {
    config: Arc<Config>,
    store: Store,
    clock: SharedClock,
    tokens: Tokens,
    listener: tokio::net::TcpListener,
    /// `/metrics`, when `admin.listen` is not off.
    admin: Option<tokio::net::TcpListener>,
    /// The DKIM keys, parsed once; `None` when no `[[dkim]]` is configured.
    signer: Option<Arc<crate::send::dkim::Signer>>,
    reload: Option<Reload>,
    view: Option<Arc<dyn ProgressView>>,
    /// The SQLite file's one-sender lock (none on PostgreSQL).
    _lock: Option<std::fs::File>,
}

/// Where `serve` shows each sending issue's progress live (a terminal's progress bars).
pub trait ProgressView: Send + Sync {
    fn show(
        &self,
        issue: crate::domain::IssueId,
        list: &str,
        done: i64,
        total: i64,
        rate: Option<f64>,
    );
    /// The issue left `sending`.
    fn finish(&self, issue: crate::domain::IssueId);
}

/// Runs herald until `shutdown` completes (or, with `until_idle`, until there is nothing to do),
/// re-reading the configuration whenever `reload` asks (SIGHUP), with live progress shown in `view`
/// (a terminal's bars) when there is one.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: RunOptions,
    reload: Option<Reload>,
    view: Option<Arc<dyn ProgressView>>,
) -> anyhow::Result<()> {
    let mut app = App::build(config, Arc::new(SystemClock)).await?;
    app.reload = reload;
    app.view = view;
    app.run(shutdown, options).await
}

/// How `serve` re-reads its configuration (SIGHUP, `systemctl reload herald`).
pub struct Reload {
    /// One message per request.
    pub requests: tokio::sync::mpsc::Receiver<()>,
    /// Set with each request, so a hand-out in progress stops for it.
    pub pending: Arc<std::sync::atomic::AtomicBool>,
    /// Reads the configuration again, from the same file and environment as at start.
    pub load: LoadConfig,
    /// Applies a new log filter (`log.filter`; `HERALD_LOG` in the environment still wins).
    pub set_log_filter: SetLogFilter,
}

/// Reads the configuration (file and environment) again.
pub type LoadConfig =
    Box<dyn Fn() -> Result<crate::config::Loaded, crate::config::ConfigProblems> + Send>;
/// Replaces the log filter of the running subscriber.
pub type SetLogFilter = Box<dyn Fn(&str) -> Result<(), String> + Send>;

impl Reload {
    /// Reads the configuration again and applies what can change while running: the pace and the
    /// sessions, the retry policy, the DKIM keys, the log filter. A configuration with problems, or
    /// keys that cannot be loaded, change nothing: the reason is logged and the running one stays.
    fn apply(
        &self,
        running: &Arc<Config>,
        dispatcher: &mut Dispatcher,
        notifier: &Notifier,
    ) -> Option<Arc<Config>> {
        notifier.reloading();
        self.pending
            .store(false, std::sync::atomic::Ordering::SeqCst);
        let outcome = self.read(running);
        let status = match &outcome {
            Some(_) => "ready: configuration reloaded",
            None => "ready: configuration NOT reloaded (see the log)",
        };
        if let Some((config, signer)) = &outcome {
            dispatcher.reconfigure(config.clone(), signer.clone());
        }
        notifier.ready(status);
        outcome.map(|(config, _)| config)
    }

    fn read(
        &self,
        running: &Config,
    ) -> Option<(Arc<Config>, Option<Arc<crate::send::dkim::Signer>>)> {
        let loaded = match (self.load)() {
            Ok(l) => l,
            Err(problems) => {
                tracing::error!(%problems, "configuration not reloaded: the running configuration stays");
                return None;
            }
        };
        for warning in &loaded.warnings {
            tracing::warn!("{warning}");
        }
        let config = loaded.config;
        let signer = match crate::send::dkim::Signer::load(&config.dkim) {
            Ok(s) => s.map(Arc::new),
            Err(e) => {
                tracing::error!(error = %e, "configuration not reloaded: the running configuration stays");
                return None;
            }
        };
        if std::env::var_os("HERALD_LOG").is_none()
            && let Err(e) = (self.set_log_filter)(&config.log.filter)
        {
            tracing::warn!(error = %e, "log.filter not applied");
        }
        let needs_restart: Vec<&str> = [
            ("database.url", running.database.url != config.database.url),
            ("http.listen", running.http.listen != config.http.listen),
            (
                "smtp.transport",
                running.smtp.transport != config.smtp.transport,
            ),
            ("smtp.host", running.smtp.host != config.smtp.host),
            ("smtp.port", running.smtp.port != config.smtp.port),
            ("smtp.tls", running.smtp.tls != config.smtp.tls),
            (
                "smtp.outbox_dir",
                running.smtp.outbox_dir != config.smtp.outbox_dir,
            ),
            // Sessions are opened with the connector made at start.
            (
                "smtp.username / password",
                running.smtp.username != config.smtp.username
                    || running.smtp.password != config.smtp.password,
            ),
            ("smtp.ca_file", running.smtp.ca_file != config.smtp.ca_file),
            (
                "smtp.timeout_seconds / data_timeout_seconds",
                running.smtp.timeout != config.smtp.timeout
                    || running.smtp.data_timeout != config.smtp.data_timeout,
            ),
            (
                "smtp.hello_name",
                running.smtp.hello_name != config.smtp.hello_name,
            ),
            // The recorder applies the bounce policy and the breaker it started with.
            (
                "bounce policy / sending.breaker_run",
                running.bounce.policy != config.bounce.policy
                    || running.sending.breaker_run != config.sending.breaker_run,
            ),
            (
                "scheduler",
                running.scheduler.poll_interval != config.scheduler.poll_interval
                    || running.scheduler.timezone != config.scheduler.timezone,
            ),
            (
                "bounce",
                running.bounce.maildir != config.bounce.maildir
                    || running.bounce.imap.as_ref().map(|i| &i.host)
                        != config.bounce.imap.as_ref().map(|i| &i.host),
            ),
        ]
        .into_iter()
        .filter_map(|(key, changed)| changed.then_some(key))
        .collect();
        if !needs_restart.is_empty() {
            tracing::warn!(keys = %needs_restart.join(", "), "these settings changed but apply only after a restart");
        }
        tracing::info!(
            rate_per_second = config.smtp.rate_per_second,
            connections = config.smtp.connections,
            max_attempts = config.sending.max_attempts,
            retry_base_seconds = config.sending.retry_base.as_secs(),
            dkim_keys = config.dkim.len(),
            log_filter = %config.log.filter,
            "configuration reloaded"
        );
        Some((Arc::new(config), signer))
    }
}

/// The token key: `http.token_secret` if set, else one generated on first run and kept in the database.
pub async fn load_tokens(config: &Config, store: &Store) -> anyhow::Result<Tokens> {
    let secret = match &config.http.token_secret {
        Some(s) => s.expose().to_owned(),
        None => store
            .secret_setting("token_secret")
            .await
            .context("reading the token key from the database")?,
    };
    Ok(Tokens::new(secret.as_bytes()))
}

impl App {
    pub async fn build(config: Config, clock: SharedClock) -> anyhow::Result<Self> {
        crate::metrics::set_daemon_name(&config.sending.daemon_name);
        // Keys are parsed once, here: a missing or unusable key stops `serve` before anything is sent.
        let signer = crate::send::dkim::Signer::load(&config.dkim)
            .context("loading the [[dkim]] keys")?
            .map(Arc::new);
        if let Some(signer) = &signer {
            for s in signer.signatures() {
                tracing::info!(selector = %s.selector, domain = %s.domain, algorithm = s.key.algorithm().tag(), bits = s.key.bits(), "DKIM signing");
            }
        }
        let database = config.database.url.clone();
        let lock = match database.sqlite_path() {
            Some(path) => Some(lock_sqlite_file(path)?),
            None => None,
        };
        let mut store = Store::open(&database)
            .await
            .with_context(|| format!("opening database {database}"))?;
        store.set_lease(config.sending.lease);
        store.set_daemon_name(&config.sending.daemon_name);
        if let Some(path) = database.sqlite_path() {
            crate::store::warn_if_readable_by_others(path);
        }
        let tokens = load_tokens(&config, &store).await?;
        let listener = tokio::net::TcpListener::bind(config.http.listen)
            .await
            .with_context(|| format!("binding http.listen {}", config.http.listen))?;
        // Metrics are not worth refusing to send for: a port taken is an error in the log.
        let admin = match config.admin.listen {
            Some(addr) => match tokio::net::TcpListener::bind(addr).await {
                Ok(listener) => Some(listener),
                Err(e) => {
                    tracing::error!(%addr, error = %e, "cannot bind admin.listen: serving without /metrics");
                    None
                }
            },
            None => None,
        };
        Ok(Self {
            config: Arc::new(config),
            store,
            clock,
            tokens,
            listener,
            admin,
            signer,
            reload: None,
            view: None,
            _lock: lock,
        })
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener")
    }

    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
        options: RunOptions,
    ) -> anyhow::Result<()> {
        let App {
            config,
            store,
            clock,
            tokens,
            listener,
            admin,
            signer,
            mut reload,
            view,
            _lock,
        } = self;
        let stop = CancellationToken::new();
        let notifier = Arc::new(Notifier::from_env());
        let watcher = tokio::spawn({
            let stop = stop.clone();
            let notifier = notifier.clone();
            async move {
                shutdown.await;
                notifier.stopping();
                tracing::info!("shutdown requested: finishing messages in flight");
                stop.cancel();
            }
        });
        let tracker = TaskTracker::new();
        let recovered = store.recover_interrupted(clock.now()).await?;
        if recovered > 0 {
            tracing::warn!(
                recovered,
                "deliveries interrupted by an earlier crash are pending again"
            );
        }
        // Signups wake the confirmation mailer, which also sends what is due on its own.
        let mailer = Arc::new(tokio::sync::Notify::new());
        tracker.spawn(crate::send::confirmation::run(
            store.clone(),
            config.clone(),
            tokens.clone(),
            clock.clone(),
            signer.clone(),
            mailer.clone(),
            stop.clone(),
        ));
        let router = http::router(
            store.clone(),
            tokens.clone(),
            clock.clone(),
            config.clone(),
            mailer,
        );
        tracing::info!(listen = %listener.local_addr()?, public_url = %config.http.public_url, "http listening");
        tracker.spawn(http::serve(
            listener,
            router,
            http::Limits {
                max_connections: config.http.max_connections,
                header_timeout: config.http.header_timeout,
                connection_lifetime: config.http.connection_lifetime,
            },
            stop.clone(),
        ));
        if let Some(admin) = admin {
            tracing::info!(listen = %admin.local_addr()?, "admin listening (/metrics, /api/v1)");
            tracker.spawn(http::serve(
                admin,
                http::admin_router(http::ApiState::new(
                    store.clone(),
                    config.clone(),
                    clock.clone(),
                )),
                http::Limits {
                    max_connections: 16,
                    header_timeout: config.http.header_timeout,
                    // Long imports and exports stream through one request: an hour, not the
                    // public listener's lifetime.
                    connection_lifetime: Duration::from_secs(3600),
                },
                stop.clone(),
            ));
        }
        spawn_bounce_intakes(&config, &store, &tokens, &clock, &tracker, &stop);
        // Leases are renewed until every message in flight has its outcome recorded (after the
        // tracked tasks drained), not only until shutdown is asked for: a message still being sent
        // must not have its delivery taken over by another daemon.
        let renewing = CancellationToken::new();
        let renewal = store.is_shared_queue().then(|| {
            tokio::spawn(renew_leases(
                store.clone(),
                clock.clone(),
                config.sending.lease,
                renewing.clone(),
            ))
        });
        let scheduler = Arc::new(Scheduler::new(
            store.clone(),
            clock.clone(),
            config.scheduler.clone(),
        ));
        // The scheduler also ticks on its own, so a long hand-out of one issue's batch never delays
        // another issue's start.
        tracker.spawn(tick_on_interval(
            scheduler.clone(),
            config.scheduler.poll_interval,
            stop.clone(),
        ));
        let mut dispatcher = Dispatcher::start(
            store.clone(),
            clock.clone(),
            config.clone(),
            tokens.clone(),
            signer,
            &tracker,
            stop.clone(),
        )
        .watched_by(notifier.clone());
        if let Some(r) = &reload {
            dispatcher = dispatcher.interrupted_by(r.pending.clone());
        }
        // Migrated, recovered, listening, scheduling: systemd may now consider herald started.
        notifier.ready("ready: nothing to send yet");
        let mut progress = Progress::new(store.clone(), notifier.clone(), view);
        let result = drive(
            &scheduler,
            &mut dispatcher,
            &stop,
            config.scheduler.poll_interval,
            options,
            &mut progress,
            (&mut reload, config.clone()),
        )
        .await;
        notifier.stopping();
        stop.cancel();
        dispatcher.close();
        let fatal = dispatcher.fatal_later();
        drop(dispatcher);
        tracker.close();
        tracker.wait().await;
        let fatal = fatal();
        renewing.cancel();
        if let Some(renewal) = renewal {
            let _ = renewal.await;
        }
        watcher.abort();
        if options.until_idle && result.is_ok() {
            report_idle(&store).await?;
        }
        store.close().await;
        match (result, fatal) {
            (Err(e), _) => Err(e),
            (Ok(()), Some(fatal)) => Err(anyhow::anyhow!("sending stopped: {fatal}")),
            (Ok(()), None) => Ok(()),
        }
    }
}

/// The Maildir and IMAP bounce pollers, when configured, and the hourly pruning of raw reports older
/// than `bounce.keep_raw_days`.
fn spawn_bounce_intakes(
    config: &Arc<Config>,
    store: &Store,
    tokens: &Tokens,
    clock: &SharedClock,
    tracker: &TaskTracker,
    stop: &CancellationToken,
) {
    let intake = crate::ops::bounces::intake(config, store.clone(), tokens.clone());
    if let Some(dir) = &config.bounce.maildir {
        let maildir = crate::bounce::maildir::MaildirIntake {
            dir: dir.clone(),
            after: config.bounce.maildir_after,
            max_bytes: config.bounce.max_report_bytes,
            intake: intake.clone(),
            clock: clock.clone(),
        };
        tracker.spawn(maildir.run(config.bounce.maildir_poll, stop.clone()));
    }
    if let Some(imap) = &config.bounce.imap {
        let imap = crate::bounce::imap::ImapIntake {
            config: imap.clone(),
            max_bytes: config.bounce.max_report_bytes,
            timeout: config.smtp.timeout,
            intake,
            clock: clock.clone(),
        };
        tracker.spawn(imap.run(stop.clone()));
    }
    let (store, clock, stop, keep) = (
        store.clone(),
        clock.clone(),
        stop.clone(),
        config.bounce.keep_raw,
    );
    tracker.spawn(async move {
        loop {
            let before = clock.now() - chrono::Duration::from_std(keep).unwrap_or_default();
            match store.prune_raw_reports(before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    reports = n,
                    "raw bounce reports past bounce.keep_raw_days dropped"
                ),
                Err(e) => tracing::warn!(error = %e, "cannot prune raw bounce reports"),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
                _ = stop.cancelled() => return,
            }
        }
    });
}

async fn tick_on_interval(scheduler: Arc<Scheduler>, every: Duration, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.cancelled() => return,
        }
        if let Err(e) = scheduler.tick().await {
            tracing::error!(error = %e, "scheduler tick failed; trying again");
        }
    }
}

async fn report_idle(store: &Store) -> anyhow::Result<()> {
    for issue in store.issues_in_state(IssueState::Sending).await? {
        if let Some(at) = store.next_retry_at(issue.id).await? {
            tracing::info!(issue_id = %issue.id, next_retry = %at.to_rfc3339(), "deferred deliveries wait for a later run");
        }
    }
    Ok(())
}

/// The main loop: tick the scheduler, hand out a batch, repeat; rest when there is nothing to do.
async fn drive(
    scheduler: &Scheduler,
    dispatcher: &mut Dispatcher,
    stop: &CancellationToken,
    poll: Duration,
    options: RunOptions,
    progress: &mut Progress,
    (reload, mut running): (&mut Option<Reload>, Arc<Config>),
) -> anyhow::Result<()> {
    while !stop.is_cancelled() {
        if let Some(r) = reload.as_mut()
            && !stop.is_cancelled()
            && r.requests.try_recv().is_ok()
            && let Some(new) = r.apply(&running, dispatcher, &progress.notifier)
        {
            running = new;
        }
        // The watchdog ping comes from here: a loop stuck in the database or the sender stops it.
        progress.notifier.alive();
        progress.update(dispatcher.throttled_to()).await;
        let tick = scheduler.tick().await.context("scheduler")?;
        let pumped = dispatcher.pump().await.context("sender")?;
        if !tick.started.is_empty() || pumped.dispatched > 0 {
            continue;
        }
        let quiet = pumped.in_flight_before == 0 && dispatcher.in_flight() == 0;
        // Another daemon's deliveries (PostgreSQL) are waited for at the poll interval: their
        // outcomes come from elsewhere.
        let elsewhere =
            quiet && leased_elsewhere(scheduler.store(), scheduler.now(), options).await;
        let settled = quiet && !elsewhere;
        if options.until_idle && settled {
            tracing::info!("idle: nothing due and nothing in flight");
            return Ok(());
        }
        // While messages are in flight their outcomes decide what comes next: look again soon.
        let rest = if quiet {
            poll
        } else {
            Duration::from_millis(10)
        };
        let reloaded = async {
            match reload.as_mut() {
                Some(r) => r.requests.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(rest) => {}
            _ = stop.cancelled() => {}
            Some(()) = reloaded => {
                if let Some(r) = reload.as_ref()
                    && !stop.is_cancelled()
                    && let Some(new) = r.apply(&running, dispatcher, &progress.notifier)
                {
                    running = new;
                }
            }
        }
    }
    Ok(())
}

/// What `STATUS=` says: each sending issue's progress and rate, refreshed every few seconds.
struct Progress {
    store: Store,
    notifier: Arc<Notifier>,
    last: Option<std::time::Instant>,
    /// Final deliveries per issue at the last refresh, for the rate.
    done: std::collections::HashMap<crate::domain::IssueId, i64>,
    /// A terminal's live bars, refreshed every second.
    view: Option<Arc<dyn ProgressView>>,
}

impl Progress {
    const EVERY: Duration = Duration::from_secs(5);

    fn new(store: Store, notifier: Arc<Notifier>, view: Option<Arc<dyn ProgressView>>) -> Self {
        Self {
            store,
            notifier,
            last: None,
            done: Default::default(),
            view,
        }
    }

    async fn update(&mut self, throttled: Option<crate::send::Limits>) {
        // Nobody to tell (no systemd notify socket, no terminal): no queries.
        if !self.notifier.is_enabled() && self.view.is_none() {
            return;
        }
        let every = if self.view.is_some() {
            Duration::from_secs(1)
        } else {
            Self::EVERY
        };
        let elapsed = match self.last {
            Some(at) if at.elapsed() < every => return,
            Some(at) => Some(at.elapsed()),
            None => None,
        };
        self.last = Some(std::time::Instant::now());
        let Ok(sending) = self.store.issues_in_state(IssueState::Sending).await else {
            return;
        };
        let mut parts = Vec::new();
        let mut done_now = std::collections::HashMap::new();
        for issue in &sending {
            let Ok(summary) = self.store.issue_summary(issue.id).await else {
                continue;
            };
            let total = summary.total();
            let done = total - summary.open();
            // Over the last refresh, or on the first one, since the issue started.
            let rate = match (elapsed, self.done.get(&issue.id), summary.started_at) {
                (Some(e), Some(before), _) if e.as_secs_f64() > 0.0 => {
                    Some((done - before) as f64 / e.as_secs_f64())
                }
                (_, _, Some(started)) => {
                    let seconds = (chrono::Utc::now() - started).as_seconds_f64();
                    (seconds > 0.0).then(|| done as f64 / seconds)
                }
                _ => None,
            };
            if let Some(view) = &self.view {
                view.show(issue.id, &summary.list, done, total, rate);
            }
            let rate = rate.map(|r| format!(", {r:.0} msg/s")).unwrap_or_default();
            parts.push(format!(
                "sending issue {} to {}: {done} of {total}{rate}",
                issue.id, summary.list
            ));
            done_now.insert(issue.id, done);
        }
        if let Some(view) = &self.view {
            for gone in self.done.keys().filter(|id| !done_now.contains_key(id)) {
                view.finish(*gone);
            }
        }
        self.done = done_now;
        let mut status = if parts.is_empty() {
            "idle: nothing to send".to_owned()
        } else {
            parts.join("; ")
        };
        if let Some(limits) = throttled {
            let rate = limits
                .rate
                .map_or("no rate limit".to_owned(), |r| format!("{r:.0} msg/s"));
            status.push_str(&format!(
                " (the relay asked to slow down: {rate}, {} sessions)",
                limits.sessions
            ));
        }
        self.notifier.status(&status);
    }
}

/// One `herald serve` per SQLite file: an exclusive lock on the database file itself (flock: per
/// inode), so another path to it (a symlink, `x/../herald.db`, a bind mount) cannot start a second
/// sender. SQLite's own locks are fcntl byte-range locks, which flock does not touch. It is taken
/// before the store opens, so a second daemon never migrates or recovers a database a running one
/// uses. (On PostgreSQL several daemons share the queue through leased claims instead.)
fn lock_sqlite_file(path: &std::path::Path) -> anyhow::Result<std::fs::File> {
    crate::store::create_database_file(path)
        .with_context(|| format!("creating database {}", path.display()))?;
    let lock = std::fs::File::open(path)
        .with_context(|| format!("opening {} to lock it", path.display()))?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another `herald serve` is already running on {} (it holds a lock on the file)",
            path.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}

/// Keeps this daemon's claimed deliveries its own (PostgreSQL): renews their leases every third of
/// `sending.lease_seconds`, so only a daemon that stopped renewing (dead, or cut off from the
/// database) has its deliveries taken over by the others.
async fn renew_leases(store: Store, clock: SharedClock, lease: Duration, stop: CancellationToken) {
    let every = lease / 3;
    // Taking back other daemons' expired rows can wait on their issues' locks: it runs on its own,
    // never delaying a renewal.
    let recovering = tokio::spawn(take_back_expired(
        store.clone(),
        clock.clone(),
        every,
        stop.clone(),
    ));
    loop {
        if let Err(e) = store.renew_leases().await {
            tracing::warn!(error = %e, "cannot renew this daemon's delivery leases; retrying");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.cancelled() => break,
        }
    }
    let _ = recovering.await;
}

/// A dead daemon's rows of a sending issue are claimed again by whoever sends it; those of a paused
/// or cancelled issue are put back (pending, or skipped) here.
async fn take_back_expired(
    store: Store,
    clock: SharedClock,
    every: Duration,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.cancelled() => return,
        }
        match store.recover_interrupted(clock.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                deliveries = n,
                "took back deliveries whose daemon stopped renewing their lease"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "cannot take back expired delivery leases; retrying")
            }
        }
    }
}

/// `serve --until-idle` on a shared queue: another daemon still holds deliveries (its lease runs),
/// whose outcomes may yet call for retries, so this daemon is not idle; and rows whose lease ran
/// out are put back first (they may be work to do).
async fn leased_elsewhere(
    store: &Store,
    now: chrono::DateTime<chrono::Utc>,
    options: RunOptions,
) -> bool {
    if !options.until_idle || !store.is_shared_queue() {
        return false;
    }
    let taken_back = match store.recover_interrupted(now).await {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "cannot take back expired delivery leases");
            return true;
        }
    };
    match store.leased_elsewhere().await {
        Ok(n) => n > 0 || taken_back > 0,
        Err(e) => {
            tracing::warn!(error = %e, "cannot count the deliveries other daemons hold");
            true
        }
    }
}
