//! The IMAP bounce intake against a real Dovecot: implicit TLS and STARTTLS with the test CA,
//! reports moved or deleted only after their events are committed, non-reports moved aside.

use crate::{
    bounce_mail::*,
    helpers::*,
    servers::{Dovecot, ImapUser},
};
use std::time::Duration;

/// Points `app` at `user`'s mailbox on the shared Dovecot.
fn use_mailbox(app: &TestApp, dovecot: &Dovecot, user: &ImapUser, tls: &str, after: &str) {
    let (port, mode) = match tls {
        "tls" => (dovecot.imaps_port, "tls"),
        _ => (dovecot.imap_port, "starttls"),
    };
    let password_file = app.write("imap-password", &format!("{}\n", user.password));
    let config = std::fs::read_to_string(&app.config).unwrap()
        + &format!(
            "[bounce.imap]\nhost = \"localhost\"\nport = {port}\ntls = \"{mode}\"\nusername = \"{}\"\n\
             password_file = {:?}\nca_file = {:?}\npoll_seconds = 1\nafter = \"{after}\"\n",
            user.name,
            password_file.display().to_string(),
            dovecot.ca_file.display().to_string()
        );
    std::fs::write(&app.config, config).unwrap();
    let check = app.run(&["check-config"]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}

#[test]
fn serve_reads_reports_from_an_imap_mailbox_over_tls_and_moves_them_once_recorded() {
    let dovecot = Dovecot::shared();
    let user = dovecot.add_user();
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(3);
    app.queue_issue(&[]);
    app.serve_until_idle();
    let outbox = app.outbox();
    let s0 = Sent::to(&outbox, "reader0@example.com");
    let s1 = Sent::to(&outbox, "reader1@example.com");
    dovecot.deliver(
        &user.name,
        dsn(
            &s0,
            "reader0@example.com",
            "5.1.1",
            "550 5.1.1 user unknown",
        )
        .as_bytes(),
    );
    dovecot.deliver(&user.name, arf(&s1, "reader1@example.com").as_bytes());
    dovecot.deliver(&user.name, b"garbage\x00\xff that is not a message at all");
    use_mailbox(&app, dovecot, &user, "tls", "move");

    let out = app.serve_until_idle();

    assert_eq!(
        app.subscriber_status("weekly", "reader0@example.com"),
        "bounced",
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        dovecot.log()
    );
    assert_eq!(
        app.subscriber_status("weekly", "reader1@example.com"),
        "complained"
    );
    assert_eq!(
        app.subscriber_status("weekly", "reader2@example.com"),
        "active"
    );
    assert!(
        dovecot.messages(&user.name, "INBOX").is_empty(),
        "{}",
        dovecot.debug_dump()
    );
    assert_eq!(dovecot.messages(&user.name, "herald-processed").len(), 2);
    assert_eq!(
        dovecot.messages(&user.name, "herald-unparsed").len(),
        1,
        "kept for review, not deleted"
    );
    let rows = app.json(&["bounce", "ls"]);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r["source"] == "imap"), "{rows:?}");
}

#[test]
fn over_starttls_a_report_the_database_refused_stays_in_the_mailbox_until_it_is_recorded() {
    let dovecot = Dovecot::shared();
    let user = dovecot.add_user();
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(2);
    app.queue_issue(&[]);
    app.serve_until_idle();
    let s0 = Sent::to(&app.outbox(), "reader0@example.com");
    dovecot.deliver(
        &user.name,
        dsn(
            &s0,
            "reader0@example.com",
            "5.1.1",
            "550 5.1.1 user unknown",
        )
        .as_bytes(),
    );
    use_mailbox(&app, dovecot, &user, "starttls", "delete");

    // The commit fails (a fault injected with a trigger): the message must not be touched.
    crate::database::refuse_bounce_rows(&app.database);
    app.serve_until_idle();
    assert_eq!(dovecot.messages(&user.name, "INBOX").len(), 1);
    assert_eq!(
        app.subscriber_status("weekly", "reader0@example.com"),
        "active"
    );

    crate::database::allow_bounce_rows(&app.database);
    app.serve_until_idle();
    assert_eq!(
        app.subscriber_status("weekly", "reader0@example.com"),
        "bounced"
    );
    assert!(
        crate::servers::wait_until(Duration::from_secs(5), || dovecot
            .messages(&user.name, "INBOX")
            .is_empty()),
        "deleted once recorded: {}",
        dovecot.debug_dump()
    );
    let logins: Vec<String> = dovecot
        .log()
        .lines()
        .filter(|l| l.contains("Login:") && l.contains(&format!("user=<{}>", user.name)))
        .map(str::to_owned)
        .collect();
    // The harness logs in once in clear text (loopback) when it creates the user; every login after
    // that is herald's, one per poll.
    assert!(
        logins.len() >= 3 && logins[1..].iter().all(|l| l.contains("TLS")),
        "every login of herald's went over STARTTLS: {logins:?}"
    );
}

#[test]
fn a_wrong_imap_password_is_logged_and_serve_keeps_running() {
    let dovecot = Dovecot::shared();
    let user = ImapUser {
        password: "not-the-password".into(),
        ..dovecot.add_user()
    };
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(1);
    use_mailbox(&app, dovecot, &user, "tls", "delete");
    app.queue_issue(&[]);
    let out = app.serve_until_idle();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("cannot poll the bounce mailbox"), "{log}");
    assert!(
        !log.contains("not-the-password"),
        "the password is never logged"
    );
    assert_eq!(app.outbox().len(), 1, "sending went on");
}
