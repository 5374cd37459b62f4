//! The links every message carries to its reader's own pages: the issue in a browser, and the
//! subscription page (change the name, leave this list, leave every list).

use crate::helpers::*;

fn path_of(url: &str) -> &str {
    let host_end = "http://".len() + url["http://".len()..].find('/').unwrap();
    &url[host_end..]
}

#[test]
fn every_message_links_to_its_copy_in_a_browser_and_to_a_page_that_manages_the_subscription() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(1);
    app.daily_list_with("reader0@example.com");
    app.queue_issue(&[]);
    app.serve_until_idle();
    let message = app.outbox().remove(0);
    let view = link_after(message.as_bytes(), "Read this issue in your browser: ");
    let manage = link_after(message.as_bytes(), "Manage your subscription: ");
    let html = mail_parser::MessageParser::default()
        .parse(message.as_bytes())
        .unwrap()
        .body_html(0)
        .unwrap()
        .into_owned();
    assert!(
        html.contains(&format!("href=\"{view}\"")) && html.contains(&format!("href=\"{manage}\"")),
        "the HTML part links to both pages"
    );
    let mut server = app.spawn_serve();
    wait_http(app.http_port);
    let base = format!("http://127.0.0.1:{}", app.http_port);

    // The reader's own copy: their greeting, the issue's text, working links.
    let page = http("GET", &format!("{base}{}", path_of(&view)), None);
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Hello Reader0 in City0"),
        "personalised as sent"
    );
    assert!(page.body.contains("Central banks moved first this week"));
    assert!(page.body.contains(path_of(&manage)));

    // The subscription page: masked address, the name in its field.
    let url = format!("{base}{}", path_of(&manage));
    let page = http("GET", &url, None);
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("r***") && !page.body.contains("reader0@example.com"),
        "the address is masked"
    );
    assert!(page.body.contains("value=\"Reader0 Person\""));
    let renamed = http("POST", &url, Some("action=rename&name=Ada+Lovelace"));
    assert_eq!(renamed.status, 200);
    assert!(renamed.body.contains("Your name is saved"));
    assert_eq!(
        app.json(&["subscriber", "show", "weekly", "reader0@example.com"])["name"],
        "Ada Lovelace"
    );

    let status = |list: &str| {
        app.json(&["subscriber", "show", list, "reader0@example.com"])["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let left = http("POST", &url, Some("action=leave"));
    assert!(left.body.contains("unsubscribed from this list"));
    assert_eq!(
        (status("weekly"), status("daily")),
        ("unsubscribed".into(), "active".into())
    );
    let all = http("POST", &url, Some("action=leave_all"));
    assert!(all.body.contains("every list"));
    assert_eq!(status("daily"), "unsubscribed");

    // A token that does not verify is nobody's page.
    let forged = format!("{base}/m/{}", "a".repeat(32));
    assert_eq!(http("GET", &forged, None).status, 404);
    assert_eq!(http("POST", &forged, Some("action=leave_all")).status, 404);
    assert_eq!(
        http("GET", &format!("{base}/v/{}", "b".repeat(32)), None).status,
        404
    );
    sigterm(&server);
    assert!(wait_exit(&mut server, std::time::Duration::from_secs(20)).success());
}
