//! Message hygiene (issue 8, first part): what a mailbox provider reads in herald's headers, and
//! defaults that must not reach a real relay.

use crate::helpers::*;

#[test]
fn messages_carry_auto_submitted_feedback_id_and_an_installation_unique_message_id() {
    let sink = SmtpSink::start(&[]);
    let first = TestApp::new(Smtp::Port(sink.port), &[]);
    first.list_with_subscribers(1);
    first.queue_issue(&[]);
    first.serve_until_idle();
    // A second database (a reset, or a staging copy) sending the same issue and delivery numbers.
    let second = TestApp::new(Smtp::Port(sink.port), &[]);
    second.list_with_subscribers(1);
    second.queue_issue(&[]);
    second.serve_until_idle();

    let messages = sink.messages();
    assert_eq!(messages.len(), 2);
    let mut ids = Vec::new();
    for m in &messages {
        let parsed = m.parsed();
        let header = |name: &str| parsed.header_raw(name).map(|v| v.trim().to_owned());
        assert_eq!(header("Auto-Submitted").as_deref(), Some("auto-generated"));
        assert_eq!(
            header("X-Auto-Response-Suppress").as_deref(),
            Some("OOF, AutoReply")
        );
        assert_eq!(
            header("Feedback-ID").as_deref(),
            Some("1:weekly:news.example.com")
        );
        let id = header("Message-ID").unwrap();
        assert!(
            id.starts_with("<herald.1.1.") && id.ends_with("@news.example.com>"),
            "{id}"
        );
        ids.push(id);
    }
    assert_ne!(ids[0], ids[1], "two databases never repeat a Message-ID");
}

#[test]
fn sending_over_smtp_from_the_placeholder_domain_is_refused_by_check_config_and_serve() {
    let app = TestApp::new(Smtp::Port(free_port()), &[]);
    let placeholder = [
        ("HERALD_SENDING__DOMAIN", "herald.localhost"),
        ("HERALD_SENDING__BOUNCE_ADDRESS", "bounces@herald.localhost"),
    ];
    let out = app
        .command(&["check-config"])
        .envs(placeholder)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("sending.domain") && stdout.contains("sending.bounce_address"),
        "{stdout}"
    );
    let serve = app
        .command(&["serve", "--until-idle"])
        .envs(placeholder)
        .output()
        .unwrap();
    assert!(!serve.status.success());
    // The outbox may keep the defaults.
    let outbox = TestApp::new(Smtp::Outbox, &[]);
    let ok = outbox
        .command(&["check-config"])
        .envs(placeholder)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
}

#[test]
fn the_bounce_address_follows_the_sending_domain_when_only_the_domain_is_set() {
    let sink = SmtpSink::start(&[]);
    let app = TestApp::new(
        Smtp::Port(sink.port),
        &[("sending.domain", "\"mail.example.org\"")],
    );
    let config = std::fs::read_to_string(&app.config)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("bounce_address"))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&app.config, config).unwrap();
    app.list_with_subscribers(1);
    app.queue_issue(&[]);
    app.serve_until_idle();
    let m = &sink.messages()[0];
    assert!(
        m.mail_from.starts_with("bounces+") && m.mail_from.ends_with("@mail.example.org"),
        "{}",
        m.mail_from
    );
}

#[test]
fn mail_to_the_list_unsubscribe_mailto_unsubscribes_exactly_that_reader() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(2);
    app.queue_issue(&[]);
    app.serve_until_idle();
    let message = app
        .outbox()
        .into_iter()
        .find(|m| m.contains("<reader1@example.com>"))
        .unwrap();
    let header_start = message.find("List-Unsubscribe: ").unwrap();
    let mailto = message[header_start..]
        .split("<mailto:")
        .nth(1)
        .and_then(|rest| rest.split('>').next())
        .unwrap()
        .to_owned();
    let request = |to: &str| {
        format!(
            "From: reader1@example.com\nTo: {to}\nSubject: unsubscribe\n\nPlease take me off.\n"
        )
    };
    let ingest = |recipient: &str| app.bounce_ingest_ok(&request(recipient), Some(recipient));

    // A forged token unsubscribes nobody.
    let forged = mailto.replacen('+', "+a", 1);
    assert_eq!(ingest(&forged)["unsubscribed"], false);
    assert_eq!(
        app.subscriber_status("weekly", "reader1@example.com"),
        "active"
    );

    let done = ingest(&mailto);
    assert_eq!(done["unsubscribed"], true, "{done}");
    assert_eq!(
        app.subscriber_status("weekly", "reader1@example.com"),
        "unsubscribed"
    );
    assert_eq!(
        app.subscriber_status("weekly", "reader0@example.com"),
        "active"
    );
}

#[test]
fn pythons_email_parser_finds_no_defect_in_messages_with_non_ascii_names_and_subjects() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.ok(&[
        "list",
        "create",
        "weekly",
        "--name",
        "Weekly — Straße",
        "--from",
        "Jürgen Müller <news@example.com>",
    ]);
    let csv = app.write(
        "s.csv",
        "email,name\nana@example.com,Ána Ñúñez\nbob@example.com,\"Bob \"\"Quoted\"\" Smith\"\n",
    );
    app.ok(&["subscriber", "import", "weekly", csv.to_str().unwrap()]);
    app.queue_issue(&[
        "--subject",
        "Überraschung: a long subject that goes well beyond seventy-eight characters",
    ]);
    app.serve_until_idle();
    let script = r#"
import email, email.policy, glob, sys
bad = []
for f in sorted(glob.glob(sys.argv[1] + '/*.eml')):
    m = email.message_from_bytes(open(f, 'rb').read(), policy=email.policy.default)
    bad += [(f, p.get_content_type(), str(d)) for p in m.walk() for d in p.defects]
    print(m['Subject'], '|', m['From'], '|', m['To'])
print('DEFECTS', bad)
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(app.path("outbox"))
        .output()
        .expect("python3 (Debian's or the machine's) runs this independent check");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("DEFECTS []"), "{stdout}");
    assert!(stdout.contains("Überraschung: a long subject"), "{stdout}");
    assert!(
        stdout.contains("Jürgen Müller <news@example.com>"),
        "{stdout}"
    );
    assert!(stdout.contains("Ána Ñúñez <ana@example.com>"), "{stdout}");
}
