//! Composing an issue: source + layout → MJML → HTML with mrml, and the plain-text twin, once per issue.
//!
//! Placeholders are swapped for alphanumeric sentinels (`hrldph3xxz`) before Markdown and MJML see them,
//! so neither escapes nor URL-encodes them, and each sentinel is padded to its placeholder's length so
//! that an MJML error's byte offset still points at the right line of the file the operator wrote. After
//! rendering, issue-level sentinels become their values and recipient-level ones become canonical
//! `{{ placeholders }}` in the stored templates.

use super::{
    Layout, RenderError, escape_html,
    html_text::html_to_text,
    markdown,
    placeholder::{Piece, Placeholder, Var, line_column, scan},
    source::{IssueSource, SourceKind},
};
use std::ops::Range;

/// Issue-level values, filled once.
#[derive(Debug, Clone)]
pub struct IssueContext {
    pub list_name: String,
    pub list_address: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedIssue {
    pub subject: String,
    pub preheader: Option<String>,
    pub html_template: String,
    pub text_template: String,
}

const SENTINEL: &str = "hrldph";

pub fn render_issue(
    source: &IssueSource,
    subject: Option<&str>,
    context: &IssueContext,
    layout: &Layout,
) -> Result<RenderedIssue, RenderError> {
    let file = source.file.as_str();
    let subject = subject
        .map(str::to_owned)
        .or_else(|| source.front.subject.clone())
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            let how = match source.kind {
                SourceKind::Markdown => "add `subject:` to the front matter",
                SourceKind::Mjml => "add <mj-title> to <mj-head>",
            };
            RenderError::at(
                file,
                None,
                format!("the issue has no subject: {how} or pass --subject"),
            )
        })?;
    if subject.contains(['\r', '\n']) {
        return Err(RenderError::at(
            file,
            None,
            "the subject must be a single line",
        ));
    }
    if subject.chars().count() > 500 {
        return Err(RenderError::at(
            file,
            None,
            "the subject is longer than 500 characters",
        ));
    }
    let preheader = source.front.preheader.clone();
    let values = Values {
        title: source
            .front
            .title
            .clone()
            .unwrap_or_else(|| subject.clone()),
        deck: source
            .front
            .deck
            .clone()
            .or_else(|| preheader.clone())
            .unwrap_or_default(),
        preheader: preheader.clone().unwrap_or_default(),
        subject: subject.clone(),
        context: context.clone(),
    };
    // Values filled in now end up inside the stored template, which is scanned for placeholders again
    // per message: `{{` in them would be read as one.
    for (what, value) in [
        ("subject", &values.subject),
        ("title", &values.title),
        ("deck", &values.deck),
        ("preheader", &values.preheader),
        ("list name", &values.context.list_name),
    ] {
        if value.contains("{{") || value.contains("}}") {
            return Err(RenderError::at(
                file,
                None,
                format!("the {what} must not contain `{{{{` or `}}}}`"),
            ));
        }
    }
    let mut stash = Stash::default();
    let (html, text) = match source.kind {
        SourceKind::Markdown => {
            let (body, _) = stash.hide(&source.body, file, source.body_line, None)?;
            let (mjml, content) = stash.hide(
                &layout.mjml,
                &layout.mjml_file,
                1,
                Some(&markdown::to_html(&body)),
            )?;
            let html = mjml_to_html(&mjml).map_err(|(offset, reason)| {
                locate_layout_error(
                    &layout.mjml,
                    &layout.mjml_file,
                    file,
                    content,
                    offset,
                    reason,
                )
            })?;
            let (text, _) = stash.hide(
                &layout.text,
                &layout.text_file,
                1,
                Some(&markdown::to_text(&body)),
            )?;
            (html, text)
        }
        SourceKind::Mjml => {
            let (mjml, _) = stash.hide(&source.body, file, 1, None)?;
            let html = mjml_to_html(&mjml).map_err(|(offset, reason)| {
                let (line, column) = offset.map(|o| line_column(&source.body, o)).unzip();
                RenderError {
                    file: file.to_owned(),
                    line,
                    column,
                    reason,
                }
            })?;
            let text = html_to_text(&html);
            (html, text)
        }
    };
    if !stash
        .placeholders
        .iter()
        .any(|p| p.var == Var::UnsubscribeUrl)
    {
        return Err(RenderError::at(
            file,
            None,
            "neither the issue nor its layout has an {{ unsubscribe_url }} link; every issue must let readers leave",
        ));
    }
    Ok(RenderedIssue {
        subject,
        preheader,
        html_template: stash.reveal(&html, &values, true),
        text_template: stash.reveal(&text, &values, false),
    })
}

/// The MJML document herald hands to mrml for `source` (placeholders as sentinels), and mrml's HTML for
/// it: what the benchmark times and gives the reference MJML renderer.
pub fn composed_mjml(source: &IssueSource, layout: &Layout) -> Result<String, RenderError> {
    let mut stash = Stash::default();
    let file = source.file.as_str();
    let (body, _) = stash.hide(&source.body, file, source.body_line, None)?;
    Ok(match source.kind {
        SourceKind::Markdown => {
            stash
                .hide(
                    &layout.mjml,
                    &layout.mjml_file,
                    1,
                    Some(&markdown::to_html(&body)),
                )?
                .0
        }
        SourceKind::Mjml => body,
    })
}

/// mrml's rendering of an MJML document, for the benchmark.
pub fn render_mjml(mjml: &str) -> Result<String, String> {
    mjml_to_html(mjml).map_err(|(_, reason)| reason)
}

struct Values {
    subject: String,
    title: String,
    deck: String,
    preheader: String,
    context: IssueContext,
}

impl Values {
    fn get(&self, var: &Var) -> &str {
        match var {
            Var::Subject => &self.subject,
            Var::Title => &self.title,
            Var::Deck => &self.deck,
            Var::Preheader => &self.preheader,
            Var::ListName => &self.context.list_name,
            Var::ListAddress => &self.context.list_address,
            _ => "",
        }
    }
}

/// Placeholders seen so far, indexed by their sentinel number.
#[derive(Default)]
struct Stash {
    placeholders: Vec<Placeholder>,
}

impl Stash {
    /// Replaces each placeholder of `text` by a sentinel, and `{{ content }}` by `content` when given
    /// (returning where it landed). `first_line` is the file line where `text` starts.
    fn hide(
        &mut self,
        text: &str,
        file: &str,
        first_line: usize,
        content: Option<&str>,
    ) -> Result<(String, Option<Range<usize>>), RenderError> {
        let pieces = scan(text).map_err(|e| RenderError {
            file: file.to_owned(),
            line: Some(e.line + first_line - 1),
            column: Some(e.column),
            reason: e.reason,
        })?;
        let mut out = String::with_capacity(text.len() + content.map_or(0, str::len));
        let mut content_range = None;
        for piece in pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Slot(p, _) if p.var == Var::Content => {
                    let Some(content) = content else {
                        let (line, column) = line_column(text, out.len());
                        return Err(RenderError {
                            file: file.to_owned(),
                            line: Some(line + first_line - 1),
                            column: Some(column),
                            reason: "{{ content }} belongs in a layout, not in an issue".into(),
                        });
                    };
                    content_range = Some(out.len()..out.len() + content.len());
                    out.push_str(content);
                }
                Piece::Slot(p, width) => {
                    let n = self.placeholders.len();
                    self.placeholders.push(p);
                    let start = out.len();
                    out.push_str(SENTINEL);
                    out.push_str(&n.to_string());
                    while out.len() - start + 1 < width {
                        out.push('x');
                    }
                    out.push('z');
                }
            }
        }
        Ok((out, content_range))
    }

    /// Turns sentinels back: issue-level ones into their values, recipient-level ones into canonical
    /// placeholders for the per-message step.
    fn reveal(&self, text: &str, values: &Values, html: bool) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find(SENTINEL) {
            out.push_str(&rest[..at]);
            let after = &rest[at + SENTINEL.len()..];
            let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            let xs = after[digits..].len() - after[digits..].trim_start_matches('x').len();
            let placeholder = after[..digits]
                .parse::<usize>()
                .ok()
                .and_then(|n| self.placeholders.get(n));
            match placeholder {
                Some(p) if after[digits + xs..].starts_with('z') => {
                    if p.var.is_per_recipient() {
                        out.push_str(&p.to_string());
                    } else {
                        let v = values.get(&p.var);
                        let v = if v.is_empty() {
                            p.default.as_deref().unwrap_or("")
                        } else {
                            v
                        };
                        out.push_str(&if html { escape_html(v) } else { v.into() });
                    }
                    rest = &after[digits + xs + 1..];
                }
                _ => {
                    out.push_str(SENTINEL);
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// Checks that `<mjml>` and `<mj-*>` elements nest properly, naming the offending tag's offset: mrml
/// only says "end of stream" for an element left open.
fn check_nesting(mjml: &str) -> Result<(), (Option<usize>, String)> {
    let mut open: Vec<(&str, usize)> = Vec::new();
    let mut at = 0;
    while let Some(lt) = mjml[at..].find('<').map(|i| i + at) {
        if mjml[lt..].starts_with("<!--") {
            at = mjml[lt..].find("-->").map_or(mjml.len(), |i| lt + i + 3);
            continue;
        }
        let Some(gt) = mjml[lt..].find('>').map(|i| i + lt) else {
            break;
        };
        at = gt + 1;
        let tag = &mjml[lt + 1..gt];
        let closing = tag.starts_with('/');
        let name = tag
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or("");
        if !(name == "mjml" || name.starts_with("mj-")) || tag.ends_with('/') {
            continue;
        }
        if !closing {
            open.push((name, lt));
            continue;
        }
        match open.pop() {
            Some((expected, _)) if expected == name => {}
            Some((expected, opened)) => {
                let (line, _) = line_column(mjml, opened);
                return Err((
                    Some(lt),
                    format!(
                        "invalid MJML: `</{name}>` closes `<{expected}>` opened on line {line}"
                    ),
                ));
            }
            None => {
                return Err((
                    Some(lt),
                    format!("invalid MJML: `</{name}>` has no matching `<{name}>`"),
                ));
            }
        }
    }
    match open.pop() {
        Some((name, opened)) => Err((
            Some(opened),
            format!("invalid MJML: `<{name}>` is never closed"),
        )),
        None => Ok(()),
    }
}

/// Renders MJML to HTML; an error carries the byte offset mrml reported, if any.
fn mjml_to_html(mjml: &str) -> Result<String, (Option<usize>, String)> {
    use mrml::prelude::parser::Error as E;
    check_nesting(mjml)?;
    let parsed = mrml::parse(mjml).map_err(|e| {
        let offset = match &e {
            E::UnexpectedElement { position, .. }
            | E::UnexpectedToken { position, .. }
            | E::MissingAttribute { position, .. }
            | E::InvalidAttribute { position, .. }
            | E::InvalidFormat { position, .. }
            | E::IncludeLoaderError { position, .. } => Some(position.start),
            E::ParserError { source, .. } => {
                let p = source.pos();
                let (row, col) = (p.row as usize, p.col as usize);
                Some(
                    mjml.split_inclusive('\n')
                        .take(row.saturating_sub(1))
                        .map(str::len)
                        .sum::<usize>()
                        + col.saturating_sub(1),
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
            _ => format!("invalid MJML: {reason}"),
        };
        (offset, reason)
    })?;
    parsed
        .element
        .render(&mrml::prelude::render::RenderOptions::default())
        .map_err(|e| (None, format!("MJML cannot be rendered: {e}")))
}

/// Points an MJML error of a Markdown issue at the layout line, or at the issue when it lies in the body.
fn locate_layout_error(
    layout: &str,
    layout_file: &str,
    issue_file: &str,
    content: Option<Range<usize>>,
    offset: Option<usize>,
    reason: String,
) -> RenderError {
    match (offset, content) {
        (Some(o), Some(c)) if c.contains(&o) => RenderError::at(
            issue_file,
            None,
            format!(
                "the body's HTML does not fit in the layout's MJML ({reason}); check raw HTML in the Markdown"
            ),
        ),
        (Some(o), content) => {
            let shift = content
                .filter(|c| o >= c.end)
                .map_or(0, |c| c.len().saturating_sub("{{ content }}".len()));
            let (line, column) = line_column(layout, o - shift);
            RenderError {
                file: layout_file.to_owned(),
                line: Some(line),
                column: Some(column),
                reason,
            }
        }
        (None, _) => RenderError::at(layout_file, None, reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Layouts;

    fn context() -> IssueContext {
        IssueContext {
            list_name: "Weekly & Co".into(),
            list_address: "news@example.com".into(),
        }
    }

    fn md(text: &str) -> IssueSource {
        IssueSource::parse("issue.md", SourceKind::Markdown, text).unwrap()
    }

    #[test]
    fn markdown_goes_into_the_default_layout_with_placeholders_kept_for_each_recipient() {
        let layout = Layouts::new(std::path::Path::new("templates"))
            .load("default")
            .unwrap();
        let src = md(
            "---\nsubject: The week\ndeck: What moved\n---\nHi {{ subscriber.first_name | default: \"reader\" }},\n\n[Leave]({{ unsubscribe_url }})\n",
        );
        let out = render_issue(&src, None, &context(), &layout).unwrap();
        assert!(out.html_template.contains("Weekly &amp; Co"));
        assert!(
            out.html_template
                .contains("Hi {{ subscriber.first_name | default: \"reader\" }},")
        );
        assert!(out.html_template.contains("href=\"{{ unsubscribe_url }}\""));
        assert!(out.text_template.contains("What moved"));
        assert!(!out.html_template.contains(SENTINEL));
    }

    #[test]
    fn an_unclosed_mjml_element_is_reported_with_its_line() {
        let src = IssueSource::parse(
            "bad.mjml",
            SourceKind::Mjml,
            "<mjml>\n<mj-body>\n<mj-section><mj-column>\n<mj-text>{{ unsubscribe_url }}</mj-column>\n</mj-section></mj-body></mjml>",
        )
        .unwrap();
        let layout = Layouts::new(std::path::Path::new("templates"))
            .load("default")
            .unwrap();
        let err = render_issue(&src, Some("S"), &context(), &layout).unwrap_err();
        assert_eq!(err.file, "bad.mjml");
        assert_eq!(err.line, Some(4), "{err}");
    }
}
