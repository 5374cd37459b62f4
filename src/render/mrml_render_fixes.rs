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

#[test]
fn images_and_social_icons_have_an_empty_alt_unless_given_one() {
    let html = render(&in_column(
        "<mj-image src=\"https://example.com/a.png\" />\
         <mj-image src=\"https://example.com/b.png\" alt=\"Logo\" />\
         <mj-social><mj-social-element name=\"facebook\" href=\"https://example.com/\">\
         Share</mj-social-element></mj-social>\
         <mj-carousel><mj-carousel-image src=\"https://example.com/c.png\" /></mj-carousel>",
    ));
    let imgs: Vec<&str> = html
        .split("<img")
        .skip(1)
        .map(|rest| &rest[..rest.find('>').unwrap_or(rest.len())])
        .collect();
    // Two images, one icon, then the carousel's thumbnail, arrows and image (twice, for Outlook).
    assert_eq!(imgs.len(), 8, "{html}");
    for img in &imgs {
        assert!(img.contains(" alt=\""), "every img has an alt: {img}");
    }
    assert!(imgs[0].contains(" alt=\"\""), "{}", imgs[0]);
    assert!(imgs[1].contains(" alt=\"Logo\""), "{}", imgs[1]);
    assert!(imgs[2].contains(" alt=\"\""), "{}", imgs[2]);
}
