//! Per-message personalisation: a stored template (MJML already rendered) split once into literal parts
//! and recipient placeholders, then filled for each subscriber by concatenation. No parsing or MJML
//! work happens per message.

use super::placeholder::{Piece, Placeholder, PlaceholderError, Var, scan};
use std::{borrow::Cow, collections::BTreeMap};

/// The values one recipient brings to a message.
#[derive(Debug, Clone, Copy)]
pub struct Recipient<'a> {
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub attributes: &'a BTreeMap<String, String>,
    pub unsubscribe_url: &'a str,
    pub view_url: &'a str,
    pub manage_url: &'a str,
}

impl<'a> Recipient<'a> {
    /// The raw (unescaped) value of `placeholder`, falling back to its default when empty.
    pub fn value(&self, placeholder: &'a Placeholder) -> &'a str {
        let value = match &placeholder.var {
            Var::SubscriberName => self.name.unwrap_or(""),
            Var::SubscriberFirstName => self
                .name
                .and_then(|n| n.split_whitespace().next())
                .unwrap_or(""),
            Var::SubscriberEmail => self.email,
            Var::Attribute(key) => self.attributes.get(key).map(String::as_str).unwrap_or(""),
            Var::UnsubscribeUrl => self.unsubscribe_url,
            Var::ViewUrl => self.view_url,
            Var::ManageUrl => self.manage_url,
            _ => "",
        };
        if value.is_empty() {
            placeholder.default.as_deref().unwrap_or("")
        } else {
            value
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    Slot(Placeholder),
}

/// A stored issue template, split at its recipient placeholders.
#[derive(Debug, Clone)]
pub struct PersonalTemplate {
    pub parts: Vec<Part>,
}

#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error(transparent)]
    Placeholder(#[from] PlaceholderError),
    #[error("placeholder {0} should have been filled when the issue was queued")]
    IssueLevel(String),
}

impl PersonalTemplate {
    pub fn compile(stored: &str) -> Result<Self, CompileError> {
        let parts = scan(stored)?
            .into_iter()
            .map(|piece| match piece {
                Piece::Text(t) => Ok(Part::Text(t.to_owned())),
                Piece::Slot(p, _) if p.var.is_per_recipient() => Ok(Part::Slot(p)),
                Piece::Slot(p, _) => Err(CompileError::IssueLevel(p.to_string())),
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { parts })
    }

    /// The whole text for one recipient; `html` escapes values for an HTML context.
    /// Whether a placeholder for one of `vars` is in the template.
    pub fn uses_any(&self, vars: &[Var]) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Slot(s) if vars.contains(&s.var)))
    }

    pub fn render(&self, recipient: &Recipient<'_>, html: bool) -> String {
        let mut out = String::with_capacity(
            self.parts
                .iter()
                .map(|p| if let Part::Text(t) = p { t.len() } else { 32 })
                .sum(),
        );
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Slot(p) => {
                    let v = recipient.value(p);
                    if html {
                        out.push_str(&escape_html(v))
                    } else {
                        out.push_str(v)
                    }
                }
            }
        }
        out
    }
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(s: &str) -> Cow<'_, str> {
    if !s.contains(['<', '>', '&', '"', '\'']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_in_html_and_defaults_fill_gaps() {
        let t = PersonalTemplate::compile("<p>Hi {{ subscriber.first_name | default: \"there\" }} {{ subscriber.attributes.city }}</p>").unwrap();
        let attrs = BTreeMap::from([("city".to_string(), "<Oslo & co>".to_string())]);
        let r = Recipient {
            email: "a@example.com",
            name: Some("Ann Lee"),
            attributes: &attrs,
            unsubscribe_url: "u",
            view_url: "v",
            manage_url: "m",
        };
        assert_eq!(t.render(&r, true), "<p>Hi Ann &lt;Oslo &amp; co&gt;</p>");
        let nobody = Recipient { name: None, ..r };
        assert_eq!(t.render(&nobody, false), "<p>Hi there <Oslo & co></p>");
    }

    #[test]
    fn issue_level_placeholders_are_refused_in_stored_templates() {
        assert!(matches!(
            PersonalTemplate::compile("{{ title }}"),
            Err(CompileError::IssueLevel(_))
        ));
    }
}
