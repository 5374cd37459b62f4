//! Talking to the service manager (systemd's notify protocol, through the `sd-notify` crate):
//! `READY=1` once herald serves, `STATUS=` with what it is doing, `STOPPING=1` on shutdown, and
//! `WATCHDOG=1` from the loops that do the work, never from a timer of its own, so a wedged sender or a
//! stuck database stops the pings and systemd restarts the service. Without `NOTIFY_SOCKET` (not run by
//! systemd, or `Type=` other than notify) every call does nothing.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

pub struct Notifier {
    enabled: bool,
    /// Half of `WatchdogSec=`, when systemd asked for pings.
    watchdog: Option<Duration>,
    last_ping: Mutex<Option<Instant>>,
    last_status: Mutex<String>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Notifier(enabled: {}, watchdog: {:?})",
            self.enabled, self.watchdog
        )
    }
}

impl Notifier {
    /// From the environment systemd gives the main process (`NOTIFY_SOCKET`, `WATCHDOG_USEC`,
    /// `WATCHDOG_PID`).
    pub fn from_env() -> Self {
        let enabled = std::env::var_os("NOTIFY_SOCKET").is_some();
        let mut usec = 0;
        let watchdog = (enabled && sd_notify::watchdog_enabled(false, &mut usec) && usec > 0)
            .then(|| Duration::from_micros(usec) / 2);
        Self {
            enabled,
            watchdog,
            last_ping: Mutex::new(None),
            last_status: Mutex::new(String::new()),
        }
    }

    /// A notifier that never sends (tests, `--until-idle` runs outside systemd alike).
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            watchdog: None,
            last_ping: Mutex::new(None),
            last_status: Mutex::new(String::new()),
        }
    }

    fn send(&self, states: &[sd_notify::NotifyState<'_>]) {
        if self.enabled
            && let Err(e) = sd_notify::notify(false, states)
        {
            tracing::warn!(error = %e, "cannot notify the service manager");
        }
    }

    /// Migrations applied, interrupted deliveries recovered, the HTTP listener bound.
    pub fn ready(&self, status: &str) {
        *self.last_status.lock().expect("status lock") = status.to_owned();
        self.send(&[
            sd_notify::NotifyState::Ready,
            sd_notify::NotifyState::Status(status),
        ]);
        self.alive();
    }

    /// What herald is doing now, for `systemctl status`; sent only when it changed.
    pub fn status(&self, text: &str) {
        let mut last = self.last_status.lock().expect("status lock");
        if *last != text {
            text.clone_into(&mut last);
            self.send(&[sd_notify::NotifyState::Status(text)]);
        }
    }

    /// SIGHUP: the configuration is being read again (`READY=1` follows).
    pub fn reloading(&self) {
        self.send(&[
            sd_notify::NotifyState::Reloading,
            sd_notify::NotifyState::Status("reloading the configuration"),
        ]);
    }

    pub fn stopping(&self) {
        self.send(&[
            sd_notify::NotifyState::Stopping,
            sd_notify::NotifyState::Status("stopping: finishing messages in flight"),
        ]);
    }

    /// The work loop came round: a watchdog ping, at most every half `WatchdogSec=` / 2.
    pub fn alive(&self) {
        let Some(every) = self.watchdog else { return };
        let mut last = self.last_ping.lock().expect("ping lock");
        if last.is_none_or(|at| at.elapsed() >= every / 2) {
            *last = Some(Instant::now());
            self.send(&[sd_notify::NotifyState::Watchdog]);
        }
    }

    /// Whether a service manager listens (`NOTIFY_SOCKET`).
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }
}
