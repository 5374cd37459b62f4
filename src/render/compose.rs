//! Composing an issue: source + layout → MJML → HTML with mrml, and the plain-text twin, once per issue.
//!
//! Placeholders are swapped for sentinels before Markdown and MJML see them (see [`super::stash`]).
//! After rendering, issue-level sentinels become their values and recipient-level ones become canonical
//! `{{ placeholders }}` in the stored templates. Nesting too deep for the renderer is refused before it
//! runs (see [`super::limits`]); an HTML part Gmail would clip is a warning in [`RenderedIssue`].

use super::{
    Layout, RenderError,
    headline::drop_repeated_headline,
    html_text::html_to_text,
    limits::GMAIL_CLIP_BYTES,
    markdown,
    mjml::{locate_error, mjml_to_html, mjml_to_html_warned},
    placeholder::{Piece, Var, line_column, neutralise_unknown, scan},
    source::{IssueSource, SourceKind},
    stash::{IssueValues, Stash},
};

/// Issue-level values, filled once.
#[derive(Debug, Clone)]
pub struct IssueContext {
    pub list_name: String,
    pub list_address: String,
    /// The list's BCP 47 language tag: `{{ list.language }}`, and the `lang` of a document whose
    /// `<mjml>` names none (mrml would write `und`).
    pub list_language: String,
    /// The list's postal address, lines joined by `\n`; empty when it has none.
    pub list_postal_address: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedIssue {
    pub subject: String,
    pub preheader: Option<String>,
    pub html_template: String,
    pub text_template: String,
    /// What the operator should know but that does not stop the issue (an HTML part Gmail clips).
    pub warnings: Vec<String>,
}

/// How strict rendering is about what an issue needs to be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    /// `issue queue`: an issue without a subject or an unsubscribe link is refused.
    Queue,
    /// `herald render`: a designer's template is shown anyway, with a warning for each of those.
    Preview,
}

/// Renders an issue to be queued: see [`render_with`].
pub fn render_issue(
    source: &IssueSource,
    subject: Option<&str>,
    context: &IssueContext,
    layout: &Layout,
) -> Result<RenderedIssue, RenderError> {
    render_with(source, subject, context, layout, Strictness::Queue)
}

pub fn render_with(
    source: &IssueSource,
    subject: Option<&str>,
    context: &IssueContext,
    layout: &Layout,
    strictness: Strictness,
) -> Result<RenderedIssue, RenderError> {
    let file = source.file.as_str();
    let mut warnings = Vec::new();
    // A preview shows another tool's placeholders as written, as mjml would; queueing refuses them.
    let neutralised;
    let source = if strictness == Strictness::Preview {
        let (body, found) = neutralise_unknown(&source.body);
        for (offset, name) in &found {
            let (line, column) = line_column(&source.body, *offset);
            warnings.push(format!(
                "{file}:{}:{column}: `{{{{ {name} }}}}` is not a herald placeholder; shown as written (`issue queue` refuses it)",
                line + source.body_line - 1
            ));
        }
        neutralised = IssueSource {
            body,
            ..source.clone()
        };
        &neutralised
    } else {
        source
    };
    let how = match source.kind {
        SourceKind::Markdown => "add `subject:` to the front matter",
        SourceKind::Mjml => "add <mj-title> to <mj-head>",
    };
    let subject = match subject
        .map(str::to_owned)
        .or_else(|| source.front.subject.clone())
        .filter(|s| !s.trim().is_empty())
    {
        Some(s) => s,
        None if strictness == Strictness::Preview => {
            warnings.push(format!(
                "{file}: the issue has no subject ({how} or pass --subject); `issue queue` refuses it"
            ));
            "(no subject)".to_owned()
        }
        None => {
            return Err(RenderError::at(
                file,
                None,
                format!("the issue has no subject: {how} or pass --subject"),
            ));
        }
    };
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
        ("list's postal address", &values.context.list_postal_address),
    ] {
        if value.contains("{{") || value.contains("}}") {
            return Err(RenderError::at(
                file,
                None,
                format!("the {what} must not contain `{{{{` or `}}}}`"),
            ));
        }
    }
    let lang = Some(values.context.list_language.as_str()).filter(|l| !l.is_empty());
    let mut stash = Stash::new(&[&source.body, &layout.mjml, &layout.text]);
    // What mrml let pass but mjml 4 warns about too (an unclosed element, ignored content), located.
    let mut located: Vec<RenderError> = Vec::new();
    let (html, text) = match source.kind {
        SourceKind::Markdown => {
            // What the layout shows, read by the placeholder scanner itself (a broken layout is
            // reported below, by `hide`).
            let layout_vars: Vec<Var> = scan(&layout.mjml)
                .map(|pieces| {
                    pieces
                        .into_iter()
                        .filter_map(|p| match p {
                            Piece::Slot(p, _) => Some(p.var),
                            Piece::Text(_) => None,
                        })
                        .collect()
                })
                .unwrap_or_default();
            let shows = |var: Var| layout_vars.contains(&var);
            let (body, notes) = drop_repeated_headline(
                &source.body,
                source.body_line,
                file,
                (&values.title, shows(Var::Title)),
                (&values.deck, shows(Var::Deck)),
            );
            warnings.extend(notes);
            let body = stash.hide(&body, file, source.body_line, None)?;
            markdown::check_depth(&body.text).map_err(|(offset, reason)| {
                let (line, column) = line_column(&source.body, body.source_offset(offset));
                RenderError {
                    file: file.to_owned(),
                    line: Some(line + source.body_line - 1),
                    column: Some(column),
                    reason,
                }
            })?;
            let mjml = stash.hide(
                &layout.mjml,
                &layout.mjml_file,
                1,
                Some(&markdown::to_html(&body.text)),
            )?;
            let (html, warned) =
                mjml_to_html_warned(&mjml.text, lang).map_err(|(offset, reason)| {
                    locate_error(&layout.mjml, &layout.mjml_file, &mjml, file, offset, reason)
                })?;
            located.extend(warned.into_iter().map(|(offset, reason)| {
                locate_error(
                    &layout.mjml,
                    &layout.mjml_file,
                    &mjml,
                    file,
                    Some(offset),
                    reason,
                )
            }));
            let text = stash.hide(
                &layout.text,
                &layout.text_file,
                1,
                Some(&markdown::to_text(&body.text)),
            )?;
            (html, text.text)
        }
        SourceKind::Mjml => {
            let mjml = stash.hide(&source.body, file, 1, None)?;
            let (html, warned) =
                mjml_to_html_warned(&mjml.text, lang).map_err(|(offset, reason)| {
                    locate_error(&source.body, file, &mjml, file, offset, reason)
                })?;
            located.extend(warned.into_iter().map(|(offset, reason)| {
                locate_error(&source.body, file, &mjml, file, Some(offset), reason)
            }));
            let text = html_to_text(&html);
            (html, text)
        }
    };
    if !stash
        .placeholders
        .iter()
        .any(|p| p.var == Var::UnsubscribeUrl)
    {
        let why = "neither the issue nor its layout has an {{ unsubscribe_url }} link; every issue must let readers leave";
        if strictness == Strictness::Queue {
            return Err(RenderError::at(file, None, why));
        }
        warnings.push(format!("{file}: {why} (`issue queue` refuses it)"));
    }
    let refused = |reason| RenderError::at(file, None, reason);
    let html_template = stash.reveal(&html, &values, true).map_err(refused)?;
    // The link can be written and still not reach the HTML: inside an element left open, which
    // mjml renders empty (and herald, as mjml does).
    if !html_template.contains("{{ unsubscribe_url")
        && stash
            .placeholders
            .iter()
            .any(|p| p.var == Var::UnsubscribeUrl)
    {
        let why = "the {{ unsubscribe_url }} link does not reach the rendered HTML";
        let mut error = match located.first() {
            Some(w) => RenderError {
                reason: format!("{why}: {}", w.reason),
                ..w.clone()
            },
            None => RenderError::at(file, None, why),
        };
        if strictness == Strictness::Queue {
            error
                .reason
                .push_str("; every issue must let readers leave");
            return Err(error);
        }
        warnings.push(format!("{error} (`issue queue` refuses it)"));
    }
    warnings.extend(located.iter().map(|w| w.to_string()));
    let text_template = stash.reveal(&text, &values, false).map_err(refused)?;
    if html_template.len() > GMAIL_CLIP_BYTES {
        warnings.push(format!(
            "{file}: the HTML part is {} KB; Gmail clips messages over {} KB, hiding the rest and the unsubscribe link behind \"View entire message\"",
            html_template.len().div_ceil(1024),
            GMAIL_CLIP_BYTES / 1024
        ));
    }
    Ok(RenderedIssue {
        subject,
        preheader,
        html_template,
        text_template,
        warnings,
    })
}

/// The MJML document herald hands to mrml for `source` (placeholders as sentinels), and mrml's HTML for
/// it: what the benchmark times and gives the reference MJML renderer.
pub fn composed_mjml(source: &IssueSource, layout: &Layout) -> Result<String, RenderError> {
    let mut stash = Stash::new(&[&source.body, &layout.mjml, &layout.text]);
    let file = source.file.as_str();
    let body = stash.hide(&source.body, file, source.body_line, None)?;
    Ok(match source.kind {
        SourceKind::Markdown => {
            stash
                .hide(
                    &layout.mjml,
                    &layout.mjml_file,
                    1,
                    Some(&markdown::to_html(&body.text)),
                )?
                .text
        }
        SourceKind::Mjml => body.text,
    })
}

/// mrml's rendering of an MJML document, for the benchmark.
pub fn render_mjml(mjml: &str) -> Result<String, String> {
    mjml_to_html(mjml, None).map_err(|(_, reason)| reason)
}

struct Values {
    subject: String,
    title: String,
    deck: String,
    preheader: String,
    context: IssueContext,
}

impl IssueValues for Values {
    fn get(&self, var: &Var) -> &str {
        match var {
            Var::Subject => &self.subject,
            Var::Title => &self.title,
            Var::Deck => &self.deck,
            Var::Preheader => &self.preheader,
            Var::ListName => &self.context.list_name,
            Var::ListAddress => &self.context.list_address,
            Var::ListLanguage => &self.context.list_language,
            Var::ListPostalAddress => &self.context.list_postal_address,
            _ => "",
        }
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
            list_language: "pt-BR".into(),
            list_postal_address: "Weekly & Co Ltd\n1 Main Street".into(),
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
        assert!(!out.html_template.contains("hrldph"));
        assert!(out.html_template.contains("<html lang=\"pt-BR\""));
        assert!(
            out.html_template
                .contains("Weekly &amp; Co Ltd<br />\n1 Main Street</div>")
        );
        assert!(
            out.text_template
                .contains("news@example.com\nWeekly & Co Ltd\n1 Main Street")
        );
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
