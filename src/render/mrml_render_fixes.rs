//! Tests of herald's fixes to mrml's rendering (vendor/mrml, listed in vendor/mrml/PATCHES.md): each
//! renders a small MJML document with mrml as herald does and checks the HTML against what mjml 4
//! writes for the same document.

/// Renders `mjml` with mrml's default options, as herald does.
fn render(mjml: &str) -> String {
    let parsed = mrml::parse(mjml).expect("the test's MJML parses");
    parsed
        .element
        .render(&mrml::prelude::render::RenderOptions::default())
        .expect("the test's MJML renders")
}

/// Wraps `column` (the content of one `mj-column`) in a document.
fn in_column(column: &str) -> String {
    format!(
        "<mjml><mj-body><mj-section><mj-column>{column}</mj-column></mj-section></mj-body></mjml>"
    )
}

#[test]
fn attribute_values_spanning_lines_are_written_as_they_are() {
    let html = render(&in_column(
        "<mj-text><p style=\"\n  text-align: center;\n  color: #151e23;\n\">Hi</p></mj-text>\
         <mj-text css-class=\"a\nb\">x</mj-text>\
         <mj-image src=\"https://example.com/a.png\" alt='say \"cheese\" \\o/' />",
    ));
    assert!(
        html.contains("<p style=\"\n  text-align: center;\n  color: #151e23;\n\">Hi</p>"),
        "{html}"
    );
    assert!(!html.contains("\\n"), "no Debug escapes: {html}");
    // A double quote cannot stand in a double-quoted value; a backslash is itself.
    assert!(
        html.contains("alt=\"say &quot;cheese&quot; \\o/\""),
        "{html}"
    );
}
