//! Pages checked in a real browser: Debian's headless Chromium driven over WebDriver (chromedriver).
//! The unsubscribe page's button works, and a delivered issue fits a phone screen and a desktop column.

use crate::{chromium::Browser, helpers::*};
use std::time::Duration;

fn delivered_issue(app: &TestApp) -> String {
    app.list_with_subscribers(1);
    app.queue_issue(&[]);
    app.serve_until_idle();
    app.outbox().remove(0)
}

#[test]
fn the_unsubscribe_page_asks_then_its_button_unsubscribes_in_chromium() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    let message = delivered_issue(&app);
    let url = unsubscribe_link(&message);
    let mut server = app.spawn_serve();
    wait_http(app.http_port);
    let browser = Browser::start(390, 844);

    browser.open(&url);
    assert!(
        browser.text().contains("Unsubscribe from Weekly Analysis?"),
        "{}",
        browser.text()
    );
    let status = || {
        app.json(&["subscriber", "ls", "weekly"])[0]["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(status(), "active", "opening the page does not unsubscribe");
    browser.click("form button");
    browser.wait_for_text("You are unsubscribed");

    assert_eq!(status(), "unsubscribed");
    sigterm(&server);
    assert!(wait_exit(&mut server, Duration::from_secs(20)).success());
}

#[test]
fn a_delivered_issue_fits_a_phone_screen_and_a_desktop_column_in_chromium() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    let message = delivered_issue(&app);
    let parsed = mail_parser::MessageParser::default()
        .parse(message.as_bytes())
        .unwrap();
    let html = app.write("issue.html", &parsed.body_html(0).unwrap());
    let page = format!("file://{}", html.display());

    let phone = Browser::start(390, 844);
    phone.open(&page);
    let (content, viewport) = phone.widths();
    assert!(
        content <= viewport,
        "no sideways scrolling on a phone: content {content}px in a {viewport}px screen"
    );
    assert!(phone.text().contains("Central banks moved first this week"));

    let desktop = Browser::start(1280, 900);
    desktop.open(&page);
    let column = desktop
        .script("return document.querySelector('.body-copy').getBoundingClientRect().width;");
    let column = column.as_f64().unwrap();
    assert!(
        (400.0..=640.0).contains(&column),
        "a readable column on a desktop, not {column}px"
    );
}

#[test]
fn the_archive_index_and_an_archived_issue_fit_a_phone_and_a_desktop_in_chromium() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.create_list(&["--archive", "on"]);
    app.ok(&["subscriber", "add", "weekly", "ann@example.com"]);
    let id = app.queue_issue(&[]);
    app.serve_until_idle();
    let mut server = app.spawn_serve();
    wait_http(app.http_port);
    let index = format!("http://127.0.0.1:{}/a/weekly", app.http_port);
    for (width, height) in [(390, 844), (1280, 900)] {
        let browser = Browser::start(width, height);
        browser.open(&index);
        assert!(
            browser.text().contains("Markets, maps and the week ahead"),
            "{}",
            browser.text()
        );
        let (content, window) = browser.widths();
        assert!(
            content <= window,
            "no sideways scrolling at {width}px: {content}px in {window}px"
        );
        browser.click(&format!("a[href='/a/weekly/{id}']"));
        browser.wait_for_text("Central banks moved first this week");
        let (content, window) = browser.widths();
        assert!(
            content <= window,
            "the issue fits at {width}px: {content}px in {window}px"
        );
    }
    sigterm(&server);
    assert!(wait_exit(&mut server, Duration::from_secs(20)).success());
}

#[test]
fn the_signup_form_and_its_confirmation_work_without_javascript_at_phone_and_desktop_widths() {
    let sink = SmtpSink::start(&[]);
    let app = TestApp::new(Smtp::Port(sink.port), &[]);
    app.create_list(&["--signup", "on"]);
    let mut server = app.spawn_serve();
    wait_http(app.http_port);
    let form = format!("http://127.0.0.1:{}/s/weekly", app.http_port);
    for (i, (width, height)) in [(390, 844), (1280, 900)].into_iter().enumerate() {
        let browser = Browser::start(width, height);
        browser.open(&form);
        let (content, window) = browser.widths();
        assert!(
            content <= window,
            "no sideways scrolling at {width}px: {content}px in {window}px"
        );
        // Each field has a label a screen reader announces; the honeypot is out of sight.
        let labelled = browser.script(
            "return ['name','email'].map(id => document.querySelector('label[for=' + id + ']') !== null);",
        );
        assert_eq!(labelled, serde_json::json!([true, true]));
        let hidden = browser.script(
            "return document.getElementById('website').getBoundingClientRect().right <= 0;",
        );
        assert_eq!(
            hidden,
            serde_json::json!(true),
            "the honeypot is off screen"
        );
        let address = format!("reader{i}@example.org");
        browser.script(&format!(
            "document.getElementById('name').value = 'Reader {i}'; document.getElementById('email').value = '{address}'; return true;"
        ));
        browser.click("form button");
        browser.wait_for_text("Check your inbox");
        // The link from the mail smtp-sink received: a page with a button, which subscribes.
        let link = confirmation_link(&sink, &address);
        browser.open(&link);
        browser.click("form button");
        browser.wait_for_text("You are subscribed");
        let shown = app.json(&["subscriber", "show", "weekly", &address]);
        assert_eq!(shown["status"], "active");
    }
    sigterm(&server);
    assert!(wait_exit(&mut server, Duration::from_secs(20)).success());
}

#[test]
fn the_subscription_page_renames_and_leaves_without_javascript_at_phone_and_desktop_widths() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    let message = delivered_issue(&app);
    let link = link_after(message.as_bytes(), "Manage your subscription: ");
    let mut server = app.spawn_serve();
    wait_http(app.http_port);
    for (width, height) in [(1280, 900), (390, 844)] {
        let browser = Browser::start(width, height);
        browser.open(&link);
        assert!(
            browser.text().contains("Your subscription"),
            "{}",
            browser.text()
        );
        let (content, window) = browser.widths();
        assert!(
            content <= window,
            "no sideways scrolling at {width}px: {content}px in {window}px"
        );
        let name = format!("Reader at {width}");
        browser.script(&format!(
            "document.getElementById('name').value = '{name}'; return true;"
        ));
        browser.click("form:nth-of-type(1) button");
        browser.wait_for_text("Your name is saved");
        assert_eq!(
            app.json(&["subscriber", "ls", "weekly"])[0]["name"],
            name.as_str()
        );
    }
    let browser = Browser::start(390, 844);
    browser.open(&link);
    browser.click("form:nth-of-type(2) button");
    browser.wait_for_text("unsubscribed from this list");
    assert_eq!(
        app.json(&["subscriber", "ls", "weekly"])[0]["status"],
        "unsubscribed"
    );
    sigterm(&server);
    assert!(wait_exit(&mut server, Duration::from_secs(20)).success());
}
