//! TLS and AUTH against a real Postfix smtpd whose SASL backend is Dovecot's auth socket
//! (`servers::PostfixSubmission`): STARTTLS and implicit TLS with a private CA in `smtp.ca_file`,
//! AUTH PLAIN and LOGIN, and each way a session must be refused (an untrusted CA, a certificate for
//! another name, a wrong password, no STARTTLS) pausing the issue with the reason, nobody attempted.

use crate::{
    helpers::*,
    servers::{PostfixSubmission, SaslUser, wait_until},
};
use serde_json::Value;
use std::{
    path::Path,
    time::{Duration, Instant},
};

/// A list whose subscribers are `reader0..n@domain`; returns their addresses.
fn list_at(app: &TestApp, domain: &str, n: usize) -> Vec<String> {
    app.create_list(&[]);
    let emails: Vec<String> = (0..n).map(|i| format!("reader{i}@{domain}")).collect();
    let mut csv = String::from("email,name\n");
    for e in &emails {
        csv.push_str(&format!("{e},Reader\n"));
    }
    let file = app.write("subscribers.csv", &csv);
    app.ok(&["subscriber", "import", "weekly", file.to_str().unwrap()]);
    emails
}

/// TOML for a string value.
fn toml_str(value: &str) -> String {
    format!("{value:?}")
}

/// TOML for a path.
fn toml_path(path: &Path) -> String {
    toml_str(path.to_str().unwrap())
}

/// A herald sending to `port` of the submission server with `tls`, logging in as `user` with
/// `password` (given inline), trusting `ca_file` when given; `extra` adds or replaces keys.
fn app_for(
    port: u16,
    tls: &str,
    login: Option<(&SaslUser, &str)>,
    ca_file: Option<&Path>,
    extra: &[(&str, String)],
) -> TestApp {
    let mut keys: Vec<(&str, String)> = vec![
        ("smtp.tls", toml_str(tls)),
        ("smtp.connections", "2".into()),
        ("smtp.timeout_seconds", "10".into()),
        // Long enough that only a refusal recognised as lasting pauses within a test.
        ("smtp.unreachable_pause_seconds", "60".into()),
    ];
    if let Some((user, password)) = login {
        keys.push(("smtp.username", toml_str(&user.name)));
        keys.push(("smtp.password", toml_str(password)));
    }
    if let Some(ca) = ca_file {
        keys.push(("smtp.ca_file", toml_path(ca)));
    }
    for (key, value) in extra {
        keys.retain(|(k, _)| k != key);
        keys.push((key, value.clone()));
    }
    let keys: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (*k, v.as_str())).collect();
    TestApp::new(Smtp::Port(port), &keys)
}

/// Waits until the server kept a message for each of `emails`; their texts.
fn wait_received(server: &PostfixSubmission, emails: &[String]) -> Vec<String> {
    let arrived = wait_until(Duration::from_secs(10), || {
        emails.iter().all(|e| !server.received(e).is_empty())
    });
    assert!(
        arrived,
        "not every message arrived\n{}",
        server.debug_dump()
    );
    emails
        .iter()
        .map(|e| {
            let all = server.received(e);
            assert_eq!(all.len(), 1, "one message for {e}");
            String::from_utf8_lossy(&all[0]).into_owned()
        })
        .collect()
}

/// `user`'s smtpd sessions, once Postfix has logged at least `n` of them.
fn sessions(server: &PostfixSubmission, user: &str, n: usize) -> Vec<String> {
    wait_until(Duration::from_secs(5), || {
        server.sessions_of(user).len() >= n
    });
    let sessions = server.sessions_of(user);
    assert!(
        sessions.len() >= n,
        "{n} session(s) of {user} expected\n{}",
        server.debug_dump()
    );
    sessions
}

/// Every delivery row of `id` is `sent` with Postfix's 250.
fn assert_all_sent(app: &TestApp, id: i64, n: usize) {
    let issue = app.issue(id);
    assert_eq!(issue["state"], "sent", "{issue}");
    let rows = app.json(&["issue", "deliveries", &id.to_string()]);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), n);
    for row in rows {
        assert_eq!(row["state"], "sent", "{row}");
        assert!(
            row["last_reply"].as_str().unwrap().starts_with("250"),
            "{row}"
        );
    }
}

/// Runs the sender until idle; the issue must be paused at once (not after
/// `smtp.unreachable_pause_seconds`) with every delivery pending. Returns the pause reason and
/// what herald logged.
fn paused_reason(app: &TestApp, id: i64, n: usize) -> (String, String) {
    let started = Instant::now();
    let out = app.serve_until_idle();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "paused at once, not after smtp.unreachable_pause_seconds: {:?}",
        started.elapsed()
    );
    let issue: Value = app.issue(id);
    assert_eq!(issue["state"], "paused", "{issue}");
    assert_eq!(
        count(&issue, "pending"),
        n as i64,
        "nobody attempted: {issue}"
    );
    (
        issue["state_reason"].as_str().unwrap().to_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn starttls_with_a_private_ca_and_auth_plain_delivers_and_postfix_logs_both() {
    let server = PostfixSubmission::shared();
    let user = server.add_user();
    let domain = server.recipient_domain();
    let app = app_for(
        server.starttls_port,
        "starttls",
        Some((&user, &user.password)),
        Some(&server.ca_file),
        &[],
    );
    let emails = list_at(&app, &domain, 3);
    let id = app.queue_issue(&[]);

    let out = app.serve_until_idle();

    assert_all_sent(&app, id, 3);
    for message in wait_received(server, &emails) {
        assert!(
            message.contains("Subject: Markets, maps and the week ahead"),
            "{message}"
        );
        // Postfix's own Received header (smtpd_tls_received_header) records the TLS session.
        assert!(message.contains("(using TLSv1."), "{message}");
    }
    for session in sessions(server, &user.name, 1) {
        assert!(
            session.contains("/starttls/smtpd[")
                && session.contains("TLS connection established")
                && session.contains("sasl_method=PLAIN")
                && session.contains(&format!("sasl_username={}", user.name)),
            "{session}"
        );
    }
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!log.contains(&user.password), "the password was logged");
}

#[test]
fn implicit_tls_with_auth_login_and_a_password_file_delivers() {
    let server = PostfixSubmission::shared();
    let user = server.add_user();
    let domain = server.recipient_domain();
    let password_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(password_file.path(), format!("{}\n", user.password)).unwrap();
    let app = app_for(
        server.tls_port,
        "tls",
        None,
        Some(&server.ca_file),
        &[
            // A DNS name this time (the certificate has both): rustls checks either kind.
            ("smtp.host", toml_str("localhost")),
            ("smtp.username", toml_str(&user.name)),
            ("smtp.password_file", toml_path(password_file.path())),
        ],
    );
    let emails = list_at(&app, &domain, 3);
    let id = app.queue_issue(&[]);

    app.serve_until_idle();

    assert_all_sent(&app, id, 3);
    assert_eq!(wait_received(server, &emails).len(), 3);
    for session in sessions(server, &user.name, 1) {
        assert!(
            session.contains("/tls/smtpd[")
                && session.contains("TLS connection established")
                && session.contains("sasl_method=LOGIN"),
            "{session}"
        );
    }
}

#[test]
fn auth_in_clear_text_goes_only_to_a_loopback_server() {
    let server = PostfixSubmission::shared();
    let user = server.add_user();
    let domain = server.recipient_domain();
    let app = app_for(
        server.plain_port,
        "none",
        Some((&user, &user.password)),
        None,
        &[],
    );
    let emails = list_at(&app, &domain, 2);
    let id = app.queue_issue(&[]);

    app.serve_until_idle();

    assert_all_sent(&app, id, 2);
    assert_eq!(wait_received(server, &emails).len(), 2);
    for session in sessions(server, &user.name, 1) {
        assert!(
            session.contains("/plain/smtpd[")
                && session.contains("sasl_method=PLAIN")
                && !session.contains("TLS connection established"),
            "{session}"
        );
    }
}

#[test]
fn a_certificate_from_a_ca_herald_does_not_trust_pauses_the_issue_with_the_reason() {
    let server = PostfixSubmission::shared();
    let user = server.add_user();
    let domain = server.recipient_domain();
    // STARTTLS trusting a CA that did not sign the server's certificate.
    let app = app_for(
        server.starttls_port,
        "starttls",
        Some((&user, &user.password)),
        Some(&server.other_ca_file),
        &[],
    );
    list_at(&app, &domain, 3);
    let id = app.queue_issue(&[]);

    let (reason, log) = paused_reason(&app, id, 3);

    assert!(
        reason.contains("certificate was refused")
            && reason.contains("not signed by a CA herald trusts")
            && reason.contains("smtp.ca_file")
            && reason.contains("other-ca.pem"),
        "{reason}"
    );
    assert!(!log.contains(&user.password), "the password was logged");
    assert_eq!(
        server.auth_attempts(&user.name),
        0,
        "no AUTH after a refused certificate\n{}",
        server.debug_dump()
    );
}

#[test]
fn without_a_ca_file_a_private_ca_is_not_trusted_either() {
    let server = PostfixSubmission::shared();
    let app = app_for(server.tls_port, "tls", None, None, &[]);
    list_at(&app, &server.recipient_domain(), 2);
    let id = app.queue_issue(&[]);

    let (reason, _) = paused_reason(&app, id, 2);

    assert!(
        reason.contains("not signed by a CA herald trusts")
            && reason.contains("the web PKI roots (`smtp.ca_file` is not set)"),
        "{reason}"
    );
}

#[test]
fn a_certificate_for_another_name_pauses_the_issue_with_the_reason() {
    let server = PostfixSubmission::shared();
    let app = app_for(
        server.other_name_port,
        "tls",
        None,
        Some(&server.ca_file),
        &[],
    );
    list_at(&app, &server.recipient_domain(), 2);
    let id = app.queue_issue(&[]);

    let (reason, _) = paused_reason(&app, id, 2);

    assert!(
        reason.contains("certificate was refused")
            && reason.contains("not valid for name \"127.0.0.1\"")
            && reason.contains("mail.example.test"),
        "{reason}"
    );
}

#[test]
fn implicit_tls_to_a_port_that_speaks_plain_smtp_pauses_the_issue_with_the_reason() {
    let server = PostfixSubmission::shared();
    let app = app_for(server.plain_port, "tls", None, Some(&server.ca_file), &[]);
    list_at(&app, &server.recipient_domain(), 2);
    let id = app.queue_issue(&[]);

    let (reason, _) = paused_reason(&app, id, 2);

    assert!(
        reason.contains("does not speak TLS there") && reason.contains("smtp.tls"),
        "{reason}"
    );
}

#[test]
fn a_wrong_password_pauses_the_issue_naming_auth_and_the_reply_and_is_never_logged() {
    let server = PostfixSubmission::shared();
    let user = server.add_user();
    let wrong = format!("{}-wrong", user.password);
    let app = app_for(
        server.starttls_port,
        "starttls",
        Some((&user, &wrong)),
        Some(&server.ca_file),
        &[],
    );
    list_at(&app, &server.recipient_domain(), 3);
    let id = app.queue_issue(&[]);

    let (reason, log) = paused_reason(&app, id, 3);

    assert!(
        reason.contains(&format!("AUTH PLAIN as `{}` refused", user.name))
            && reason.contains("535 5.7.8"),
        "{reason}"
    );
    assert!(!reason.contains(&wrong) && !log.contains(&wrong), "{log}");
    assert!(
        log.contains("AUTH PLAIN"),
        "the refusal is logged, without the password:\n{log}"
    );
    let session = sessions(server, &user.name, 1).remove(0);
    assert!(
        session.contains("TLS connection established")
            && session.contains("SASL PLAIN authentication failed"),
        "{session}"
    );
}

#[test]
fn starttls_required_but_not_offered_pauses_instead_of_sending_in_clear_text() {
    let server = PostfixSubmission::shared();
    let user = server.add_user();
    let domain = server.recipient_domain();
    let app = app_for(
        server.plain_port,
        "starttls",
        Some((&user, &user.password)),
        Some(&server.ca_file),
        &[],
    );
    let emails = list_at(&app, &domain, 2);
    let id = app.queue_issue(&[]);

    let (reason, _) = paused_reason(&app, id, 2);

    assert!(
        reason.contains("does not offer STARTTLS") && reason.contains("never falls back"),
        "{reason}"
    );
    assert_eq!(
        server.auth_attempts(&user.name),
        0,
        "the password was never sent\n{}",
        server.debug_dump()
    );
    assert!(emails.iter().all(|e| server.received(e).is_empty()));
}

#[test]
fn a_ca_file_without_a_certificate_pauses_the_issue_naming_the_file() {
    let server = PostfixSubmission::shared();
    let dir = tempfile::tempdir().unwrap();
    let not_a_ca = dir.path().join("not-a-ca.pem");
    std::fs::write(&not_a_ca, "this is not a certificate\n").unwrap();
    let app = app_for(server.starttls_port, "starttls", None, Some(&not_a_ca), &[]);
    list_at(&app, &server.recipient_domain(), 2);
    let id = app.queue_issue(&[]);

    let (reason, _) = paused_reason(&app, id, 2);

    assert!(
        reason.contains("smtp.ca_file")
            && reason.contains("not-a-ca.pem")
            && reason.contains("holds no certificate"),
        "{reason}"
    );
}

#[test]
fn check_config_refuses_auth_in_clear_text_to_a_host_that_is_not_loopback() {
    let app = TestApp::new(
        Smtp::Port(587),
        &[
            ("smtp.host", "\"192.0.2.25\""),
            ("smtp.tls", "\"none\""),
            ("smtp.username", "\"herald\""),
            ("smtp.password", "\"a-password\""),
        ],
    );

    let out = app.run(&["check-config"]);

    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("smtp.username") && report.contains("clear text"),
        "{report}"
    );
    assert!(!report.contains("a-password"), "{report}");
}
