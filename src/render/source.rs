//! Reading an issue's source file: Markdown with front matter, or a complete MJML document.
//!
//! Front matter is the block between a first line `---` and the next `---`, one `key: value` per line
//! (values may be quoted). Keys: `subject` (required unless `--subject` is given), `preheader`, `title`
//! (defaults to the subject), `deck` (defaults to the preheader); each at most once. Lines are compared
//! trimmed (any Unicode whitespace), and the body is cut at a line end, never inside a character. A
//! source is at most [`MAX_SOURCE_BYTES`].

use super::{RenderError, limits::MAX_SOURCE_BYTES};
use std::{io::Read, path::Path};

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
        let cannot_read =
            |e: std::io::Error| RenderError::at(&file, None, format!("cannot read: {e}"));
        // Read one byte past the limit, so a huge file is refused without being loaded.
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_SOURCE_BYTES as u64 + 1).read_to_end(&mut bytes))
            .map_err(cannot_read)?;
        if bytes.len() > MAX_SOURCE_BYTES {
            return Err(too_large(&file));
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
            RenderError::at(&file, Some(line), "the file is not valid UTF-8")
        })?;
        Self::parse(&file, kind, &text)
    }

    pub fn parse(file: &str, kind: SourceKind, text: &str) -> Result<Self, RenderError> {
        if text.len() > MAX_SOURCE_BYTES {
            return Err(too_large(file));
        }
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let whole = |front, body: &str, body_line| Self {
            file: file.to_owned(),
            kind,
            front,
            body: body.to_owned(),
            body_line,
        };
        if kind == SourceKind::Mjml {
            let front = FrontMatter {
                subject: mj_title(text),
                ..FrontMatter::default()
            };
            return Ok(whole(front, text, 1));
        }
        // Lines with their ends, so that `offset` always sits on a line start (a char boundary).
        let mut lines = text.split_inclusive('\n');
        let Some(first) = lines.next().filter(|l| l.trim_end() == "---") else {
            return Ok(whole(FrontMatter::default(), text, 1));
        };
        let mut front = FrontMatter::default();
        let mut seen: [Option<usize>; 4] = [None; 4];
        let mut offset = first.len();
        for (index, line) in lines.enumerate() {
            let number = index + 2;
            offset += line.len();
            let trimmed = line.trim();
            if trimmed == "---" {
                return Ok(whole(front, &text[offset..], number + 1));
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
            let key = key.trim();
            let value = unquote(value.trim());
            let (slot, first_seen) = match key {
                "subject" => (&mut front.subject, &mut seen[0]),
                "preheader" => (&mut front.preheader, &mut seen[1]),
                "title" => (&mut front.title, &mut seen[2]),
                "deck" => (&mut front.deck, &mut seen[3]),
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
            if let Some(earlier) = first_seen {
                return Err(RenderError::at(
                    file,
                    Some(number),
                    format!("front matter key `{key}` is given twice (first on line {earlier})"),
                ));
            }
            *first_seen = Some(number);
            *slot = (!value.is_empty()).then(|| value.to_owned());
        }
        Err(RenderError::at(
            file,
            Some(1),
            "front matter opened with `---` is never closed by a second `---`",
        ))
    }
}

fn too_large(file: &str) -> RenderError {
    RenderError::at(
        file,
        None,
        format!(
            "the issue is larger than {} MiB; herald refuses bigger sources (link to long material instead)",
            MAX_SOURCE_BYTES / (1024 * 1024)
        ),
    )
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

    #[test]
    fn fence_lines_with_trailing_whitespace_still_open_and_close_the_front_matter() {
        for space in [" ", "   ", "\t", "\u{3000}", "\u{2003}", "\r"] {
            let text = format!("---{space}\nsubject: S\n---{space}\nBody\n");
            let src = IssueSource::parse("a.md", SourceKind::Markdown, &text).unwrap();
            assert_eq!(src.front.subject.as_deref(), Some("S"), "{space:?}");
            assert_eq!(src.body, "Body\n", "{space:?}");
            assert_eq!(src.body_line, 4);
        }
    }

    #[test]
    fn a_front_matter_key_given_twice_is_refused_naming_both_lines() {
        let err = IssueSource::parse(
            "a.md",
            SourceKind::Markdown,
            "---\nsubject: One\ndeck: d\nsubject: Two\n---\n",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "a.md:4: front matter key `subject` is given twice (first on line 2)"
        );
    }

    #[test]
    fn a_source_over_the_size_limit_is_refused() {
        let text = format!("---\nsubject: S\n---\n{}", "a".repeat(MAX_SOURCE_BYTES));
        let err = IssueSource::parse("big.md", SourceKind::Markdown, &text).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("big.md: the issue is larger than 1 MiB"),
            "{err}"
        );
    }
}
