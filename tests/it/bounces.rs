//! Bounces and complaints through the real binary: reports piped in as an MTA does, refusals while
//! sending, a polled Maildir; what changes in SQLite and what the next issue does.

use crate::{bounce_mail::*, fixture_smtp::FixtureSmtp, helpers::*};
use serde_json::Value;
use std::{
    process::Output,
    sync::Arc,
    time::{Duration, Instant},
};

/// `herald bounce ingest [--recipient R]` with `raw` on stdin.
fn ingest(app: &TestApp, raw: &str, recipient: Option<&str>) -> Output {
    app.bounce_ingest(raw, recipient)
}

fn ingest_ok(app: &TestApp, raw: &str, recipient: Option<&str>) -> Value {
    app.bounce_ingest_ok(raw, recipient)
}

fn delivery_state(app: &TestApp, issue: i64, email: &str) -> String {
    let rows = app.json(&["issue", "deliveries", &issue.to_string()]);
    rows.as_array()
        .unwrap()
        .iter()
        .find(|d| d["email"] == email)
        .unwrap_or_else(|| panic!("no delivery to {email}: {rows}"))["state"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn bounces(app: &TestApp, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["bounce", "ls"];
    args.extend_from_slice(extra);
    app.json(&args).as_array().unwrap().clone()
}

/// Sends one issue to the list through the outbox; returns its id and the outbox after it.
fn send_issue(app: &TestApp) -> (i64, Vec<String>) {
    let before = app.outbox().len();
    let id = app.queue_issue(&[]);
    app.serve_until_idle();
    let outbox = app.outbox();
    assert!(outbox.len() >= before, "the outbox only grows");
    (id, outbox)
}

#[test]
fn a_hard_bounce_piped_in_by_the_mta_stops_the_subscriber_and_the_next_issue_skips_them() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(3);
    let (first, outbox) = send_issue(&app);
    let sent = Sent::to(&outbox, "reader1@example.com");

    let report = dsn(
        &sent,
        "reader1@example.com",
        "5.1.1",
        "550 5.1.1 <reader1@example.com>: Recipient address rejected: User unknown in virtual mailbox table",
    );
    let outcome = ingest_ok(&app, &report, Some(&sent.verp));

    assert_eq!(outcome["kind"], "bounce");
    assert_eq!(outcome["found_in"], "verp");
    assert_eq!(outcome["events"][0]["effect"], "subscriber_bounced");
    assert_eq!(
        app.subscriber_status("weekly", "reader1@example.com"),
        "bounced"
    );
    assert_eq!(
        app.subscriber_status("weekly", "reader0@example.com"),
        "active"
    );
    assert_eq!(
        delivery_state(&app, first, "reader1@example.com"),
        "bounced",
        "the relay had accepted it; the far end refused"
    );
    let issue = app.issue(first);
    assert_eq!(count(&issue, "bounced"), 1);
    let rows = bounces(&app, &[]);
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(
        (
            row["source"].as_str(),
            row["kind"].as_str(),
            row["class"].as_str(),
            row["reason"].as_str(),
            row["status"].as_str()
        ),
        (
            Some("pipe"),
            Some("bounce"),
            Some("hard"),
            Some("user_unknown"),
            Some("5.1.1")
        )
    );
    assert_eq!(row["recipient"], "reader1@example.com");
    assert_eq!(row["issue_id"], first);
    assert_eq!(row["remote_mta"], "mx.example.org");
    assert!(
        row["diagnostic"].as_str().unwrap().contains("User unknown"),
        "{row}"
    );
    // The raw report is kept (compressed) and comes back byte for byte.
    let raw = app.ok(&["bounce", "raw", &row["id"].to_string()]);
    assert_eq!(raw, report);

    let second = app.queue_issue(&[]);
    app.serve_until_idle();
    let rows = app.json(&["issue", "deliveries", &second.to_string()]);
    let emails: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        ["reader0@example.com", "reader2@example.com"],
        "the bounced address is not mailed again"
    );
    let to_reader1 = app
        .outbox()
        .iter()
        .filter(|m| m.contains("<reader1@example.com>"))
        .count();
    assert_eq!(to_reader1, 1, "only the first issue reached reader1");
}

#[test]
fn the_envelope_recipient_can_come_from_delivered_to_when_the_mta_passes_none() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(2);
    let (_, outbox) = send_issue(&app);
    let sent = Sent::to(&outbox, "reader0@example.com");
    let outcome = ingest_ok(
        &app,
        &dsn(
            &sent,
            "reader0@example.com",
            "5.1.1",
            "550 5.1.1 user unknown",
        ),
        None,
    );
    assert_eq!(outcome["found_in"], "verp");
    assert_eq!(
        app.subscriber_status("weekly", "reader0@example.com"),
        "bounced"
    );
}

#[test]
fn soft_bounces_on_distinct_issues_stop_a_subscriber_and_a_clean_delivery_resets_the_count() {
    let app = TestApp::new(
        Smtp::Outbox,
        &[("bounce.soft_limit", "2"), ("bounce.clean_after_days", "0")],
    );
    app.list_with_subscribers(2);
    let full = |app: &TestApp, (issue, outbox): (i64, Vec<String>)| {
        let sent = Sent::of_issue(&outbox, issue, "reader0@example.com");
        ingest_ok(
            app,
            &dsn(
                &sent,
                "reader0@example.com",
                "4.2.2",
                "452 4.2.2 Mailbox full",
            ),
            Some(&sent.verp),
        )
    };
    let first = full(&app, send_issue(&app));
    assert_eq!(first["events"][0]["effect"], "soft_counted");
    assert_eq!(
        app.subscriber_status("weekly", "reader0@example.com"),
        "active"
    );
    // Issue 2 went out and nothing came back: the count starts again.
    send_issue(&app);
    let third = full(&app, send_issue(&app));
    assert_eq!(
        third["events"][0]["effect"], "soft_counted",
        "issue 2 reset the count"
    );
    assert_eq!(
        app.subscriber_status("weekly", "reader0@example.com"),
        "active"
    );
    let (fourth_id, outbox) = send_issue(&app);
    let fourth = full(&app, (fourth_id, outbox));
    assert_eq!(fourth["events"][0]["effect"], "subscriber_bounced");
    assert_eq!(
        app.subscriber_status("weekly", "reader0@example.com"),
        "bounced"
    );
    assert_eq!(
        delivery_state(&app, fourth_id, "reader0@example.com"),
        "sent",
        "a soft bounce does not call the message itself a hard bounce"
    );
    assert_eq!(
        app.subscriber_status("weekly", "reader1@example.com"),
        "active"
    );
}

#[test]
fn a_complaint_marks_the_subscriber_complained_and_an_import_does_not_bring_them_back() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(2);
    let (id, outbox) = send_issue(&app);
    let sent = Sent::to(&outbox, "reader0@example.com");
    // Sent to an abuse address, not the VERP one: the returned List-Unsubscribe header proves it.
    let outcome = ingest_ok(
        &app,
        &arf(&sent, "reader0@example.com"),
        Some("abuse@news.example.com"),
    );
    assert_eq!(outcome["kind"], "complaint");
    assert!(
        ["return_path", "list_unsubscribe"].contains(&outcome["found_in"].as_str().unwrap()),
        "proven by the returned headers: {outcome}"
    );
    assert_eq!(
        app.subscriber_status("weekly", "reader0@example.com"),
        "complained"
    );
    assert_eq!(app.issue(id)["complaints"], 1);
    let lists = app.json(&["list", "ls"]);
    assert_eq!(lists[0]["subscribers"]["complained"], 1);
    let complained = app.json(&["subscriber", "ls", "weekly", "--status", "complained"]);
    assert_eq!(complained.as_array().unwrap().len(), 1);

    let csv = app.write("again.csv", "email,name\nreader0@example.com,Reader Zero\n");
    app.ok(&["subscriber", "import", "weekly", csv.to_str().unwrap()]);
    assert_eq!(
        app.subscriber_status("weekly", "reader0@example.com"),
        "complained",
        "an import never re-activates"
    );
    let (next, _) = send_issue(&app);
    assert_eq!(count(&app.issue(next), "sent"), 1);
}

#[test]
fn auto_replies_and_reports_with_forged_tokens_change_nobody() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(2);
    let (_, outbox) = send_issue(&app);
    let sent = Sent::to(&outbox, "reader0@example.com");

    let vacation_outcome = ingest_ok(
        &app,
        &vacation(&sent, "reader0@example.com"),
        Some(&sent.verp),
    );
    assert_eq!(vacation_outcome["kind"], "auto_reply");
    assert_eq!(vacation_outcome["events"][0]["effect"], "recorded");

    // Someone who knows the scheme but not the key: a well-formed token for the same delivery id,
    // signed with another key, in the envelope, the returned headers and the text.
    let genuine = sent.verp.split(['+', '@']).nth(1).unwrap().to_owned();
    let mut forged_token: Vec<u8> = genuine.clone().into_bytes();
    let last = forged_token.len() - 1;
    forged_token[last] = if forged_token[last] == b'a' {
        b'b'
    } else {
        b'a'
    };
    let forged_token = String::from_utf8(forged_token).unwrap();
    let forged = Sent {
        verp: sent.verp.replace(&genuine, &forged_token),
        list_unsubscribe: "<http://127.0.0.1:1/u/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa>".into(),
        ..Sent::to(&outbox, "reader0@example.com")
    };
    let outcome = ingest_ok(
        &app,
        &dsn(
            &forged,
            "reader0@example.com",
            "5.1.1",
            "550 5.1.1 user unknown",
        ),
        Some(&forged.verp),
    );
    assert_eq!(outcome["delivery"], Value::Null);
    assert_eq!(outcome["events"][0]["effect"], "unmatched");
    let complaint = ingest_ok(&app, &arf(&forged, "reader1@example.com"), None);
    assert_eq!(complaint["events"][0]["effect"], "unmatched");

    assert_eq!(
        app.subscriber_status("weekly", "reader0@example.com"),
        "active"
    );
    assert_eq!(
        app.subscriber_status("weekly", "reader1@example.com"),
        "active"
    );
    let unmatched = bounces(&app, &["--unmatched"]);
    assert_eq!(unmatched.len(), 2, "{unmatched:?}");
    assert!(
        unmatched
            .iter()
            .all(|b| b["delivery_id"].is_null() && b["effect"] == "unmatched")
    );
    assert_eq!(bounces(&app, &[]).len(), 3);
}

#[test]
fn a_report_delivered_twice_is_recorded_once() {
    let app = TestApp::new(Smtp::Outbox, &[("bounce.soft_limit", "2")]);
    app.list_with_subscribers(1);
    let (_, outbox) = send_issue(&app);
    let sent = Sent::to(&outbox, "reader0@example.com");
    let report = dsn(
        &sent,
        "reader0@example.com",
        "4.2.2",
        "452 4.2.2 Mailbox full",
    );
    ingest_ok(&app, &report, Some(&sent.verp));
    let again = ingest_ok(&app, &report, Some(&sent.verp));
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["events"][0]["effect"], Value::Null);
    assert_eq!(bounces(&app, &[]).len(), 1, "recorded once");
}

#[test]
fn an_unmatched_report_is_matched_when_handed_in_again_with_its_envelope_recipient() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(1);
    let (_, outbox) = send_issue(&app);
    let sent = Sent::to(&outbox, "reader0@example.com");
    // A DSN that carries no token of its own (no returned headers, delivered to another address).
    let report = dsn(
        &sent,
        "reader0@example.com",
        "5.1.1",
        "550 5.1.1 user unknown",
    )
    .replace(&sent.verp, "postmaster@news.example.com")
    .replace(
        &sent.list_unsubscribe,
        "<mailto:unsubscribe@news.example.com>",
    );
    let first = ingest_ok(&app, &report, None);
    assert_eq!(first["events"][0]["effect"], "unmatched");
    assert_eq!(
        app.subscriber_status("weekly", "reader0@example.com"),
        "active"
    );

    let again = ingest_ok(&app, &report, Some(&sent.verp));
    assert_eq!(again["events"][0]["effect"], "subscriber_bounced");
    assert_eq!(
        app.subscriber_status("weekly", "reader0@example.com"),
        "bounced"
    );
    assert_eq!(bounces(&app, &[]).len(), 1, "the same event, now matched");
}

#[test]
fn soft_bounces_that_arrive_late_still_add_up() {
    // A relay gives up days later: the reports of issues 1–3 arrive after issue 3 went out. Issues 2
    // and 3 are not "clean" yet (sent less than bounce.clean_after_days ago).
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(2);
    let sent: Vec<(i64, Vec<String>)> = (0..3).map(|_| send_issue(&app)).collect();
    let mut effects = Vec::new();
    for (issue, outbox) in &sent {
        let s = Sent::of_issue(outbox, *issue, "reader0@example.com");
        let out = ingest_ok(
            &app,
            &dsn(
                &s,
                "reader0@example.com",
                "4.4.7",
                "delivery temporarily suspended: connect to mx.example.org: Connection timed out; message expired",
            ),
            Some(&s.verp),
        );
        effects.push(out["events"][0]["effect"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        effects,
        ["soft_counted", "soft_counted", "subscriber_bounced"]
    );
    assert_eq!(
        app.subscriber_status("weekly", "reader0@example.com"),
        "bounced"
    );
}

#[test]
fn with_all_lists_a_hard_bounce_stops_the_address_elsewhere_even_after_it_left_this_list() {
    let app = TestApp::new(Smtp::Outbox, &[("bounce.suppress", "\"all_lists\"")]);
    app.list_with_subscribers(1);
    app.daily_list_with("reader0@example.com");
    let (_, outbox) = send_issue(&app);
    let sent = Sent::to(&outbox, "reader0@example.com");
    // The reader unsubscribes from weekly; the bounce of the issue they had been sent comes later.
    let url = sent.list_unsubscribe.trim_matches(['<', '>']).to_owned();
    let mut serve = app.spawn_serve();
    wait_http(app.http_port);
    assert_eq!(
        http("POST", &url, Some("List-Unsubscribe=One-Click")).status,
        200
    );
    sigterm(&serve);
    assert!(wait_exit(&mut serve, Duration::from_secs(20)).success());
    assert_eq!(
        app.subscriber_status("weekly", "reader0@example.com"),
        "unsubscribed"
    );

    let outcome = ingest_ok(
        &app,
        &dsn(
            &sent,
            "reader0@example.com",
            "5.1.1",
            "550 5.1.1 user unknown",
        ),
        Some(&sent.verp),
    );
    assert_eq!(outcome["events"][0]["effect"], "already_stopped");
    assert_eq!(
        app.subscriber_status("weekly", "reader0@example.com"),
        "unsubscribed"
    );
    assert_eq!(
        app.subscriber_status("daily", "reader0@example.com"),
        "bounced"
    );
}

#[test]
fn ingest_never_creates_a_database_and_exits_75_when_it_is_missing() {
    crate::sqlite_only!();
    let app = TestApp::new(Smtp::Outbox, &[]);
    let out = ingest(&app, "Subject: x\n\nhello\n", None);
    assert_eq!(
        out.status.code(),
        Some(75),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("never creates one"));
    assert!(!app.path("herald.db").exists());
}

#[test]
fn a_bounce_stops_the_address_on_its_own_list_only_unless_suppression_is_for_all_lists() {
    for (suppress, other_list_after) in [("\"list\"", "active"), ("\"all_lists\"", "bounced")] {
        let app = TestApp::new(Smtp::Outbox, &[("bounce.suppress", suppress)]);
        app.list_with_subscribers(2);
        app.daily_list_with("reader0@example.com");
        let (_, outbox) = send_issue(&app);
        let sent = Sent::to(&outbox, "reader0@example.com");
        ingest_ok(
            &app,
            &dsn(
                &sent,
                "reader0@example.com",
                "5.1.1",
                "550 5.1.1 user unknown",
            ),
            Some(&sent.verp),
        );
        assert_eq!(
            app.subscriber_status("weekly", "reader0@example.com"),
            "bounced"
        );
        assert_eq!(
            app.subscriber_status("daily", "reader0@example.com"),
            other_list_after,
            "suppress = {suppress}"
        );
        // A list created later: with all_lists the address never starts active there either.
        app.ok(&[
            "list",
            "create",
            "monthly",
            "--name",
            "Monthly",
            "--from",
            "Monthly <m@example.com>",
        ]);
        app.ok(&["subscriber", "add", "monthly", "reader0@example.com"]);
        assert_eq!(
            app.subscriber_status("monthly", "reader0@example.com"),
            other_list_after,
            "suppress = {suppress}"
        );
    }
}

#[test]
fn ingest_exits_75_while_the_database_is_locked_and_records_once_it_is_free() {
    crate::sqlite_only!();
    let app = TestApp::new(Smtp::Outbox, &[("bounce.busy_timeout_seconds", "1")]);
    app.list_with_subscribers(1);
    let (_, outbox) = send_issue(&app);
    let sent = Sent::to(&outbox, "reader0@example.com");
    let report = dsn(
        &sent,
        "reader0@example.com",
        "5.1.1",
        "550 5.1.1 user unknown",
    );

    let locker = rusqlite::Connection::open(app.path("herald.db")).unwrap();
    locker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let started = Instant::now();
    let out = ingest(&app, &report, Some(&sent.verp));
    assert_eq!(
        out.status.code(),
        Some(75),
        "EX_TEMPFAIL so the MTA retries: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    locker.execute_batch("COMMIT").unwrap();
    drop(locker);

    ingest_ok(&app, &report, Some(&sent.verp));
    assert_eq!(
        app.subscriber_status("weekly", "reader0@example.com"),
        "bounced"
    );
}

#[test]
fn ingest_exits_75_when_the_configuration_is_broken_so_the_report_waits_in_the_mta() {
    let app = TestApp::new(Smtp::Outbox, &[("smtp.port", "\"not a port\"")]);
    let out = ingest(&app, "Subject: x\n\nnot a report\n", None);
    assert_eq!(out.status.code(), Some(75));
    assert!(String::from_utf8_lossy(&out.stderr).contains("smtp.port"));
}

#[test]
fn garbage_on_stdin_is_recorded_as_unmatched_and_exits_0() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(1);
    send_issue(&app);
    let garbage: String = (0..5000u32)
        .map(|i| char::from_u32(((i * 7919) % 95) + 32).unwrap())
        .collect();
    let outcome = ingest_ok(&app, &garbage, None);
    assert_eq!(outcome["kind"], "other");
    let rows = bounces(&app, &["--unmatched"]);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["kind"], "other");
}

#[test]
fn ingest_works_while_serve_is_sending_on_the_same_database() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(30);
    let (_, outbox) = send_issue(&app);
    let sent = Sent::to(&outbox, "reader3@example.com");
    let second = app.queue_issue(&[]);
    let mut serve = app.spawn_serve_paced(20);
    app.wait_for_issue(second, Duration::from_secs(20), |i| count(i, "sent") > 0);

    let outcome = ingest_ok(
        &app,
        &dsn(
            &sent,
            "reader3@example.com",
            "5.1.1",
            "550 5.1.1 user unknown",
        ),
        Some(&sent.verp),
    );
    assert_eq!(outcome["events"][0]["effect"], "subscriber_bounced");
    let done = app.wait_for_issue(second, Duration::from_secs(30), |i| i["state"] == "sent");
    sigterm(&serve);
    assert!(wait_exit(&mut serve, Duration::from_secs(20)).success());
    assert_eq!(
        app.subscriber_status("weekly", "reader3@example.com"),
        "bounced"
    );
    // reader3 was either mailed before the bounce arrived or skipped after it; never both.
    assert_eq!(count(&done, "sent") + count(&done, "skipped"), 30);
}

#[test]
fn refusals_while_sending_are_classified_user_unknown_bounces_mailbox_full_counts_policy_spares() {
    let fixture = FixtureSmtp::start(Arc::new(|rcpt: &str, _| match rcpt {
        "reader0@example.com" => (
            550,
            "5.1.1 <reader0@example.com>: Recipient address rejected: User unknown",
        ),
        "reader1@example.com" => (552, "5.2.2 <reader1@example.com>: Mailbox full"),
        "reader2@example.com" => (
            554,
            "5.7.1 Service unavailable; Client host [192.0.2.10] blocked using zen.spamhaus.org",
        ),
        _ => (250, "2.0.0 queued"),
    }));
    let app = TestApp::new(Smtp::Port(fixture.port), &[]);
    app.list_with_subscribers(4);
    let id = app.queue_issue(&[]);
    app.serve_until_idle();

    assert_eq!(
        app.subscriber_status("weekly", "reader0@example.com"),
        "bounced"
    );
    assert_eq!(delivery_state(&app, id, "reader0@example.com"), "bounced");
    assert_eq!(
        app.subscriber_status("weekly", "reader1@example.com"),
        "active",
        "mailbox full is soft"
    );
    assert_eq!(delivery_state(&app, id, "reader1@example.com"), "failed");
    assert_eq!(
        app.subscriber_status("weekly", "reader2@example.com"),
        "active",
        "a block of the sender is not the reader's fault"
    );
    assert_eq!(delivery_state(&app, id, "reader2@example.com"), "failed");
    let rows = bounces(&app, &["--issue", &id.to_string()]);
    let by_recipient_delivery = |d: i64| rows.iter().find(|r| r["delivery_id"] == d).cloned();
    let deliveries = app.json(&["issue", "deliveries", &id.to_string()]);
    let id_of = |email: &str| {
        deliveries
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["email"] == email)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let r0 = by_recipient_delivery(id_of("reader0@example.com")).unwrap();
    assert_eq!(
        (
            r0["source"].as_str(),
            r0["class"].as_str(),
            r0["reason"].as_str(),
            r0["reply_code"].as_i64(),
            r0["status"].as_str()
        ),
        (
            Some("smtp"),
            Some("hard"),
            Some("user_unknown"),
            Some(550),
            Some("5.1.1")
        )
    );
    let r1 = by_recipient_delivery(id_of("reader1@example.com")).unwrap();
    assert_eq!(
        (
            r1["class"].as_str(),
            r1["reason"].as_str(),
            r1["effect"].as_str()
        ),
        (Some("soft"), Some("mailbox_full"), Some("soft_counted"))
    );
    let r2 = by_recipient_delivery(id_of("reader2@example.com")).unwrap();
    assert_eq!(
        (r2["class"].as_str(), r2["effect"].as_str()),
        (Some("soft"), Some("not_counted"))
    );
    assert_eq!(rows.len(), 3);
}

#[test]
fn an_issue_pauses_itself_when_a_provider_blocks_the_sender_instead_of_burning_the_list() {
    let fixture = FixtureSmtp::start(Arc::new(|_: &str, _| {
        (
            550,
            "5.7.1 Our system has detected an unusual rate of unsolicited mail originating from your IP address; blocked",
        )
    }));
    let app = TestApp::new(
        Smtp::Port(fixture.port),
        &[
            ("bounce.block_min", "5"),
            ("bounce.block_pause_percent", "50"),
            ("smtp.connections", "1"),
            ("sending.batch_size", "5"),
        ],
    );
    app.list_with_subscribers(60);
    let id = app.queue_issue(&[]);
    app.serve_until_idle();
    let issue = app.issue(id);
    assert_eq!(issue["state"], "paused", "{issue}");
    let reason = issue["state_reason"].as_str().unwrap();
    assert!(
        reason.contains("blocked") && reason.contains("herald issue resume"),
        "{reason}"
    );
    assert!(
        count(&issue, "pending") >= 40,
        "most of the list is left for after the block: {issue}"
    );
    let active = app.json(&["subscriber", "ls", "weekly", "--status", "active"]);
    assert_eq!(
        active.as_array().unwrap().len(),
        60,
        "nobody is suppressed for the sender's block"
    );
}

#[test]
fn serve_polls_a_maildir_moves_garbage_aside_and_keeps_a_message_it_could_not_commit() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(3);
    let (_, outbox) = send_issue(&app);
    let maildir = app.path("bounces");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    let config = std::fs::read_to_string(&app.config).unwrap()
        + &format!(
            "[bounce]\nmaildir = {:?}\nmaildir_poll_seconds = 1\n",
            maildir.display().to_string()
        );
    std::fs::write(&app.config, config).unwrap();
    let drop_in =
        |name: &str, raw: &str| std::fs::write(maildir.join("new").join(name), raw).unwrap();
    let s0 = Sent::to(&outbox, "reader0@example.com");
    let s1 = Sent::to(&outbox, "reader1@example.com");
    drop_in(
        "1.a.host",
        &dsn(
            &s0,
            "reader0@example.com",
            "5.1.1",
            "550 5.1.1 user unknown",
        ),
    );
    drop_in("2.b.host", "\u{1}\u{2} this is not mail at all \u{ff}");
    drop_in("3.c.host", &arf(&s1, "reader1@example.com"));

    // A database that refuses bounce rows (a fault injected with a trigger): nothing may be lost.
    crate::database::refuse_bounce_rows(&app.database);
    let mut serve = app.spawn_serve();
    wait_http(app.http_port);
    std::thread::sleep(Duration::from_millis(2500));
    let waiting: Vec<_> = std::fs::read_dir(maildir.join("new")).unwrap().collect();
    assert_eq!(
        waiting.len(),
        3,
        "messages stay until their outcome is committed"
    );
    assert_eq!(
        app.subscriber_status("weekly", "reader0@example.com"),
        "active"
    );

    crate::database::allow_bounce_rows(&app.database);
    let start = Instant::now();
    while std::fs::read_dir(maildir.join("new")).unwrap().count() > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the Maildir was not processed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    sigterm(&serve);
    assert!(wait_exit(&mut serve, Duration::from_secs(20)).success());

    assert_eq!(
        app.subscriber_status("weekly", "reader0@example.com"),
        "bounced"
    );
    assert_eq!(
        app.subscriber_status("weekly", "reader1@example.com"),
        "complained"
    );
    let unparsed: Vec<_> = std::fs::read_dir(maildir.join(".herald-unparsed/cur"))
        .unwrap()
        .collect();
    assert_eq!(
        unparsed.len(),
        1,
        "the garbage message is kept aside, not deleted"
    );
    let rows = bounces(&app, &[]);
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(rows.iter().all(|r| r["source"] == "maildir"));
    assert_eq!(rows.iter().filter(|r| r["kind"] == "other").count(), 1);

    // A crash after the commit but before the removal hands the same message in again: no change.
    drop_in(
        "4.d.host",
        &dsn(
            &s0,
            "reader0@example.com",
            "5.1.1",
            "550 5.1.1 user unknown",
        ),
    );
    app.serve_until_idle();
    assert_eq!(std::fs::read_dir(maildir.join("new")).unwrap().count(), 0);
    assert_eq!(bounces(&app, &[]).len(), 3, "recorded once");
}

#[test]
fn bounce_parse_prints_one_json_array_in_argument_order_and_never_opens_the_database() {
    let secret = "\"a-shared-secret-of-at-least-32-characters\"";
    let sender = TestApp::new(Smtp::Outbox, &[("http.token_secret", secret)]);
    sender.list_with_subscribers(2);
    let (_, outbox) = send_issue(&sender);
    let sent = Sent::to(&outbox, "reader1@example.com");
    let checker = TestApp::new(Smtp::Outbox, &[("http.token_secret", secret)]);
    let files = [
        checker.write(
            "hard.eml",
            &dsn(
                &sent,
                "reader1@example.com",
                "5.1.1",
                "550 5.1.1 user unknown",
            ),
        ),
        checker.write("complaint.eml", &arf(&sent, "reader1@example.com")),
        checker.write("junk.eml", "hello\n"),
    ];
    let mut args = vec!["bounce", "parse"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let parsed = checker.json(&args);

    let parsed = parsed.as_array().unwrap();
    let kinds: Vec<&str> = parsed.iter().map(|p| p["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["bounce", "complaint", "other"]);
    assert!(parsed[0]["file"].as_str().unwrap().ends_with("hard.eml"));
    let r = &parsed[0]["recipients"][0];
    for key in [
        "address",
        "status",
        "class",
        "reason",
        "action",
        "diagnostic",
        "remote_mta",
    ] {
        assert!(r.get(key).is_some(), "recipient lacks {key}: {r}");
    }
    assert_eq!(
        (
            r["address"].as_str(),
            r["status"].as_str(),
            r["class"].as_str(),
            r["reason"].as_str(),
            r["action"].as_str()
        ),
        (
            Some("reader1@example.com"),
            Some("5.1.1"),
            Some("hard"),
            Some("user_unknown"),
            Some("failed")
        )
    );
    assert_eq!(parsed[0]["delivery"]["found_in"], "verp");
    assert_eq!(parsed[0]["delivery"]["verified"], true);
    assert_eq!(parsed[1]["feedback_type"], "abuse");
    assert_eq!(parsed[2]["recipients"], serde_json::json!([]));
    assert_eq!(parsed[2]["delivery"], Value::Null);
    if crate::database::backend() == crate::database::Backend::Sqlite {
        assert!(
            !checker.path("herald.db").exists(),
            "bounce parse created a database"
        );
    }
}

#[test]
fn with_keep_raw_days_0_no_raw_report_is_kept() {
    let app = TestApp::new(Smtp::Outbox, &[("bounce.keep_raw_days", "0")]);
    app.list_with_subscribers(1);
    let (_, outbox) = send_issue(&app);
    let sent = Sent::to(&outbox, "reader0@example.com");
    ingest_ok(
        &app,
        &dsn(
            &sent,
            "reader0@example.com",
            "5.1.1",
            "550 5.1.1 user unknown",
        ),
        Some(&sent.verp),
    );
    let id = bounces(&app, &[])[0]["id"].to_string();
    let out = app.run(&["bounce", "raw", &id]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no raw report"));
}
