//! `Mailbox`: an address with an optional display name, as in `"Weekly Analysis <news@example.com>"`.
//! The address is an `EmailAddress` (an IDN domain becomes its A-label, a non-ASCII local part is
//! refused); the name is kept as typed, and encoded only when a header is written.

use super::{EmailAddress, EmailAddressError};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: EmailAddress,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MailboxError {
    #[error("`{0}` has `<` without a closing `>`")]
    Unclosed(String),
    #[error(transparent)]
    Address(#[from] EmailAddressError),
}

impl Mailbox {
    /// Accepts `addr`, `<addr>`, `Name <addr>` and `"Name" <addr>`.
    pub fn parse(raw: &str) -> Result<Self, MailboxError> {
        let raw = raw.trim();
        let Some(open) = raw.rfind('<') else {
            return Ok(Self {
                name: None,
                address: EmailAddress::parse(raw)?,
            });
        };
        let close = raw[open..]
            .find('>')
            .ok_or_else(|| MailboxError::Unclosed(raw.to_owned()))?
            + open;
        let address = EmailAddress::parse(&raw[open + 1..close])?;
        let name = raw[..open].trim().trim_matches('"').trim();
        Ok(Self {
            name: (!name.is_empty()).then(|| name.to_owned()),
            address,
        })
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name} <{}>", self.address),
            None => write!(f, "{}", self.address),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_and_bare_addresses_both_parse() {
        let m = Mailbox::parse("\"Weekly Analysis\" <news@Example.com>").unwrap();
        assert_eq!(m.name.as_deref(), Some("Weekly Analysis"));
        assert_eq!(m.address.as_str(), "news@example.com");
        assert_eq!(Mailbox::parse("news@example.com").unwrap().name, None);
        assert!(matches!(
            Mailbox::parse("X <news@example.com"),
            Err(MailboxError::Unclosed(_))
        ));
    }

    #[test]
    fn an_international_from_keeps_its_name_and_gets_an_a_label_domain() {
        let m = Mailbox::parse("\"Bücher News\" <News@Bücher.de>").unwrap();
        assert_eq!(m.name.as_deref(), Some("Bücher News"));
        assert_eq!(m.address.as_str(), "news@xn--bcher-kva.de");
        assert_eq!(m.to_string(), "Bücher News <news@xn--bcher-kva.de>");
        assert_eq!(
            Mailbox::parse("Jürgen <jürgen@example.de>"),
            Err(MailboxError::Address(EmailAddressError::NeedsSmtpUtf8(
                "jürgen@example.de".into()
            )))
        );
    }
}
