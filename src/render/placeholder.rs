//! `{{ placeholder }}` syntax shared by layouts, issue sources and stored templates.
//!
//! A placeholder is `{{ path }}` or `{{ path | default: "text" }}`. Issue-level paths (`title`, `deck`,
//! `content`, `list.name`, `list.language`, …) are filled once when the issue is queued;
//! recipient-level paths (`subscriber.name`, `subscriber.attributes.city`, `unsubscribe_url`, …)
//! survive into the stored template and are filled per message.

use std::fmt;

/// What a placeholder refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Var {
    // Filled per message.
    SubscriberName,
    SubscriberFirstName,
    SubscriberEmail,
    Attribute(String),
    UnsubscribeUrl,
    /// The reader's copy of the message in a browser (`/v/TOKEN`).
    ViewUrl,
    /// The reader's subscription page (`/m/TOKEN`): change the name, leave this list or all.
    ManageUrl,
    // Filled once per issue.
    Subject,
    Title,
    Deck,
    Preheader,
    Content,
    ListName,
    ListAddress,
    ListLanguage,
    ListPostalAddress,
}

impl Var {
    fn parse(path: &str) -> Option<Var> {
        Some(match path {
            "subscriber.name" => Var::SubscriberName,
            "subscriber.first_name" => Var::SubscriberFirstName,
            "subscriber.email" => Var::SubscriberEmail,
            "unsubscribe_url" => Var::UnsubscribeUrl,
            "view_url" => Var::ViewUrl,
            "manage_url" => Var::ManageUrl,
            "subject" => Var::Subject,
            "title" => Var::Title,
            "deck" => Var::Deck,
            "preheader" => Var::Preheader,
            "content" => Var::Content,
            "list.name" => Var::ListName,
            "list.address" => Var::ListAddress,
            "list.language" => Var::ListLanguage,
            "list.postal_address" => Var::ListPostalAddress,
            other => {
                let key = other.strip_prefix("subscriber.attributes.")?;
                let ok = !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
                return ok.then(|| Var::Attribute(key.to_owned()));
            }
        })
    }

    fn path(&self) -> String {
        match self {
            Var::SubscriberName => "subscriber.name".into(),
            Var::SubscriberFirstName => "subscriber.first_name".into(),
            Var::SubscriberEmail => "subscriber.email".into(),
            Var::Attribute(key) => format!("subscriber.attributes.{key}"),
            Var::UnsubscribeUrl => "unsubscribe_url".into(),
            Var::ViewUrl => "view_url".into(),
            Var::ManageUrl => "manage_url".into(),
            Var::Subject => "subject".into(),
            Var::Title => "title".into(),
            Var::Deck => "deck".into(),
            Var::Preheader => "preheader".into(),
            Var::Content => "content".into(),
            Var::ListName => "list.name".into(),
            Var::ListAddress => "list.address".into(),
            Var::ListLanguage => "list.language".into(),
            Var::ListPostalAddress => "list.postal_address".into(),
        }
    }

    /// Filled per message rather than once per issue.
    pub fn is_per_recipient(&self) -> bool {
        matches!(
            self,
            Var::SubscriberName
                | Var::SubscriberFirstName
                | Var::SubscriberEmail
                | Var::Attribute(_)
                | Var::UnsubscribeUrl
                | Var::ViewUrl
                | Var::ManageUrl
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    pub var: Var,
    pub default: Option<String>,
}

impl fmt::Display for Placeholder {
    /// The canonical spelling, as stored in an issue's templates.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.default {
            // The value never holds the quote it was written with (`unquote` refuses that), so one of
            // the two quotes always fits, with no escaping.
            Some(d) if d.contains('"') => {
                write!(f, "{{{{ {} | default: '{d}' }}}}", self.var.path())
            }
            Some(d) => write!(f, "{{{{ {} | default: \"{d}\" }}}}", self.var.path()),
            None => write!(f, "{{{{ {} }}}}", self.var.path()),
        }
    }
}

/// A piece of text split at its placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    /// A placeholder and the length of its source text.
    Slot(Placeholder, usize),
}

/// A placeholder that does not parse, with its 1-based line and column in the scanned text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {reason}")]
pub struct PlaceholderError {
    pub line: usize,
    pub column: usize,
    pub reason: String,
}

/// Splits `text` into literal text and placeholders.
pub fn scan(text: &str) -> Result<Vec<Piece<'_>>, PlaceholderError> {
    let mut pieces = Vec::new();
    let mut rest = 0;
    while let Some(open) = text[rest..].find("{{").map(|i| i + rest) {
        if open > rest {
            pieces.push(Piece::Text(&text[rest..open]));
        }
        let error = |reason: String| {
            let (line, column) = line_column(text, open);
            PlaceholderError {
                line,
                column,
                reason,
            }
        };
        let close = text[open..]
            .find("}}")
            .map(|i| i + open)
            .ok_or_else(|| error("`{{` is never closed by `}}`".into()))?;
        let inner = text[open + 2..close].trim();
        pieces.push(Piece::Slot(
            parse_inner(inner).map_err(error)?,
            close + 2 - open,
        ));
        rest = close + 2;
    }
    if rest < text.len() {
        pieces.push(Piece::Text(&text[rest..]));
    }
    Ok(pieces)
}

/// For a preview of a template written for another tool: each `{{ Name }}` herald does not know
/// (`{{FirstName}}`, `{{Company}}`) is kept as written, with a word joiner (U+2060, invisible and
/// zero-width) between its braces so it is no longer a placeholder. Returns the text and, for each,
/// its byte offset in `text` and its name. Malformed placeholders of herald's own are left alone.
pub fn neutralise_unknown(text: &str) -> (String, Vec<(usize, String)>) {
    let mut out = String::with_capacity(text.len());
    let mut found = Vec::new();
    let mut rest = 0;
    while let Some(open) = text[rest..].find("{{").map(|i| i + rest) {
        let Some(close) = text[open..].find("}}").map(|i| i + open) else {
            break;
        };
        let inner = text[open + 2..close].trim();
        let path = inner.split_once('|').map_or(inner, |(p, _)| p.trim());
        out.push_str(&text[rest..open]);
        if Var::parse(path).is_none() {
            out.push_str("{\u{2060}{");
            out.push_str(&text[open + 2..close]);
            out.push_str("}\u{2060}}");
            found.push((open, path.to_owned()));
        } else {
            out.push_str(&text[open..close + 2]);
        }
        rest = close + 2;
    }
    out.push_str(&text[rest..]);
    (out, found)
}

fn parse_inner(inner: &str) -> Result<Placeholder, String> {
    let (path, filter) = match inner.split_once('|') {
        Some((p, f)) => (p.trim(), Some(f.trim())),
        None => (inner, None),
    };
    let var = Var::parse(path).ok_or_else(|| {
        format!(
            "unknown placeholder `{{{{ {path} }}}}`; known: subscriber.name, subscriber.first_name, \
             subscriber.email, subscriber.attributes.KEY, unsubscribe_url, view_url, manage_url, subject, title, deck, preheader, \
             content, list.name, list.address, list.language, list.postal_address"
        )
    })?;
    let default = match filter {
        None => None,
        Some(f) => {
            let arg = f
                .strip_prefix("default")
                .map(str::trim_start)
                .and_then(|a| a.strip_prefix(':'))
                .map(str::trim)
                .ok_or_else(|| {
                    format!("unknown filter `{f}`; the only filter is `default: \"text\"`")
                })?;
            Some(
                unquote(arg)
                    .ok_or_else(|| format!("`default:` takes a quoted string, found `{arg}`"))?,
            )
        }
    };
    Ok(Placeholder { var, default })
}

fn unquote(s: &str) -> Option<String> {
    let q = s.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let body = s.strip_prefix(q)?.strip_suffix(q)?;
    if body.contains(q) {
        return None;
    }
    Some(body.to_owned())
}

/// 1-based line and column of byte `offset` (of the character holding it, when it falls inside one:
/// offsets come from other parsers too).
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, column)
}

#[cfg(test)]
mod neutralise_tests {
    use super::*;

    #[test]
    fn another_tools_placeholders_are_kept_as_written_and_herald_s_own_left_alone() {
        let (out, found) =
            neutralise_unknown("Hi {{FirstName}}, {{ subscriber.name }} at {{ Company | x }}");
        assert_eq!(
            out,
            "Hi {\u{2060}{FirstName}\u{2060}}, {{ subscriber.name }} at {\u{2060}{ Company | x }\u{2060}}"
        );
        assert_eq!(
            found,
            [(3, "FirstName".to_owned()), (43, "Company".to_owned())]
        );
        assert!(scan(&out).is_ok());
        assert_eq!(neutralise_unknown("a {{ b").0, "a {{ b");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_defaults_are_found_between_text() {
        let pieces =
            scan("Hi {{ subscriber.first_name | default: \"there\" }}, read {{unsubscribe_url}}")
                .unwrap();
        assert_eq!(pieces.len(), 4);
        assert_eq!(
            pieces[1],
            Piece::Slot(
                Placeholder {
                    var: Var::SubscriberFirstName,
                    default: Some("there".into())
                },
                46
            )
        );
        assert_eq!(
            pieces[3],
            Piece::Slot(
                Placeholder {
                    var: Var::UnsubscribeUrl,
                    default: None
                },
                19
            )
        );
    }

    #[test]
    fn canonical_spelling_scans_back_to_the_same_placeholder() {
        let p = Placeholder {
            var: Var::Attribute("city".into()),
            default: Some("your town".into()),
        };
        let text = p.to_string();
        assert_eq!(scan(&text).unwrap(), vec![Piece::Slot(p, text.len())]);
    }

    #[test]
    fn defaults_with_quotes_or_backslashes_survive_the_round_trip() {
        for default in ["say \"hi\"", "it's", "C:\\dir"] {
            let p = Placeholder {
                var: Var::SubscriberName,
                default: Some(default.into()),
            };
            let text = p.to_string();
            assert_eq!(
                scan(&text).unwrap(),
                vec![Piece::Slot(p, text.len())],
                "{text}"
            );
        }
    }

    #[test]
    fn errors_name_line_and_column() {
        let err = scan("one\ntwo {{ subscriber.nmae }}").unwrap_err();
        assert_eq!((err.line, err.column), (2, 5));
        assert!(err.reason.contains("subscriber.nmae"));
        assert_eq!(scan("x\n\n  {{ title").unwrap_err().line, 3);
        assert_eq!(line_column("a\né{{", 3), (2, 1), "inside a character");
        assert!(
            scan("{{ title | upper }}")
                .unwrap_err()
                .reason
                .contains("unknown filter")
        );
    }
}
