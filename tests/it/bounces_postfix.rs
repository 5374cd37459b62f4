//! Bounces with a real Postfix: herald sends to a local relay, the relay hands the mail to a receiving
//! smtpd that refuses some recipients after the relay accepted them, Postfix's bounce(8) writes the
//! DSNs back to `bounces+TOKEN@…`, and pipe(8) delivers them into `herald bounce ingest`. And the
//! same receiving smtpd refusing recipients at RCPT while herald sends to it directly.

use crate::{helpers::*, servers::PostfixRelay};
use serde_json::Value;
use std::time::{Duration, Instant};

/// A list whose subscribers are `emails`.
fn list_of(app: &TestApp, emails: &[&str]) {
    app.create_list(&[]);
    let mut csv = String::from("email,name\n");
    for e in emails {
        csv.push_str(&format!("{e},Reader\n"));
    }
    let file = app.write("subscribers.csv", &csv);
    app.ok(&["subscriber", "import", "weekly", file.to_str().unwrap()]);
}

#[test]
fn dsns_written_by_a_real_postfix_come_back_through_pipe_and_the_next_issue_skips_bad_addresses() {
    let relay = PostfixRelay::shared();
    let domain = relay.bounce_domain();
    let bounce_address = format!("\"bounces@{domain}\"");
    let app = TestApp::new(
        Smtp::Port(relay.relay_port),
        &[("sending.bounce_address", &bounce_address)],
    );
    list_of(
        &app,
        &[
            "nosuchuser1@example.org",
            "fullbox2@example.org",
            "reader3@example.org",
            "tempfail4@example.org",
        ],
    );
    let first = app.queue_issue(&[]);
    app.serve_until_idle();
    assert_eq!(
        count(&app.issue(first), "sent"),
        4,
        "the relay accepted everyone"
    );
    // Only now may pipe(8) run herald (as an unprivileged user) on this test's database.
    relay.share_with_pipe_user(app.dir.path());
    relay.route(&domain, &app.config);

    let start = Instant::now();
    let rows = loop {
        let rows: Vec<Value> = app.json(&["bounce", "ls"]).as_array().unwrap().clone();
        // Two failures, and a delay warning for the mailbox the receiver keeps refusing with 4xx.
        if rows.len() >= 3 {
            break rows;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the DSNs did not arrive: {rows:?}\n{}\n{}",
            relay.maillog_lines("tempfail").join("\n"),
            relay.debug_dump()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    // (The tempfail4 message stays queued at the relay, retried every second: not waited for.)

    assert_eq!(
        app.subscriber_status("weekly", "nosuchuser1@example.org"),
        "bounced"
    );
    assert_eq!(
        app.subscriber_status("weekly", "fullbox2@example.org"),
        "active",
        "one soft bounce is counted, not fatal"
    );
    assert_eq!(
        app.subscriber_status("weekly", "reader3@example.org"),
        "active"
    );
    let hard = rows
        .iter()
        .find(|r| r["recipient"] == "nosuchuser1@example.org")
        .unwrap();
    assert_eq!(
        (
            hard["source"].as_str(),
            hard["class"].as_str(),
            hard["reason"].as_str(),
            hard["status"].as_str(),
            hard["matched_by"].as_str()
        ),
        (
            Some("pipe"),
            Some("hard"),
            Some("user_unknown"),
            Some("5.1.1"),
            Some("verp")
        ),
        "{hard}"
    );
    let soft = rows
        .iter()
        .find(|r| r["recipient"] == "fullbox2@example.org")
        .unwrap();
    assert_eq!(
        (soft["class"].as_str(), soft["effect"].as_str()),
        (Some("soft"), Some("soft_counted")),
        "{soft}"
    );
    assert_eq!(
        count(&app.issue(first), "bounced"),
        1,
        "the accepted delivery became bounced"
    );
    let delayed = rows
        .iter()
        .find(|r| r["recipient"] == "tempfail4@example.org")
        .unwrap();
    assert_eq!(
        (delayed["action"].as_str(), delayed["effect"].as_str()),
        (Some("delayed"), Some("recorded")),
        "a delay warning changes nothing: {delayed}"
    );
    assert_eq!(
        app.subscriber_status("weekly", "tempfail4@example.org"),
        "active"
    );

    let second = app.queue_issue(&[]);
    app.serve_until_idle();
    let deliveries = app.json(&["issue", "deliveries", &second.to_string()]);
    let mailed: Vec<&str> = deliveries
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["email"].as_str().unwrap())
        .collect();
    assert!(!mailed.contains(&"nosuchuser1@example.org"), "{mailed:?}");
    assert_eq!(mailed.len(), 3);
    assert!(
        crate::servers::wait_until(Duration::from_secs(30), || relay
            .received("reader3@example.org")
            .len()
            == 2),
        "both issues reach a good address once: {}",
        relay.debug_dump()
    );
}

#[test]
fn a_real_postfix_refusing_at_rcpt_bounces_an_unknown_user_and_spares_a_policy_refusal() {
    let relay = PostfixRelay::shared();
    let app = TestApp::new(Smtp::Port(relay.recv_port), &[]);
    list_of(
        &app,
        &[
            "nosuchuser7@example.org",
            "fullbox8@example.org",
            "policyblock9@example.org",
            "reader9@example.org",
        ],
    );
    let id = app.queue_issue(&[]);
    app.serve_until_idle();

    assert_eq!(
        app.subscriber_status("weekly", "nosuchuser7@example.org"),
        "bounced"
    );
    assert_eq!(
        app.subscriber_status("weekly", "fullbox8@example.org"),
        "active"
    );
    assert_eq!(
        app.subscriber_status("weekly", "policyblock9@example.org"),
        "active",
        "a 5.7.1 block is not the reader's fault"
    );
    assert_eq!(
        app.subscriber_status("weekly", "reader9@example.org"),
        "active"
    );
    let issue = app.issue(id);
    assert_eq!(
        (
            count(&issue, "sent"),
            count(&issue, "bounced"),
            count(&issue, "failed")
        ),
        (1, 1, 2),
        "{issue}"
    );
    let rows = app.json(&["bounce", "ls", "--issue", &id.to_string()]);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .all(|r| r["source"] == "smtp" && r["reply_code"].as_i64().unwrap() >= 550)
    );
    let effect = |needle: &str| {
        rows.iter()
            .find(|r| r["diagnostic"].as_str().unwrap().contains(needle))
            .unwrap_or_else(|| panic!("no event with {needle}: {rows:?}"))["effect"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(effect("User unknown"), "subscriber_bounced");
    assert_eq!(effect("Mailbox full"), "soft_counted");
    assert_eq!(effect("spamhaus"), "not_counted");
    assert_eq!(relay.received("reader9@example.org").len(), 1);
}
