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

/// The HTML a browser sees: `html` without its comments (Outlook's conditional ones included).
fn outside_comments(html: &str) -> String {
    let mut visible = String::new();
    let mut rest = html;
    while let Some(start) = rest.find("<!--") {
        visible.push_str(&rest[..start]);
        let end = rest[start + 4..]
            .find("-->")
            .map_or(rest.len(), |end| start + 4 + end + 3);
        rest = &rest[end..];
    }
    visible.push_str(rest);
    visible
}

/// Checks that the conditional comments of the body are balanced and never nested: each
/// `<!--[if …]>` is closed by a `<![endif]-->` before the next one opens (and each revealed
/// `<!--[if !mso]><!-->` by its `<!--<![endif]-->`), so Outlook's parts stay Outlook's.
fn assert_balanced_conditionals(html: &str) {
    let body = &html[html.find("<body").expect("a body")..];
    let mut open: Option<bool> = None; // Some(revealed)
    let mut rest = body;
    loop {
        let next_if = rest.find("<!--[if");
        let next_endif = rest.find("<![endif]-->");
        let at = match (next_if, next_endif) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => break,
        };
        let near = &rest[at..rest.len().min(at + 200)];
        if Some(at) == next_if {
            assert_eq!(open, None, "a conditional opens inside another: {near}");
            let close = rest[at..].find("]>").expect("the condition ends") + at + 2;
            let revealed = rest[close..].starts_with("<!-->");
            open = Some(revealed);
            rest = &rest[close..];
        } else {
            let revealed = rest[..at].ends_with("<!--");
            assert_eq!(open, Some(revealed), "an endif closes nothing: {near}");
            open = None;
            rest = &rest[at + 12..];
        }
    }
    assert_eq!(open, None, "a conditional is left open");
}

#[test]
fn a_full_width_section_keeps_its_outlook_background_inside_its_conditional_comments() {
    let html = render(
        "<mjml><mj-body>\
         <mj-section full-width=\"full-width\" background-url=\"https://example.com/bg.jpg\" \
         background-size=\"cover\" background-repeat=\"no-repeat\">\
         <mj-column><mj-text>Hero</mj-text></mj-column></mj-section>\
         <mj-section background-color=\"#ff0000\"><mj-column><mj-text>Next</mj-text></mj-column>\
         </mj-section></mj-body></mjml>",
    );
    assert_balanced_conditionals(&html);
    assert!(
        !outside_comments(&html).contains("v:"),
        "VML outside Outlook's comments: {html}"
    );
    // As mjml 4: the rect opens, with the section's Outlook table, in one conditional and closes, after
    // the section, in another, before the full-width table ends and the next section begins.
    let rect = html.find("<v:rect").expect("a v:rect");
    let rect_end = html.find("</v:rect>").expect("the v:rect closes");
    let next = html.find("Next").expect("the next section");
    assert!(rect < rect_end && rect_end < next, "{html}");
    assert!(
        html[rect_end..next].starts_with("</v:rect><![endif]--></td></tr></tbody></table>"),
        "{html}"
    );
    assert_eq!(html.matches("<v:rect").count(), 1, "{html}");
}

/// The `width` attribute of every `<img>` in `html`, in order.
fn img_widths(html: &str) -> Vec<&str> {
    html.split("<img")
        .skip(1)
        .filter_map(|img| {
            let img = &img[..img.find('>').unwrap_or(img.len())];
            let at = img.find(" width=\"")? + 8;
            Some(&img[at..at + img[at..].find('"')?])
        })
        .collect()
}

#[test]
fn image_widths_are_the_column_box_less_paddings_and_borders_as_mjml_computes_them() {
    let html = render(
        "<mjml><mj-body>\
         <mj-section padding=\"20px 0\">\
         <mj-column><mj-image src=\"a.png\" width=\"184px\" padding=\"0 25px\" /></mj-column>\
         <mj-column><mj-image src=\"b.png\" /></mj-column>\
         <mj-column><mj-image src=\"c.png\" padding-left=\"0\" padding=\"10px 25px\" /></mj-column>\
         </mj-section>\
         <mj-section padding=\"40px 30px 0px 30px\" border-left=\"2px solid #e5e5e6\" \
         border-right=\"2px solid #e5e5e6\">\
         <mj-column width=\"48%\" padding=\"0px 0px 40px 0px\"><mj-image src=\"d.png\" padding=\"0px\" />\
         </mj-column></mj-section>\
         <mj-section>\
         <mj-column width=\"33.33333333333333%\"><mj-image src=\"e.png\" /></mj-column>\
         <mj-column width=\"66.66666666666666%\" padding=\"0 20px\" border=\"3px solid #000\" \
         inner-border=\"4px solid #f00\"><mj-image src=\"f.png\" border=\"1px solid #000\" /></mj-column>\
         </mj-section>\
         <mj-section><mj-group>\
         <mj-column><mj-image src=\"g.png\" /></mj-column><mj-column><mj-image src=\"g.png\" /></mj-column>\
         <mj-column><mj-image src=\"g.png\" /></mj-column><mj-column><mj-image src=\"g.png\" /></mj-column>\
         <mj-column><mj-image src=\"g.png\" /></mj-column><mj-column><mj-image src=\"g.png\" /></mj-column>\
         <mj-column><mj-image src=\"g.png\" /></mj-column>\
         </mj-group></mj-section>\
         </mj-body></mjml>",
    );
    // mjml 4.18's widths for the same document: a unitless 0 in a shorthand is 0, a side's own
    // padding wins over the shorthand, borders count, and a width in pixels is read with parseInt
    // (536 × 48 % = 257.28 gives 257; 600 × 33.33333333333333 % = 199.99999999999997 gives 199).
    assert_eq!(
        img_widths(&html),
        [
            "150", "150", "175", "257", "149", "293", "35", "35", "35", "35", "35", "35", "35"
        ],
        "{html}"
    );
    assert!(html.contains("<td style=\"width:150px;\"><img"), "{html}");
    assert!(html.contains("<td style=\"width:257px;\"><img"), "{html}");
    // A column of a group of 7 is 14 % wide on phones, as mjml has it (not 14.285714 %).
    assert_eq!(html.matches("width:14%;").count(), 7, "{html}");
    // Column classes and Outlook widths as mjml writes them (JavaScript's numbers).
    assert!(html.contains("mj-column-per-33-33333333333333"), "{html}");
    assert!(html.contains("width:199.99999999999997px;"), "{html}");
}

#[test]
fn raw_content_in_a_wrapper_stands_outside_outlook_conditional_comments() {
    let html = render(
        "<mjml><mj-body><mj-wrapper>\
         <mj-raw>&lt;!--[if !mso]&gt;</mj-raw>\
         <mj-section><mj-column><mj-text>A</mj-text></mj-column></mj-section>\
         <mj-raw><p>between</p></mj-raw>\
         <mj-section><mj-column><mj-text>B</mj-text></mj-column></mj-section>\
         <mj-raw><p>last</p></mj-raw>\
         </mj-wrapper></mj-body></mjml>",
    );
    assert_balanced_conditionals(&html);
    let visible = outside_comments(&html);
    for raw in ["&lt;!--[if !mso]&gt;", "<p>between</p>", "<p>last</p>"] {
        assert!(
            visible.contains(raw),
            "{raw} is hidden in a comment: {html}"
        );
    }
    // As mjml 4: Outlook's row of the previous section closes, the raw content follows, and the
    // next section's row opens, each part of Outlook's in its own conditional comment.
    assert!(
        html.contains(
            "<!--[if mso | IE]></td></tr><![endif]--><p>between</p><!--[if mso | IE]><tr>"
        ),
        "{html}"
    );
}

#[test]
fn carousel_arrows_are_hidden_only_where_mjml_hides_them() {
    let html = render(&in_column(
        "<mj-carousel><mj-carousel-image src=\"https://example.com/a.png\" />\
         <mj-carousel-image src=\"https://example.com/b.png\" /></mj-carousel>",
    ));
    // mjml 4 writes `@media screen yahoo`, which browsers never match; with a comma every screen
    // matched it and the arrows (and thumbnails' hover borders) went.
    assert!(html.contains("@media screen yahoo {"), "{html}");
    assert!(!html.contains("screen, yahoo"), "{html}");
}

#[test]
fn an_image_takes_its_side_borders_from_its_border_side_attributes() {
    let html = render(&in_column(
        "<mj-image src=\"https://example.com/a.png\" border-left=\"3px solid #f00\" \
         border-bottom=\"2px dashed #00f\" />",
    ));
    // mjml 4.18: the width less the left border, and both borders on the img.
    assert!(
        html.contains("border:0;border-left:3px solid #f00;border-bottom:2px dashed #00f;"),
        "{html}"
    );
    assert_eq!(img_widths(&html), ["547"], "{html}");
}
