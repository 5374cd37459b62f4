//! A list's public archive: off by default, then its sent issues (and only those) without any
//! reader's data, and an Atom feed that feedparser reads.

use crate::helpers::*;
use serde_json::Value;

#[test]
fn the_archive_shows_sent_issues_without_reader_data_and_an_atom_feed_feedparser_reads() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(3);
    let sent = app.queue_issue(&[]);
    app.serve_until_idle();
    let later = app.queue_issue(&["--at", "2099-01-01T00:00:00Z"]);
    let server = app.spawn_serve();
    wait_http(app.http_port);
    let base = format!("http://127.0.0.1:{}", app.http_port);

    // Off unless asked for: the same 404 as an unknown list.
    assert_eq!(http("GET", &format!("{base}/a/weekly"), None).status, 404);
    assert_eq!(
        http("GET", &format!("{base}/a/weekly/feed.xml"), None).status,
        404
    );
    let on = app.json(&["list", "update", "weekly", "--archive", "on"]);
    assert_eq!(on["archive"], true);
    assert_eq!(app.json(&["list", "show", "weekly"])["archive"], true);

    let index = http("GET", &format!("{base}/a/weekly"), None);
    assert_eq!(index.status, 200);
    assert!(
        index.body.contains("Markets, maps and the week ahead"),
        "{}",
        index.body
    );
    assert!(
        index.body.contains(&format!("/a/weekly/{sent}")),
        "{}",
        index.body
    );
    assert!(
        !index.body.contains(&format!("/a/weekly/{later}")),
        "a queued issue is not archived"
    );
    assert!(index.header("link").unwrap().contains("feed.xml"));

    let page = http("GET", &format!("{base}/a/weekly/{sent}"), None);
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Central banks moved first this week"),
        "the issue's text"
    );
    for personal in ["reader0", "reader1", "Reader0", "/u/", "City0"] {
        let at = page
            .body
            .find(personal)
            .map(|i| &page.body[i.saturating_sub(80)..(i + 40).min(page.body.len())]);
        assert!(at.is_none(), "`{personal}` in the archived issue: {at:?}");
    }
    let addresses: Vec<&str> = page
        .body
        .match_indices("@example.com")
        .map(|(i, _)| &page.body[i.saturating_sub(30)..i + 12])
        .collect();
    assert!(
        addresses.iter().all(|a| a.ends_with("news@example.com")),
        "only the list's own address: {addresses:?}"
    );
    assert!(
        page.body.contains("/a/weekly\""),
        "the unsubscribe link leads back to the archive"
    );
    assert_eq!(
        http("GET", &format!("{base}/a/weekly/{later}"), None).status,
        404
    );
    assert_eq!(http("GET", &format!("{base}/a/weekly/x"), None).status, 404);

    let feed = http("GET", &format!("{base}/a/weekly/feed.xml"), None);
    assert_eq!(feed.status, 200);
    assert_eq!(
        feed.header("content-type"),
        Some("application/atom+xml; charset=utf-8")
    );
    let file = app.write("feed.xml", &feed.body);
    let read = std::process::Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import feedparser,json,sys; d=feedparser.parse(sys.argv[1]); \
             print(json.dumps({'bozo': d.bozo, 'version': d.version, 'title': d.feed.title, \
             'entries': [{'title': e.title, 'link': e.link, 'updated': e.updated, 'id': e.id} for e in d.entries]}))",
            file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let parsed: Value = serde_json::from_slice(&read.stdout).unwrap();
    assert_eq!(parsed["bozo"], false, "well-formed: {parsed}");
    assert_eq!(parsed["version"], "atom10");
    assert_eq!(parsed["title"], "Weekly Analysis");
    let entries = parsed["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{parsed}");
    assert_eq!(entries[0]["title"], "Markets, maps and the week ahead");
    assert!(
        entries[0]["link"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/a/weekly/{sent}")),
        "{parsed}"
    );

    app.json(&["list", "update", "weekly", "--archive", "off"]);
    assert_eq!(
        http("GET", &format!("{base}/a/weekly/{sent}"), None).status,
        404
    );
    sigterm(&server);
    server.wait_with_output().unwrap();
}
