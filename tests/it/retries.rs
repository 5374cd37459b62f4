//! Outcomes: 2xx sent, 4xx retried with backoff up to max_attempts, 5xx failed at once, an unreachable
//! server pauses the issue.

use crate::{fixture_smtp::FixtureSmtp, helpers::*};
use serde_json::Value;
use std::sync::Arc;

fn delivery<'a>(rows: &'a Value, email: &str) -> &'a Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["email"] == email)
        .unwrap()
}

#[test]
fn a_4xx_is_retried_until_accepted_and_a_5xx_fails_at_once_with_the_reply_kept() {
    let fixture = FixtureSmtp::start(Arc::new(|rcpt: &str, attempt| match (rcpt, attempt) {
        ("reader0@example.com", _) => (550, "5.1.1 <reader0@example.com>: no such user"),
        ("reader1@example.com", 1) => (451, "4.3.0 try again later"),
        _ => (250, "2.0.0 queued"),
    }));
    let app = TestApp::new(
        Smtp::Port(fixture.port),
        &[
            ("sending.retry_base_seconds", "0"),
            ("sending.max_attempts", "3"),
        ],
    );
    app.list_with_subscribers(4);
    let id = app.queue_issue(&[]);

    app.serve_until_idle();

    let issue = app.issue(id);
    assert_eq!(issue["state"], "sent");
    // A `550 5.1.1 no such user` is a hard bounce: the address is bad for good.
    assert_eq!(
        (
            count(&issue, "sent"),
            count(&issue, "bounced"),
            count(&issue, "failed")
        ),
        (3, 1, 0)
    );
    let rows = app.json(&["issue", "deliveries", &id.to_string()]);
    let refused = delivery(&rows, "reader0@example.com");
    assert_eq!(refused["state"], "bounced");
    assert_eq!(refused["attempts"], 1, "a 5xx is not retried");
    assert!(
        refused["last_reply"]
            .as_str()
            .unwrap()
            .contains("no such user"),
        "{refused}"
    );
    let retried = delivery(&rows, "reader1@example.com");
    assert_eq!(retried["state"], "sent");
    assert_eq!(retried["attempts"], 2);
    let accepted = fixture.accepted.lock().unwrap().clone();
    assert_eq!(
        accepted.len(),
        3,
        "each accepted recipient got exactly one message: {accepted:?}"
    );
    let attempts = fixture.attempts.lock().unwrap().clone();
    assert_eq!(
        attempts.get("reader1@example.com"),
        Some(&2),
        "the server saw the retry"
    );
    assert_eq!(
        attempts.get("reader0@example.com"),
        Some(&1),
        "and no retry of the 5xx"
    );
}

#[test]
fn with_pipelining_a_refused_recipient_fails_and_the_session_carries_on() {
    let fixture = FixtureSmtp::start_with(
        Arc::new(|rcpt: &str, attempt| match (rcpt, attempt) {
            ("reader1@example.com", 1) => (451, "4.3.0 try again later"),
            _ => (250, "2.0.0 queued"),
        }),
        true,
    );
    let app = TestApp::new(
        Smtp::Port(fixture.port),
        &[
            ("sending.retry_base_seconds", "0"),
            ("smtp.connections", "1"),
        ],
    );
    app.list_with_subscribers(3);
    app.ok(&["subscriber", "add", "weekly", "refuse-rcpt@example.com"]);
    let id = app.queue_issue(&[]);

    app.serve_until_idle();

    let rows = app.json(&["issue", "deliveries", &id.to_string()]);
    let refused = delivery(&rows, "refuse-rcpt@example.com");
    assert_eq!(
        (refused["state"].as_str(), refused["attempts"].as_i64()),
        (Some("bounced"), Some(1)),
        "550 5.1.1 at RCPT is a hard bounce"
    );
    assert!(
        refused["last_reply"]
            .as_str()
            .unwrap()
            .contains("no such mailbox"),
        "{refused}"
    );
    assert_eq!(delivery(&rows, "reader1@example.com")["attempts"], 2);
    let mut accepted = fixture.accepted.lock().unwrap().clone();
    accepted.sort();
    assert_eq!(
        accepted,
        [
            "reader0@example.com",
            "reader1@example.com",
            "reader2@example.com"
        ]
    );
}

#[test]
fn with_pipelining_each_envelope_follows_the_previous_final_dot_and_a_refused_message_changes_nothing()
 {
    let fixture = FixtureSmtp::start_with(
        Arc::new(|rcpt: &str, _| match rcpt {
            "reader3@example.com" => (554, "5.7.1 message refused"),
            _ => (250, "2.0.0 queued"),
        }),
        true,
    );
    let app = TestApp::new(Smtp::Port(fixture.port), &[("smtp.connections", "1")]);
    app.list_with_subscribers(12);
    let id = app.queue_issue(&[]);

    app.serve_until_idle();

    let rows = app.json(&["issue", "deliveries", &id.to_string()]);
    let refused = delivery(&rows, "reader3@example.com");
    assert_eq!(
        (refused["state"].as_str(), refused["attempts"].as_i64()),
        (Some("failed"), Some(1)),
        "{refused}"
    );
    let mut accepted = fixture.accepted.lock().unwrap().clone();
    accepted.sort();
    let mut expected: Vec<String> = (0..12)
        .filter(|i| *i != 3)
        .map(|i| format!("reader{i}@example.com"))
        .collect();
    expected.sort();
    assert_eq!(
        accepted, expected,
        "each accepted once, the one after the refusal too"
    );
    let attempts = fixture.attempts.lock().unwrap().clone();
    assert!(attempts.values().all(|n| *n == 1), "{attempts:?}");
    // Every message but the last of a run of queued jobs carried the next one's envelope behind
    // its final dot: one round trip per message.
    let followed = fixture.followed.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        followed >= 8,
        "only {followed} of 12 messages had the next envelope behind their final dot"
    );
}

#[test]
fn a_4xx_that_persists_becomes_failed_after_max_attempts() {
    let sink = SmtpSink::start(&["-r", "RCPT"]);
    let app = TestApp::new(
        Smtp::Port(sink.port),
        &[
            ("sending.retry_base_seconds", "0"),
            ("sending.max_attempts", "2"),
        ],
    );
    app.list_with_subscribers(2);
    let id = app.queue_issue(&[]);

    app.serve_until_idle();

    let issue = app.issue(id);
    assert_eq!(count(&issue, "failed"), 2);
    for row in app
        .json(&["issue", "deliveries", &id.to_string()])
        .as_array()
        .unwrap()
    {
        assert_eq!(row["attempts"], 2);
        let reply = row["last_reply"].as_str().unwrap();
        assert!(
            reply.contains("gave up after 2 attempts") && reply.contains("4"),
            "{reply}"
        );
    }
    assert!(sink.messages().is_empty());
}

#[test]
fn a_deferred_delivery_waits_for_its_backoff_before_the_next_attempt() {
    let sink = SmtpSink::start(&["-r", "RCPT"]);
    let app = TestApp::new(
        Smtp::Port(sink.port),
        &[("sending.retry_base_seconds", "3600")],
    );
    app.list_with_subscribers(1);
    let id = app.queue_issue(&[]);

    app.serve_until_idle();

    let issue = app.issue(id);
    assert_eq!(
        (issue["state"].as_str(), count(&issue, "deferred")),
        (Some("sending"), 1)
    );
    let row = &app.json(&["issue", "deliveries", &id.to_string()])[0];
    assert_eq!(row["attempts"], 1);
    let next =
        chrono::DateTime::parse_from_rfc3339(row["next_attempt_at"].as_str().unwrap()).unwrap();
    let wait = next.with_timezone(&chrono::Utc) - chrono::Utc::now();
    assert!(
        wait > chrono::Duration::minutes(55),
        "retry an hour later, not {wait}"
    );
}

#[test]
fn a_5xx_from_smtp_sink_fails_every_delivery_at_once() {
    let sink = SmtpSink::start(&["-f", "DATA"]);
    let app = TestApp::new(Smtp::Port(sink.port), &[]);
    app.list_with_subscribers(3);
    let id = app.queue_issue(&[]);

    app.serve_until_idle();

    let issue = app.issue(id);
    assert_eq!(
        (issue["state"].as_str(), count(&issue, "failed")),
        (Some("sent"), 3)
    );
    for row in app
        .json(&["issue", "deliveries", &id.to_string()])
        .as_array()
        .unwrap()
    {
        assert_eq!(row["attempts"], 1);
        assert!(row["last_reply"].as_str().unwrap().contains("5"), "{row}");
    }
}

#[test]
fn an_unreachable_server_pauses_the_issue_with_the_reason_and_attempts_nobody() {
    let closed = free_port();
    let app = TestApp::new(
        Smtp::Port(closed),
        &[
            ("smtp.unreachable_pause_seconds", "1"),
            ("sending.batch_size", "500"),
        ],
    );
    app.list_with_subscribers(600);
    let id = app.queue_issue(&[]);

    let started = std::time::Instant::now();
    app.serve_until_idle();

    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "pausing does not wait for the batch to drain through connection backoffs: {:?}",
        started.elapsed()
    );
    let issue = app.issue(id);
    assert_eq!(issue["state"], "paused");
    let reason = issue["state_reason"].as_str().unwrap();
    assert!(
        reason.contains("unreachable") && reason.contains(&closed.to_string()),
        "{reason}"
    );
    assert_eq!(
        count(&issue, "pending"),
        600,
        "nobody was attempted or lost"
    );
}

#[test]
fn a_refused_envelope_sender_pauses_the_issue_instead_of_failing_every_recipient() {
    let sink = SmtpSink::start(&["-f", "MAIL"]);
    let app = TestApp::new(Smtp::Port(sink.port), &[]);
    app.list_with_subscribers(5);
    let id = app.queue_issue(&[]);

    app.serve_until_idle();

    let issue = app.issue(id);
    assert_eq!(issue["state"], "paused");
    let reason = issue["state_reason"].as_str().unwrap();
    assert!(reason.contains("refused the envelope sender"), "{reason}");
    assert_eq!(
        count(&issue, "pending"),
        5,
        "no recipient was failed for the sender's fault"
    );
    assert_eq!(count(&issue, "failed"), 0);
}
