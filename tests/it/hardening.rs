//! Issue 7's hostile cases that concern the daemon and its files: another path to the same database,
//! a cancel while no daemon ran, who may read the database and the outbox.

use crate::helpers::*;
use std::{os::unix::fs::PermissionsExt, time::Duration};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_second_serve_through_a_symlink_or_a_dotted_path_to_the_same_database_is_refused() {
    crate::sqlite_only!();
    let sink = SmtpSink::start(&[]);
    let app = TestApp::new(Smtp::Port(sink.port), &[]);
    app.list_with_subscribers(3);
    let mut first = app.spawn_serve();
    wait_http(app.http_port);

    let link = app.path("link.db");
    std::os::unix::fs::symlink(app.path("herald.db"), &link).unwrap();
    std::fs::create_dir(app.path("x")).unwrap();
    let dotted = app.path("x/../herald.db");
    for other in [link, dotted] {
        let out = app
            .command(&["serve", "--until-idle"])
            .env("HERALD_DATABASE__URL", &other)
            .env("HERALD_HTTP__LISTEN", format!("127.0.0.1:{}", free_port()))
            .output()
            .unwrap();
        assert!(
            !out.status.success(),
            "a second serve started on {}",
            other.display()
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("already running"), "{stderr}");
    }
    sigterm(&first);
    assert!(wait_exit(&mut first, Duration::from_secs(20)).success());
}

#[test]
fn an_issue_cancelled_after_a_crash_leaves_no_pending_deliveries() {
    let sink = SmtpSink::start(&[]);
    let app = TestApp::new(
        Smtp::Port(sink.port),
        &[("smtp.connections", "4"), ("sending.batch_size", "100")],
    );
    app.list_with_subscribers(600);
    let id = app.queue_issue(&[]);
    let mut server = app.spawn_serve_paced(300);
    app.wait_for_issue(id, Duration::from_secs(60), |i| count(i, "sent") >= 100);
    sigkill(&server);
    server.wait().unwrap();
    assert!(
        count(&app.issue(id), "sending") > 0,
        "the crash left claimed rows"
    );

    app.ok(&["issue", "cancel", &id.to_string()]);
    app.serve_until_idle();

    let issue = app.issue(id);
    assert_eq!(issue["state"], "cancelled");
    assert_eq!(
        (count(&issue, "pending"), count(&issue, "sending")),
        (0, 0),
        "{issue}"
    );
    assert_eq!(count(&issue, "sent") + count(&issue, "skipped"), 600);
}

#[test]
fn the_database_and_the_outbox_are_readable_by_their_owner_only() {
    crate::sqlite_only!();
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(2);
    app.queue_issue(&[]);
    app.serve_until_idle();

    assert_eq!(mode(&app.path("herald.db")), 0o600);
    for suffix in ["-wal", "-shm"] {
        let side = app.path(&format!("herald.db{suffix}"));
        if side.exists() {
            assert_eq!(mode(&side), 0o600, "{}", side.display());
        }
    }
    let messages: Vec<_> = std::fs::read_dir(app.path("outbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(messages.len(), 2);
    assert!(messages.iter().all(|m| mode(m) == 0o600), "{messages:?}");
}

#[test]
fn serve_warns_when_the_database_is_readable_by_others() {
    crate::sqlite_only!();
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(1);
    std::fs::set_permissions(
        app.path("herald.db"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let out = app.serve_until_idle();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("readable by other users"), "{log}");
}

/// Every delivery's attempts, as `issue deliveries` shows them.
fn attempts(app: &TestApp, id: i64) -> Vec<i64> {
    app.json(&["issue", "deliveries", &id.to_string()])
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["attempts"].as_i64().unwrap())
        .collect()
}

#[test]
fn a_relay_that_refuses_every_recipient_pauses_the_issue_and_burns_nobody() {
    for (flag, command, reply) in [
        ("-f", "RCPT", "5.3.0"),
        ("-r", "RCPT", "4.3.0"),
        ("-f", "DATA", "5.3.0"),
    ] {
        let broken = SmtpSink::start(&[flag, command]);
        let app = TestApp::new(
            Smtp::Port(broken.port),
            &[
                ("sending.breaker_run", "10"),
                ("sending.retry_base_seconds", "0"),
            ],
        );
        app.list_with_subscribers(60);
        let id = app.queue_issue(&[]);
        app.serve_until_idle();

        let issue = app.issue(id);
        assert_eq!(
            issue["state"], "paused",
            "smtp-sink {flag} {command}: {issue}"
        );
        let reason = issue["state_reason"].as_str().unwrap();
        assert!(
            reason.contains(reply) && reason.contains("herald issue resume"),
            "{reason}"
        );
        assert_eq!(
            count(&issue, "pending"),
            60,
            "everyone waits for the fix: {issue}"
        );
        let spent = attempts(&app, id);
        assert!(
            spent.iter().all(|a| *a == 0),
            "smtp-sink {flag} {command}: attempts refunded: {spent:?}\n{}",
            app.json(&["issue", "deliveries", &id.to_string()])
        );
        let active = app.json(&["subscriber", "ls", "weekly", "--status", "active"]);
        assert_eq!(active.as_array().unwrap().len(), 60);
        assert!(app.json(&["bounce", "ls"]).as_array().unwrap().is_empty());

        // The relay is fixed: resume, and everyone gets the issue once.
        let fixed = SmtpSink::start(&[]);
        app.ok(&["issue", "resume", &id.to_string()]);
        let out = app
            .command(&["serve", "--until-idle"])
            .env("HERALD_SMTP__PORT", fixed.port.to_string())
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(count(&app.issue(id), "sent"), 60);
        assert_eq!(fixed.messages().len(), 60);
    }
}

#[test]
fn issue_retry_requeues_the_failed_deliveries_chosen_and_nobody_else() {
    use crate::fixture_smtp::FixtureSmtp;
    // Three recipients refused once by a relay policy (too few in a row to trip the breaker), and
    // one unknown user: after the fix, `issue retry --reason` sends the three and only them.
    let fixture = FixtureSmtp::start(std::sync::Arc::new(|rcpt: &str, attempt| {
        match (rcpt, attempt) {
            ("reader1@example.com" | "reader4@example.com" | "reader7@example.com", 1) => {
                (554, "5.7.1 Relay access denied")
            }
            ("reader9@example.com", _) => (550, "5.1.1 no such user"),
            _ => (250, "2.0.0 queued"),
        }
    }));
    let app = TestApp::new(Smtp::Port(fixture.port), &[]);
    app.list_with_subscribers(10);
    let id = app.queue_issue(&[]);
    app.serve_until_idle();
    let issue = app.issue(id);
    assert_eq!(issue["state"], "sent");
    assert_eq!((count(&issue, "failed"), count(&issue, "bounced")), (3, 1));

    let out = app.json(&[
        "issue",
        "retry",
        &id.to_string(),
        "--reason",
        "Relay access",
    ]);
    assert_eq!(out["requeued"], 3);
    assert_eq!(out["state"], "sending", "a finished issue is reopened");
    app.serve_until_idle();

    let issue = app.issue(id);
    assert_eq!(issue["state"], "sent");
    assert_eq!(
        (
            count(&issue, "sent"),
            count(&issue, "bounced"),
            count(&issue, "failed")
        ),
        (9, 1, 0)
    );
    let mut accepted = fixture.accepted.lock().unwrap().clone();
    accepted.sort();
    accepted.dedup();
    assert_eq!(accepted.len(), 9, "each got exactly one");
    assert_eq!(
        fixture.accepted.lock().unwrap().len(),
        9,
        "nobody got it twice"
    );
    let refused = app.run(&["issue", "retry", &id.to_string(), "--state", "sent"]);
    assert!(
        !refused.status.success(),
        "sent deliveries are never re-queued"
    );
}

#[test]
fn idle_and_slow_header_http_clients_neither_stop_the_sending_nor_hold_their_sockets() {
    use std::io::{Read, Write};
    let sink = SmtpSink::start(&[]);
    let app = TestApp::new(
        Smtp::Port(sink.port),
        &[
            ("http.max_connections", "32"),
            ("http.header_timeout_seconds", "1"),
            // Far longer than the test: only the header timeout can close the slow client.
            ("http.connection_seconds", "600"),
            ("smtp.connections", "4"),
        ],
    );
    app.list_with_subscribers(200);
    let id = app.queue_issue(&[]);
    // 160 descriptors in all, and more idle clients than that: without limits the HTTP side would
    // take them all and the next SMTP connection would fail with EMFILE.
    let mut server = std::process::Command::new("sh")
        .args([
            "-c",
            "ulimit -n 160 && exec \"$0\" \"$@\"",
            HERALD,
            "--config",
        ])
        .arg(&app.config)
        .args(["serve"])
        .env("HERALD_SMTP__RATE_PER_SECOND", "100")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .current_dir(app.dir.path())
        .spawn()
        .unwrap();
    wait_http(app.http_port);
    let idle: Vec<_> = (0..200)
        .filter_map(|_| std::net::TcpStream::connect(("127.0.0.1", app.http_port)).ok())
        .collect();
    let mut slow = std::net::TcpStream::connect(("127.0.0.1", app.http_port)).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();

    let done = app.wait_for_issue(id, Duration::from_secs(60), |i| {
        i["state"] != "sending" && i["state"] != "queued"
    });
    assert_eq!(
        (done["state"].as_str(), count(&done, "sent")),
        (Some("sent"), 200),
        "{done}"
    );
    assert_eq!(sink.messages().len(), 200);

    // A client that trickles its headers is closed once http.header_timeout_seconds passes.
    let started = std::time::Instant::now();
    let closed = loop {
        if slow.write_all(b"X").is_err() {
            break true;
        }
        let mut byte = [0u8; 1];
        slow.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        match slow.read(&mut byte) {
            Ok(0) => break true,
            Ok(_) => break true,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break true,
        }
        if started.elapsed() > Duration::from_secs(5) {
            break false;
        }
    };
    assert!(closed, "a slow-header client is closed");
    drop(idle);
    let health = http(
        "GET",
        &format!("http://127.0.0.1:{}/healthz", app.http_port),
        None,
    );
    assert_eq!(health.status, 200);
    sigterm(&server);
    assert!(wait_exit(&mut server, Duration::from_secs(20)).success());
}

#[test]
fn an_unsubscribe_token_works_only_in_the_spelling_herald_wrote() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(1);
    app.queue_issue(&[]);
    app.serve_until_idle();
    let message = app.outbox().pop().unwrap();
    let url = unsubscribe_link(&message);
    let (base, token) = url.rsplit_once('/').unwrap();
    let mut server = app.spawn_serve();
    wait_http(app.http_port);
    for forged in [
        token.to_ascii_uppercase(),
        format!("{token}a"),
        token[1..].to_owned(),
    ] {
        let page = http("GET", &format!("{base}/{forged}"), None);
        assert_eq!(page.status, 404, "{forged}");
    }
    assert_eq!(http("GET", &url, None).status, 200);
    sigterm(&server);
    assert!(wait_exit(&mut server, Duration::from_secs(20)).success());
}

#[test]
fn a_reply_lost_after_the_final_dot_is_retried_once_and_recorded_as_unconfirmed() {
    // smtp-sink takes the message, then hangs up instead of answering the final ".".
    let sink = SmtpSink::start(&["-q", "."]);
    let app = TestApp::new(
        Smtp::Port(sink.port),
        &[
            ("sending.retry_base_seconds", "0"),
            ("sending.max_attempts", "5"),
        ],
    );
    app.list_with_subscribers(5);
    let id = app.queue_issue(&[]);
    app.serve_until_idle();

    let issue = app.issue(id);
    assert_eq!(issue["state"], "sent", "{issue}");
    assert_eq!(count(&issue, "unconfirmed"), 5, "{issue}");
    assert_eq!(count(&issue, "failed"), 0);
    let mut copies = std::collections::BTreeMap::<String, usize>::new();
    for m in sink.messages() {
        *copies.entry(m.rcpt).or_default() += 1;
    }
    assert_eq!(copies.len(), 5);
    assert!(
        copies.values().all(|n| *n <= 2),
        "retried at most once: {copies:?}"
    );
    let shown = app.ok(&["issue", "show", &id.to_string()]);
    assert!(shown.contains("unconfirmed"), "{shown}");
    let rows = app.json(&["issue", "deliveries", &id.to_string()]);
    assert!(
        rows.as_array().unwrap().iter().all(|d| d["last_reply"]
            .as_str()
            .unwrap()
            .contains("probably delivered")),
        "{rows}"
    );
}

#[test]
fn an_oversized_name_or_attribute_is_refused_by_row_and_the_rest_imported() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.create_list(&[]);
    let huge = "x".repeat(5 << 20);
    let csv = format!(
        "email,name,city\nann@example.com,Ann,Oslo\nbob@example.com,{huge},Rome\ncy@example.com,Cy,{}\n",
        "y".repeat(2000)
    );
    let file = app.write("big.csv", &csv);
    let out = app.json(&["subscriber", "import", "weekly", file.to_str().unwrap()]);
    let text = out.to_string();
    assert!(text.contains("name is 5242880 characters long"), "{text}");
    assert!(text.contains("attribute `city`"), "{text}");
    let subs = app.json(&["subscriber", "ls", "weekly"]);
    assert_eq!(
        subs.as_array().unwrap().len(),
        1,
        "only ann@example.com: {subs}"
    );
    let refused = app.run(&[
        "subscriber",
        "add",
        "weekly",
        "dee@example.com",
        "--name",
        &"z".repeat(300),
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("at most 256"));
}
