//! `Mailbox`: an address with an optional display name, as in `"Weekly Analysis <news@example.com>"`.

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
}
