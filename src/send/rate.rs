//! A shared pace for all sessions: `smtp.rate_per_second` spaces messages evenly, with no burst credit
//! saved up while idle. It adapts (AIMD): a relay that says "slow down" (see
//! [`super::outcome::is_throttle`]) cuts the rate in force to three quarters, at most once a second;
//! each second of clean replies then raises it by 5 % until it is back at the configured rate (or,
//! when none is configured, at the rate achieved before the first refusal, after which it is unlimited
//! again). The number of sessions sending follows the same way, one at a time.

use std::{sync::Mutex, time::Duration};
use tokio::time::Instant;

/// Never slower than this, whatever the relay says.
const MIN_RATE: f64 = 0.5;
const DECREASE: f64 = 0.75;
const INCREASE: f64 = 0.05;
const STEP: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub struct RateLimiter {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Messages per second configured; `None`: unlimited.
    configured: Option<f64>,
    /// Sessions configured.
    connections: usize,
    next: Instant,
    /// The rate in force while throttled; `None`: the configured one.
    throttled: Option<f64>,
    /// With no configured rate: the rate achieved when throttling began, where it ends.
    ceiling: Option<f64>,
    /// Sessions allowed to send now.
    sessions: usize,
    /// The last cut and the last raise: cuts come at most once a second, raises a second after
    /// either (a raise never holds back the next cut).
    last_cut: Instant,
    last_raise: Instant,
    /// Messages handed out in the current second, and the last full second's rate.
    window_start: Instant,
    window_count: u32,
    observed: f64,
}

/// What a throttling or a clean reply changed, for the logs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Messages per second in force; `None`: unlimited.
    pub rate: Option<f64>,
    pub sessions: usize,
}

impl RateLimiter {
    /// `per_second` messages a second over `connections` sessions; a `per_second` of 0 means
    /// unlimited.
    pub fn with_sessions(per_second: f64, connections: usize) -> Self {
        let now = Instant::now();
        let limiter = Self {
            state: Mutex::new(State {
                configured: (per_second > 0.0).then_some(per_second),
                connections: connections.max(1),
                next: now,
                throttled: None,
                ceiling: None,
                sessions: connections.max(1),
                last_cut: now,
                last_raise: now,
                window_start: now,
                window_count: 0,
                observed: 0.0,
            }),
        };
        limiter.publish(&limiter.state.lock().expect("rate lock"));
        limiter
    }

    /// Waits for this caller's turn.
    pub async fn acquire(&self) {
        if let Some(at) = self.take_turn(false) {
            tokio::time::sleep_until(at).await;
        }
    }

    /// Takes this caller's turn if it is due now; `false` (and nothing taken) if it would have to
    /// wait.
    pub fn try_acquire(&self) -> bool {
        self.take_turn(true).is_none()
    }

    /// Takes the next turn; returns when it comes if that is later than now. `only_if_due`: a turn
    /// not yet due is not taken (`Some` is returned all the same).
    fn take_turn(&self, only_if_due: bool) -> Option<Instant> {
        let mut s = self.state.lock().expect("rate lock");
        let now = Instant::now();
        let rate = s.throttled.or(s.configured);
        let at = rate.map(|_| s.next.max(now));
        if only_if_due && at.is_some_and(|at| at > now) {
            return at;
        }
        s.window_count += 1;
        let elapsed = now - s.window_start;
        if elapsed >= STEP {
            s.observed = f64::from(s.window_count) / elapsed.as_secs_f64();
            s.window_start = now;
            s.window_count = 0;
        }
        let (rate, at) = (rate?, at?);
        s.next = at + Duration::from_secs_f64(1.0 / rate);
        (at > now).then_some(at)
    }

    /// The relay asked to slow down: fewer messages per second and one session fewer, at most once a
    /// second (one burst of refusals is one signal). Returns the new limits when they changed.
    pub fn throttled(&self) -> Option<Limits> {
        let mut s = self.state.lock().expect("rate lock");
        let now = Instant::now();
        if s.throttled.is_some() && now - s.last_cut < STEP {
            return None;
        }
        let current = match s.throttled.or(s.configured) {
            Some(rate) => rate,
            None => {
                let achieved = s.observed.max(f64::from(s.window_count)).max(MIN_RATE);
                s.ceiling = Some(achieved);
                achieved
            }
        };
        s.throttled = Some((current * DECREASE).max(MIN_RATE));
        s.sessions = s.sessions.saturating_sub(1).max(1);
        s.last_cut = now;
        s.last_raise = now;
        self.publish(&s);
        Some(self.limits(&s))
    }

    /// A clean reply: after a second without refusals, 5 % more messages per second and one more
    /// session, up to the configured limits. Returns the new limits when they changed.
    pub fn clean(&self) -> Option<Limits> {
        let mut s = self.state.lock().expect("rate lock");
        let now = Instant::now();
        if now - s.last_cut < STEP || now - s.last_raise < STEP {
            return None;
        }
        let Some(rate) = s.throttled else {
            // The pace is back; sessions parked by the cuts come back one a second.
            if s.sessions >= s.connections {
                return None;
            }
            s.sessions += 1;
            s.last_raise = now;
            self.publish(&s);
            return Some(self.limits(&s));
        };
        let raised = rate + (rate * INCREASE).max(0.5);
        let top = s.configured.or(s.ceiling).unwrap_or(f64::INFINITY);
        if raised >= top {
            s.throttled = None;
            s.ceiling = None;
        } else {
            s.throttled = Some(raised);
        }
        s.sessions = (s.sessions + 1).min(s.connections);
        s.last_raise = now;
        self.publish(&s);
        Some(self.limits(&s))
    }

    fn limits(&self, s: &State) -> Limits {
        Limits {
            rate: s.throttled.or(s.configured),
            sessions: s.sessions,
        }
    }

    /// The limits in force, to the metrics.
    fn publish(&self, s: &State) {
        let m = crate::metrics::Metrics::get();
        m.rate_limit
            .set(s.throttled.or(s.configured).unwrap_or(0.0));
        m.sessions_allowed.set(s.sessions as i64);
    }

    /// New configured limits (`smtp.rate_per_second`, `smtp.connections`, on reload). A throttled
    /// pace stays as low as the relay made it, within the new limits.
    pub fn reconfigure(&self, per_second: f64, connections: usize) {
        let mut s = self.state.lock().expect("rate lock");
        let before = s.configured;
        s.configured = (per_second > 0.0).then_some(per_second);
        // Throttled, now unlimited: the climb ends where the old limit was.
        if s.configured.is_none() && s.throttled.is_some() && s.ceiling.is_none() {
            s.ceiling = before.or(Some(s.observed.max(MIN_RATE)));
        }
        s.connections = connections.max(1);
        if let (Some(t), Some(c)) = (s.throttled, s.configured)
            && t >= c
        {
            s.throttled = None;
        }
        s.sessions = if s.throttled.is_some() {
            s.sessions.min(s.connections)
        } else {
            s.connections
        };
        // A slower pace applies from the next message, not after the queue of turns already given.
        let now = Instant::now();
        if s.next > now {
            s.next = now;
        }
        self.publish(&s);
    }

    /// The limits in force now.
    pub fn in_force(&self) -> Limits {
        self.limits(&self.state.lock().expect("rate lock"))
    }

    /// Whether session number `index` (from 0) may send now.
    pub fn session_allowed(&self, index: usize) -> bool {
        index < self.state.lock().expect("rate lock").sessions
    }

    /// The limits in force while throttled below the configured ones.
    pub fn throttled_limits(&self) -> Option<Limits> {
        let s = self.state.lock().expect("rate lock");
        s.throttled.is_some().then(|| self.limits(&s))
    }

    /// Throttled below the configured limits.
    pub fn is_throttled(&self) -> bool {
        self.state.lock().expect("rate lock").throttled.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn ten_per_second_spaces_calls_a_tenth_of_a_second_apart() {
        let limiter = RateLimiter::with_sessions(10.0, 1);
        let start = Instant::now();
        for _ in 0..11 {
            limiter.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_turn_is_taken_without_waiting_only_when_it_is_due() {
        let limiter = RateLimiter::with_sessions(10.0, 1);
        assert!(limiter.try_acquire(), "the first turn is due at once");
        assert!(
            !limiter.try_acquire(),
            "the next one is a tenth of a second away"
        );
        tokio::time::advance(Duration::from_millis(60)).await;
        assert!(!limiter.try_acquire(), "and a refused try took nothing");
        tokio::time::advance(Duration::from_millis(40)).await;
        assert!(limiter.try_acquire());
        let start = Instant::now();
        limiter.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_millis(100));
        let unlimited = RateLimiter::with_sessions(0.0, 1);
        assert!((0..100).all(|_| unlimited.try_acquire()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_cuts_the_rate_once_a_second_and_clean_replies_bring_it_back() {
        let limiter = RateLimiter::with_sessions(100.0, 4);
        let cut = limiter.throttled().unwrap();
        assert_eq!(cut.rate, Some(75.0));
        assert_eq!(cut.sessions, 3);
        // The same burst of refusals is one signal.
        assert_eq!(limiter.throttled(), None);
        assert_eq!(limiter.clean(), None, "no raise within the second");
        tokio::time::advance(STEP).await;
        assert_eq!(limiter.throttled().unwrap().rate, Some(56.25));
        let mut rate = 56.25;
        for _ in 0..20 {
            tokio::time::advance(STEP).await;
            if let Some(l) = limiter.clean() {
                rate = l.rate.unwrap();
            }
        }
        assert_eq!(rate, 100.0);
        assert!(!limiter.is_throttled());
        assert_eq!(limiter.in_force().sessions, 4);
    }

    #[tokio::test(start_paused = true)]
    async fn unlimited_sending_is_throttled_from_the_rate_it_achieved_and_freed_again() {
        let limiter = RateLimiter::with_sessions(0.0, 2);
        for _ in 0..200 {
            limiter.acquire().await;
            tokio::time::advance(Duration::from_millis(10)).await;
        }
        let cut = limiter.throttled().unwrap().rate.unwrap();
        assert!((70.0..=80.0).contains(&cut), "{cut}");
        for _ in 0..30 {
            tokio::time::advance(STEP).await;
            limiter.clean();
        }
        assert_eq!(limiter.in_force().rate, None, "unlimited again");
    }

    #[tokio::test(start_paused = true)]
    async fn a_raise_never_holds_back_the_next_cut() {
        // A relay that allows N a second: each second starts clean and ends refusing.
        let limiter = RateLimiter::with_sessions(100.0, 2);
        limiter.throttled().unwrap();
        tokio::time::advance(STEP).await;
        assert!(limiter.clean().is_some());
        assert!(
            limiter.throttled().is_some(),
            "the refusals after a raise still cut"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn every_session_comes_back_even_when_the_pace_recovers_first() {
        let limiter = RateLimiter::with_sessions(2.0, 8);
        for _ in 0..4 {
            limiter.throttled();
            tokio::time::advance(STEP).await;
        }
        assert_eq!(limiter.in_force().sessions, 4);
        for _ in 0..20 {
            tokio::time::advance(STEP).await;
            limiter.clean();
        }
        assert!(!limiter.is_throttled());
        assert_eq!(limiter.in_force().sessions, 8);
    }

    #[tokio::test(start_paused = true)]
    async fn a_reload_to_unlimited_while_throttled_still_ends_the_climb() {
        let limiter = RateLimiter::with_sessions(100.0, 1);
        limiter.throttled();
        limiter.reconfigure(0.0, 1);
        for _ in 0..30 {
            tokio::time::advance(STEP).await;
            limiter.clean();
        }
        assert!(!limiter.is_throttled());
        assert_eq!(limiter.in_force().rate, None);
    }

    #[test]
    fn the_rate_never_falls_below_the_floor() {
        let limiter = RateLimiter::with_sessions(1.0, 1);
        limiter.throttled();
        let s = limiter.state.lock().unwrap().throttled.unwrap();
        assert!(s >= MIN_RATE);
        assert_eq!(limiter.in_force().sessions, 1);
    }
}
