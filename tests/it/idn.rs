//! International addresses through the real binary: IDN domains (`bücher.de`) are stored and sent
//! as A-labels (`xn--bcher-kva.de`), so the envelope any relay sees is ASCII; a non-ASCII local part
//! (`jürgen@…`) needs SMTPUTF8: refused at import unless `smtp.smtputf8` is on, sent with SMTPUTF8
//! by a server that offers it (a real Postfix), unsendable, with the reason, by one that does not
//! (Postfix's smtp-sink never announces SMTPUTF8).

use crate::{
    helpers::*,
    servers::{PostfixRelay, wait_until},
};
use serde_json::Value;
use std::time::Duration;

const A_LABEL: &str = "xn--bcher-kva.de";

/// Imports `csv` into the list `weekly`; returns the import report.
fn import(app: &TestApp, csv: &str) -> Value {
    let file = app.write("subscribers.csv", csv);
    app.json(&["subscriber", "import", "weekly", file.to_str().unwrap()])
}

fn subscriber_emails(app: &TestApp) -> Vec<String> {
    app.json(&["subscriber", "ls", "weekly"])
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["email"].as_str().unwrap().to_owned())
        .collect()
}

/// Puts `email` on `weekly` as a row already in the database: what an import with
/// `smtp.smtputf8 = true` stores, and what imports before herald checked local parts left behind.
fn stored_subscriber(app: &TestApp, email: &str, name: &str) {
    let quoted = |s: &str| format!("'{}'", s.replace('\'', "''"));
    app.sql(&format!(
        "INSERT INTO subscribers (list_id, email, name, created_at, updated_at)
         SELECT id, {}, {}, 0, 0 FROM lists WHERE slug = 'weekly'",
        quoted(email),
        quoted(name)
    ));
    assert_eq!(
        app.sql(&format!(
            "SELECT COUNT(*) FROM subscribers WHERE email = {}",
            quoted(email)
        )),
        "1"
    );
}

fn deliveries(app: &TestApp, id: i64) -> Vec<Value> {
    app.json(&["issue", "deliveries", &id.to_string()])
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn an_international_from_bounce_address_and_subscriber_domain_go_out_as_a_labels() {
    let sink = SmtpSink::start(&[]);
    let app = TestApp::new(
        Smtp::Port(sink.port),
        &[("sending.bounce_address", "\"bounces@Bücher.de\"")],
    );
    app.ok(&[
        "list",
        "create",
        "weekly",
        "--name",
        "Bücher News",
        "--from",
        "Bücher News <news@bücher.de>",
        "--reply-to",
        "leser@BÜCHER.de",
    ]);
    import(&app, "email,name\nanna@bücher.de,Anna Groß\n");
    let id = app.queue_issue(&[]);

    app.serve_until_idle();

    assert_eq!(count(&app.issue(id), "sent"), 1);
    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(m.rcpt, format!("anna@{A_LABEL}"));
    assert!(
        m.mail_from.starts_with("bounces+") && m.mail_from.ends_with(&format!("@{A_LABEL}")),
        "{}",
        m.mail_from
    );
    assert!(m.message.is_ascii(), "an IDN needs no 8-bit header");
    let parsed = m.parsed();
    let from = parsed.from().unwrap().first().unwrap();
    assert_eq!(
        (from.name(), from.address()),
        (
            Some("Bücher News"),
            Some(format!("news@{A_LABEL}").as_str())
        )
    );
    let reply_to = parsed.reply_to().unwrap().first().unwrap();
    assert_eq!(
        reply_to.address(),
        Some(format!("leser@{A_LABEL}").as_str())
    );
    let to = parsed.to().unwrap().first().unwrap();
    assert_eq!(
        (to.name(), to.address()),
        (Some("Anna Groß"), Some(format!("anna@{A_LABEL}").as_str()))
    );
    assert_eq!(subscriber_emails(&app), [format!("anna@{A_LABEL}")]);
}

#[test]
fn the_same_subscriber_in_u_label_and_a_label_form_is_one_subscriber() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.create_list(&[]);

    let report = import(
        &app,
        "email,name\nanna@bücher.de,Anna\nANNA@XN--BCHER-KVA.DE,Anna G\n",
    );
    let added = app.json(&["subscriber", "add", "weekly", "Anna@Bücher.DE"]);

    assert_eq!(
        (&report["added"], &report["updated"], &report["rejected"]),
        (&Value::from(1), &Value::from(1), &Value::from(0)),
        "{report}"
    );
    assert_eq!(added["result"], "updated", "{added}");
    assert_eq!(subscriber_emails(&app), [format!("anna@{A_LABEL}")]);
}

#[test]
fn a_non_ascii_local_part_is_refused_at_import_and_add_with_the_row_and_reason_when_smtputf8_is_off()
 {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.create_list(&[]);

    let report = import(
        &app,
        "email,name\nann@example.de,Ann\njürgen@example.de,Jürgen\n",
    );
    let add = app.run(&["subscriber", "add", "weekly", "jürgen@example.de"]);

    assert_eq!(report["added"], 1, "{report}");
    let rejected = report["rejected_rows"].as_array().unwrap();
    assert_eq!(rejected.len(), 1, "{report}");
    assert_eq!(rejected[0]["line"], 3);
    let reason = rejected[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("jürgen@example.de")
            && reason.contains("non-ASCII local part")
            && reason.contains("SMTPUTF8")
            && reason.contains("smtp.smtputf8"),
        "{reason}"
    );
    assert!(!add.status.success());
    let stderr = String::from_utf8_lossy(&add.stderr);
    assert!(stderr.contains("SMTPUTF8"), "{stderr}");
    assert_eq!(subscriber_emails(&app), ["ann@example.de"]);
}

#[test]
fn a_non_ascii_local_part_is_accepted_at_import_when_smtputf8_is_on() {
    let app = TestApp::new(Smtp::Outbox, &[("smtp.smtputf8", "true")]);
    app.create_list(&[]);

    let report = import(&app, "email,name\nJürgen@Bücher.de,Jürgen\n");

    assert_eq!(report["added"], 1, "{report}");
    assert_eq!(subscriber_emails(&app), [format!("jürgen@{A_LABEL}")]);
}

#[test]
fn a_non_ascii_local_part_is_delivered_with_smtputf8_by_a_server_that_offers_it() {
    let relay = PostfixRelay::shared();
    let app = TestApp::new(Smtp::Port(relay.recv_port), &[("smtp.smtputf8", "true")]);
    app.create_list(&[]);
    stored_subscriber(&app, "jürgen@example.org", "Jürgen Groß");
    let id = app.queue_issue(&[]);

    app.serve_until_idle();

    let rows = deliveries(&app, id);
    assert_eq!(rows[0]["state"], "sent", "{rows:?}\n{}", relay.debug_dump());
    // recv-store names the directory byte by byte: each byte of `ü` becomes `_`.
    let dir = relay.dir.join("received").join("j__rgen@example.org");
    let arrived = || {
        std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    assert!(
        wait_until(Duration::from_secs(20), || !arrived().is_empty()),
        "nothing arrived for jürgen@example.org\n{}",
        relay.debug_dump()
    );
    let raw = std::fs::read(&arrived()[0]).unwrap();
    let text = String::from_utf8(raw.clone()).expect("a UTF-8 message");
    // Postfix's smtpd names the protocol in its Received header: `UTF8SMTP` (RFC 6531's name for
    // ESMTP with SMTPUTF8) only when MAIL FROM carried SMTPUTF8, `ESMTP` otherwise.
    assert!(text.contains(" with UTF8SMTP id "), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("Return-Path: <bounces+") && l.ends_with("@news.example.com>")),
        "{text}"
    );
    let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
    let to = parsed.to().unwrap().first().unwrap();
    assert_eq!(
        (to.name(), to.address()),
        (Some("Jürgen Groß"), Some("jürgen@example.org"))
    );
    // The display name stays an RFC 2047 encoded word; only the address is raw UTF-8 (RFC 6532).
    let to_line = text.lines().find(|l| l.starts_with("To: ")).unwrap();
    assert!(
        to_line.starts_with("To: =?UTF-8?B?") && to_line.ends_with("<jürgen@example.org>"),
        "{to_line}"
    );
}

#[test]
fn a_non_ascii_local_part_is_unsendable_with_the_reason_when_the_server_lacks_smtputf8() {
    let sink = SmtpSink::start(&[]);
    let app = TestApp::new(Smtp::Port(sink.port), &[("smtp.smtputf8", "true")]);
    app.create_list(&[]);
    import(&app, "email,name\nann@example.de,Ann\n");
    stored_subscriber(&app, "jürgen@example.de", "Jürgen");
    let id = app.queue_issue(&[]);

    app.serve_until_idle();

    let messages = sink.messages();
    assert_eq!(
        messages.iter().map(|m| m.rcpt.as_str()).collect::<Vec<_>>(),
        ["ann@example.de"]
    );
    let rows = deliveries(&app, id);
    let jurgen = rows
        .iter()
        .find(|r| r["email"] == "jürgen@example.de")
        .unwrap_or_else(|| panic!("{rows:?}"));
    assert_eq!(jurgen["state"], "failed", "{jurgen}");
    assert_eq!(jurgen["attempts"], 1, "not retried: {jurgen}");
    assert_eq!(
        jurgen["last_reply"],
        "address j***@e***.de needs SMTPUTF8, which the server does not offer",
    );
}
