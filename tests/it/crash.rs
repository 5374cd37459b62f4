//! Crash safety: `kill -9` a real `herald serve` mid-send, restart, and count what the server got.

use crate::helpers::*;
use std::time::Duration;

#[test]
fn after_kill_9_mid_send_everyone_gets_the_issue_and_at_most_one_per_connection_twice() {
    let sink = SmtpSink::start(&[]);
    let connections = 4;
    let app = TestApp::new(
        Smtp::Port(sink.port),
        &[("smtp.connections", "4"), ("sending.batch_size", "100")],
    );
    app.list_with_subscribers(1000);
    let id = app.queue_issue(&[]);

    let mut server = app.spawn_serve_paced(400);
    let before = app.wait_for_issue(id, Duration::from_secs(60), |i| count(i, "sent") >= 250);
    sigkill(&server);
    server.wait().unwrap();
    assert!(count(&before, "sent") < 1000, "killed mid-send");
    let at_kill = app.issue(id);
    assert!(
        count(&at_kill, "pending") + count(&at_kill, "sending") > 0,
        "work was left: {at_kill}"
    );

    app.serve_until_idle();

    let issue = app.issue(id);
    assert_eq!(
        (issue["state"].as_str(), count(&issue, "sent")),
        (Some("sent"), 1000)
    );
    sink.assert_each_mailed(
        1000,
        connections,
        "at most one in-transaction message per connection is repeated",
    );
}

/// Three kills while four connections send fast. Outcomes are committed in groups while the next
/// envelope is answered, so at a kill each connection usually holds one accepted, unrecorded
/// message: nobody is missed, and each kill repeats at most one message per connection.
#[test]
fn three_kill_9s_at_full_speed_miss_nobody_and_repeat_at_most_one_per_connection_each() {
    kill_9_at(2000, 3000, [500, 1300, 2100]);
}

/// The same with no pace, where each connection sends the next envelope behind every final dot: an
/// envelope sent ahead carries no message, so a kill still repeats at most one message per
/// connection.
#[test]
fn three_kill_9s_unpaced_with_envelopes_sent_ahead_miss_nobody_and_repeat_at_most_one_per_connection_each()
 {
    kill_9_at(0, 6000, [500, 2500, 4500]);
}

/// Sends to `readers` over four connections at `rate` a second (0: no pace), killed when each count
/// of `kills` is sent, then to the end: everyone mailed, each kill repeating at most one per
/// connection.
fn kill_9_at(rate: u32, readers: usize, kills: [i64; 3]) {
    let sink = SmtpSink::start(&[]);
    let connections = 4;
    let app = TestApp::new(
        Smtp::Port(sink.port),
        &[("smtp.connections", "4"), ("sending.batch_size", "200")],
    );
    app.list_with_subscribers(readers);
    let id = app.queue_issue(&[]);
    for at in kills {
        let mut server = app.spawn_serve_paced(rate);
        let before = app.wait_for_issue(id, Duration::from_secs(60), |i| count(i, "sent") >= at);
        sigkill(&server);
        server.wait().unwrap();
        assert!(
            count(&before, "sent") < readers as i64,
            "killed mid-send: {before}"
        );
    }
    app.serve_until_idle();

    let issue = app.issue(id);
    assert_eq!(
        (issue["state"].as_str(), count(&issue, "sent")),
        (Some("sent"), readers as i64)
    );
    sink.assert_each_mailed(
        readers,
        connections * kills.len(),
        "at most one repeated message per connection and kill",
    );
}

#[test]
fn sigterm_mid_send_releases_what_was_claimed_and_exits_0_with_nobody_mailed_twice() {
    let sink = SmtpSink::start(&[]);
    let app = TestApp::new(
        Smtp::Port(sink.port),
        &[("smtp.connections", "4"), ("sending.batch_size", "100")],
    );
    app.list_with_subscribers(400);
    let id = app.queue_issue(&[]);

    let mut server = app.spawn_serve_paced(200);
    app.wait_for_issue(id, Duration::from_secs(60), |i| count(i, "sent") >= 50);
    sigterm(&server);
    let status = wait_exit(&mut server, Duration::from_secs(20));

    assert!(status.success(), "SIGTERM exits 0: {status:?}");
    let stopped = app.issue(id);
    assert_eq!(
        count(&stopped, "sending"),
        0,
        "claimed deliveries were released: {stopped}"
    );
    assert!(
        count(&stopped, "pending") > 0,
        "stopped mid-send: {stopped}"
    );
    assert_eq!(
        sink.messages().len() as i64,
        count(&stopped, "sent"),
        "what arrived is what is recorded"
    );

    app.serve_until_idle();
    sink.assert_each_mailed(400, 0, "a graceful stop mails nobody twice");
}
