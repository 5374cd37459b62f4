//! Pause and resume on a real `herald serve`: nothing more goes out while paused, resume continues
//! where it stopped, nobody is mailed twice, and a reader who left during the pause is skipped.

use crate::helpers::*;
use std::{collections::BTreeMap, time::Duration};

fn issue_of(m: &SinkMessage) -> i64 {
    let id = m.parsed().message_id().unwrap().to_owned();
    id.split('.').nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_paused_issue_sends_nothing_and_resumes_without_mailing_anyone_twice() {
    let sink = SmtpSink::start(&[]);
    let app = TestApp::new(
        Smtp::Port(sink.port),
        &[("smtp.connections", "2"), ("sending.batch_size", "20")],
    );
    app.list_with_subscribers(200);
    app.queue_issue(&[]);
    app.serve_until_idle();
    let leaver = sink
        .messages()
        .into_iter()
        .find(|m| m.rcpt == "reader199@example.com")
        .unwrap();
    let leave_url = leaver.unsubscribe_url();

    let id = app.queue_issue(&[]);
    let mut server = app.spawn_serve_paced(50);
    app.wait_for_issue(id, Duration::from_secs(30), |i| count(i, "sent") >= 20);
    app.ok(&["issue", "pause", &id.to_string()]);
    let paused = app.wait_for_issue(id, Duration::from_secs(10), |i| count(i, "sending") == 0);
    assert_eq!(paused["state"], "paused");
    let sent_at_pause = count(&paused, "sent");
    assert!(
        sent_at_pause < 200,
        "paused before the end ({sent_at_pause} sent)"
    );
    let arrived = |issue: i64| {
        sink.messages()
            .iter()
            .filter(|m| issue_of(m) == issue)
            .count() as i64
    };
    assert_eq!(
        arrived(id),
        sent_at_pause,
        "what arrived is exactly what is recorded sent"
    );
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(arrived(id), sent_at_pause, "nothing goes out while paused");
    assert_eq!(
        count(&app.issue(id), "pending"),
        200 - sent_at_pause,
        "every unsent recipient is still pending"
    );

    wait_http(app.http_port);
    assert_eq!(
        http("POST", &leave_url, Some("List-Unsubscribe=One-Click")).status,
        200
    );
    app.ok(&["issue", "resume", &id.to_string()]);
    let done = app.wait_for_issue(id, Duration::from_secs(30), |i| i["state"] == "sent");
    sigterm(&server);
    assert!(
        wait_exit(&mut server, Duration::from_secs(20)).success(),
        "SIGTERM exits 0"
    );

    assert_eq!((count(&done, "sent"), count(&done, "skipped")), (199, 1));
    let mut per_recipient: BTreeMap<String, usize> = BTreeMap::new();
    for m in sink.messages().iter().filter(|m| issue_of(m) == id) {
        *per_recipient.entry(m.rcpt.clone()).or_default() += 1;
    }
    assert_eq!(per_recipient.len(), 199);
    assert!(
        per_recipient.values().all(|n| *n == 1),
        "nobody mailed twice"
    );
    assert!(
        !per_recipient.contains_key("reader199@example.com"),
        "the reader who left is skipped"
    );
}
