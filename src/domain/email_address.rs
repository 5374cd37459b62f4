//! `EmailAddress`: a syntactically valid addr-spec, built once at the edge. The whole address is
//! lower-cased (as listmonk does): mailbox providers treat local parts case-insensitively, and one
//! spelling per address keeps a list free of `Ann@x` / `ann@x` twins with a plain binary index.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EmailAddressError {
    #[error("email address is empty")]
    Empty,
    #[error("`{0}` has no `@`")]
    MissingAt(String),
    #[error("`{0}` has an empty local part")]
    EmptyLocal(String),
    #[error("`{0}` has an invalid domain")]
    BadDomain(String),
    #[error("`{0}` contains a character not allowed in an address")]
    BadCharacter(String),
    #[error("`{0}` is longer than 254 characters")]
    TooLong(String),
}

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, EmailAddressError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(EmailAddressError::Empty);
        }
        if s.len() > 254 {
            return Err(EmailAddressError::TooLong(s.to_owned()));
        }
        let (local, domain) = s
            .rsplit_once('@')
            .ok_or_else(|| EmailAddressError::MissingAt(s.to_owned()))?;
        if local.is_empty() || local.len() > 64 {
            return Err(EmailAddressError::EmptyLocal(s.to_owned()));
        }
        let local_ok = local.chars().all(|c| {
            c.is_alphanumeric()
                || matches!(
                    c,
                    '!' | '#'
                        | '$'
                        | '%'
                        | '&'
                        | '\''
                        | '*'
                        | '+'
                        | '-'
                        | '/'
                        | '='
                        | '?'
                        | '^'
                        | '_'
                        | '`'
                        | '{'
                        | '|'
                        | '}'
                        | '~'
                        | '.'
                )
                || (!c.is_ascii() && !c.is_control())
        }) && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        if !local_ok {
            return Err(EmailAddressError::BadCharacter(s.to_owned()));
        }
        let labels_ok = domain.contains('.')
            && !domain.is_empty()
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if !labels_ok {
            return Err(EmailAddressError::BadDomain(s.to_owned()));
        }
        Ok(Self(if s.is_ascii() {
            s.to_ascii_lowercase()
        } else {
            s.to_lowercase()
        }))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }

    /// `r***@e***.net`: what logs print instead of the address.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

/// Masks any address-like string for logs: first letter of the local part and of the domain, and the TLD.
pub fn mask(address: &str) -> String {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return "***".to_owned();
    };
    let first = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
    let (host, tld) = domain.rsplit_once('.').unwrap_or((domain, ""));
    format!("{}***@{}***.{}", first(local), first(host), tld)
}

/// Masks every address-like word in free text, such as an SMTP reply that quotes the recipient.
pub fn mask_all(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            if !word.contains('@') {
                return word.to_owned();
            }
            let trimmed = word.trim_matches(|c: char| "<>()[],;:\"'".contains(c));
            word.replace(trimmed, &mask(trimmed))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_addresses_parse_and_are_lowercased() {
        let a = EmailAddress::parse(" Ann.Lee+news@Example.COM ").unwrap();
        assert_eq!(a.as_str(), "ann.lee+news@example.com");
        assert_eq!(a.domain(), "example.com");
    }

    #[test]
    fn invalid_addresses_are_rejected_with_their_reason() {
        assert_eq!(EmailAddress::parse(""), Err(EmailAddressError::Empty));
        assert!(matches!(
            EmailAddress::parse("no-at.example.com"),
            Err(EmailAddressError::MissingAt(_))
        ));
        assert!(matches!(
            EmailAddress::parse("@example.com"),
            Err(EmailAddressError::EmptyLocal(_))
        ));
        assert!(matches!(
            EmailAddress::parse("a@localhost"),
            Err(EmailAddressError::BadDomain(_))
        ));
        assert!(matches!(
            EmailAddress::parse("a b@example.com"),
            Err(EmailAddressError::BadCharacter(_))
        ));
        assert!(matches!(
            EmailAddress::parse("a..b@example.com"),
            Err(EmailAddressError::BadCharacter(_))
        ));
    }

    #[test]
    fn masked_addresses_hide_all_but_initials_and_tld() {
        let a = EmailAddress::parse("reader@example.net").unwrap();
        assert_eq!(a.masked(), "r***@e***.net");
        assert_eq!(
            mask_all("550 5.1.1 <reader@example.net>: no such user"),
            "550 5.1.1 <r***@e***.net>: no such user"
        );
    }
}
