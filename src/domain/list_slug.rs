//! `ListSlug`: the short name operators type for a list (`weekly-analysis`).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListSlug(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "list slug `{0}` must be 1-64 characters of a-z, 0-9 and `-`, starting with a letter or digit"
)]
pub struct ListSlugError(pub String);

impl ListSlug {
    pub fn parse(raw: &str) -> Result<Self, ListSlugError> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && !raw.starts_with('-')
            && raw
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ListSlugError(raw.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ListSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_words_joined_by_dashes() {
        assert!(ListSlug::parse("weekly-analysis").is_ok());
        assert!(ListSlug::parse("Weekly").is_err());
        assert!(ListSlug::parse("-x").is_err());
        assert!(ListSlug::parse("").is_err());
        assert!(ListSlug::parse("a b").is_err());
    }
}
