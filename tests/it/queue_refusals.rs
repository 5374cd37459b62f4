//! A malformed template or Markdown is refused when queued, with file, line and reason.

use crate::helpers::*;

fn refused(app: &TestApp, name: &str, content: &str, extra: &[&str]) -> String {
    let file = app.write(name, content);
    let mut args = vec!["issue", "queue", "weekly", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = app.run(&args);
    assert!(!out.status.success(), "{name} should be refused");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn malformed_mjml_markdown_and_front_matter_are_refused_at_queue_time_with_file_and_line() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(1);

    let err = refused(
        &app,
        "broken.mjml",
        "<mjml>\n  <mj-body>\n    <mj-section>\n      <mj-column>\n        <mj-text>Hi {{ unsubscribe_url }}</mj-column>\n    </mj-section>\n  </mj-body>\n</mjml>\n",
        &["--subject", "Broken"],
    );
    // mjml 4 renders an unclosed mj-text empty, and so does herald: the link inside it is lost.
    assert!(
        err.contains("broken.mjml:5:")
            && err.contains("{{ unsubscribe_url }} link does not reach the rendered HTML")
            && err.contains("`<mj-text>` is not closed"),
        "{err}"
    );

    let err = refused(
        &app,
        "typo.md",
        "---\nsubject: Hi\n---\nHello\n\nDear {{ subscriber.nmae }},\n",
        &[],
    );
    assert!(
        err.contains("typo.md:6:6") && err.contains("unknown placeholder `{{ subscriber.nmae }}`"),
        "{err}"
    );

    let err = refused(
        &app,
        "unclosed.md",
        "---\nsubject: Hi\n---\nHello {{ subscriber.name\n",
        &[],
    );
    assert!(
        err.contains("unclosed.md:4:7") && err.contains("never closed"),
        "{err}"
    );

    let err = refused(&app, "nosubject.md", "Just a body\n", &[]);
    assert!(
        err.contains("nosubject.md") && err.contains("no subject"),
        "{err}"
    );

    let err = refused(
        &app,
        "front.md",
        "---\nsubject: Hi\nauthor: me\n---\nBody\n",
        &[],
    );
    assert!(
        err.contains("front.md:3") && err.contains("unknown front matter key `author`"),
        "{err}"
    );

    let err = refused(
        &app,
        "noexit.mjml",
        "<mjml><mj-body><mj-section><mj-column><mj-text>No way out</mj-text></mj-column></mj-section></mj-body></mjml>",
        &["--subject", "S"],
    );
    assert!(err.contains("unsubscribe_url"), "{err}");

    assert_eq!(
        app.json(&["issue", "ls"]).as_array().unwrap().len(),
        0,
        "nothing was queued"
    );
}

#[test]
fn a_broken_layout_is_refused_at_queue_time_naming_the_layout_line() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    let templates = app.path("templates");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(
        templates.join("broken.mjml"),
        "<mjml>\n<mj-body>\n<mj-section>\n<mj-column>\n<mj-text>{{ content }} {{ unsubscribe_url }}\n</mj-column>\n</mj-section>\n</mj-body>\n</mjml>\n",
    )
    .unwrap();
    // The layouts are looked up in the test's own templates directory.
    let text = std::fs::read_to_string(&app.config).unwrap();
    let text = text.replace(
        concat!(env!("CARGO_MANIFEST_DIR"), "/templates"),
        templates.to_str().unwrap(),
    );
    std::fs::write(&app.config, text).unwrap();
    app.create_list(&["--layout", "broken"]);
    let err = refused(&app, "issue.md", ISSUE_MD, &[]);
    assert!(
        err.contains("broken.mjml:5:") && err.contains("`<mj-text>` is not closed"),
        "{err}"
    );
}

#[test]
fn a_good_issue_renders_in_the_preview_command() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    let file = app.write("issue.md", ISSUE_MD);
    let html = app.ok(&["render", file.to_str().unwrap()]);
    assert!(
        html.contains("Hello Ada in your town,"),
        "sample recipient: {}",
        &html[..200.min(html.len())]
    );
    let text = app.ok(&["render", file.to_str().unwrap(), "--text"]);
    assert!(
        text.contains("Central banks moved first")
            && !text.contains('<'.to_string().repeat(2).as_str())
    );
}

/// The text part of the one message in the outbox, decoded.
fn delivered_text(app: &TestApp) -> String {
    let outbox = app.outbox();
    assert_eq!(outbox.len(), 1, "one message sent");
    let message = mail_parser::MessageParser::default()
        .parse(outbox[0].as_bytes())
        .expect("a parseable message");
    message.body_text(0).expect("a text part").into_owned()
}

#[test]
fn front_matter_fences_with_trailing_whitespace_open_and_close_it_without_a_crash_or_a_stray_dash()
{
    for (name, space) in [
        ("ideographic", "\u{3000}"),
        ("em-space", "\u{2003}"),
        ("ascii", "   "),
    ] {
        let app = TestApp::new(Smtp::Outbox, &[]);
        app.list_with_subscribers(1);
        let file = app.write(
            &format!("{name}.md"),
            &format!(
                "---{space}\nsubject: Spaced out\n---{space}\nFirst line of the body.\n\n[Leave]({{{{ unsubscribe_url }}}})\n"
            ),
        );

        let out = app.run(&["issue", "queue", "weekly", file.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        app.serve_until_idle();

        let text = delivered_text(&app);
        assert!(text.contains("First line of the body."), "{name}: {text}");
        assert!(!text.contains('\u{2013}'), "{name}: {text}");
    }
}

#[test]
fn a_front_matter_key_given_twice_is_refused_naming_both_lines() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(1);

    let err = refused(
        &app,
        "twice.md",
        "---\nsubject: First\npreheader: p\nsubject: Second\n---\nBody {{ unsubscribe_url }}\n",
        &[],
    );

    assert!(
        err.contains("twice.md:4: front matter key `subject` is given twice (first on line 2)"),
        "{err}"
    );
    assert_eq!(app.json(&["issue", "ls"]).as_array().unwrap().len(), 0);
}

#[test]
fn nesting_too_deep_to_render_is_refused_at_queue_and_render_time_naming_the_line() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(1);
    let front = "---\nsubject: Deep\n---\nIntro {{ unsubscribe_url }}\n\n";
    let cases = [
        (
            "quotes.md",
            format!("{front}{}deep\n", ">".repeat(10_000)),
            "quotes.md:6:",
            "block quote nested more than",
        ),
        (
            "stars.md",
            format!("{front}{}deep{}\n", "*".repeat(10_000), "*".repeat(10_000)),
            "stars.md:6:",
            "emphasis nested more than",
        ),
        (
            "lists.md",
            format!(
                "{front}{}",
                (0..200)
                    .map(|i| format!("{}- level {i}\n", "  ".repeat(i)))
                    .collect::<String>()
            ),
            "lists.md:",
            "list nested more than",
        ),
        (
            "divs.md",
            format!("{front}<div>\n{}\n", "<div>".repeat(5_000)),
            "divs.md:7:",
            "HTML `<div>` nested more than",
        ),
        (
            "wrappers.mjml",
            format!(
                "<mjml>\n<mj-body>\n{}<mj-section><mj-column><mj-text>{{{{ unsubscribe_url }}}}</mj-text></mj-column></mj-section>{}\n</mj-body>\n</mjml>\n",
                "<mj-wrapper>\n".repeat(2_000),
                "</mj-wrapper>".repeat(2_000)
            ),
            "wrappers.mjml:",
            "nested more than 64 elements deep",
        ),
    ];
    for (name, content, at, reason) in cases {
        let file = app.write(name, &content);
        for command in [
            vec![
                "issue",
                "queue",
                "weekly",
                file.to_str().unwrap(),
                "--subject",
                "S",
            ],
            vec!["render", file.to_str().unwrap(), "--subject", "S"],
        ] {
            let out = app.run(&command);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{command:?}: {err}");
            assert!(
                err.contains(at) && err.contains(reason),
                "{command:?}: {err}"
            );
        }
    }
    assert_eq!(app.json(&["issue", "ls"]).as_array().unwrap().len(), 0);
}

#[test]
fn text_that_spells_herald_s_placeholder_sentinel_reaches_readers_as_typed() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(1);
    let file = app.write(
        "sentinel.md",
        "---\nsubject: Sentinels\n---\nHi {{ subscriber.name }}: hrldph0z, hrldph1xxz and hrld&#112;h0z stay.\n\n[Leave]({{ unsubscribe_url }})\n",
    );

    app.ok(&["issue", "queue", "weekly", file.to_str().unwrap()]);
    app.serve_until_idle();

    let text = delivered_text(&app);
    assert!(
        text.contains("Hi Reader0 Person: hrldph0z, hrldph1xxz and hrldph0z stay."),
        "{text}"
    );
}

#[test]
fn a_source_over_one_mebibyte_is_refused_and_an_issue_gmail_would_clip_is_queued_with_a_warning() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(1);
    let paragraph = "A paragraph of analysis that goes on for a while, as they do. ".repeat(4);
    let issue = |paragraphs: usize| {
        format!(
            "---\nsubject: Long\n---\n{}[Leave]({{{{ unsubscribe_url }}}})\n",
            format!("{paragraph}\n\n").repeat(paragraphs)
        )
    };

    let err = refused(&app, "huge.md", &issue(5_000), &[]);
    assert!(
        err.contains("huge.md: the issue is larger than 1 MiB"),
        "{err}"
    );

    let long = app.write("long.md", &issue(500));
    let out = app.run(&["issue", "queue", "weekly", long.to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("warning: ")
            && err.contains("long.md: the HTML part is")
            && err.contains("Gmail clips messages over 102 KB"),
        "{err}"
    );
    let queued: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        queued["warnings"][0]
            .as_str()
            .unwrap()
            .contains("Gmail clips"),
        "{queued}"
    );

    let out = app.run(&[
        "render",
        long.to_str().unwrap(),
        "--output",
        app.path("long.html").to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Gmail clips"));

    let short = app.json(&[
        "issue",
        "queue",
        "weekly",
        app.write("short.md", &issue(3)).to_str().unwrap(),
    ]);
    assert_eq!(short["warnings"], serde_json::json!([]));
}

#[test]
fn braces_written_as_html_entities_are_refused_at_queue_time_rather_than_becoming_a_placeholder() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    app.list_with_subscribers(1);

    for body in [
        "Hi &#123;&#123; subscriber.email }}",
        "Hi &#123;{{ subscriber.name }}",
    ] {
        let err = refused(
            &app,
            "entities.md",
            &format!("---\nsubject: S\n---\n{body}\n\n[Leave]({{{{ unsubscribe_url }}}})\n"),
            &[],
        );
        assert!(
            err.contains("entities.md: the rendered issue has `{{` that is not a placeholder"),
            "{body}: {err}"
        );
    }
    assert_eq!(app.json(&["issue", "ls"]).as_array().unwrap().len(), 0);
}
