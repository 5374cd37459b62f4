//! Debian's headless Chromium driven over WebDriver (chromedriver): one session per `Browser`, for
//! the pages checked in a browser (`browser.rs`) and the MJML fidelity screenshots
//! (`mjml_fidelity.rs`).

use crate::helpers::*;
use serde_json::{Value, json};
use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// A chromedriver process and one headless Chromium session.
pub struct Browser {
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
    /// A window of `width` × `height` pixels.
    pub fn start(width: u32, height: u32) -> Self {
        Self::launch(&[
            "--disable-quic".to_owned(),
            format!("--window-size={width},{height}"),
        ])
    }

    /// A session with Chromium's usual headless arguments and `extra`.
    pub fn launch(extra: &[String]) -> Self {
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
        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        args.extend_from_slice(extra);
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

    /// A WebDriver command of this session; its `value`.
    pub fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let answer = request(method, &url, Some(&body));
        assert!(
            answer["value"].get("error").is_none(),
            "WebDriver {path}: {answer}"
        );
        answer["value"].clone()
    }

    /// A Chrome DevTools Protocol command.
    pub fn devtools(&self, cmd: &str, params: Value) -> Value {
        self.call(
            "POST",
            "/goog/cdp/execute",
            json!({ "cmd": cmd, "params": params }),
        )
    }

    pub fn open(&self, url: &str) {
        self.call("POST", "/url", json!({ "url": url }));
    }

    pub fn script(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            json!({ "script": script, "args": [] }),
        )
    }

    pub fn click(&self, css: &str) {
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

    pub fn text(&self) -> String {
        self.script("return document.body.innerText;")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits (up to 10 s) until the page shows `needle`, as after a form was submitted.
    pub fn wait_for_text(&self, needle: &str) {
        let start = Instant::now();
        while !self.text().contains(needle) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "no `{needle}` on the page: {}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The page's content width and the window's: no sideways scrolling when the first is not larger.
    pub fn widths(&self) -> (f64, f64) {
        let fits = self.script("return [document.documentElement.scrollWidth, window.innerWidth];");
        (fits[0].as_f64().unwrap(), fits[1].as_f64().unwrap())
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
