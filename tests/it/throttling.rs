//! A relay that allows N messages a second and answers `451 4.7.1` above it: herald slows down to
//! what it allows, delivers everyone, spends no attempt on the refusals, and climbs back.

use crate::{fixture_smtp::FixtureSmtp, helpers::*};
use std::{
    sync::{Arc, Mutex},
    time::Instant,
};

/// Per second since the start: messages accepted and refused.
type Timeline = Arc<Mutex<Vec<(u32, u32)>>>;

fn throttling_relay(allowed_per_second: u32) -> (FixtureSmtp, Timeline, Instant) {
    let start = Instant::now();
    let timeline: Timeline = Arc::default();
    let seen = timeline.clone();
    let fixture = FixtureSmtp::start_with(
        Arc::new(move |_rcpt: &str, _attempt| {
            let second = start.elapsed().as_secs() as usize;
            let mut t = seen.lock().unwrap();
            if t.len() <= second {
                t.resize(second + 1, (0, 0));
            }
            if t[second].0 < allowed_per_second {
                t[second].0 += 1;
                (250, "2.0.0 ok")
            } else {
                t[second].1 += 1;
                (451, "4.7.1 Too many messages, slow down")
            }
        }),
        true,
    );
    (fixture, timeline, start)
}

#[test]
fn a_relay_that_says_slow_down_gets_everyone_at_its_pace_with_no_attempt_spent() {
    let allowed = 40;
    let (relay, timeline, _) = throttling_relay(allowed);
    let app = TestApp::new(
        Smtp::Port(relay.port),
        &[("smtp.connections", "4"), ("sending.max_attempts", "2")],
    );
    app.list_with_subscribers(400);
    let id = app.queue_issue(&[]);
    let started = Instant::now();
    let out = app.serve_until_idle();
    let seconds = started.elapsed().as_secs_f64();

    let issue = app.issue(id);
    assert_eq!(count(&issue, "sent"), 400, "{issue}");
    for state in ["failed", "deferred", "bounced"] {
        assert_eq!(count(&issue, state), 0, "{state}: {issue}");
    }
    assert_eq!(relay.accepted.lock().unwrap().len(), 400);
    let timeline = timeline.lock().unwrap().clone();
    let refused: u32 = timeline.iter().map(|s| s.1).sum();
    assert!(refused > 0, "the relay never had to refuse: {timeline:?}");
    // After the first seconds the pace matches the relay: fewer than 10 % of transactions refused.
    let later: Vec<_> = timeline.iter().skip(3).collect();
    let (ok, no) = later.iter().fold((0, 0), |(a, r), (x, y)| (a + x, r + y));
    assert!(
        f64::from(no) < 0.1 * f64::from(ok + no),
        "refused {no} of {} after 3 s: {timeline:?}",
        ok + no
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("sending pace lowered"), "{log}");
    println!(
        "throttled: {:.1} msg/s achieved against {allowed} allowed ({:.2}), {refused} refusals; per second {timeline:?}",
        400.0 / seconds,
        400.0 / seconds / f64::from(allowed)
    );
}

#[test]
fn a_recipient_refused_with_slow_down_too_often_is_deferred_like_any_4xx() {
    // Greylisting says 451 4.7.1 too: after five in a row the delivery spends an attempt.
    let relay = FixtureSmtp::start(Arc::new(|_rcpt: &str, _attempt| {
        (451, "4.7.1 Greylisted, try again later")
    }));
    let app = TestApp::new(
        Smtp::Port(relay.port),
        &[
            ("smtp.connections", "1"),
            ("sending.retry_base_seconds", "3600"),
        ],
    );
    app.list_with_subscribers(1);
    let id = app.queue_issue(&[]);
    app.serve_until_idle();
    let issue = app.issue(id);
    assert_eq!(count(&issue, "deferred"), 1, "{issue}");
    let attempts = *relay
        .attempts
        .lock()
        .unwrap()
        .get("reader0@example.com")
        .unwrap();
    assert_eq!(attempts, 6, "five slow-downs, then a counted attempt");
}
