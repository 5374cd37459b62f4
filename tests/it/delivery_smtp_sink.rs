//! End to end through the real binary and Postfix's smtp-sink: what arrives at the server.

use crate::helpers::*;
use mail_parser::MimeHeaders;
use std::collections::BTreeSet;

#[test]
fn every_active_subscriber_gets_one_personalised_message_and_a_second_run_sends_nothing() {
    let sink = SmtpSink::start(&[]);
    let app = TestApp::new(Smtp::Port(sink.port), &[("smtp.connections", "2")]);
    app.list_with_subscribers(5);
    let id = app.queue_issue(&[]);

    app.serve_until_idle();

    let messages = sink.messages();
    assert_eq!(messages.len(), 5, "one message per subscriber");
    let recipients: BTreeSet<_> = messages.iter().map(|m| m.rcpt.clone()).collect();
    assert_eq!(
        recipients,
        (0..5).map(|i| format!("reader{i}@example.com")).collect()
    );
    let mut tokens = BTreeSet::new();
    for m in &messages {
        assert!(
            m.mail_from.starts_with("bounces+") && m.mail_from.ends_with("@news.example.com"),
            "{}",
            m.mail_from
        );
        let i: usize = m
            .rcpt
            .trim_start_matches("reader")
            .split('@')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let parsed = m.parsed();
        assert_eq!(parsed.subject(), Some("Markets, maps and the week ahead"));
        let from = parsed.from().unwrap().first().unwrap();
        assert_eq!(
            (from.name(), from.address()),
            (Some("Weekly Analysis"), Some("news@example.com"))
        );
        let to = parsed.to().unwrap().first().unwrap();
        assert_eq!(to.address(), Some(m.rcpt.as_str()));
        assert_eq!(to.name(), Some(format!("Reader{i} Person").as_str()));
        assert!(parsed.date().is_some(), "Date header");
        assert_eq!(
            parsed.header_raw("MIME-Version").map(str::trim),
            Some("1.0")
        );
        let message_id = parsed.message_id().unwrap().to_owned();
        assert!(message_id.ends_with("@news.example.com"), "{message_id}");
        assert_eq!(
            parsed.header_raw("List-Id").map(str::trim),
            Some("Weekly Analysis <weekly.news.example.com>")
        );
        assert_eq!(
            parsed.header_raw("List-Unsubscribe-Post").map(str::trim),
            Some("List-Unsubscribe=One-Click")
        );
        // Unfolded: the header is folded before the mailto: to stay within 78 characters.
        let unsubscribe = parsed
            .header_raw("List-Unsubscribe")
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let prefix = format!("<http://127.0.0.1:{}/u/", app.http_port);
        // The https link first (the one-click one), then a mailto: to the bounce address.
        assert!(
            unsubscribe.starts_with(&prefix)
                && unsubscribe.contains(">, <mailto:bounces+")
                && unsubscribe.ends_with("@news.example.com>"),
            "{unsubscribe}"
        );
        let url = first_bracketed(&unsubscribe);
        assert!(
            tokens.insert(url.clone()),
            "unsubscribe token repeated: {url}"
        );

        assert_eq!(parsed.content_type().map(|c| c.ctype()), Some("multipart"));
        assert_eq!(
            parsed.content_type().and_then(|c| c.subtype()),
            Some("alternative")
        );
        let text = parsed.body_text(0).unwrap();
        let html = parsed.body_html(0).unwrap();
        assert!(
            text.contains(&format!("Hello Reader{i} in City{i},")),
            "personalised text part:\n{text}"
        );
        assert!(
            html.contains(&format!("Hello Reader{i} in City{i},")),
            "personalised HTML part"
        );
        assert!(
            text.contains(&url),
            "text part carries the unsubscribe link"
        );
        assert!(
            html.contains(&format!("href=\"{url}\"")),
            "HTML part links the unsubscribe URL"
        );
        assert!(html.contains("Central banks moved first this week"));
        assert!(
            html.contains("<meta name=\"viewport\""),
            "responsive HTML from MJML"
        );
        assert!(
            html.contains("@media only screen"),
            "responsive HTML from MJML"
        );
    }
    let issue = app.issue(id);
    assert_eq!(issue["state"], "sent");
    assert_eq!(count(&issue, "sent"), 5);

    app.serve_until_idle();
    assert_eq!(sink.messages().len(), 5, "a second run sends nothing more");
}

#[test]
fn unsubscribed_readers_are_not_recipients_of_the_next_issue() {
    let sink = SmtpSink::start(&[]);
    let app = TestApp::new(Smtp::Port(sink.port), &[]);
    app.list_with_subscribers(3);
    app.queue_issue(&[]);
    app.serve_until_idle();
    let first = sink.messages();
    let leaving = first
        .iter()
        .find(|m| m.rcpt == "reader1@example.com")
        .unwrap();
    let url = leaving.unsubscribe_url();

    let mut server = app.spawn_serve();
    wait_http(app.http_port);
    let response = http("POST", &url, Some("List-Unsubscribe=One-Click"));
    assert_eq!(response.status, 200);
    sigterm(&server);
    assert!(wait_exit(&mut server, std::time::Duration::from_secs(20)).success());

    let second = app.queue_issue(&[]);
    app.serve_until_idle();
    let issue = app.issue(second);
    assert_eq!(count(&issue, "sent"), 2);
    let again: Vec<_> = sink.messages().into_iter().map(|m| m.rcpt).collect();
    assert_eq!(
        again.iter().filter(|r| *r == "reader1@example.com").count(),
        1,
        "only the first issue reached the leaver"
    );
    assert_eq!(again.len(), 5);
}
