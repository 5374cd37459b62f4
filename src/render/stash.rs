//! Hiding placeholders from Markdown and MJML, and bringing them back afterwards.
//!
//! Each `{{ placeholder }}` becomes a sentinel, `PREFIX` + its number + `z`, made of ASCII letters and
//! digits only, so that neither Markdown nor MJML escapes or URL-encodes it. `PREFIX` is `hrldph` and
//! 16 hex digits of a SHA-256 over every text of this render: text that spells a sentinel (typed, or
//! produced by an HTML entity that Markdown decodes) would have to contain its own hash, so a sentinel
//! in the output was put there by [`Stash::hide`] and nothing else.
//!
//! Sentinels are not as long as the placeholders they replace; each [`Hidden`] text keeps where its
//! replacements sit, so that an MJML error's byte offset is mapped back to the file the operator wrote.

use super::{
    RenderError, escape_html,
    placeholder::{Piece, Placeholder, Var, line_column, scan},
};
use sha2::{Digest, Sha256};
use std::{fmt::Write, ops::Range};

/// Text with its placeholders hidden.
#[derive(Debug)]
pub struct Hidden {
    pub text: String,
    /// Where `{{ content }}` was put, when it was given.
    pub content: Option<Range<usize>>,
    /// Each replacement, in order.
    swaps: Vec<Swap>,
}

#[derive(Debug)]
struct Swap {
    /// Byte range in the hidden text.
    hidden: Range<usize>,
    /// Byte range in the source text.
    source: Range<usize>,
}

impl Hidden {
    /// The offset in the source text of byte `offset` of the hidden text; inside a replacement, the
    /// start of the placeholder (or `{{ content }}`) it replaced.
    pub fn source_offset(&self, offset: usize) -> usize {
        let before = self.swaps.partition_point(|s| s.hidden.start <= offset);
        match before.checked_sub(1).map(|i| &self.swaps[i]) {
            None => offset,
            Some(s) if offset < s.hidden.end => s.source.start,
            Some(s) => s.source.end + (offset - s.hidden.end),
        }
    }
}

/// The values an issue fills once, by placeholder.
pub trait IssueValues {
    fn get(&self, var: &Var) -> &str;
}

/// Placeholders seen so far, indexed by their sentinel number.
pub struct Stash {
    prefix: String,
    pub placeholders: Vec<Placeholder>,
}

impl Stash {
    /// A stash for one render of `texts` (every text that will be hidden or rendered with it).
    pub fn new(texts: &[&str]) -> Self {
        let mut hash = Sha256::new();
        for text in texts {
            hash.update((text.len() as u64).to_le_bytes());
            hash.update(text.as_bytes());
        }
        let mut prefix = String::from("hrldph");
        for byte in &hash.finalize()[..8] {
            let _ = write!(prefix, "{byte:02x}");
        }
        Self {
            prefix,
            placeholders: Vec::new(),
        }
    }

    /// Replaces each placeholder of `text` by a sentinel, and `{{ content }}` by `content` when given.
    /// `first_line` is the file line where `text` starts.
    pub fn hide(
        &mut self,
        text: &str,
        file: &str,
        first_line: usize,
        content: Option<&str>,
    ) -> Result<Hidden, RenderError> {
        let pieces = scan(text).map_err(|e| RenderError {
            file: file.to_owned(),
            line: Some(e.line + first_line - 1),
            column: Some(e.column),
            reason: e.reason,
        })?;
        let mut out = String::with_capacity(text.len() + content.map_or(0, str::len));
        let mut content_range = None;
        let mut swaps = Vec::new();
        let mut source_at = 0;
        for piece in pieces {
            let start = out.len();
            let source_len = match piece {
                Piece::Text(t) => {
                    out.push_str(t);
                    source_at += t.len();
                    continue;
                }
                Piece::Slot(p, width) if p.var == Var::Content => {
                    let Some(content) = content else {
                        let (line, column) = line_column(text, source_at);
                        return Err(RenderError {
                            file: file.to_owned(),
                            line: Some(line + first_line - 1),
                            column: Some(column),
                            reason: "{{ content }} belongs in a layout, not in an issue".into(),
                        });
                    };
                    out.push_str(content);
                    content_range = Some(start..out.len());
                    width
                }
                Piece::Slot(p, width) => {
                    let n = self.placeholders.len();
                    self.placeholders.push(p);
                    let _ = write!(out, "{}{n}z", self.prefix);
                    width
                }
            };
            swaps.push(Swap {
                hidden: start..out.len(),
                source: source_at..source_at + source_len,
            });
            source_at += source_len;
        }
        Ok(Hidden {
            text: out,
            content: content_range,
            swaps,
        })
    }

    /// Turns sentinels back: issue-level ones into their values, recipient-level ones into canonical
    /// placeholders for the per-message step. Refused when the result holds any other `{{`: braces
    /// written as HTML entities (`&#123;`), which Markdown decodes, would otherwise become a placeholder,
    /// or a stored template that cannot be filled at send time.
    pub fn reveal(
        &self,
        text: &str,
        values: &dyn IssueValues,
        html: bool,
    ) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut kept = Vec::new();
        let mut rest = text;
        while let Some(at) = rest.find(&self.prefix) {
            out.push_str(&rest[..at]);
            let after = &rest[at + self.prefix.len()..];
            let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            let placeholder = after[..digits]
                .parse::<usize>()
                .ok()
                .and_then(|n| self.placeholders.get(n))
                .filter(|_| after[digits..].starts_with('z'));
            let Some(p) = placeholder else {
                // Not one of ours (cut by Markdown, say): kept as it is.
                out.push_str(&self.prefix);
                rest = after;
                continue;
            };
            if p.var.is_per_recipient() {
                out.push_str(&p.to_string());
                kept.push(p);
            } else {
                let v = values.get(&p.var);
                let v = if v.is_empty() {
                    p.default.as_deref().unwrap_or("")
                } else {
                    v
                };
                match (html, &p.var) {
                    // The postal address is one address line per line, in the HTML part too.
                    (true, Var::ListPostalAddress) => {
                        out.push_str(&escape_html(v).replace('\n', "<br />\n"))
                    }
                    (true, _) => out.push_str(&escape_html(v)),
                    (false, _) => out.push_str(v),
                }
            }
            rest = &after[digits + 1..];
        }
        out.push_str(rest);
        let only_ours = scan(&out).is_ok_and(|pieces| {
            pieces
                .into_iter()
                .filter_map(|piece| match piece {
                    Piece::Slot(p, _) => Some(p),
                    Piece::Text(_) => None,
                })
                .eq(kept.into_iter().cloned())
        });
        if only_ours {
            Ok(out)
        } else {
            Err(
                "the rendered issue has `{{` that is not a placeholder (braces written as `&#123;`?); \
                 herald would read it as one: write `{ {` instead"
                    .into(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Titled;
    impl IssueValues for Titled {
        fn get(&self, var: &Var) -> &str {
            if *var == Var::Title { "T&C" } else { "" }
        }
    }

    #[test]
    fn sentinels_come_back_as_values_or_canonical_placeholders() {
        let text = "A {{title}} for {{ subscriber.name | default: 'you' }}.";
        let mut stash = Stash::new(&[text]);
        let hidden = stash.hide(text, "a.md", 1, None).unwrap();
        assert!(!hidden.text.contains("{{"));
        assert_eq!(
            stash.reveal(&hidden.text, &Titled, true).unwrap(),
            "A T&amp;C for {{ subscriber.name | default: \"you\" }}."
        );
    }

    #[test]
    fn a_typed_sentinel_stays_text() {
        let text = "hrldph0z and hrldph0xxz stay {{ title }}";
        let mut stash = Stash::new(&[text]);
        let hidden = stash.hide(text, "a.md", 1, None).unwrap();
        assert_eq!(
            stash.reveal(&hidden.text, &Titled, false).unwrap(),
            "hrldph0z and hrldph0xxz stay T&C"
        );
    }

    #[test]
    fn braces_that_rendering_turned_into_a_placeholder_are_refused() {
        for rendered in ["{{ subscriber.email }}", "{{ nonsense", "{SENTINEL"] {
            let text = "{{ subscriber.name }}";
            let mut stash = Stash::new(&[text]);
            let hidden = stash.hide(text, "a.md", 1, None).unwrap();
            let rendered = rendered.replace("SENTINEL", &hidden.text);
            let err = stash.reveal(&rendered, &Titled, true).unwrap_err();
            assert!(
                err.contains("`{{` that is not a placeholder"),
                "{rendered}: {err}"
            );
        }
    }

    #[test]
    fn offsets_after_a_replacement_map_back_to_the_source() {
        let text = "ab{{ title }}cd{{ content }}ef";
        let mut stash = Stash::new(&[text]);
        let hidden = stash
            .hide(text, "l.mjml", 1, Some("<p>long content</p>"))
            .unwrap();
        let at = |needle: &str| hidden.text.find(needle).unwrap();
        assert_eq!(hidden.source_offset(at("cd")), text.find("cd").unwrap());
        assert_eq!(hidden.source_offset(at("ef")), text.find("ef").unwrap());
        assert_eq!(
            hidden.source_offset(at("long")),
            text.find("{{ content").unwrap()
        );
        assert_eq!(hidden.source_offset(1), 1);
    }
}
