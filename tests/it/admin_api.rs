//! The operator's API on the admin listener: tokens made by `herald token create`, 401/403/429,
//! RFC 9457 problems, and the same JSON as the CLI.

use crate::helpers::*;
use serde_json::{Value, json};
use std::time::Duration;

struct Api {
    base: String,
}

impl Api {
    fn new(app: &TestApp) -> Self {
        Self {
            base: format!("http://127.0.0.1:{}/api/v1", app.admin_port),
        }
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> HttpResponse {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(a) = &auth {
            headers.push(("Authorization", a));
        }
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        http_request(
            method,
            &format!("{}{path}", self.base),
            &headers,
            &body,
            Duration::from_secs(10),
        )
    }
}

fn problem(r: &HttpResponse) -> Value {
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{} {}",
        r.status,
        r.body
    );
    let p: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(p["status"], r.status, "{p}");
    assert!(p["title"].as_str().is_some_and(|t| !t.is_empty()), "{p}");
    p
}

fn token(app: &TestApp, name: &str, read_only: bool) -> String {
    let mut args = vec!["token", "create", name];
    if read_only {
        args.push("--read-only");
    }
    let made = app.json(&args);
    let t = made["token"].as_str().unwrap().to_owned();
    assert!(t.starts_with("hld_") && t.len() > 40, "{made}");
    t
}

#[test]
fn lists_through_the_api_need_a_token_and_answer_like_the_cli() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    let rw = token(&app, "ci", false);
    let ro = token(&app, "dashboard", true);
    let server = app.spawn_serve();
    wait_http(app.http_port);
    let api = Api::new(&app);

    // No token, a wrong one, a malformed one: 401 with a problem and a Bearer challenge.
    for t in [None, Some("hld_AAAAAAAAnot-the-secret"), Some("garbage")] {
        let r = api.call("GET", "/lists", t, None);
        assert_eq!(r.status, 401, "{t:?}: {}", r.body);
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
        problem(&r);
    }

    // Create with the read-write token: 201 and the JSON `list show --json` prints.
    let new = json!({"slug": "weekly", "name": "Weekly Analysis", "from": "Weekly <news@example.com>",
                     "postal_address": "1 Main St\nSpringfield"});
    let created = api.call("POST", "/lists", Some(&rw), Some(new.clone()));
    assert_eq!(created.status, 201, "{}", created.body);
    let created: Value = serde_json::from_str(&created.body).unwrap();
    let shown = app.json(&["list", "show", "weekly"]);
    assert_eq!(created["slug"], "weekly");
    for key in [
        "slug",
        "name",
        "from",
        "language",
        "postal_address",
        "layout",
    ] {
        assert_eq!(created[key], shown[key], "{key}");
    }
    let got = api.call("GET", "/lists/weekly", Some(&ro), None);
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(serde_json::from_str::<Value>(&got.body).unwrap(), shown);

    // The read-only token reads, but may not write.
    let refused = api.call(
        "PATCH",
        "/lists/weekly",
        Some(&ro),
        Some(json!({"language": "de"})),
    );
    assert_eq!(refused.status, 403, "{}", refused.body);
    problem(&refused);
    let changed = api.call(
        "PATCH",
        "/lists/weekly",
        Some(&rw),
        Some(json!({"language": "de"})),
    );
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(app.json(&["list", "show", "weekly"])["language"], "de");

    // Refusals name what is wrong.
    let bad = api.call(
        "POST",
        "/lists",
        Some(&rw),
        Some(json!({"slug": "b", "name": "B", "from": "not an address"})),
    );
    assert_eq!(bad.status, 422, "{}", bad.body);
    let p = problem(&bad);
    assert_eq!(p["field"], "from", "{p}");
    let twice = api.call("POST", "/lists", Some(&rw), Some(new));
    assert_eq!(twice.status, 409, "{}", twice.body);
    problem(&twice);
    let missing = api.call("GET", "/lists/nope", Some(&rw), None);
    assert_eq!(missing.status, 404, "{}", missing.body);
    problem(&missing);
    let unknown = api.call(
        "POST",
        "/lists",
        Some(&rw),
        Some(json!({"slug": "c", "name": "C", "from": "c@example.com", "colour": "red"})),
    );
    assert_eq!(unknown.status, 422, "{}", unknown.body);
    assert!(
        problem(&unknown)["detail"]
            .as_str()
            .unwrap()
            .contains("colour")
    );

    // Listing gives what `list ls --json` gives.
    let all = api.call("GET", "/lists", Some(&ro), None);
    assert_eq!(all.status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&all.body).unwrap(),
        app.json(&["list", "ls"])
    );

    // A revoked token stops working at once; `token ls` shows it revoked, never the secret.
    app.ok(&["token", "revoke", "dashboard"]);
    assert_eq!(api.call("GET", "/lists", Some(&ro), None).status, 401);
    let listed = app.ok(&["token", "ls"]);
    assert!(
        !listed.contains(&ro[10..]) && !listed.contains(&rw[10..]),
        "{listed}"
    );
    let tokens = app.json(&["token", "ls"]);
    let dashboard = tokens
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "dashboard")
        .unwrap();
    assert!(dashboard["revoked_at"].is_string(), "{tokens}");

    // The public listener has no API.
    let public = http(
        "GET",
        &format!("http://127.0.0.1:{}/api/v1/lists", app.http_port),
        None,
    );
    assert_eq!(public.status, 404);

    sigterm(&server);
    let out = server.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("token refused"), "refusals are logged");
    assert!(
        !log.contains(&rw) && !log.contains(&ro),
        "no token in the log"
    );
}

#[test]
fn a_client_that_keeps_presenting_wrong_tokens_is_slowed_to_429_while_valid_tokens_pass() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    let rw = token(&app, "ci", false);
    let mut server = app.spawn_serve();
    wait_http(app.http_port);
    let api = Api::new(&app);
    for i in 0..10 {
        let r = api.call(
            "GET",
            "/lists",
            Some(&format!("hld_guess{i:04}xxxxxxxx")),
            None,
        );
        assert_eq!(r.status, 401);
    }
    let locked = api.call("GET", "/lists", Some("hld_guess9999xxxxxxxx"), None);
    assert_eq!(locked.status, 429, "{}", locked.body);
    assert!(locked.header("retry-after").is_some());
    problem(&locked);
    let none = api.call("GET", "/lists", None, None);
    assert_eq!(none.status, 429, "no token counts as a wrong one");
    // Another client on the same host with a valid token is not locked out.
    let valid = api.call("GET", "/lists", Some(&rw), None);
    assert_eq!(valid.status, 200, "{}", valid.body);
    sigterm(&server);
    server.wait().unwrap();
}

#[test]
fn token_names_are_unique_among_tokens_in_force() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    token(&app, "ci", false);
    let again = app.run(&["token", "create", "ci"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));
    app.ok(&["token", "revoke", "ci"]);
    token(&app, "ci", true);
    let bad = app.run(&["token", "create", "has space"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("token name"));
}

#[test]
fn subscribers_through_the_api_add_import_page_show_and_unsubscribe() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.ok(&[
        "list",
        "create",
        "weekly",
        "--name",
        "Weekly",
        "--from",
        "Weekly <news@example.com>",
    ]);
    let rw = token(&app, "ci", false);
    let server = app.spawn_serve();
    wait_http(app.http_port);
    let api = Api::new(&app);

    let ann = json!({"email": "ann@example.com", "name": "Ann", "attributes": {"city": "Lyon"}});
    let added = api.call(
        "POST",
        "/lists/weekly/subscribers",
        Some(&rw),
        Some(ann.clone()),
    );
    assert_eq!(added.status, 201, "{}", added.body);
    assert_eq!(
        serde_json::from_str::<Value>(&added.body).unwrap()["result"],
        "added"
    );
    let again = api.call("POST", "/lists/weekly/subscribers", Some(&rw), Some(ann));
    assert_eq!(
        again.status, 200,
        "an address already there is updated: {}",
        again.body
    );

    let bad = api.call(
        "POST",
        "/lists/weekly/subscribers",
        Some(&rw),
        Some(json!({"email": "not-an-address"})),
    );
    assert_eq!(bad.status, 422);
    assert_eq!(problem(&bad)["field"], "email");

    // A CSV body: the bad row is reported with its line, the rest imported.
    let mut csv = String::from("email,name,city\n");
    for i in 0..250 {
        csv.push_str(&format!("r{i}@example.com,Reader {i},City{i}\n"));
    }
    csv.push_str("broken-row,Nobody,Nowhere\n");
    let auth = format!("Bearer {rw}");
    let url = format!("{}/lists/weekly/subscribers/import", api.base);
    let imported = http_request(
        "POST",
        &url,
        &[("Authorization", &auth), ("Content-Type", "text/csv")],
        &csv,
        Duration::from_secs(30),
    );
    assert_eq!(imported.status, 200, "{}", imported.body);
    let report: Value = serde_json::from_str(&imported.body).unwrap();
    assert_eq!(
        (report["added"].as_u64(), report["rejected"].as_u64()),
        (Some(250), Some(1)),
        "{report}"
    );
    assert_eq!(report["rejected_rows"][0]["line"], 252, "{report}");
    let wrong_type = http_request(
        "POST",
        &url,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        "{}",
        Duration::from_secs(10),
    );
    assert_eq!(wrong_type.status, 415);
    problem(&wrong_type);

    // Pages of 100 with a cursor cover everyone once, in the order `subscriber ls` prints.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/lists/weekly/subscribers?limit=100&cursor={c}"),
            None => "/lists/weekly/subscribers?limit=100".to_owned(),
        };
        let page = api.call("GET", &path, Some(&rw), None);
        assert_eq!(page.status, 200, "{}", page.body);
        let page: Value = serde_json::from_str(&page.body).unwrap();
        for s in page["subscribers"].as_array().unwrap() {
            seen.push(s["email"].as_str().unwrap().to_owned());
        }
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let cli: Vec<String> = app
        .json(&["subscriber", "ls", "weekly"])
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["email"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen.len(), 251);
    assert_eq!(seen, cli);

    // Show and unsubscribe one; the status filter then finds exactly that one.
    let shown = api.call(
        "GET",
        "/lists/weekly/subscribers/ann@example.com",
        Some(&rw),
        None,
    );
    assert_eq!(shown.status, 200, "{}", shown.body);
    let shown: Value = serde_json::from_str(&shown.body).unwrap();
    assert_eq!(
        (shown["name"].as_str(), shown["attributes"]["city"].as_str()),
        (Some("Ann"), Some("Lyon"))
    );
    let left = api.call(
        "POST",
        "/lists/weekly/subscribers/ann@example.com/unsubscribe",
        Some(&rw),
        None,
    );
    assert_eq!(left.status, 200, "{}", left.body);
    let left: Value = serde_json::from_str(&left.body).unwrap();
    assert_eq!(
        (left["changed"].as_bool(), left["status"].as_str()),
        (Some(true), Some("unsubscribed"))
    );
    let unsubscribed = api.call(
        "GET",
        "/lists/weekly/subscribers?status=unsubscribed",
        Some(&rw),
        None,
    );
    let unsubscribed: Value = serde_json::from_str(&unsubscribed.body).unwrap();
    assert_eq!(
        unsubscribed["subscribers"].as_array().unwrap().len(),
        1,
        "{unsubscribed}"
    );
    let cli = app.json(&["subscriber", "show", "weekly", "ann@example.com"]);
    assert_eq!(cli["status"], "unsubscribed");
    let again = app.json(&["subscriber", "unsubscribe", "weekly", "ann@example.com"]);
    assert_eq!(again["changed"], false);

    let bad_status = api.call(
        "GET",
        "/lists/weekly/subscribers?status=happy",
        Some(&rw),
        None,
    );
    assert_eq!(bad_status.status, 422);
    assert_eq!(problem(&bad_status)["field"], "status");
    let nobody = api.call(
        "GET",
        "/lists/weekly/subscribers/nobody@example.com",
        Some(&rw),
        None,
    );
    assert_eq!(nobody.status, 404);
    problem(&nobody);
    sigterm(&server);
    server.wait_with_output().unwrap();
}

#[test]
fn issues_through_the_api_queue_show_pause_resume_and_cancel() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(3);
    let rw = token(&app, "ci", false);
    let server = app.spawn_serve();
    wait_http(app.http_port);
    let api = Api::new(&app);
    let later = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let markdown = "---\nsubject: From the API\n---\n\nHello {{ subscriber.first_name | default: \"reader\" }}.\n";

    let queued = api.call(
        "POST",
        "/lists/weekly/issues",
        Some(&rw),
        Some(json!({"source": markdown, "format": "markdown", "send_at": later})),
    );
    assert_eq!(queued.status, 201, "{}", queued.body);
    let queued: Value = serde_json::from_str(&queued.body).unwrap();
    let id = queued["id"].as_i64().unwrap();
    assert_eq!(
        queued,
        app.json(&["issue", "show", &id.to_string()]),
        "the same JSON as `issue show --json`"
    );
    assert_eq!(queued["subject"], "From the API");
    assert_eq!(queued["state"], "queued");
    let got = api.call("GET", &format!("/issues/{id}"), Some(&rw), None);
    assert_eq!(serde_json::from_str::<Value>(&got.body).unwrap(), queued);
    let listed = api.call("GET", "/issues?list=weekly", Some(&rw), None);
    assert_eq!(
        serde_json::from_str::<Value>(&listed.body).unwrap(),
        app.json(&["issue", "ls", "weekly"])
    );

    // A template that does not render is refused when queued, with where and why.
    let bad_liquid = api.call(
        "POST",
        "/lists/weekly/issues",
        Some(&rw),
        Some(json!({"source": "---\nsubject: T\n---\n\n{{ subscriber.name | nosuchfilter }}\n", "format": "markdown"})),
    );
    assert_eq!(bad_liquid.status, 422, "{}", bad_liquid.body);
    let p = problem(&bad_liquid);
    assert_eq!(p["field"], "source", "{p}");
    assert!(p["detail"].as_str().unwrap().contains("request.md"), "{p}");
    let past = api.call(
        "POST",
        "/lists/weekly/issues",
        Some(&rw),
        Some(json!({"source": markdown, "format": "markdown", "send_at": "2020-01-01T00:00:00Z"})),
    );
    assert_eq!(past.status, 422);
    assert_eq!(problem(&past)["field"], "send_at");
    let format = api.call(
        "POST",
        "/lists/weekly/issues",
        Some(&rw),
        Some(json!({"source": markdown, "format": "docx"})),
    );
    assert_eq!(format.status, 422);
    problem(&format);

    // Pause, resume, cancel: each answers with the issue; a move the issue cannot make is 409.
    let paused = api.call("POST", &format!("/issues/{id}/pause"), Some(&rw), None);
    assert_eq!(paused.status, 200, "{}", paused.body);
    assert_eq!(
        serde_json::from_str::<Value>(&paused.body).unwrap()["state"],
        "paused"
    );
    let resumed = api.call("POST", &format!("/issues/{id}/resume"), Some(&rw), None);
    assert_eq!(resumed.status, 200, "{}", resumed.body);
    assert_eq!(
        serde_json::from_str::<Value>(&resumed.body).unwrap()["state"],
        "queued"
    );
    let cancelled = api.call("POST", &format!("/issues/{id}/cancel"), Some(&rw), None);
    assert_eq!(
        serde_json::from_str::<Value>(&cancelled.body).unwrap()["state"],
        "cancelled"
    );
    let again = api.call("POST", &format!("/issues/{id}/resume"), Some(&rw), None);
    assert_eq!(again.status, 409, "{}", again.body);
    problem(&again);
    assert_eq!(
        app.json(&["issue", "show", &id.to_string()])["state"],
        "cancelled"
    );
    let missing = api.call("GET", "/issues/99999", Some(&rw), None);
    assert_eq!(missing.status, 404);
    problem(&missing);
    let bad_id = api.call("GET", "/issues/abc", Some(&rw), None);
    assert_eq!(bad_id.status, 422);
    problem(&bad_id);
    sigterm(&server);
    server.wait_with_output().unwrap();
}

#[test]
fn an_export_streams_every_subscriber_and_imports_back_as_it_was() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(2500);
    app.ok(&[
        "subscriber",
        "add",
        "weekly",
        "eve@example.com",
        "--name",
        "Eve, \"the\" reader",
        "--attr",
        "plan=gold",
    ]);
    app.ok(&["subscriber", "unsubscribe", "weekly", "reader7@example.com"]);

    // CSV on stdout: a header, one row per subscriber, quoting where needed; Python's csv module reads it.
    let csv = app.ok(&["subscriber", "export", "weekly"]);
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("email,name,city,plan,status,created_at"));
    assert_eq!(csv.lines().count(), 2502);
    let parsed = std::process::Command::new("python3")
        .args([
            "-c",
            "import csv,sys,json; print(json.dumps(list(csv.DictReader(sys.stdin))))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(csv.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    let rows: Vec<Value> = serde_json::from_slice(&parsed.stdout).unwrap();
    let eve = rows
        .iter()
        .find(|r| r["email"] == "eve@example.com")
        .unwrap();
    assert_eq!(
        (eve["name"].as_str(), eve["plan"].as_str()),
        (Some("Eve, \"the\" reader"), Some("gold"))
    );
    let seven = rows
        .iter()
        .find(|r| r["email"] == "reader7@example.com")
        .unwrap();
    assert_eq!(seven["status"], "unsubscribed");

    // Imported into a new list, the export gives the same people, names and attributes.
    app.ok(&[
        "list",
        "create",
        "copy",
        "--name",
        "Copy",
        "--from",
        "Copy <copy@example.com>",
    ]);
    let file = app.write("export.csv", &csv);
    let imported = app.json(&["subscriber", "import", "copy", file.to_str().unwrap()]);
    assert_eq!(
        (imported["added"].as_u64(), imported["rejected"].as_u64()),
        (Some(2501), Some(0)),
        "{imported}"
    );
    let strip = |v: Value| -> Vec<String> {
        let mut all: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|s| format!("{} {} {}", s["email"], s["name"], s["attributes"]))
            .collect();
        all.sort();
        all
    };
    assert_eq!(
        strip(app.json(&["subscriber", "ls", "copy"])),
        strip(app.json(&["subscriber", "ls", "weekly"]))
    );

    // --json: one JSON array, the subscribers `subscriber ls --json` prints; --status filters.
    let json: Value =
        serde_json::from_str(&app.ok(&["subscriber", "export", "weekly", "--json"])).unwrap();
    assert_eq!(json, app.json(&["subscriber", "ls", "weekly"]));
    let left: Value = serde_json::from_str(&app.ok(&[
        "subscriber",
        "export",
        "weekly",
        "--status",
        "unsubscribed",
        "--json",
    ]))
    .unwrap();
    assert_eq!(left.as_array().unwrap().len(), 1);

    // The API streams the same bytes.
    let rw = token(&app, "ci", false);
    let server = app.spawn_serve();
    wait_http(app.http_port);
    let api = Api::new(&app);
    let got = api.call("GET", "/lists/weekly/subscribers/export", Some(&rw), None);
    assert_eq!(got.status, 200);
    assert_eq!(got.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(got.header("transfer-encoding"), Some("chunked"), "streamed");
    assert_eq!(got.body, csv);
    let got = api.call(
        "GET",
        "/lists/weekly/subscribers/export?format=json&status=unsubscribed",
        Some(&rw),
        None,
    );
    assert_eq!(serde_json::from_str::<Value>(&got.body).unwrap(), left);
    sigterm(&server);
    server.wait_with_output().unwrap();
}

#[test]
fn deliveries_stats_and_bounces_read_what_the_cli_reads() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(5);
    let id = app.queue_issue(&[]);
    app.serve_until_idle();
    app.ok(&["subscriber", "unsubscribe", "weekly", "reader1@example.com"]);
    let rw = token(&app, "ci", true);
    let server = app.spawn_serve();
    wait_http(app.http_port);
    let api = Api::new(&app);

    // Two pages of 3 and 2, in the order `issue deliveries --json` prints, nobody twice.
    let first = api.call(
        "GET",
        &format!("/issues/{id}/deliveries?limit=3"),
        Some(&rw),
        None,
    );
    assert_eq!(first.status, 200, "{}", first.body);
    let first: Value = serde_json::from_str(&first.body).unwrap();
    let next = first["next"].as_str().unwrap();
    let second = api.call(
        "GET",
        &format!("/issues/{id}/deliveries?limit=3&cursor={next}"),
        Some(&rw),
        None,
    );
    let second: Value = serde_json::from_str(&second.body).unwrap();
    assert!(second["next"].is_null(), "{second}");
    let mut both = first["deliveries"].as_array().unwrap().clone();
    both.extend(second["deliveries"].as_array().unwrap().iter().cloned());
    assert_eq!(
        Value::Array(both),
        app.json(&["issue", "deliveries", &id.to_string()])
    );
    let sent = api.call(
        "GET",
        &format!("/issues/{id}/deliveries?state=sent"),
        Some(&rw),
        None,
    );
    let sent: Value = serde_json::from_str(&sent.body).unwrap();
    assert_eq!(sent["deliveries"].as_array().unwrap().len(), 5);
    let bad = api.call(
        "GET",
        &format!("/issues/{id}/deliveries?state=lost"),
        Some(&rw),
        None,
    );
    assert_eq!(bad.status, 422);
    assert_eq!(problem(&bad)["field"], "state");
    let too_many = api.call(
        "GET",
        &format!("/issues/{id}/deliveries?limit=5000"),
        Some(&rw),
        None,
    );
    assert_eq!(problem(&too_many)["field"], "limit");
    // A malformed or unknown query parameter is a problem document too.
    for query in ["limit=abc", "colour=red"] {
        let r = api.call(
            "GET",
            &format!("/issues/{id}/deliveries?{query}"),
            Some(&rw),
            None,
        );
        assert_eq!(r.status, 422, "{query}: {}", r.body);
        problem(&r);
    }

    let stats = api.call("GET", &format!("/issues/{id}/stats"), Some(&rw), None);
    assert_eq!(stats.status, 200, "{}", stats.body);
    let stats: Value = serde_json::from_str(&stats.body).unwrap();
    assert_eq!(
        (
            stats["recipients"].as_i64(),
            stats["sent"].as_i64(),
            stats["open"].as_i64()
        ),
        (Some(5), Some(5), Some(0)),
        "{stats}"
    );
    assert_eq!(stats["delivered_rate"].as_f64(), Some(1.0));
    assert_eq!(stats["bounce_rate"].as_f64(), Some(0.0));
    let list = api.call("GET", "/lists/weekly/stats", Some(&rw), None);
    let list: Value = serde_json::from_str(&list.body).unwrap();
    assert_eq!(
        (
            list["subscribers"]["active"].as_i64(),
            list["subscribers"]["unsubscribed"].as_i64()
        ),
        (Some(4), Some(1)),
        "{list}"
    );
    assert_eq!(
        (list["issues"]["sent"].as_i64(), list["sent"].as_i64()),
        (Some(1), Some(5)),
        "{list}"
    );

    // The preview: the page a sample reader gets, as HTML, text or JSON.
    let html = api.call("GET", &format!("/issues/{id}/preview"), Some(&rw), None);
    assert_eq!(html.status, 200, "{}", html.body);
    assert_eq!(
        html.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(
        html.body.contains("<html") && html.body.contains("Ada"),
        "{}",
        &html.body[..200.min(html.body.len())]
    );
    assert!(!html.body.contains("{{"), "no placeholder left");
    let json = api.call(
        "GET",
        &format!("/issues/{id}/preview?format=json"),
        Some(&rw),
        None,
    );
    let json: Value = serde_json::from_str(&json.body).unwrap();
    assert_eq!(json["html"].as_str(), Some(html.body.as_str()));
    assert!(json["text"].as_str().unwrap().contains("Ada"));
    let text = api.call(
        "GET",
        &format!("/issues/{id}/preview?format=text"),
        Some(&rw),
        None,
    );
    assert_eq!(Some(text.body.as_str()), json["text"].as_str());

    let bounces = api.call("GET", "/bounces?list=weekly", Some(&rw), None);
    assert_eq!(bounces.status, 200, "{}", bounces.body);
    assert_eq!(
        serde_json::from_str::<Value>(&bounces.body).unwrap(),
        app.json(&["bounce", "ls", "--list", "weekly"])
    );
    let bad_issue = api.call("GET", "/bounces?issue=abc", Some(&rw), None);
    assert_eq!(problem(&bad_issue)["field"], "issue");
    sigterm(&server);
    server.wait_with_output().unwrap();
}

/// Every table's rows as text, from the database itself.
fn dump(app: &TestApp) -> String {
    crate::database::dump(&app.database)
}

#[test]
fn an_erased_address_is_gone_from_every_table_and_cannot_be_imported_again() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(3);
    app.ok(&[
        "list",
        "create",
        "daily",
        "--name",
        "Daily",
        "--from",
        "Daily <daily@example.com>",
    ]);
    app.ok(&[
        "subscriber",
        "add",
        "daily",
        "reader1@example.com",
        "--name",
        "Reader One",
    ]);
    app.queue_issue(&[]);
    app.serve_until_idle();
    let outbox = app.outbox();
    assert!(dump(&app).contains("reader1@example.com"));
    let sent_before = app.json(&["issue", "ls"])[0]["deliveries"]["sent"].as_i64();
    assert_eq!(sent_before, Some(3));

    let rw = token(&app, "ci", false);
    let server = app.spawn_serve();
    wait_http(app.http_port);
    let api = Api::new(&app);
    let erased = api.call(
        "POST",
        "/subscribers/erase",
        Some(&rw),
        Some(json!({"email": "Reader1@Example.com"})),
    );
    assert_eq!(erased.status, 200, "{}", erased.body);
    let erased: Value = serde_json::from_str(&erased.body).unwrap();
    assert_eq!(erased["lists"], json!(["daily", "weekly"]), "{erased}");
    assert_eq!(erased["deliveries"], 1, "{erased}");

    // Nowhere in the database, not even in the issue's stored deliveries or a log of replies.
    let dumped = dump(&app);
    assert!(
        !dumped.to_lowercase().contains("reader1@example.com"),
        "the address is still stored"
    );
    assert!(
        !dumped.contains("Reader One") && !dumped.contains("Reader1 Person"),
        "the name is still stored"
    );
    assert!(dumped.contains("reader2@example.com"), "the others stay");
    // A bounce that comes back later for the erased reader's message records none of their data.
    let sent = crate::bounce_mail::Sent::to(&outbox, "reader1@example.com");
    let report = crate::bounce_mail::dsn(
        &sent,
        "reader1@example.com",
        "5.1.1",
        "550 5.1.1 <reader1@example.com>: User unknown",
    );
    let late = app.bounce_ingest_ok(&report, Some(&sent.verp));
    assert_eq!(late["found_in"], "verp", "{late}");
    let dumped = dump(&app);
    assert!(
        !dumped.to_lowercase().contains("reader1@example.com"),
        "a late bounce brought the address back"
    );
    let missing = api.call(
        "GET",
        "/lists/weekly/subscribers/reader1@example.com",
        Some(&rw),
        None,
    );
    assert_eq!(missing.status, 404);

    // An import or an add cannot bring it back; the import says why, by line.
    let file = app.write(
        "again.csv",
        "email,name\nreader9@example.com,Nine\nREADER1@example.com,Back\n",
    );
    let report = app.json(&["subscriber", "import", "weekly", file.to_str().unwrap()]);
    assert_eq!(report["added"], 1, "{report}");
    assert_eq!(report["rejected_rows"][0]["line"], 3, "{report}");
    assert!(
        report["rejected_rows"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("erased"),
        "{report}"
    );
    let add = api.call(
        "POST",
        "/lists/daily/subscribers",
        Some(&rw),
        Some(json!({"email": "reader1@example.com"})),
    );
    assert_eq!(add.status, 422, "{}", add.body);
    assert!(problem(&add)["detail"].as_str().unwrap().contains("erased"));
    let cli = app.run(&["subscriber", "add", "daily", "reader1@example.com"]);
    assert!(!cli.status.success());
    // Erasing an address never stored keeps it out from then on.
    let never = app.json(&["subscriber", "erase", "someone@example.org"]);
    assert_eq!(never["found"], false);
    let file = app.write("new.csv", "email\nsomeone@example.org\n");
    let report = app.json(&["subscriber", "import", "weekly", file.to_str().unwrap()]);
    assert_eq!(report["rejected"], 1, "{report}");
    sigterm(&server);
    server.wait_with_output().unwrap();
}

/// Every `$ref` in `v`, e.g. `#/components/schemas/ListView`.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "$ref" {
                    out.push(x.as_str().unwrap().to_owned());
                }
                refs(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[test]
fn the_openapi_document_lists_exactly_the_routes_that_answer() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(2);
    let issue = app.queue_issue(&["--at", "2099-01-01T00:00:00Z"]);
    let rw = token(&app, "ci", false);
    let server = app.spawn_serve();
    wait_http(app.http_port);
    let api = Api::new(&app);

    // Served without a token (it is public knowledge), JSON, OpenAPI 3.1.
    let served = api.call("GET", "/openapi.json", None, None);
    assert_eq!(served.status, 200, "{}", served.body);
    let doc: Value = serde_json::from_str(&served.body).unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        doc["openapi"]
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );

    // Every reference resolves within the document.
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in &all {
        let pointer = r.strip_prefix('#').expect("a local reference");
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }

    // Every documented operation answers, with a documented status, and is not the API's "no such
    // path" fallback; each says how it fails.
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            if !["get", "post", "patch", "put", "delete"].contains(&method.as_str()) {
                continue;
            }
            operations += 1;
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.contains_key("4XX"),
                "{method} {path}: no problem responses"
            );
            let concrete = path
                .replace("{list}", "weekly")
                .replace("{id}", &issue.to_string())
                .replace("{email}", "reader0@example.com");
            // Bodies that are refused as incomplete still prove the route exists (422, 415).
            let r = api.call(
                &method.to_uppercase(),
                &concrete,
                Some(&rw),
                Some(json!({})),
            );
            assert!(
                r.status != 405 && !(r.status == 404 && r.body.contains("no such API path")),
                "{method} {path} does not answer: {} {}",
                r.status,
                r.body
            );
            let documented = responses.contains_key(&r.status.to_string())
                || responses.contains_key(&format!("{}XX", r.status / 100));
            assert!(
                documented,
                "{method} {path}: {} is not documented",
                r.status
            );
        }
    }
    assert!(operations >= 20, "only {operations} operations documented");
    // And a path the document does not list is the fallback.
    let r = api.call("GET", "/not-an-endpoint", Some(&rw), None);
    assert_eq!(r.status, 404);
    assert!(
        problem(&r)["detail"]
            .as_str()
            .unwrap()
            .contains("no such API path")
    );
    sigterm(&server);
    server.wait_with_output().unwrap();
}
