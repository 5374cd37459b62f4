//! systemd's notify protocol over a real `NOTIFY_SOCKET` datagram socket: READY once herald serves,
//! STATUS with each sending issue's progress, WATCHDOG pings while it works, STOPPING on SIGTERM.

use crate::helpers::*;
use std::{
    os::unix::net::UnixDatagram,
    time::{Duration, Instant},
};

/// Every datagram herald sent, in order, until `until` matches one or `limit` passes.
fn collect(
    socket: &UnixDatagram,
    seen: &mut Vec<String>,
    limit: Duration,
    until: impl Fn(&str) -> bool,
) {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    while start.elapsed() < limit {
        if let Ok(n) = socket.recv(&mut buf) {
            let message = String::from_utf8_lossy(&buf[..n]).into_owned();
            let done = until(&message);
            seen.push(message);
            if done {
                return;
            }
        }
    }
}

#[test]
fn ready_status_watchdog_and_stopping_reach_a_real_notify_socket() {
    let sink = SmtpSink::start(&[]);
    let app = TestApp::new(Smtp::Port(sink.port), &[]);
    app.list_with_subscribers(150);
    let id = app.queue_issue(&[]);
    let path = app.path("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    // systemd sets WATCHDOG_PID to the service's main PID: a shell that execs herald keeps its own.
    let mut server = std::process::Command::new("sh")
        .args([
            "-c",
            "WATCHDOG_PID=$$ exec \"$0\" \"$@\"",
            HERALD,
            "--config",
        ])
        .arg(&app.config)
        .arg("serve")
        .current_dir(app.dir.path())
        .env("NOTIFY_SOCKET", &path)
        .env("WATCHDOG_USEC", "2000000")
        .env("HERALD_SMTP__RATE_PER_SECOND", "10")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    collect(&socket, &mut seen, Duration::from_secs(30), |m| {
        m.contains("READY=1")
    });
    assert!(seen.iter().any(|m| m.contains("READY=1")), "{seen:?}");
    // Ready means the HTTP listener is bound.
    assert!(std::net::TcpStream::connect(("127.0.0.1", app.http_port)).is_ok());
    collect(&socket, &mut seen, Duration::from_secs(20), |m| {
        m.contains(&format!("STATUS=sending issue {id} to weekly: ")) && m.contains("msg/s")
    });
    let status = seen
        .iter()
        .find(|m| m.contains("msg/s"))
        .unwrap_or_else(|| panic!("no progress STATUS: {seen:?}"));
    assert!(status.contains(" of 150, "), "{status}");
    // WATCHDOG_USEC=2 s: pings at least every second while it works.
    let pings_before = seen.iter().filter(|m| m.contains("WATCHDOG=1")).count();
    collect(&socket, &mut seen, Duration::from_secs(3), |_| false);
    let pings = seen.iter().filter(|m| m.contains("WATCHDOG=1")).count() - pings_before;
    assert!(pings >= 2, "{pings} pings in 3 s: {seen:?}");

    sigterm(&server);
    collect(&socket, &mut seen, Duration::from_secs(20), |m| {
        m.contains("STOPPING=1")
    });
    assert!(wait_exit(&mut server, Duration::from_secs(20)).success());
    let ready = seen.iter().position(|m| m.contains("READY=1")).unwrap();
    let stopping = seen
        .iter()
        .position(|m| m.contains("STOPPING=1"))
        .unwrap_or_else(|| panic!("no STOPPING: {seen:?}"));
    assert!(ready < stopping);
}

#[test]
fn without_a_notify_socket_serve_runs_as_before() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(1);
    app.queue_issue(&[]);
    let out = app
        .command(&["serve", "--until-idle"])
        .env_remove("NOTIFY_SOCKET")
        .env("WATCHDOG_USEC", "1000000")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(app.outbox().len(), 1);
}

#[test]
fn the_shipped_unit_keeps_systemds_exposure_score_at_most_1_5() {
    let unit = concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/herald.service");
    let out = std::process::Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager", unit])
        .output()
        .expect("systemd-analyze (Debian's systemd package; scripts/test installs it)");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let score: f64 = text
        .split("Overall exposure level for herald.service: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no exposure score in:\n{text}"));
    assert!(score <= 1.5, "exposure {score}:\n{text}");
    let unit_text = std::fs::read_to_string(unit).unwrap();
    for line in [
        "Type=notify",
        "WatchdogSec=",
        "ExecStartPre=/usr/local/bin/herald --config /etc/herald/herald.toml check-config",
    ] {
        assert!(unit_text.contains(line), "the unit lacks {line}");
    }
}

fn sighup(child: &std::process::Child) {
    signal(child, "HUP");
}

#[test]
fn sighup_applies_a_new_pace_and_keeps_the_running_configuration_when_the_new_one_is_broken() {
    let sink = SmtpSink::start(&[]);
    let app = TestApp::new(
        Smtp::Port(sink.port),
        &[("smtp.rate_per_second", "2"), ("smtp.connections", "1")],
    );
    app.list_with_subscribers(60);
    let id = app.queue_issue(&[]);
    let log = app.path("serve.log");
    let mut server = app
        .command(&["serve"])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    app.wait_for_issue(id, Duration::from_secs(30), |i| count(i, "sent") >= 3);
    let good = std::fs::read_to_string(&app.config).unwrap();

    // A broken file changes nothing: the reason is logged, sending goes on at the old pace.
    std::fs::write(&app.config, format!("{good}\n[smtp]\nport = \"many\"\n")).unwrap();
    sighup(&server);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&log)
        .unwrap()
        .contains("configuration not reloaded")
    {
        assert!(
            Instant::now() < deadline,
            "{}",
            std::fs::read_to_string(&log).unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // (The CLI would refuse the broken file too: count at the server.)
    let sent = sink.messages().len();
    assert!(sent < 30, "still at 2 msg/s: {sent} sent");
    assert!(server.try_wait().unwrap().is_none(), "serve keeps running");

    // The fixed file with a faster pace and two sessions: the rest goes out at once.
    std::fs::write(
        &app.config,
        good.replace("rate_per_second = 2", "rate_per_second = 500")
            .replace("connections = 1", "connections = 2"),
    )
    .unwrap();
    let reloaded_at = Instant::now();
    sighup(&server);
    app.wait_for_issue(id, Duration::from_secs(10), |i| count(i, "sent") == 60);
    assert!(
        reloaded_at.elapsed() < Duration::from_secs(10),
        "the new pace applied"
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("configuration reloaded"), "{text}");
    sigterm(&server);
    assert!(wait_exit(&mut server, Duration::from_secs(20)).success());
    let mut recipients: Vec<String> = sink.messages().into_iter().map(|m| m.rcpt).collect();
    recipients.sort();
    recipients.dedup();
    assert_eq!(recipients.len(), 60, "everyone once");
    assert_eq!(sink.messages().len(), 60, "nobody twice");
}
