//! A Markdown issue that opens with its own title (and deck), as a pasted article does: the layout
//! shows them once, and `issue queue` says what it left out.

use crate::helpers::*;

#[test]
fn a_body_that_repeats_the_title_and_deck_shows_them_once_with_a_note_at_queue_time() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(1);
    let issue = app.write(
        "pasted.md",
        "---\nsubject: Weekly: three charts\ntitle: Three charts that matter\n\
         deck: Bond markets moved first.\n---\n\n# Three charts that matter\n\n\
         *Bond markets moved first.*\n\nHello {{ subscriber.name }}, the body starts here.\n\n\
         Read it at {{ unsubscribe_url }}.\n",
    );
    let queued = app
        .command(&["issue", "queue", "weekly", issue.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(queued.status.success());
    let stderr = String::from_utf8_lossy(&queued.stderr);
    assert!(
        stderr.contains("pasted.md:7: the body opens with the issue's title")
            && stderr.contains("pasted.md:9: the paragraph after it repeats the deck"),
        "{stderr}"
    );
    app.serve_until_idle();
    let message = app.outbox().pop().unwrap();
    let parsed = mail_parser::MessageParser::default()
        .parse(message.as_bytes())
        .unwrap();
    let html = parsed.body_html(0).unwrap().into_owned();
    let text = parsed.body_text(0).unwrap().into_owned();
    for (part, body) in [("html", &html), ("text", &text)] {
        assert_eq!(
            body.matches("Three charts that matter").count(),
            1,
            "{part}: {body}"
        );
        assert_eq!(
            body.matches("Bond markets moved first.").count(),
            1,
            "{part}: {body}"
        );
        assert!(body.contains("the body starts here"), "{part}");
    }
}
