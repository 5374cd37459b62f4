//! MJML to HTML with mrml (herald's copy, vendor/mrml), which reads MJML as leniently as mjml 4 does
//! (vendor/mrml/PATCHES.md): an element left open is closed where its parent ends, an end tag that
//! closes nothing is ignored, with a warning each. It refuses what mjml 4 refuses (no `<mjml>`
//! element, a document that does not start with one) and, as mrml parses and renders recursively, any
//! element nested deeper than [`MAX_ELEMENT_DEPTH`] (so that a deep document cannot overflow the stack
//! and abort the process; mrml's own guard, `mrml::prelude::parser::MAX_DEPTH`, is the same number).
//! Errors and warnings carry the byte offset in the document mrml was given.
//!
//! `<html lang="und">`, mrml's choice for an `<mjml>` without `lang`, never reaches a reader: the
//! list's language is used instead. (The `<mj-preview>` text is hidden without white text by herald's
//! mrml itself: vendor/mrml/PATCHES.md.)

use super::{RenderError, limits::MAX_ELEMENT_DEPTH, placeholder::line_column, stash::Hidden};
use mrml::prelude::parser::WarningKind;

/// One `<tag …>` of an MJML or HTML text; comments, `<!doctype>` and `<?xml?>` are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag<'a> {
    pub name: &'a str,
    /// Byte offset of its `<`.
    pub at: usize,
    pub closing: bool,
    /// Self-closed (`<br />`) or void (`<br>`, as mrml counts them): opens nothing.
    pub empty: bool,
}

impl Tag<'_> {
    /// +1 for an element it opens, -1 for one it closes, 0 otherwise.
    pub fn depth_change(&self) -> isize {
        match (self.closing, self.empty) {
            (true, _) => -1,
            (false, true) => 0,
            (false, false) => 1,
        }
    }
}

/// The tags of `text`, in order.
pub fn tags(text: &str) -> impl Iterator<Item = Tag<'_>> {
    let mut at = 0;
    std::iter::from_fn(move || {
        loop {
            let lt = text[at..].find('<')? + at;
            if text[lt..].starts_with("<!--") {
                at = text[lt..].find("-->").map_or(text.len(), |i| lt + i + 3);
                continue;
            }
            let gt = text[lt..].find('>')? + lt;
            at = gt + 1;
            let inner = &text[lt + 1..gt];
            let closing = inner.starts_with('/');
            let name = inner
                .trim_start_matches('/')
                .split(|c: char| c.is_whitespace() || c == '/')
                .next()
                .unwrap_or("");
            if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
                continue;
            }
            return Some(Tag {
                name,
                at: lt,
                closing,
                empty: inner.ends_with('/') || is_void(name),
            });
        }
    })
}

/// HTML's void elements, as mrml lists them.
fn is_void(name: &str) -> bool {
    matches!(
        name,
        "area"
            | "base"
            | "br"
            | "col"
            | "embed"
            | "hr"
            | "img"
            | "input"
            | "link"
            | "meta"
            | "param"
            | "source"
            | "track"
            | "wbr"
    )
}

/// Renders MJML to HTML; an error carries the byte offset mrml reported, if any. `lang` is the
/// document's language when its `<mjml>` names none.
pub fn mjml_to_html(mjml: &str, lang: Option<&str>) -> Result<String, (Option<usize>, String)> {
    mjml_to_html_warned(mjml, lang).map(|(html, _)| html)
}

/// The name of the element whose start tag (`<name…`) is at `at` in `mjml`.
fn element_at(mjml: &str, at: usize) -> &str {
    let tag = mjml.get(at..).unwrap_or("").trim_start_matches('<');
    let end = tag
        .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
        .unwrap_or(tag.len());
    &tag[..end]
}

/// What herald says about a warning of mrml's, for the element or attribute at `at`.
fn warning_text(mjml: &str, kind: WarningKind, at: usize, end: usize) -> String {
    let name = element_at(mjml, at);
    match kind {
        WarningKind::UnclosedElement if mrml::prelude::parser::is_ending_tag(name) => format!(
            "`<{name}>` is not closed: it ends where its parent does, and mjml 4 renders it without content"
        ),
        WarningKind::UnclosedElement => {
            format!("`<{name}>` is not closed: it ends where its parent does, as in mjml 4")
        }
        WarningKind::IgnoredContent => format!(
            "`<{name}>` holds content that mjml 4 does not render (is it missing its end tag or `/>`?)"
        ),
        WarningKind::IgnoredElement => {
            format!("`<{name}>` is not rendered where it stands, as in mjml 4")
        }
        WarningKind::UnexpectedAttribute => format!(
            "attribute `{}` is not one MJML knows here; it is ignored",
            mjml.get(at..end)
                .unwrap_or("")
                .split('=')
                .next()
                .unwrap_or("")
        ),
        WarningKind::InlineStyleUnsupported => "`<mj-style inline=\"inline\">`: herald keeps these rules in a \
            `<style>` block instead of inlining them into each element as mjml 4 does, so mail clients \
            that ignore `<style>` do not apply them"
            .to_owned(),
    }
}

/// A warning about an MJML document: the byte offset it is about, and what it says.
pub type MjmlWarning = (usize, String);

/// [`mjml_to_html`], with mrml's warnings.
pub fn mjml_to_html_warned(
    mjml: &str,
    lang: Option<&str>,
) -> Result<(String, Vec<MjmlWarning>), (Option<usize>, String)> {
    use mrml::prelude::parser::Error as E;
    const _: () = assert!(mrml::prelude::parser::MAX_DEPTH == MAX_ELEMENT_DEPTH);
    let parsed = mrml::parse(mjml).map_err(|e| {
        let offset = match &e {
            E::UnexpectedElement { position, .. }
            | E::UnexpectedToken { position, .. }
            | E::MissingAttribute { position, .. }
            | E::InvalidAttribute { position, .. }
            | E::InvalidFormat { position, .. }
            | E::DepthLimitExceeded { position, .. }
            | E::IncludeLoaderError { position, .. } => Some(position.start),
            E::ParserError { source, .. } => {
                // Row and column in characters, 1-based.
                let p = source.pos();
                let (row, col) = (p.row as usize, p.col as usize);
                let line_start: usize = mjml
                    .split_inclusive('\n')
                    .take(row.saturating_sub(1))
                    .map(str::len)
                    .sum();
                let line = mjml.get(line_start..).unwrap_or("");
                Some(
                    line_start
                        + line
                            .char_indices()
                            .nth(col.saturating_sub(1))
                            .map_or(line.len(), |(i, _)| i),
                )
            }
            _ => None,
        };
        let message = e.to_string();
        let reason = message
            .split(" in root template")
            .next()
            .unwrap_or(&message)
            .to_owned();
        let reason = match &e {
            E::ParserError { source, .. } => format!("invalid MJML: {source}"),
            E::EndOfStream { .. } => {
                "invalid MJML: the document ends before every element is closed".to_owned()
            }
            E::NoRootNode => "invalid MJML: there is no `<mjml>` element".to_owned(),
            E::UnexpectedElement { position, .. } => format!(
                "invalid MJML: the document starts with `<{}>`; an MJML document is enclosed in `<mjml>` tags",
                element_at(mjml, position.start)
            ),
            E::DepthLimitExceeded { position, .. } => format!(
                "`<{}>` is nested more than {MAX_ELEMENT_DEPTH} elements deep; herald refuses deeper nesting",
                element_at(mjml, position.start)
            ),
            _ => format!("invalid MJML: {reason}"),
        };
        (offset, reason)
    })?;
    let warnings = parsed
        .warnings
        .iter()
        .map(|w| {
            (
                w.span.start,
                warning_text(mjml, w.kind, w.span.start, w.span.end),
            )
        })
        .collect();
    let mut root = parsed.element;
    if root.attributes.lang.is_none() {
        root.attributes.lang = lang.map(str::to_owned);
    }
    let html = root
        .render(&mrml::prelude::render::RenderOptions::default())
        .map_err(|e| (None, format!("MJML cannot be rendered: {e}")))?;
    Ok((html, warnings))
}

/// Points an MJML error at the line of `source` (the text `hidden` was made from), or, for a Markdown
/// issue whose body HTML was put into a layout, at the issue when the error lies in the body.
pub fn locate_error(
    source: &str,
    file: &str,
    hidden: &Hidden,
    issue_file: &str,
    offset: Option<usize>,
    reason: String,
) -> RenderError {
    match offset {
        Some(o) if hidden.content.as_ref().is_some_and(|c| c.contains(&o)) => RenderError::at(
            issue_file,
            None,
            format!(
                "the body's HTML does not fit in the layout's MJML ({reason}); check raw HTML in the Markdown"
            ),
        ),
        Some(o) => {
            let (line, column) = line_column(source, hidden.source_offset(o));
            RenderError {
                file: file.to_owned(),
                line: Some(line),
                column: Some(column),
                reason,
            }
        }
        None => RenderError::at(file, None, reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How herald's mrml opens the `<mj-preview>` text: hidden, with no colour of its own.
    const HIDDEN_PREVIEW: &str = r#"<div style="display:none;font-size:1px;line-height:1px;max-height:0px;max-width:0px;opacity:0;overflow:hidden;visibility:hidden;mso-hide:all;">"#;

    #[test]
    fn tags_skip_comments_and_declarations_and_know_void_elements() {
        let found: Vec<_> = tags("<!doctype html><!-- <b> --><p>a<br>b<img/></p>< 3")
            .map(|t| (t.name, t.depth_change()))
            .collect();
        assert_eq!(found, [("p", 1), ("br", 0), ("img", 0), ("p", -1)]);
    }

    #[test]
    fn an_error_after_wide_characters_points_into_its_line() {
        let mjml = "<!-- \u{3000} -->\n\n\u{3000}\u{3000}\u{3000}<mj-body><mj-raw><p a=></p></mj-raw></mj-body>";
        let (offset, reason) = mjml_to_html(mjml, None).unwrap_err();
        let offset = offset.expect("an offset");
        assert!(mjml.is_char_boundary(offset), "{offset}: {reason}");
        assert_eq!(line_column(mjml, offset), (3, 4), "{reason}");
        assert!(reason.contains("`<mj-body>`"), "{reason}");
    }

    #[test]
    fn the_preview_is_hidden_without_a_colour_and_the_language_is_never_und() {
        let doc = |mjml_attrs: &str| {
            format!(
                "<mjml{mjml_attrs}><mj-head><mj-preview>Three charts</mj-preview></mj-head>\
                 <mj-body><mj-text>Hi</mj-text></mj-body></mjml>"
            )
        };
        let html = mjml_to_html(&doc(""), Some("pt-BR")).unwrap();
        assert!(
            html.contains(&format!("{HIDDEN_PREVIEW}Three charts</div>")),
            "the preview is not hidden as herald's mrml hides it: {html}"
        );
        assert!(!html.contains("#ffffff"), "{html}");
        assert!(html.contains(r#"<html lang="pt-BR""#), "{html}");
        assert!(!html.contains("und"), "{html}");
        let own = mjml_to_html(&doc(r#" lang="fr""#), Some("pt-BR")).unwrap();
        assert!(
            own.contains(r#"<html lang="fr""#),
            "the document's own lang wins: {own}"
        );
    }

    #[test]
    fn elements_nested_too_deep_are_refused_closed_or_not() {
        for (open, close) in [("<div>", "</div>"), ("<div>", ""), ("<div a=b/>", "")] {
            let deep = format!(
                "<mjml><mj-body>{}{}</mj-body></mjml>",
                open.repeat(MAX_ELEMENT_DEPTH),
                close.repeat(MAX_ELEMENT_DEPTH)
            );
            let (offset, reason) = mjml_to_html(&deep, None).unwrap_err();
            assert!(
                reason.contains("`<div>` is nested more than 64"),
                "{reason}"
            );
            let at = offset.unwrap();
            assert_eq!(&deep[at..at + 4], "<div", "{open}");
        }
        // Far deeper, unclosed, and in elements mrml knows: refused, no stack overflow.
        let deep = format!("<mjml><mj-body>{}", "<mj-wrapper>".repeat(100_000));
        let (_, reason) = mjml_to_html(&deep, None).unwrap_err();
        assert!(reason.contains("nested more than"), "{reason}");
    }

    #[test]
    fn deep_html_in_an_ending_tag_is_its_raw_content_and_is_not_refused() {
        let html = "<div>".repeat(2 * MAX_ELEMENT_DEPTH) + "deep";
        let mjml = format!("<mjml><mj-body><mj-raw>{html}</mj-raw></mj-body></mjml>");
        assert!(mjml_to_html(&mjml, None).unwrap().contains(&html));
    }
}
