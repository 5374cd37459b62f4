//! Issue 7's hostile cases that concern the daemon and its files: another path to the same database,
//! a cancel while no daemon ran, who may read the database and the outbox.

use crate::helpers::*;
use std::{os::unix::fs::PermissionsExt, time::Duration};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_second_serve_through_a_symlink_or_a_dotted_path_to_the_same_database_is_refused() {
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
