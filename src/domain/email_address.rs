//! `EmailAddress`: a syntactically valid addr-spec, built once at the edge, in the one form herald
//! stores, compares and sends.
//!
//! - The domain is an A-label (`bücher.de` → `xn--bcher-kva.de`, UTS-46 processing by the `idna`
//!   crate): any relay can carry it, and `a@bücher.de` and `a@xn--bcher-kva.de` are one subscriber.
//! - The whole address is lower-cased (as listmonk does): mailbox providers treat local parts
//!   case-insensitively, and one spelling per address keeps a list free of `Ann@x` / `ann@x` twins
//!   with a plain binary index.
//! - A non-ASCII local part (`jürgen@example.de`) has no ASCII form: only a relay offering SMTPUTF8
//!   (RFC 6531) can carry it. `parse` refuses it, saying so; `parse_international` accepts it, for
//!   an operator who has said their relay offers SMTPUTF8 (`smtp.smtputf8 = true`) and for the
//!   sender, which decides per session.

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};
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
    #[error(
        "`{0}` has a non-ASCII local part, which only a relay offering SMTPUTF8 can carry \
         (accepted when `smtp.smtputf8 = true` says yours does)"
    )]
    NeedsSmtpUtf8(String),
}

impl EmailAddress {
    /// An address any relay can carry: an IDN domain becomes its A-label; a non-ASCII local part is
    /// refused (`NeedsSmtpUtf8`).
    pub fn parse(raw: &str) -> Result<Self, EmailAddressError> {
        let address = Self::parse_international(raw)?;
        if address.needs_smtputf8() {
            return Err(EmailAddressError::NeedsSmtpUtf8(raw.trim().to_owned()));
        }
        Ok(address)
    }

    /// As `parse`, but a non-ASCII local part is accepted: for a relay that offers SMTPUTF8.
    pub fn parse_international(raw: &str) -> Result<Self, EmailAddressError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(EmailAddressError::Empty);
        }
        // Counted in characters: a U-label domain takes more bytes in UTF-8 than as an A-label.
        if s.chars().count() > 254 {
            return Err(EmailAddressError::TooLong(s.to_owned()));
        }
        let (local, domain) = s
            .rsplit_once('@')
            .ok_or_else(|| EmailAddressError::MissingAt(s.to_owned()))?;
        if local.is_empty() || local.len() > 64 {
            return Err(EmailAddressError::EmptyLocal(s.to_owned()));
        }
        if !local_part_ok(local) {
            return Err(EmailAddressError::BadCharacter(s.to_owned()));
        }
        let domain = a_label(domain).ok_or_else(|| EmailAddressError::BadDomain(s.to_owned()))?;
        let local = if local.is_ascii() {
            local.to_ascii_lowercase()
        } else {
            local.to_lowercase()
        };
        let address = format!("{local}@{domain}");
        if address.len() > 254 {
            return Err(EmailAddressError::TooLong(s.to_owned()));
        }
        Ok(Self(address))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The domain, as an A-label.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }

    /// The local part is not ASCII: the envelope needs SMTPUTF8 (the domain never does).
    pub fn needs_smtputf8(&self) -> bool {
        !self.0.is_ascii()
    }

    /// `r***@e***.net`: what logs print instead of the address.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

fn local_part_ok(local: &str) -> bool {
    let chars_ok = local.chars().all(|c| {
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
    });
    chars_ok && !local.starts_with('.') && !local.ends_with('.') && !local.contains("..")
}

/// The domain's A-label form, lower-case, or `None` when it is not a valid host name of two or more
/// labels. UTS-46 maps (case, width, compatibility forms), checks (punycode that decodes, bidi and
/// joiner rules, STD3 characters, hyphens first or last, DNS lengths) and encodes.
fn a_label(domain: &str) -> Option<String> {
    let ascii = Uts46::new()
        .to_ascii(
            domain.as_bytes(),
            AsciiDenyList::STD3,
            // `ab--cd.example` is a real host name; only a leading or trailing hyphen is refused.
            Hyphens::CheckFirstLast,
            DnsLength::Verify,
        )
        .ok()?
        .to_ascii_lowercase();
    let labels_ok = ascii.contains('.')
        && ascii.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    labels_ok.then_some(ascii)
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
    fn an_international_domain_is_stored_as_its_lower_case_a_label() {
        let a = EmailAddress::parse("Anna@Bücher.DE").unwrap();
        assert_eq!(a.as_str(), "anna@xn--bcher-kva.de");
        assert_eq!(a.domain(), "xn--bcher-kva.de");
        assert!(!a.needs_smtputf8());
        // UTS-46 maps width and compatibility forms too: full-width letters, `ß` kept (non-transitional).
        assert_eq!(
            EmailAddress::parse("a@ＥＸＡＭＰＬＥ.com")
                .unwrap()
                .as_str(),
            "a@example.com"
        );
        assert_eq!(
            EmailAddress::parse("a@straße.de").unwrap().as_str(),
            "a@xn--strae-oqa.de"
        );
    }

    #[test]
    fn the_u_label_and_a_label_spellings_of_an_address_are_equal() {
        assert_eq!(
            EmailAddress::parse("a@bücher.de").unwrap(),
            EmailAddress::parse("A@XN--BCHER-KVA.DE").unwrap()
        );
    }

    #[test]
    fn domains_that_are_not_valid_idna_are_rejected() {
        for bad in [
            "a@xn--zz.de",    // punycode that does not decode
            "a@-bücher.de",   // leading hyphen
            "a@bücher_.de",   // not a host name character
            "a@bücher..de",   // empty label
            "a@bücher",       // one label
            "a@\u{200d}x.de", // a joiner where the joiner rules forbid it
        ] {
            assert!(
                matches!(
                    EmailAddress::parse(bad),
                    Err(EmailAddressError::BadDomain(_))
                ),
                "{bad}: {:?}",
                EmailAddress::parse(bad)
            );
        }
        assert!(EmailAddress::parse("a@ab--cd.example.com").is_ok());
    }

    #[test]
    fn an_a_label_longer_than_the_limits_is_rejected() {
        // 60 ü become a 64-character label after `xn--`: over DNS's 63.
        let long = format!("a@{}.de", "ü".repeat(60));
        assert!(EmailAddress::parse(&long).is_err());
        let address = format!("{}@{}.de", "a".repeat(64), ["bücher"; 30].join("."));
        assert!(matches!(
            EmailAddress::parse(&address),
            Err(EmailAddressError::TooLong(_) | EmailAddressError::BadDomain(_))
        ));
    }

    #[test]
    fn a_non_ascii_local_part_is_refused_unless_smtputf8_is_allowed() {
        assert_eq!(
            EmailAddress::parse("Jürgen@example.de"),
            Err(EmailAddressError::NeedsSmtpUtf8("Jürgen@example.de".into()))
        );
        assert!(
            EmailAddress::parse("jürgen@example.de")
                .unwrap_err()
                .to_string()
                .contains("smtp.smtputf8")
        );
        let a = EmailAddress::parse_international("Jürgen@Bücher.de").unwrap();
        assert_eq!(a.as_str(), "jürgen@xn--bcher-kva.de");
        assert!(a.needs_smtputf8());
    }

    #[test]
    fn international_addresses_are_masked_like_any_other() {
        assert_eq!(
            EmailAddress::parse("anna@bücher.de").unwrap().masked(),
            "a***@x***.de"
        );
        assert_eq!(
            EmailAddress::parse_international("jürgen@bücher.de")
                .unwrap()
                .masked(),
            "j***@x***.de"
        );
        assert_eq!(mask("ülrich@bücher.de"), "ü***@b***.de");
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
