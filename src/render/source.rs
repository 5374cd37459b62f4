//! Reading an issue's source file: Markdown with front matter, or a complete MJML document.
//!
//! Front matter is the block between a first line `---` and the next `---`, one `key: value` per line
//! (values may be quoted). Keys: `subject` (required unless `--subject` is given), `preheader`, `title`
//! (defaults to the subject), `deck` (defaults to the preheader).

use super::RenderError;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Markdown,
    Mjml,
}

#[derive(Debug, Clone, Default)]
pub struct FrontMatter {
    pub subject: Option<String>,
    pub preheader: Option<String>,
    pub title: Option<String>,
    pub deck: Option<String>,
}

#[derive(Debug, Clone)]
pub struct IssueSource {
    pub file: String,
    pub kind: SourceKind,
    pub front: FrontMatter,
    /// The body (for Markdown, what follows the front matter).
    pub body: String,
    /// 1-based line of the file where `body` starts, for error messages.
    pub body_line: usize,
}

impl IssueSource {
    pub fn read(path: &Path) -> Result<Self, RenderError> {
        let file = path.display().to_string();
        let kind = match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("md" | "markdown") => SourceKind::Markdown,
            Some("mjml") => SourceKind::Mjml,
            _ => {
                return Err(RenderError::at(
                    &file,
                    None,
                    "the issue file must end in .md or .mjml",
                ));
            }
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| RenderError::at(&file, None, format!("cannot read: {e}")))?;
        Self::parse(&file, kind, &text)
    }

    pub fn parse(file: &str, kind: SourceKind, text: &str) -> Result<Self, RenderError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        if kind == SourceKind::Mjml {
            let subject = mj_title(text);
            let front = FrontMatter {
                subject,
                ..FrontMatter::default()
            };
            return Ok(Self {
                file: file.to_owned(),
                kind,
                front,
                body: text.to_owned(),
                body_line: 1,
            });
        }
        let mut lines = text.split_inclusive('\n');
        if lines.next().map(str::trim_end) != Some("---") {
            return Ok(Self {
                file: file.to_owned(),
                kind,
                front: FrontMatter::default(),
                body: text.to_owned(),
                body_line: 1,
            });
        }
        let mut front = FrontMatter::default();
        let mut consumed = 4;
        for (index, line) in lines.enumerate() {
            let number = index + 2;
            consumed += line.len();
            let trimmed = line.trim();
            if trimmed == "---" {
                return Ok(Self {
                    file: file.to_owned(),
                    kind,
                    front,
                    body: text[consumed.min(text.len())..].to_owned(),
                    body_line: number + 1,
                });
            }
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let (key, value) = trimmed.split_once(':').ok_or_else(|| {
                RenderError::at(
                    file,
                    Some(number),
                    format!("front matter line `{trimmed}` is not `key: value`"),
                )
            })?;
            let value = unquote(value.trim());
            let slot = match key.trim() {
                "subject" => &mut front.subject,
                "preheader" => &mut front.preheader,
                "title" => &mut front.title,
                "deck" => &mut front.deck,
                other => {
                    return Err(RenderError::at(
                        file,
                        Some(number),
                        format!(
                            "unknown front matter key `{other}` (known: subject, preheader, title, deck)"
                        ),
                    ));
                }
            };
            *slot = (!value.is_empty()).then(|| value.to_owned());
        }
        Err(RenderError::at(
            file,
            Some(1),
            "front matter opened with `---` is never closed by a second `---`",
        ))
    }
}

fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return inner;
        }
    }
    v
}

/// The text of `<mj-title>`, which an MJML issue may use as its subject.
fn mj_title(text: &str) -> Option<String> {
    let start = text.find("<mj-title>")? + "<mj-title>".len();
    let end = text[start..].find("</mj-title>")? + start;
    let title = text[start..end].trim();
    (!title.is_empty() && !title.contains("{{")).then(|| title.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_is_read_and_the_body_starts_after_it() {
        let src = IssueSource::parse(
            "a.md",
            SourceKind::Markdown,
            "---\nsubject: \"Hello: world\"\ndeck: Why\n---\nBody\n",
        )
        .unwrap();
        assert_eq!(src.front.subject.as_deref(), Some("Hello: world"));
        assert_eq!(src.front.deck.as_deref(), Some("Why"));
        assert_eq!(src.body, "Body\n");
        assert_eq!(src.body_line, 5);
    }

    #[test]
    fn bad_front_matter_names_its_line() {
        let err = IssueSource::parse(
            "a.md",
            SourceKind::Markdown,
            "---\nsubject: x\nauthor: me\n---\n",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "a.md:3: unknown front matter key `author` (known: subject, preheader, title, deck)"
        );
        let err =
            IssueSource::parse("a.md", SourceKind::Markdown, "---\nsubject: x\n").unwrap_err();
        assert_eq!(err.line, Some(1));
    }
}
