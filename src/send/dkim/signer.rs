//! DKIM-Signature headers (RFC 6376, RFC 8463) for a built message: one per `[[dkim]]` entry,
//! relaxed/relaxed, over-signing the headers a mailbox provider shows or acts on.

use super::{
    canon::{RelaxedBody, relaxed_header},
    key::{KeyError, PrivateKey},
};
use crate::config::DkimConfig;
use base64::{Engine, engine::general_purpose::STANDARD};

/// The headers signed, each listed once more than it occurs, so a copy added on the way (a second
/// From, Subject or List-Unsubscribe) breaks the signature instead of riding on it. A header herald
/// did not write (Reply-To without one set) is signed as absent for the same reason.
const SIGNED: &[&str] = &[
    "from",
    "reply-to",
    "to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "feedback-id",
];

/// A signing identity: a selector, a domain and its parsed key.
#[derive(Debug)]
pub struct Signature {
    pub selector: String,
    pub domain: String,
    pub key: PrivateKey,
}

/// Every configured signature, keys parsed once at start.
#[derive(Debug)]
pub struct Signer {
    signatures: Vec<Signature>,
}

impl Signer {
    /// Loads every key; `None` when nothing is configured.
    pub fn load(configs: &[DkimConfig]) -> Result<Option<Self>, KeyError> {
        if configs.is_empty() {
            return Ok(None);
        }
        let signatures = configs
            .iter()
            .map(|c| {
                Ok(Signature {
                    selector: c.selector.clone(),
                    domain: c.domain.clone(),
                    key: PrivateKey::load(&c.key_file)?,
                })
            })
            .collect::<Result<_, KeyError>>()?;
        Ok(Some(Self { signatures }))
    }

    pub fn signatures(&self) -> &[Signature] {
        &self.signatures
    }

    /// The DKIM-Signature header lines (CRLF-terminated) to put in front of `message`, whose body
    /// starts at `body_start`. `body` has already been fed the body's first bytes (the fixed
    /// opening); the rest, from `body_start + fed`, is hashed here.
    pub fn sign(
        &self,
        message: &[u8],
        body_start: usize,
        mut body: RelaxedBody,
        fed: usize,
        time: i64,
    ) -> Vec<u8> {
        body.update(&message[(body_start + fed).min(message.len())..]);
        let body_hash = STANDARD.encode(body.finish());
        let fields = header_fields(&message[..body_start.min(message.len())]);
        // h= and the canonical header block, fields picked from the bottom up (RFC 6376 §5.4.2).
        let mut names = Vec::new();
        let mut canonical = Vec::with_capacity(1024);
        for name in SIGNED {
            let mut present: Vec<&[u8]> = fields
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
                .map(|(_, field)| *field)
                .collect();
            for _ in 0..=present.len() {
                names.push(*name);
                if let Some(field) = present.pop() {
                    relaxed_header(field, &mut canonical);
                }
            }
        }
        let h = names.join(":");
        let mut out = Vec::with_capacity(self.signatures.len() * 600);
        for s in &self.signatures {
            let tags = [
                "v=1".to_owned(),
                format!("a={}", s.key.algorithm().tag()),
                "c=relaxed/relaxed".to_owned(),
                format!("d={}", s.domain),
                format!("s={}", s.selector),
                format!("t={time}"),
                format!("h={h}"),
                format!("bh={body_hash}"),
            ];
            let mut header = fold_tags(&tags);
            header.push_str(";\r\n b=");
            let mut data = canonical.clone();
            relaxed_header(header.as_bytes(), &mut data);
            data.truncate(data.len() - 2);
            let signature = STANDARD.encode(s.key.sign(&data));
            for (i, piece) in signature.as_bytes().chunks(72).enumerate() {
                if i > 0 {
                    header.push_str("\r\n ");
                }
                header.push_str(std::str::from_utf8(piece).expect("base64 is ASCII"));
            }
            header.push_str("\r\n");
            out.extend_from_slice(header.as_bytes());
        }
        out
    }
}

/// `DKIM-Signature: ` and the tags joined by `; `, folded so lines stay within 78 characters; a long
/// `h=` is folded at its colons.
fn fold_tags(tags: &[String]) -> String {
    let mut out = String::from("DKIM-Signature: ");
    let mut column = out.len();
    for (i, tag) in tags.iter().enumerate() {
        let separator = if i == 0 { "" } else { "; " };
        if column + separator.len() + tag.len() > 77 && i > 0 {
            out.push_str(";\r\n ");
            column = 1;
        } else {
            out.push_str(separator);
            column += separator.len();
        }
        for (j, part) in tag.split(':').enumerate() {
            let part = if j == 0 {
                part.to_owned()
            } else {
                format!(":{part}")
            };
            if j > 0 && column + part.len() > 77 {
                out.push_str("\r\n ");
                column = 1;
            }
            out.push_str(&part);
            column += part.len();
        }
    }
    out
}

/// The header section's fields: (name, whole field with continuation lines and final CRLF).
fn header_fields(head: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut fields: Vec<(&[u8], &[u8])> = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < head.len() {
        let end = head[i..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(head.len(), |p| i + p + 1);
        let line = &head[i..end];
        let continues = matches!(line.first(), Some(b' ' | b'\t'));
        if !continues && i > start {
            push_field(&mut fields, &head[start..i]);
            start = i;
        }
        i = end;
    }
    if i > start {
        push_field(&mut fields, &head[start..i]);
    }
    fields
}

fn push_field<'a>(fields: &mut Vec<(&'a [u8], &'a [u8])>, field: &'a [u8]) {
    if field.trim_ascii().is_empty() {
        return;
    }
    let name = field
        .iter()
        .position(|&b| b == b':')
        .map_or(field, |c| &field[..c]);
    fields.push((name.trim_ascii(), field));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_their_continuation_lines() {
        let head = b"From: a@b\r\nList-Unsubscribe: <x>,\r\n <y>\r\nTo: c@d\r\n";
        let fields = header_fields(head);
        let names: Vec<_> = fields.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, [&b"From"[..], b"List-Unsubscribe", b"To"]);
        assert_eq!(fields[1].1, b"List-Unsubscribe: <x>,\r\n <y>\r\n");
    }

    #[test]
    fn folded_tags_stay_within_78_characters() {
        let h = SIGNED
            .iter()
            .flat_map(|n| [*n, *n])
            .collect::<Vec<_>>()
            .join(":");
        let tags = [
            "v=1".to_owned(),
            "d=example.com".to_owned(),
            format!("h={h}"),
        ];
        let folded = fold_tags(&tags);
        for line in folded.split("\r\n") {
            assert!(line.len() <= 78, "{line}");
        }
        let unfolded = folded.replace("\r\n ", "");
        assert!(unfolded.contains(&format!("h={h}")), "{unfolded}");
    }
}
