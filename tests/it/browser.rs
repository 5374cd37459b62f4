//! Pages checked in a real browser: Debian's headless Chromium driven over WebDriver (chromedriver).
//! The unsubscribe page's button works, and a delivered issue fits a phone screen and a desktop column.

use crate::helpers::*;
use serde_json::{Value, json};
use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// A chromedriver process and one headless Chromium session.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    _profile: tempfile::TempDir,
}

fn request(method: &str, url: &str, body: Option<&Value>) -> Value {
    let body = body.map(Value::to_string).unwrap_or_default();
    let response = http_with(
        method,
        url,
        "application/json",
        &body,
        Duration::from_secs(60),
    );
    serde_json::from_str(&response.body)
        .unwrap_or_else(|e| panic!("chromedriver answered no JSON ({e}): {}", response.body))
}

impl Browser {
    fn start(width: u32, height: u32) -> Self {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is not installed (apt-get install chromium chromium-driver); scripts/test installs it");
        let base = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
            format!("--window-size={width},{height}"),
        ];
        let created = request(
            "POST",
            &format!("{base}/session"),
            Some(&json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}
            }}})),
        );
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no Chromium session: {created}"))
            .to_owned();
        Self {
            driver,
            base,
            session,
            _profile: profile,
        }
    }

    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let answer = request(method, &url, Some(&body));
        assert!(
            answer["value"].get("error").is_none(),
            "WebDriver {path}: {answer}"
        );
        answer["value"].clone()
    }

    fn open(&self, url: &str) {
        self.call("POST", "/url", json!({ "url": url }));
    }

    fn script(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            json!({ "script": script, "args": [] }),
        )
    }

    fn click(&self, css: &str) {
        let found = self.call(
            "POST",
            "/element",
            json!({ "using": "css selector", "value": css }),
        );
        let id = found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap()
            .to_owned();
        self.call("POST", &format!("/element/{id}/click"), json!({}));
    }

    fn text(&self) -> String {
        self.script("return document.body.innerText;")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(|| {
            request(
                "DELETE",
                &format!("{}/session/{}", self.base, self.session),
                None,
            )
        });
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

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
    let start = Instant::now();
    while !browser.text().contains("You are unsubscribed") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no confirmation: {}",
            browser.text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

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
    let fits = phone.script("return [document.documentElement.scrollWidth, window.innerWidth];");
    let (content, viewport) = (fits[0].as_f64().unwrap(), fits[1].as_f64().unwrap());
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
        let fits =
            browser.script("return [document.documentElement.scrollWidth, window.innerWidth];");
        assert!(
            fits[0].as_f64() <= fits[1].as_f64(),
            "no sideways scrolling at {width}px: {fits}"
        );
        browser.click(&format!("a[href='/a/weekly/{id}']"));
        let start = Instant::now();
        while !browser
            .text()
            .contains("Central banks moved first this week")
        {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the issue did not open: {}",
                browser.text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let fits =
            browser.script("return [document.documentElement.scrollWidth, window.innerWidth];");
        assert!(
            fits[0].as_f64() <= fits[1].as_f64(),
            "the issue fits at {width}px: {fits}"
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
        let fits =
            browser.script("return [document.documentElement.scrollWidth, window.innerWidth];");
        assert!(
            fits[0].as_f64() <= fits[1].as_f64(),
            "no sideways scrolling at {width}px: {fits}"
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
        let start = Instant::now();
        while !browser.text().contains("Check your inbox") {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{}",
                browser.text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // The link from the mail smtp-sink received: a page with a button, which subscribes.
        let link = confirmation_link(&sink, &address);
        browser.open(&link);
        browser.click("form button");
        let start = Instant::now();
        while !browser.text().contains("You are subscribed") {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{}",
                browser.text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
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
        let fits =
            browser.script("return [document.documentElement.scrollWidth, window.innerWidth];");
        assert!(
            fits[0].as_f64() <= fits[1].as_f64(),
            "no sideways scrolling at {width}px: {fits}"
        );
        let name = format!("Reader at {width}");
        browser.script(&format!(
            "document.getElementById('name').value = '{name}'; return true;"
        ));
        browser.click("form:nth-of-type(1) button");
        let start = Instant::now();
        while !browser.text().contains("Your name is saved") {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{}",
                browser.text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(
            app.json(&["subscriber", "ls", "weekly"])[0]["name"],
            name.as_str()
        );
    }
    let browser = Browser::start(390, 844);
    browser.open(&link);
    browser.click("form:nth-of-type(2) button");
    let start = Instant::now();
    while !browser.text().contains("unsubscribed from this list") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{}",
            browser.text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        app.json(&["subscriber", "ls", "weekly"])[0]["status"],
        "unsubscribed"
    );
    sigterm(&server);
    assert!(wait_exit(&mut server, Duration::from_secs(20)).success());
}
