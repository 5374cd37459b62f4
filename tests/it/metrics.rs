//! `/metrics` on the admin listener: what was sent, replies, sessions, the pace, in the Prometheus text
//! format that `promtool check metrics` (Debian's prometheus package) accepts; never on the public
//! listener. The shipped alert rules and dashboard use only metrics herald exposes.

use crate::helpers::*;
use std::{
    io::Write,
    process::{Command, Stdio},
    time::Duration,
};

fn promtool(args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new("promtool")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package; scripts/test installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn metrics_count_what_was_sent_and_pass_promtool_on_the_admin_listener_only() {
    let sink = SmtpSink::start(&[]);
    let app = TestApp::new(Smtp::Port(sink.port), &[("smtp.connections", "2")]);
    app.list_with_subscribers(5);
    let id = app.queue_issue(&[]);
    let mut server = app.spawn_serve();
    wait_http(app.http_port);
    app.wait_for_issue(id, Duration::from_secs(30), |i| count(i, "sent") == 5);
    let scraped = http(
        "GET",
        &format!("http://127.0.0.1:{}/metrics", app.admin_port),
        None,
    );
    assert_eq!(scraped.status, 200);
    let text = scraped.body;
    // Every series names the daemon (its host name), so the daemons sharing a queue add up.
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let daemon = format!("daemon=\"{}\"", host.trim());
    for line in [
        format!("herald_messages_total{{{daemon},outcome=\"sent\",list=\"weekly\"}} 5"),
        format!("herald_smtp_replies_total{{{daemon},code=\"250\"}} 5"),
        format!("herald_smtp_transaction_seconds_count{{{daemon}}} 5"),
        format!("herald_rate_limit_messages_per_second{{{daemon}}} 0"),
        format!("herald_sessions_allowed{{{daemon}}} 2"),
        format!("herald_build_info{{{daemon},version=\""),
        "# TYPE herald_database_write_seconds histogram".into(),
        "# TYPE herald_smtp_sessions_open gauge".into(),
    ] {
        assert!(text.contains(&line), "no `{line}` in:\n{text}");
    }
    let checked = promtool(&["check", "metrics"], &text);
    assert!(
        checked.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    // Not on the public listener.
    let public = http(
        "GET",
        &format!("http://127.0.0.1:{}/metrics", app.http_port),
        None,
    );
    assert_eq!(public.status, 404);
    sigterm(&server);
    assert!(wait_exit(&mut server, Duration::from_secs(20)).success());

    // The shipped alert rules load, and they and the dashboard name only metrics herald exposes.
    let root = env!("CARGO_MANIFEST_DIR");
    let rules = format!("{root}/config/prometheus/herald-alerts.yml");
    let out = Command::new("promtool")
        .args(["check", "rules", &rules])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let dashboard =
        std::fs::read_to_string(format!("{root}/config/grafana/herald-dashboard.json")).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&dashboard).unwrap();
    let mut exprs: Vec<String> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap().clone())
        .map(|t| t["expr"].as_str().unwrap().to_owned())
        .collect();
    exprs.push(std::fs::read_to_string(&rules).unwrap());
    for expr in exprs {
        for name in expr
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("herald_"))
        {
            let family = ["_bucket", "_count", "_sum"]
                .iter()
                .fold(name, |n, suffix| n.strip_suffix(suffix).unwrap_or(n));
            let known = text.contains(&format!("# TYPE {family} "))
                || family == "herald_deliveries"
                || family == "herald_bounce_events_total";
            assert!(known, "`{name}` is not a metric herald exposes");
        }
    }
}

#[test]
fn admin_listen_on_the_public_address_is_refused_and_off_turns_it_off() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    let out = app
        .command(&["check-config"])
        .env(
            "HERALD_ADMIN__LISTEN",
            format!("127.0.0.1:{}", app.http_port),
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("admin.listen"));
    app.list_with_subscribers(1);
    app.queue_issue(&[]);
    let off = app
        .command(&["serve", "--until-idle"])
        .env("HERALD_ADMIN__LISTEN", "off")
        .output()
        .unwrap();
    assert!(off.status.success());
    assert!(!String::from_utf8_lossy(&off.stderr).contains("admin listening"));
}
