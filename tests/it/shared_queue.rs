//! Several daemons on one PostgreSQL queue (skipped on SQLite, where one daemon sends per file):
//! every recipient mailed exactly once by two or three daemons; a daemon killed mid-send has its
//! deliveries taken over once their lease runs out, missing nobody and repeating at most its
//! in-flight messages; two daemons ticking the same cron slot start one issue.

use crate::helpers::*;
use std::{collections::BTreeMap, process::Child, time::Duration};

/// Daemons of one test: stopped with SIGTERM by [`Daemons::stop`], and killed if the test fails
/// before that (a daemon left behind would go on polling the cluster and use the CPU of later tests).
struct Daemons(Vec<Child>);

impl Daemons {
    fn stop(mut self) {
        for d in &mut self.0 {
            sigterm(d);
        }
        for d in &mut self.0 {
            assert!(wait_exit(d, Duration::from_secs(30)).success());
        }
    }
}

impl Drop for Daemons {
    fn drop(&mut self) {
        for d in &mut self.0 {
            if d.try_wait().ok().flatten().is_none() {
                let _ = d.kill();
                let _ = d.wait();
            }
        }
    }
}

/// Messages a daemon sent, from its own `/metrics` (only series labelled `daemon` = `name`, if given).
fn sent_by(admin_port: u16, name: Option<&str>) -> u64 {
    let text = http(
        "GET",
        &format!("http://127.0.0.1:{admin_port}/metrics"),
        None,
    )
    .body;
    text.lines()
        .filter(|l| l.starts_with("herald_messages_total{") && l.contains("outcome=\"sent\""))
        .filter(|l| name.is_none_or(|n| l.contains(&format!("daemon=\"{n}\""))))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Connections per daemon in these tests.
const CONNECTIONS: usize = 2;

/// A sink, and a test installation sending to it over [`CONNECTIONS`] connections in batches of
/// `batch`, with an issue to `recipients` subscribers queued.
fn queued(recipients: usize, batch: &str) -> (SmtpSink, TestApp, i64) {
    let sink = SmtpSink::start(&[]);
    let app = TestApp::new(
        Smtp::Port(sink.port),
        &[
            ("smtp.connections", &CONNECTIONS.to_string()),
            ("sending.batch_size", batch),
        ],
    );
    app.list_with_subscribers(recipients);
    let id = app.queue_issue(&[]);
    (sink, app, id)
}

fn every_recipient_exactly_once_with(daemons: usize) {
    crate::postgres_only!();
    let (sink, app, id) = queued(900, "50");
    // Paced, so that every daemon is up before the first one could finish alone.
    let names: Vec<String> = (0..daemons).map(|i| format!("mail-{i}")).collect();
    let (running, logs): (Vec<Child>, Vec<ServeLog>) = names
        .iter()
        .map(|name| {
            app.spawn_another_serve(&[
                ("HERALD_SMTP__RATE_PER_SECOND", "300"),
                ("HERALD_SENDING__DAEMON_NAME", name),
            ])
        })
        .unzip();
    let running = Daemons(running);
    let issue = app.wait_for_issue(id, Duration::from_secs(120), |i| i["state"] == "sent");
    // Each daemon's metrics carry its own name.
    let shares: Vec<u64> = logs
        .iter()
        .zip(&names)
        .map(|(log, name)| sent_by(log.admin_port(), Some(name)))
        .collect();
    running.stop();
    assert_eq!(shares.iter().sum::<u64>(), 900, "{shares:?}");
    assert!(
        shares.iter().all(|n| *n > 0),
        "every daemon sent a share: {shares:?}"
    );
    assert_eq!(count(&issue, "sent"), 900, "{issue}");
    sink.assert_each_mailed(900, 0, "nobody is mailed twice");
    assert_eq!(
        app.sql("SELECT COUNT(*) FROM deliveries WHERE claimed_by IS NOT NULL"),
        "0"
    );
}

#[test]
fn two_daemons_on_one_queue_mail_every_recipient_exactly_once() {
    every_recipient_exactly_once_with(2);
}

#[test]
fn three_daemons_on_one_queue_mail_every_recipient_exactly_once() {
    every_recipient_exactly_once_with(3);
}

#[test]
fn a_daemon_killed_mid_send_has_its_deliveries_taken_over_missing_nobody() {
    crate::postgres_only!();
    let (sink, app, id) = queued(800, "50");
    let rate = [("HERALD_SMTP__RATE_PER_SECOND", "200")];
    let mut doomed = Daemons(vec![app.spawn_another_serve(&rate).0]);
    app.wait_for_issue(id, Duration::from_secs(60), |i| count(i, "sent") >= 50);
    let survivor = Daemons(vec![app.spawn_another_serve(&rate).0]);
    app.wait_for_issue(id, Duration::from_secs(60), |i| count(i, "sent") >= 300);
    sigkill(&doomed.0[0]);
    doomed.0[0].wait().unwrap();
    let at_kill = app.issue(id);
    assert!(count(&at_kill, "sent") < 800, "killed mid-send: {at_kill}");

    // The survivor takes the dead daemon's rows once their lease (3 s here) has run out.
    let issue = app.wait_for_issue(id, Duration::from_secs(120), |i| i["state"] == "sent");
    survivor.stop();
    assert_eq!(count(&issue, "sent"), 800, "{issue}");
    sink.assert_each_mailed(
        800,
        CONNECTIONS,
        "at most the dead daemon's in-flight messages are repeated",
    );
}

#[test]
fn a_daemon_whose_database_connections_are_dropped_mid_send_goes_on_missing_nobody() {
    crate::postgres_only!();
    let (sink, app, id) = queued(600, "50");
    let daemon = Daemons(vec![
        app.spawn_another_serve(&[("HERALD_SMTP__RATE_PER_SECOND", "200")])
            .0,
    ]);
    app.wait_for_issue(id, Duration::from_secs(60), |i| count(i, "sent") >= 100);
    // What a restart of the server or an administrator's `pg_terminate_backend` does: every
    // connection of the daemon's (pooled ones, the group commits' own, the scheduler's) is cut.
    let cut: usize = app
        .sql(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE application_name = 'herald' AND datname = current_database()",
        )
        .parse()
        .unwrap();
    assert!(cut >= 2, "the daemon's connections were cut: {cut}");
    let at_cut = app.issue(id);
    assert!(count(&at_cut, "sent") < 600, "cut mid-send: {at_cut}");

    let issue = app.wait_for_issue(id, Duration::from_secs(60), |i| i["state"] == "sent");
    daemon.stop();
    assert_eq!(count(&issue, "sent"), 600, "{issue}");
    sink.assert_each_mailed(
        600,
        CONNECTIONS,
        "at most the messages in flight at the cut are repeated",
    );
}

#[test]
fn two_daemons_ticking_the_same_cron_slot_start_one_issue() {
    crate::postgres_only!();
    let app = TestApp::new(Smtp::Outbox, &[]);
    // Once a year: no second slot comes while the test runs.
    app.create_list(&["--schedule", "0 0 1 1 *"]);
    app.ok(&["subscriber", "add", "weekly", "reader@example.com"]);
    let first = app.queue_issue(&[]);
    let second = app.queue_issue(&[]);
    // The list was created 400 days ago: a slot is due the moment the daemons tick.
    app.sql(
        "UPDATE lists SET created_at = created_at - 34560000000, last_slot_at = last_slot_at - 34560000000",
    );
    let daemons = Daemons((0..2).map(|_| app.spawn_another_serve(&[]).0).collect());
    app.wait_for_issue(first, Duration::from_secs(30), |i| i["state"] == "sent");
    // Both have ticked many times since (50 ms polls).
    std::thread::sleep(Duration::from_millis(1500));
    daemons.stop();
    assert_eq!(app.issue(second)["state"], "queued", "one issue per slot");
    assert_eq!(app.outbox().len(), 1, "the reader got one issue, once");
    assert_eq!(
        app.sql("SELECT COUNT(*) FROM deliveries"),
        "1",
        "recipients were frozen once"
    );
}

#[test]
fn a_global_rate_caps_every_daemon_on_the_queue_together() {
    crate::postgres_only!();
    let sink = SmtpSink::start(&[]);
    let cap = 40;
    let app = TestApp::new(
        Smtp::Port(sink.port),
        &[
            ("smtp.connections", "2"),
            ("sending.batch_size", "20"),
            ("smtp.global_rate_per_second", &cap.to_string()),
        ],
    );
    app.list_with_subscribers(200);
    let id = app.queue_issue(&[]);
    // Each daemon alone may send as fast as the sink takes (no rate of its own).
    let (daemons, logs): (Vec<Child>, Vec<ServeLog>) =
        (0..2).map(|_| app.spawn_another_serve(&[])).unzip();
    let daemons = Daemons(daemons);
    app.wait_for_issue(id, Duration::from_secs(60), |i| i["state"] == "sent");
    let shares: Vec<u64> = logs.iter().map(|l| sent_by(l.admin_port(), None)).collect();
    daemons.stop();
    assert!(
        shares.iter().all(|n| *n > 0),
        "both daemons sent: {shares:?}"
    );
    // smtp-sink names each dump by the second it arrived in: no second holds more than the cap
    // plus the one second's worth the bucket may have banked.
    let mut per_second: BTreeMap<String, usize> = BTreeMap::new();
    for entry in std::fs::read_dir(sink.dir.path()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        *per_second.entry(name[..14].to_owned()).or_default() += 1;
    }
    assert_eq!(per_second.values().sum::<usize>(), 200);
    let busiest = per_second.values().max().copied().unwrap_or(0);
    assert!(
        busiest <= 2 * cap,
        "{busiest} in one second: {per_second:?}"
    );
    assert!(
        per_second.len() >= 4,
        "200 messages at 40/s take 4 s or more: {per_second:?}"
    );
}

/// A daemon frozen (SIGSTOP) past its lease has its deliveries taken over; when it wakes it must not
/// send the ones it had claimed and not yet sent, even though its lease renewals go on again.
#[test]
fn a_daemon_frozen_past_its_lease_does_not_send_what_it_had_claimed() {
    crate::postgres_only!();
    let (sink, app, id) = queued(500, "100");
    // Slow, so that it holds a claimed batch it has not sent when it is frozen.
    let frozen = Daemons(vec![
        app.spawn_another_serve(&[("HERALD_SMTP__RATE_PER_SECOND", "40")])
            .0,
    ]);
    app.wait_for_issue(id, Duration::from_secs(60), |i| count(i, "sent") >= 20);
    signal(&frozen.0[0], "STOP");
    let other = Daemons(vec![app.spawn_another_serve(&[]).0]);
    // Its leases (3 s) run out; the other daemon takes its rows over and sends everything.
    app.wait_for_issue(id, Duration::from_secs(90), |i| {
        count(i, "sent") == 500 || count(i, "sending") == 0 && count(i, "pending") == 0
    });
    signal(&frozen.0[0], "CONT");
    // Awake again: what it had queued is stale. Give it time to (wrongly) send it.
    std::thread::sleep(Duration::from_secs(3));
    let issue = app.wait_for_issue(id, Duration::from_secs(60), |i| i["state"] == "sent");
    frozen.stop();
    other.stop();
    assert_eq!(count(&issue, "sent"), 500, "{issue}");
    sink.assert_each_mailed(
        500,
        CONNECTIONS,
        "at most the frozen daemon's in-flight messages are repeated",
    );
}

/// `serve --until-idle` beside a daemon that still holds deliveries: not idle until their outcomes
/// are in (they may yet call for retries).
#[test]
fn until_idle_waits_for_the_deliveries_another_daemon_holds() {
    crate::postgres_only!();
    let sink = SmtpSink::start(&[]);
    let app = TestApp::new(
        Smtp::Port(sink.port),
        &[("smtp.connections", "1"), ("sending.batch_size", "40")],
    );
    app.list_with_subscribers(200);
    let id = app.queue_issue(&[]);
    let slow = Daemons(vec![
        app.spawn_another_serve(&[("HERALD_SMTP__RATE_PER_SECOND", "20")])
            .0,
    ]);
    app.wait_for_issue(id, Duration::from_secs(60), |i| count(i, "sent") >= 5);
    // The other daemon listens on ports of its own: the test's configured ones are free.
    app.serve_until_idle();
    let at_exit = app.issue(id);
    slow.stop();
    assert_eq!(
        (count(&at_exit, "sending"), count(&at_exit, "pending")),
        (0, 0),
        "idle only once the other daemon's deliveries were recorded: {at_exit}"
    );
    assert_eq!(count(&at_exit, "sent"), 200, "{at_exit}");
}
