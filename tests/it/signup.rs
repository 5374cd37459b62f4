//! The signup form with double opt-in, end to end: the form, the confirmation mail that smtp-sink
//! receives, the confirm page, and only then a subscriber who gets issues.

use crate::helpers::*;
use std::time::{Duration, Instant};

fn post_form(url: &str, body: &str) -> HttpResponse {
    http("POST", url, Some(body))
}

fn signups_stored(app: &TestApp) -> String {
    app.sql("SELECT COUNT(*) FROM signups")
}

#[test]
fn a_signup_becomes_a_subscriber_only_after_its_confirmation_link_is_used() {
    let sink = SmtpSink::start(&[]);
    let app = TestApp::new(Smtp::Port(sink.port), &[("subscribe.per_ip_per_hour", "3")]);
    app.create_list(&["--signup", "on"]);
    let mut server = app.spawn_serve();
    wait_http(app.http_port);
    let base = format!("http://127.0.0.1:{}", app.http_port);

    let form = http("GET", &format!("{base}/s/weekly"), None);
    assert_eq!(form.status, 200);
    for needed in [
        "<label for=\"email\">",
        "name=\"email\"",
        "type=\"email\"",
        "<label for=\"name\">",
        "method=\"post\"",
    ] {
        assert!(form.body.contains(needed), "no `{needed}` in the form");
    }

    let done = post_form(
        &format!("{base}/s/weekly"),
        "name=Ann+Reader&email=ann%40example.org&website=",
    );
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Check your inbox"));
    let link = confirmation_link(&sink, "ann@example.org");
    assert!(link.starts_with("http://127.0.0.1:"), "{link}");
    assert_eq!(
        app.json(&["subscriber", "ls", "weekly"])
            .as_array()
            .unwrap()
            .len(),
        0,
        "pending is nobody"
    );

    // Opening the link only asks; the button confirms.
    let path = &link[link.find("/c/").unwrap()..];
    let page = http("GET", &format!("{base}{path}"), None);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Confirm my subscription"));
    assert_eq!(
        app.json(&["subscriber", "ls", "weekly"])
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let confirmed = http("POST", &format!("{base}{path}"), None);
    assert_eq!(confirmed.status, 200);
    assert!(confirmed.body.contains("You are subscribed"));
    let subs = app.json(&["subscriber", "ls", "weekly"]);
    assert_eq!(subs[0]["email"], "ann@example.org");
    assert_eq!(subs[0]["name"], "Ann Reader");
    assert_eq!(subs[0]["status"], "active");
    // A forged or altered token is nobody's.
    let forged = format!("{base}/c/{}", "a".repeat(32));
    assert_eq!(http("POST", &forged, None).status, 404);

    // The honeypot: answered as usual, nothing stored or sent.
    let bot = post_form(
        &format!("{base}/s/weekly"),
        "email=bot%40example.org&website=http%3A%2F%2Fspam",
    );
    assert_eq!(bot.status, 200);
    assert_eq!(signups_stored(&app), "1");
    // A bad address is shown again with a message, the name kept.
    let bad = post_form(&format!("{base}/s/weekly"), "name=Bo&email=not-an-address");
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("role=\"alert\"") && bad.body.contains("value=\"Bo\""));
    // Three signups an hour from one address: the fourth is refused.
    let limited = post_form(&format!("{base}/s/weekly"), "email=cy%40example.org");
    assert_eq!(limited.status, 429);

    // Ann gets the next issue.
    app.queue_issue(&[]);
    let start = Instant::now();
    while !sink.messages().iter().any(|m| {
        m.rcpt == "ann@example.org" && String::from_utf8_lossy(&m.message).contains("Markets, maps")
    }) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the new subscriber got no issue"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    sigterm(&server);
    assert!(wait_exit(&mut server, Duration::from_secs(20)).success());
}

#[test]
fn a_list_without_signup_has_no_form_and_one_with_a_thanks_page_redirects_there() {
    let sink = SmtpSink::start(&[]);
    let app = TestApp::new(Smtp::Port(sink.port), &[]);
    app.create_list(&[]);
    let mut server = app.spawn_serve();
    wait_http(app.http_port);
    let base = format!("http://127.0.0.1:{}", app.http_port);
    assert_eq!(http("GET", &format!("{base}/s/weekly"), None).status, 404);
    assert_eq!(
        post_form(&format!("{base}/s/weekly"), "email=a%40example.org").status,
        404
    );
    assert_eq!(signups_stored(&app), "0");

    app.ok(&[
        "list",
        "update",
        "weekly",
        "--signup",
        "on",
        "--thanks-url",
        "https://example.org/thanks",
    ]);
    let r = post_form(&format!("{base}/s/weekly"), "email=a%40example.org");
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("https://example.org/thanks"));
    confirmation_link(&sink, "a@example.org");
    let bad = app.run(&[
        "list",
        "update",
        "weekly",
        "--thanks-url",
        "javascript:alert(1)",
    ]);
    assert!(!bad.status.success());
    sigterm(&server);
    assert!(wait_exit(&mut server, Duration::from_secs(20)).success());
}

#[test]
fn someone_who_unsubscribed_is_back_only_after_confirming_again() {
    let sink = SmtpSink::start(&[]);
    let app = TestApp::new(Smtp::Port(sink.port), &[]);
    app.create_list(&["--signup", "on"]);
    app.ok(&["subscriber", "add", "weekly", "dee@example.org"]);
    app.ok(&["subscriber", "unsubscribe", "weekly", "dee@example.org"]);
    let mut server = app.spawn_serve();
    wait_http(app.http_port);
    let base = format!("http://127.0.0.1:{}", app.http_port);
    post_form(&format!("{base}/s/weekly"), "email=dee%40example.org");
    let link = confirmation_link(&sink, "dee@example.org");
    let status = || {
        app.json(&["subscriber", "show", "weekly", "dee@example.org"])["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(status(), "unsubscribed", "the form alone changes nothing");
    let path = &link[link.find("/c/").unwrap()..];
    assert_eq!(http("POST", &format!("{base}{path}"), None).status, 200);
    assert_eq!(status(), "active");
    sigterm(&server);
    assert!(wait_exit(&mut server, Duration::from_secs(20)).success());
}
