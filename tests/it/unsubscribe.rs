//! The unsubscribe link: GET asks, POST (one-click or the form) unsubscribes, bad tokens get a 404.

use crate::helpers::*;
use std::time::Duration;

fn unsubscribe_url(message: &str) -> String {
    unsubscribe_link(message)
}

#[test]
fn get_asks_to_confirm_and_post_unsubscribes_once_and_idempotently() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(2);
    app.queue_issue(&[]);
    app.serve_until_idle();
    let outbox = app.outbox();
    let message = outbox
        .iter()
        .find(|m| m.contains("To: Reader0 Person <reader0@example.com>"))
        .unwrap();
    let url = unsubscribe_url(message);
    let mut server = app.spawn_serve();
    wait_http(app.http_port);

    let page = http("GET", &url, None);
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("<form method=\"post\">"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Weekly Analysis"));
    assert!(
        !page.body.contains("reader0@example.com"),
        "the page masks the address"
    );
    assert_eq!(
        app.subscriber_status("weekly", "reader0@example.com"),
        "active",
        "GET never unsubscribes"
    );

    let done = http("POST", &url, Some("List-Unsubscribe=One-Click"));
    assert_eq!(done.status, 200);
    assert_eq!(done.header("Location"), None, "no redirect");
    assert!(done.body.contains("You are unsubscribed"));
    assert_eq!(
        app.subscriber_status("weekly", "reader0@example.com"),
        "unsubscribed"
    );
    assert_eq!(
        app.subscriber_status("weekly", "reader1@example.com"),
        "active"
    );

    let again = http("POST", &url, Some(""));
    assert_eq!(
        again.status, 200,
        "a second POST (the page's form) is answered the same"
    );
    assert_eq!(
        app.subscriber_status("weekly", "reader0@example.com"),
        "unsubscribed"
    );

    sigterm(&server);
    assert!(wait_exit(&mut server, Duration::from_secs(20)).success());
}

#[test]
fn a_forged_or_foreign_token_gets_a_plain_404_that_reveals_nothing() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(1);
    app.queue_issue(&[]);
    app.serve_until_idle();
    let message = &app.outbox()[0];
    let url = unsubscribe_url(message);
    let token = url.rsplit('/').next().unwrap().to_owned();
    let bounce_token = message
        .lines()
        .find_map(|l| l.strip_prefix("Return-Path: <bounces+"))
        .and_then(|l| l.split('@').next())
        .unwrap()
        .to_owned();
    let mut server = app.spawn_serve();
    wait_http(app.http_port);
    let base = format!("http://127.0.0.1:{}/u/", app.http_port);

    let mut forged = token.clone().into_bytes();
    let last = forged.len() - 1;
    forged[last] = if forged[last] == b'a' { b'b' } else { b'a' };
    let forged = String::from_utf8(forged).unwrap();
    for bad in [
        forged.as_str(),
        bounce_token.as_str(),
        "1",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    ] {
        for method in ["GET", "POST"] {
            let r = http(
                method,
                &format!("{base}{bad}"),
                Some("List-Unsubscribe=One-Click"),
            );
            assert_eq!(r.status, 404, "{method} {bad}");
            assert!(
                !r.body.contains("Weekly") && !r.body.contains("reader"),
                "404 page reveals nothing: {}",
                r.body
            );
        }
    }
    assert_eq!(
        app.subscriber_status("weekly", "reader0@example.com"),
        "active"
    );
    sigterm(&server);
    assert!(wait_exit(&mut server, Duration::from_secs(20)).success());
}
