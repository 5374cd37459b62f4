//! `PostalAddress`: the sender's physical address, printed in every message's footer (CAN-SPAM in the
//! US, and similar rules elsewhere, require one in commercial mail).
//!
//! One to [`MAX_LINES`] lines of at most [`MAX_CHARS`] characters in all: an address, not a letter.
//! Line ends are `\n` (a `\r\n` is taken as one); each line is trimmed and blank lines dropped, so what
//! is stored is what the footer shows, one address line per line (`<br>` in HTML). A literal `\n`
//! typed in a shell is refused with the way to pass a real line break, rather than printed in every
//! footer.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostalAddress(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("postal address {0}")]
pub struct PostalAddressError(String);

pub const MAX_LINES: usize = 8;
pub const MAX_CHARS: usize = 400;

impl PostalAddress {
    pub fn parse(raw: &str) -> Result<Self, PostalAddressError> {
        let fail = |reason: String| Err(PostalAddressError(reason));
        if raw.contains("\\n") {
            return fail(
                "contains a literal `\\n`; separate lines with real line breaks \
                 (in a shell: --postal-address $'1 Main St\\nSpringfield')"
                    .into(),
            );
        }
        if let Some(c) = raw
            .chars()
            .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return fail(format!("contains the control character {:?}", c));
        }
        if raw.contains("{{") || raw.contains("}}") {
            return fail(
                "must not contain `{{` or `}}` (they would be read as a placeholder)".into(),
            );
        }
        let lines: Vec<String> = raw
            .split('\n')
            .map(|l| l.trim().replace('\t', " "))
            .filter(|l| !l.is_empty())
            .collect();
        if lines.is_empty() {
            return fail("is empty".into());
        }
        if lines.len() > MAX_LINES {
            return fail(format!(
                "has {} lines; at most {MAX_LINES} are allowed",
                lines.len()
            ));
        }
        let text = lines.join("\n");
        let chars = text.chars().count();
        if chars > MAX_CHARS {
            return fail(format!(
                "is {chars} characters long; at most {MAX_CHARS} are allowed"
            ));
        }
        Ok(Self(text))
    }

    /// The address with its lines joined by `\n`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PostalAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_trimmed_and_blank_ones_dropped() {
        let a =
            PostalAddress::parse("  Weekly Analysis Ltd \r\n\r\n 1 Main Street\n\tSpringfield  \n")
                .unwrap();
        assert_eq!(
            a.as_str(),
            "Weekly Analysis Ltd\n1 Main Street\nSpringfield"
        );
        assert_eq!(
            PostalAddress::parse("Rua Augusta 1, Lisboa")
                .unwrap()
                .as_str(),
            "Rua Augusta 1, Lisboa"
        );
    }

    #[test]
    fn empty_long_or_odd_text_is_refused() {
        let reason = |raw: &str| PostalAddress::parse(raw).unwrap_err().to_string();
        assert!(reason(" \n ").contains("empty"));
        assert!(reason(&"x\n".repeat(9)).contains("9 lines"));
        assert!(reason(&"x".repeat(401)).contains("401 characters"));
        assert!(reason("1 Main St\\nSpringfield").contains("real line breaks"));
        assert!(reason("1 Main St\u{7}").contains("control character"));
        assert!(reason("{{ subscriber.email }}").contains("placeholder"));
    }
}
