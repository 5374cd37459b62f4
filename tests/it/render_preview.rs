//! `herald render FILE.mjml`: a designer's template is previewed as mjml would show it (what `issue
//! queue` would refuse is a warning here), and an MJML error names file:line:column.

use crate::helpers::*;

#[test]
fn a_template_without_subject_or_unsubscribe_link_previews_with_warnings_and_queue_refuses_it() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    let file = app.write(
        "designer.mjml",
        "<mjml>\r\n  <mj-body>\r\n    <mj-section><mj-column><mj-text>Spring sale</mj-text></mj-column></mj-section>\r\n  </mj-body>\r\n</mjml>\r\n",
    );
    let html = app.path("designer.html");
    let out = app.run(&[
        "render",
        file.to_str().unwrap(),
        "-o",
        html.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("has no subject") && stderr.contains("unsubscribe_url"),
        "{stderr}"
    );
    assert!(
        std::fs::read_to_string(&html)
            .unwrap()
            .contains("Spring sale")
    );
    app.list_with_subscribers(1);
    let queued = app.run(&["issue", "queue", "weekly", file.to_str().unwrap()]);
    assert!(!queued.status.success());
    assert!(
        String::from_utf8_lossy(&queued.stderr).contains("has no subject"),
        "{}",
        String::from_utf8_lossy(&queued.stderr)
    );
}

#[test]
fn what_mjml_warns_about_is_a_warning_with_file_line_and_column_and_what_it_refuses_an_error() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    // mjml 4 renders this, closing the column where its section ends, and warns.
    let file = app.write(
        "unclosed.mjml",
        "<mjml>\n<mj-body>\n  <mj-section>\n    <mj-column>\n  </mj-section>\n</mj-body>\n</mjml>\n",
    );
    let out = app.run(&["render", file.to_str().unwrap(), "--subject", "S"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("unclosed.mjml:4:5:") && stderr.contains("`<mj-column>` is not closed"),
        "{stderr}"
    );
    // mjml 4 refuses a document that is not MJML at all.
    let file = app.write("not.mjml", "<html>\n<body>hello</body>\n</html>\n");
    let out = app.run(&["render", file.to_str().unwrap(), "--subject", "S"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("not.mjml:1:"), "{stderr}");
}

#[test]
fn another_tools_placeholders_preview_as_written_and_queueing_refuses_them() {
    let app = TestApp::new(Smtp::Outbox, &[]);
    let file = app.write(
        "esp.mjml",
        "<mjml><mj-body><mj-section><mj-column>\n<mj-text>Hello {{FirstName}} from {{ unsubscribe_url }}</mj-text>\n</mj-column></mj-section></mj-body></mjml>\n",
    );
    let html = app.path("esp.html");
    let out = app.run(&[
        "render",
        file.to_str().unwrap(),
        "--subject",
        "S",
        "-o",
        html.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("esp.mjml:2:16: `{{ FirstName }}` is not a herald placeholder"),
        "{stderr}"
    );
    // Shown as written: the braces kept apart by an invisible word joiner.
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("Hello {\u{2060}{FirstName}\u{2060}}"),
        "{page}"
    );
    app.list_with_subscribers(1);
    let queued = app.run(&[
        "issue",
        "queue",
        "weekly",
        file.to_str().unwrap(),
        "--subject",
        "S",
    ]);
    assert!(!queued.status.success());
    assert!(
        String::from_utf8_lossy(&queued.stderr).contains("unknown placeholder `{{ FirstName }}`"),
        "{}",
        String::from_utf8_lossy(&queued.stderr)
    );
}
