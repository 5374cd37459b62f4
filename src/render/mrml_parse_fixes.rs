//! Tests of herald's fixes to mrml's parser (vendor/mrml, listed in vendor/mrml/PATCHES.md): MJML that
//! mjml 4 reads (its parser is htmlparser2, an HTML parser) and mrml refused with "unexpected token".
//! Each parses a small document as herald does and checks the HTML against what mjml 4 writes for it.

use super::mjml::mjml_to_html;

/// Renders `mjml` as herald does.
fn render(mjml: &str) -> String {
    mjml_to_html(mjml, None).unwrap_or_else(|(at, reason)| panic!("{reason} at {at:?}:\n{mjml}"))
}

#[test]
fn crlf_line_endings_parse_as_lf_ones_do() {
    let lf = "<mjml>\n  <mj-head>\n    <mj-title>Hi</mj-title>\n  </mj-head>\n  <mj-body>\n    \
              <mj-section>\n      <mj-column>\n        <mj-text>Hello</mj-text>\n      </mj-column>\n    \
              </mj-section>\n  </mj-body>\n</mjml>\n";
    let crlf = lf.replace('\n', "\r\n");
    assert_eq!(render(&crlf), render(lf));
    assert!(render(&crlf).contains("Hello"));
}

/// Wraps `column` (the content of one `mj-column`) in a document.
fn in_column(column: &str) -> String {
    format!(
        "<mjml><mj-body><mj-section><mj-column>{column}</mj-column></mj-section></mj-body></mjml>"
    )
}

/// The content of each `mj-text` of `html`, as mrml (and mjml 4) write it: the `<div>` inside the
/// cell.
fn texts(html: &str) -> Vec<&str> {
    html.split("<div style=\"font-family:")
        .skip(1)
        .map(|d| {
            let inner = &d[d.find('>').unwrap() + 1..];
            &inner[..inner.find("</div></td>").unwrap()]
        })
        .collect()
}

#[test]
fn html_syntax_mjml4_reads_is_read() {
    // Unquoted values (one ending in `/`), attributes without a space between them, a value-less
    // attribute, `--` inside a comment, a `<` in text, a doctype and an XML declaration.
    let html = render(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE html>\n<mjml><mj-body background-color=#f0f0f0>\
         <mj-section padding=0px css-class=a/><mj-column>\
         <mj-text align=center color=\"#333\"font-size='20px'>a < b <!-- x -- y --></mj-text>\
         <mj-button href=https://example.com/a/>Go</mj-button>\
         </mj-column></mj-section></mj-body></mjml>",
    );
    assert!(html.contains("padding:0px"), "{html}");
    assert!(html.contains("background-color:#f0f0f0"), "{html}");
    assert_eq!(texts(&html), ["a < b <!-- x -- y -->"], "{html}");
    assert!(
        html.contains("text-align:center;color:#333;") || html.contains("color:#333"),
        "{html}"
    );
    assert!(html.contains("font-size:20px"), "{html}");
    assert!(html.contains("href=\"https://example.com/a/\""), "{html}");
}

#[test]
fn comments_are_accepted_wherever_mjml4_accepts_them() {
    let html = render(
        "<!-- before --><mjml><!-- m --><mj-head><!-- h -->\
         <mj-attributes><!-- a --><mj-all font-family=\"Arial\"/><!-- b -->\
         <mj-text color=\"#123456\"><!-- c --></mj-text></mj-attributes></mj-head>\
         <mj-body><mj-section><mj-column><mj-social><!-- s -->\
         <mj-social-element name=\"facebook\" href=\"https://f.example\">F</mj-social-element>\
         </mj-social><mj-navbar><!-- n --><mj-navbar-link href=\"/a\">A</mj-navbar-link></mj-navbar>\
         <mj-text>x</mj-text><!-- in column --></mj-column></mj-section></mj-body></mjml>",
    );
    assert!(html.contains("font-family:Arial"), "{html}");
    assert!(html.contains("color:#123456"), "{html}");
    assert!(html.contains("<!-- in column -->"), "{html}");
}

#[test]
fn ending_tags_keep_their_content_as_raw_html() {
    // Inline tags left open and end tags that close nothing stay as written, as mjml 4 keeps them.
    let html = render(&in_column(
        "<mj-text>\n  <p>a<br>b\n</mj-text>\
         <mj-text>a</b>c</span></p>d</mj-text>\
         <mj-text>A<mj-text>B</mj-text>C</mj-text>\
         <mj-button href=\"#\">Go<br>on</mj-button>\
         <mj-table><tr><td>1<td>2</mj-table>",
    ));
    assert_eq!(
        texts(&html),
        ["<p>a<br>b", "a</b>c</span></p>d", "A<mj-text>B</mj-text>C"],
        "{html}"
    );
    assert!(html.contains(">Go<br>on</a>"), "{html}");
    assert!(html.contains("<tr><td>1<td>2</table>"), "{html}");
}

#[test]
fn stray_end_tags_between_elements_are_ignored() {
    let html = render(&in_column(
        "<mj-text>a</mj-text></p></mj-image></div><mj-text>b</mj-text>",
    ));
    assert_eq!(texts(&html), ["a", "b"], "{html}");
    // However many: they are skipped in a loop, not by recursion.
    let html = render(&in_column(&format!(
        "<mj-text>a</mj-text>{}<mj-text>b</mj-text>",
        "</p>".repeat(200_000)
    )));
    assert_eq!(texts(&html), ["a", "b"]);
}

#[test]
fn unclosed_elements_close_where_their_parent_does_with_a_warning() {
    // mjml 4 closes an unclosed `mj-text` at its parent's end tag and renders it without content;
    // an unclosed `mj-image` takes the elements after it as its children, and renders none of them.
    let mjml = "<mjml><mj-body>\n<mj-section><mj-column>\n<mj-text>lost</mj-column></mj-section>\n\
                <mj-section><mj-column><mj-image src=\"a.png\">\n<mj-text>also lost</mj-text>\
                </mj-column></mj-section>\n<mj-section><mj-column><mj-text>kept</mj-text>";
    let (html, warnings) = super::mjml::mjml_to_html_warned(mjml, None).unwrap();
    assert_eq!(texts(&html), ["", "kept"], "{html}");
    assert!(html.contains("src=\"a.png\""), "{html}");
    let line = |at| super::placeholder::line_column(mjml, at).0;
    let said: Vec<_> = warnings
        .iter()
        .map(|(at, w)| (line(*at), w.as_str()))
        .collect();
    assert!(
        said.contains(&(
            3,
            "`<mj-text>` is not closed: it ends where its parent does, and mjml 4 renders it without content"
        )),
        "{said:?}"
    );
    assert!(
        said.contains(&(
            4,
            "`<mj-image>` holds content that mjml 4 does not render (is it missing its end tag or `/>`?)"
        )),
        "{said:?}"
    );
    // The document itself ends unclosed: rendered, as mjml 4 renders it.
    assert!(
        said.iter()
            .any(|(l, w)| *l == 1 && w.starts_with("`<mjml>` is not closed")),
        "{said:?}"
    );
}

#[test]
fn refusals_point_at_the_line_and_column_of_the_file() {
    use crate::render::{IssueContext, IssueSource, Layouts, SourceKind, render_issue};
    let layout = Layouts::new(std::path::Path::new("templates"))
        .load("default")
        .unwrap();
    let context = IssueContext {
        list_name: "Weekly".into(),
        list_address: "news@example.com".into(),
        list_language: "en".into(),
        list_postal_address: String::new(),
    };
    let refusal = |text: &str| {
        let source = IssueSource::parse("bad.mjml", SourceKind::Mjml, text).unwrap();
        render_issue(&source, Some("S"), &context, &layout).unwrap_err()
    };
    // Not enclosed in `<mjml>` (mjml 4: "Malformed MJML"), in a CRLF file, after a placeholder.
    let err = refusal("<!-- {{ unsubscribe_url }} -->\r\n\r\n  <mj-body></mj-body>\r\n");
    assert_eq!((err.line, err.column), (Some(3), Some(3)), "{err}");
    assert!(err.reason.contains("enclosed in `<mjml>`"), "{err}");
    // Nested deeper than herald allows, unclosed.
    let deep = format!(
        "<mjml>\r\n<mj-body>{{{{ unsubscribe_url }}}}\r\n{}",
        "<mj-wrapper>".repeat(100)
    );
    let err = refusal(&deep);
    assert_eq!(err.line, Some(3), "{err}");
    assert!(err.reason.contains("nested more than"), "{err}");
}

#[test]
fn mj_body_takes_its_attributes_from_mj_attributes() {
    let html = render(
        "<mjml><mj-head><mj-attributes><mj-body background-color=\"#eeeeee\" width=\"500px\"/>\
         </mj-attributes></mj-head><mj-body><mj-section><mj-column><mj-text>x</mj-text>\
         </mj-column></mj-section></mj-body></mjml>",
    );
    // mjml 4: `<body style="word-spacing:normal;background-color:#eeeeee;">`, the same colour on the
    // content `div`, and 500px sections.
    assert!(
        html.contains("<body style=\"word-spacing:normal;background-color:#eeeeee;\">"),
        "{html}"
    );
    assert!(html.contains("max-width:500px"), "{html}");
    assert!(!html.contains("600px"), "{html}");
}

#[test]
fn inline_mj_style_rules_are_kept_in_a_style_block_with_a_warning() {
    let mjml = "<mjml><mj-head><mj-style inline=\"inline\">.red { color: #ff0000; }</mj-style>\
                </mj-head><mj-body><mj-section><mj-column>\
                <mj-text><span class=\"red\">x</span></mj-text></mj-column></mj-section></mj-body></mjml>";
    let (html, warnings) = super::mjml::mjml_to_html_warned(mjml, None).unwrap();
    assert!(
        html.contains("<style type=\"text/css\">.red { color: #ff0000; }</style>"),
        "{html}"
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let (at, said) = &warnings[0];
    assert!(mjml[*at..].starts_with("inline=\"inline\""), "{at}");
    assert!(said.contains("instead of inlining them"), "{said}");
}

#[test]
fn a_repeated_attribute_keeps_its_first_value() {
    // mjml 4 (htmlparser2) keeps the first value, in `mj-attributes` as on the element; names are
    // case-sensitive, so `COLOR` is another (unknown) attribute.
    let html = render(
        "<mjml><mj-head><mj-attributes><mj-button background-color=\"#aa0000\" \
         background-color=\"#00aa00\"/></mj-attributes></mj-head><mj-body><mj-section><mj-column>\
         <mj-text font-size=\"12px\" font-size=\"14px\" color=\"#111111\" COLOR=\"#222222\">x</mj-text>\
         <mj-button href=\"#\">Go</mj-button></mj-column></mj-section></mj-body></mjml>",
    );
    assert!(html.contains("font-size:12px"), "{html}");
    assert!(!html.contains("font-size:14px"), "{html}");
    assert!(html.contains("color:#111111"), "{html}");
    assert!(!html.contains("#222222"), "{html}");
    assert!(html.contains("background:#aa0000"), "{html}");
    assert!(!html.contains("#00aa00"), "{html}");
}

#[test]
fn upper_case_tag_names_are_read_in_lower_case() {
    // htmlparser2 lower-cases tag names (not attribute names) for mjml 4; the content of an ending
    // tag stays as written, and mjml 4 cuts it at its last `</mj-text` written in lower case, so an
    // `mj-text` closed by `</MJ-TEXT>` renders empty (herald warns).
    let mjml = "<MJML><MJ-HEAD><MJ-ATTRIBUTES><MJ-TEXT color=\"#123456\"/></MJ-ATTRIBUTES></MJ-HEAD>\
                <MJ-BODY><Mj-Section><MJ-COLUMN><MJ-TEXT Font-Size=\"20px\">Hello <B>bold</B></mj-text>\
                <MJ-TEXT>Gone</MJ-TEXT><MJ-BUTTON href=\"#\">Go</mj-button></MJ-COLUMN></MJ-SECTION>\
                </MJ-BODY></MJML>";
    let (html, warnings) = super::mjml::mjml_to_html_warned(mjml, None).unwrap();
    assert_eq!(texts(&html), ["Hello <B>bold</B>", ""], "{html}");
    assert!(html.contains("color:#123456"), "{html}");
    assert!(!html.contains("font-size:20px"), "{html}");
    assert!(html.contains(">Go</a>"), "{html}");
    let gone = mjml.find("<MJ-TEXT>Gone").unwrap();
    assert!(
        warnings
            .iter()
            .any(|(at, said)| *at == gone && said.contains("content that mjml 4 does not render")),
        "{warnings:?}"
    );
    // Lower case throughout renders the same.
    let lower = render(
        "<mjml><mj-head><mj-attributes><mj-text color=\"#123456\"/></mj-attributes></mj-head>\
         <mj-body><mj-section><mj-column><mj-text Font-Size=\"20px\">Hello <B>bold</B></mj-text>\
         <mj-text></mj-text><mj-button href=\"#\">Go</mj-button></mj-column></mj-section>\
         </mj-body></mjml>",
    );
    assert_eq!(html, lower);
    // The official templates with their start tags in upper case render as they are.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpora/mjml-templates");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "mjml") {
            continue;
        }
        let mjml = std::fs::read_to_string(&path).unwrap();
        let upper = mjml.replace("<mj", "<MJ");
        assert_eq!(render(&upper), render(&mjml), "{}", path.display());
        // Everything in upper case (end tags too, so ending tags lose their content) still renders.
        let _ = super::mjml::mjml_to_html_warned(&mjml.to_ascii_uppercase(), None);
    }
}

#[test]
fn raw_content_in_social_navbar_and_accordion_is_rendered_as_mjml4_renders_it() {
    let html = render(&in_column(
        "<mj-social><mj-social-element name=\"facebook\" href=\"https://f.example\">F\
         </mj-social-element><mj-raw><p class=\"raw-social\">S</p></mj-raw><!-- social comment -->\
         <mj-social-element name=\"twitter\" href=\"https://t.example\">T</mj-social-element>\
         </mj-social>\
         <mj-social mode=\"vertical\"><mj-social-element name=\"facebook\" href=\"https://f.example\">\
         F</mj-social-element><mj-raw><p class=\"raw-vertical\">V</p></mj-raw></mj-social>\
         <mj-navbar><mj-navbar-link href=\"/a\">A</mj-navbar-link><mj-raw><p class=\"raw-nav\">N</p>\
         </mj-raw><mj-navbar-link href=\"/b\">B</mj-navbar-link></mj-navbar>\
         <mj-accordion><mj-accordion-element><mj-accordion-title>T</mj-accordion-title>\
         <mj-accordion-text>X</mj-accordion-text></mj-accordion-element>\
         <mj-raw><p class=\"raw-accordion\">A</p></mj-raw></mj-accordion>",
    ));
    // mjml 4 writes a raw child (a comment is one) as it is: between a social element's Outlook
    // cells, not in a cell and table of its own; in the vertical table's body; between navbar
    // links' Outlook cells; after the accordion's rows.
    for expected in [
        "<!--[if mso | IE]></td><![endif]--><p class=\"raw-social\">S</p><!-- social comment -->\
         <!--[if mso | IE]><td><![endif]--><table",
        "</tr><p class=\"raw-vertical\">V</p></tbody>",
        "<!--[if mso | IE]></td><![endif]--><p class=\"raw-nav\">N</p>\
         <!--[if mso | IE]><td style=\"padding:15px 10px;\"><![endif]-->",
        "</label></td></tr><p class=\"raw-accordion\">A</p></tbody>",
    ] {
        assert!(html.contains(expected), "{expected}\n{html}");
    }
}
