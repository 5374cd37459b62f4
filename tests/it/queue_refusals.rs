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
    assert!(
        err.contains("broken.mjml:5:") && err.contains("`</mj-column>` closes `<mj-text>`"),
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
    let app = TestApp {
        config: {
            let text = std::fs::read_to_string(&app.config).unwrap();
            let text = text.replace(
                concat!(env!("CARGO_MANIFEST_DIR"), "/templates"),
                templates.to_str().unwrap(),
            );
            std::fs::write(&app.config, text).unwrap();
            app.config.clone()
        },
        ..app
    };
    app.create_list(&["--layout", "broken"]);
    let err = refused(&app, "issue.md", ISSUE_MD, &[]);
    assert!(
        err.contains("broken.mjml:6:") && err.contains("closes `<mj-text>`"),
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
