//! An SMTP server's reply as a value: the three-digit code, the RFC 3463 enhanced status when the
//! server gave one, and the text. It travels from the SMTP session to the store unflattened, because
//! bounce classification and throttling need its parts.

use std::fmt;

/// An RFC 3463 enhanced status code, `class.subject.detail` (e.g. `5.1.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EnhancedStatus {
    /// 2 (success), 4 (persistent transient failure) or 5 (permanent failure).
    pub class: u8,
    pub subject: u16,
    pub detail: u16,
}

impl EnhancedStatus {
    /// Parses `class.subject.detail` exactly (no surrounding text). The class must be 2, 4 or 5;
    /// subject and detail are one to three digits.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('.');
        let (c, s, d) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let digits = |p: &str, max: usize| {
            !p.is_empty() && p.len() <= max && p.bytes().all(|b| b.is_ascii_digit())
        };
        if !(digits(c, 1) && digits(s, 3) && digits(d, 3)) {
            return None;
        }
        let class: u8 = c.parse().ok()?;
        if !matches!(class, 2 | 4 | 5) {
            return None;
        }
        Some(Self {
            class,
            subject: s.parse().ok()?,
            detail: d.parse().ok()?,
        })
    }

    /// The first enhanced status code found as a whole word in `text` (servers write it right after
    /// the reply code: `550 5.1.1 <a@b>: user unknown`, or `#5.1.1`, or `(5.1.1)`).
    pub fn find_in(text: &str) -> Option<Self> {
        text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .map(|w| w.trim_end_matches('.'))
            .find_map(Self::parse)
    }

    pub fn is_permanent(self) -> bool {
        self.class == 5
    }

    pub fn is_transient(self) -> bool {
        self.class == 4
    }
}

impl fmt::Display for EnhancedStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

impl std::str::FromStr for EnhancedStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| format!("`{s}` is not an enhanced status code like 5.1.1"))
    }
}

impl serde::Serialize for EnhancedStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One reply of an SMTP server.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SmtpReply {
    /// The three-digit reply code (250, 451, 550, …).
    pub code: u16,
    pub enhanced: Option<EnhancedStatus>,
    /// The reply's text, its lines joined with a space, without the code and enhanced status of the
    /// first line.
    pub text: String,
}

impl SmtpReply {
    /// A reply from its code and text lines (as lettre hands them over): the enhanced status is taken
    /// from the start of the first line when present.
    pub fn new(code: u16, lines: &[&str]) -> Self {
        let joined = lines.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ");
        let (enhanced, text) = match joined.split_once(' ') {
            Some((first, rest)) if EnhancedStatus::parse(first).is_some() => {
                (EnhancedStatus::parse(first), rest.to_owned())
            }
            _ if EnhancedStatus::parse(&joined).is_some() => {
                (EnhancedStatus::parse(&joined), String::new())
            }
            _ => (None, joined),
        };
        Self {
            code,
            enhanced,
            text,
        }
    }

    /// Parses a reply as written on one line, e.g. `550 5.1.1 user unknown` (as stored, or as quoted
    /// in a bounce report). `None` unless it starts with a three-digit code.
    pub fn parse(line: &str) -> Option<Self> {
        let line = line.trim();
        let code = line.get(..3)?;
        if !code.bytes().all(|b| b.is_ascii_digit()) || !matches!(code.as_bytes()[0], b'2'..=b'5') {
            return None;
        }
        let rest = line.get(3..)?;
        if !(rest.is_empty() || rest.starts_with([' ', '-'])) {
            return None;
        }
        Some(Self::new(
            code.parse().ok()?,
            &[rest.get(1..).unwrap_or("")],
        ))
    }

    pub fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }

    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    pub fn is_permanent(&self) -> bool {
        (500..600).contains(&self.code)
    }
}

impl fmt::Display for SmtpReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(e) = self.enhanced {
            write!(f, " {e}")?;
        }
        if !self.text.is_empty() {
            write!(f, " {}", self.text)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_keeps_code_enhanced_status_and_text_apart() {
        let r = SmtpReply::new(
            550,
            &["5.1.1 <a@example.com>: Recipient address rejected", "bye"],
        );
        assert_eq!(r.code, 550);
        assert_eq!(r.enhanced, EnhancedStatus::parse("5.1.1"));
        assert_eq!(r.text, "<a@example.com>: Recipient address rejected bye");
        assert_eq!(
            r.to_string(),
            "550 5.1.1 <a@example.com>: Recipient address rejected bye"
        );
        assert_eq!(SmtpReply::parse(&r.to_string()), Some(r));
    }

    #[test]
    fn replies_without_an_enhanced_status_keep_their_text() {
        let r = SmtpReply::parse("451 try again later").unwrap();
        assert_eq!(
            (r.code, r.enhanced, r.text.as_str()),
            (451, None, "try again later")
        );
        assert!(r.is_transient());
        assert_eq!(SmtpReply::parse("hello"), None);
        assert_eq!(SmtpReply::parse("99 x"), None);
    }

    #[test]
    fn enhanced_status_codes_are_found_in_text() {
        assert_eq!(
            EnhancedStatus::find_in("smtp; 550 #5.1.1 mailbox unavailable").map(|e| e.to_string()),
            Some("5.1.1".into())
        );
        assert_eq!(EnhancedStatus::find_in("version 1.2.3 here"), None);
        assert_eq!(
            EnhancedStatus::parse("5.7.1"),
            Some(EnhancedStatus {
                class: 5,
                subject: 7,
                detail: 1
            })
        );
        assert_eq!(EnhancedStatus::parse("5.1"), None);
        assert_eq!(EnhancedStatus::parse("3.1.1"), None);
    }
}

/// Why an attempt did not end in a 2xx: the server's reply, or an error with no reply (the
/// connection broke, timed out, or herald could not send the message at all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptError {
    Reply(SmtpReply),
    Other(String),
    /// Herald cannot send to this address at all (say, it needs SMTPUTF8 the server lacks): about
    /// the recipient, never the relay.
    Unsendable(String),
}

impl AttemptError {
    pub fn reply(&self) -> Option<&SmtpReply> {
        match self {
            Self::Reply(r) => Some(r),
            Self::Other(_) | Self::Unsendable(_) => None,
        }
    }
}

impl fmt::Display for AttemptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Reply(r) => r.fmt(f),
            Self::Other(t) | Self::Unsendable(t) => f.write_str(t),
        }
    }
}
