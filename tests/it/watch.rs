//! `herald issue watch`: plain progress lines when not on a terminal, a bar on one, and the exit
//! status says how the issue ended.

use crate::helpers::*;
use std::time::Duration;

/// What `command` (a shell command line) draws when run on a pseudo-terminal (util-linux `script`);
/// it must succeed.
fn on_a_terminal(command: &str) -> String {
    let out = std::process::Command::new("script")
        .args(["-qec", command, "/dev/null"])
        .env("TERM", "xterm")
        .output()
        .expect("util-linux script");
    let screen = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{screen}");
    screen
}

#[test]
fn watch_follows_an_issue_to_the_end_in_plain_lines_and_exits_0() {
    let sink = SmtpSink::start(&[]);
    let app = TestApp::new(Smtp::Port(sink.port), &[]);
    app.list_with_subscribers(70);
    let id = app.queue_issue(&[]);
    let mut server = app.spawn_serve_paced(10);
    let out = app
        .command(&["issue", "watch", &id.to_string(), "--every-ms", "200"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.len() >= 2, "{stdout}");
    assert!(lines[0].starts_with(&format!("issue {id}: ")), "{stdout}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains(" of 70 sending, ") && l.contains("msg/s")),
        "{stdout}"
    );
    assert_eq!(
        *lines.last().unwrap(),
        format!("issue {id} sent: sent 70"),
        "{stdout}"
    );
    sigterm(&server);
    wait_exit(&mut server, Duration::from_secs(20));
}

#[test]
fn watch_of_a_paused_issue_exits_1_with_the_reason_and_json_gives_the_summary() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(2);
    let id = app.queue_issue(&["--at", "2099-01-01T00:00:00Z"]);
    app.ok(&["issue", "pause", &id.to_string()]);
    let out = app.run(&["issue", "watch", &id.to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("issue {id} is paused")),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = app.run(&["--json", "issue", "watch", &id.to_string()]);
    let summary: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(summary["state"], "paused");
}

#[test]
fn on_a_terminal_watch_draws_a_progress_bar() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(3);
    let id = app.queue_issue(&[]);
    app.serve_until_idle();
    let command = format!(
        "{HERALD} --config {} issue watch {id}",
        app.config.display()
    );
    let screen = on_a_terminal(&command);
    assert!(screen.contains("[====="), "no bar: {screen:?}");
    assert!(screen.contains("3/3"), "{screen:?}");
}

#[test]
fn a_large_import_on_a_terminal_shows_a_progress_bar_and_a_pipe_gets_the_summary_only() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.create_list(&[]);
    let mut csv = String::from("email,name,city\n");
    for i in 0..30_000 {
        csv.push_str(&format!("reader{i}@example.com,Reader{i} Person,City{i}\n"));
    }
    assert!(csv.len() > 1 << 20);
    let file = app.write("big.csv", &csv);
    let command = format!(
        "{HERALD} --config {} subscriber import weekly {}",
        app.config.display(),
        file.display()
    );
    let screen = on_a_terminal(&command);
    assert!(screen.contains("importing ["), "no bar: {screen:?}");
    assert!(screen.contains("added 30000"), "{screen:?}");
    let piped = app.run(&["subscriber", "import", "weekly", file.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&piped.stdout);
    assert!(!String::from_utf8_lossy(&piped.stderr).contains("importing ["));
    assert!(stdout.contains("updated 30000"), "{stdout}");
}

#[test]
fn serve_on_a_terminal_draws_a_bar_per_issue_with_the_log_lines_around_it() {
    let sink = SmtpSink::start(&[]);
    let app = TestApp::new(Smtp::Port(sink.port), &[]);
    app.list_with_subscribers(30);
    app.queue_issue(&[]);
    let command = format!(
        "HERALD_SMTP__RATE_PER_SECOND=10 {HERALD} --config {} serve --until-idle",
        app.config.display()
    );
    let screen = on_a_terminal(&command);
    assert!(screen.contains("issue 1 to weekly ["), "no bar: {screen:?}");
    assert!(screen.contains("msg/s, ETA "), "{screen:?}");
    assert!(
        screen.contains("issue started"),
        "the log lines still show: {screen:?}"
    );
}
