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
