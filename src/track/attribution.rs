//! Which delivery a returned report is about, proven by a token herald signed, never by a guessable
//! value such as a Message-ID. Places looked at, most trusted first:
//!
//! 1. the envelope recipient the MTA delivered the report to (`bounces+TOKEN@domain`, VERP), given by
//!    the MTA (`--recipient`) or read from the report's Delivered-To / X-Original-To / To;
//! 2. the returned message's headers: its Return-Path (the envelope sender herald used) and its
//!    List-Unsubscribe URL (`…/u/TOKEN`), as feedback loops return them;
//! 3. anywhere in the report's decoded text, for MTAs that quote the original inline in a way the
//!    parser could not split into headers.
//!
//! Every candidate is verified with the HMAC key: a token that does not verify is ignored, so a
//! report without a genuine token changes no subscriber.

use super::{Purpose, Tokens, tokens::TOKEN_CHARS as TOKEN_LEN};
use crate::{bounce::report::Report, domain::DeliveryId};

/// A verified token and where it was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Attribution {
    pub delivery: DeliveryId,
    pub found_in: &'static str,
}

fn is_token_char(b: u8) -> bool {
    b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b) || b.is_ascii_uppercase()
}

/// Every 32-character base32 run in `text` directly after `marker` (and, for VERP, followed by `@`).
fn tokens_after<'a>(
    text: &'a str,
    marker: &'a str,
    then_at: bool,
) -> impl Iterator<Item = &'a str> + 'a {
    let bytes = text.as_bytes();
    text.match_indices(marker).filter_map(move |(i, _)| {
        let start = i + marker.len();
        let token = bytes.get(start..start + TOKEN_LEN)?;
        if !token.iter().copied().all(is_token_char) {
            return None;
        }
        let next = bytes.get(start + TOKEN_LEN).copied();
        let ends = if then_at {
            next == Some(b'@')
        } else {
            !next.is_some_and(is_token_char)
        };
        ends.then(|| &text[start..start + TOKEN_LEN])
    })
}

/// The delivery a VERP-style address (`local+TOKEN@domain`) names, if its token verifies for
/// `purpose`. MTAs may fold the case of a local part; herald writes tokens in lower case.
fn from_verp_with(
    verify: &dyn Fn(Purpose, &str) -> Option<DeliveryId>,
    purpose: Purpose,
    address: &str,
) -> Option<DeliveryId> {
    let address = address.to_ascii_lowercase();
    tokens_after(&address, "+", true).find_map(|t| verify(purpose, t))
}

/// Where the report itself was delivered: the envelope recipient the MTA passed, then the report's
/// Delivered-To, X-Original-To and To.
fn envelope<'a>(
    report: &'a Report,
    envelope_recipient: Option<&'a str>,
) -> impl Iterator<Item = &'a str> {
    envelope_recipient
        .into_iter()
        .chain(report.delivered_to.iter().map(String::as_str))
}

/// The delivery whose reader asks to unsubscribe by mail: a message sent to the bounce address with
/// that delivery's unsubscribe token (`bounces+UTOKEN@domain`, the `mailto:` of List-Unsubscribe).
pub fn unsubscribe_request(
    tokens: &Tokens,
    report: &Report,
    envelope_recipient: Option<&str>,
) -> Option<DeliveryId> {
    let verify = |p: Purpose, t: &str| tokens.verify(p, t);
    envelope(report, envelope_recipient)
        .find_map(|address| from_verp_with(&verify, Purpose::Unsubscribe, address))
}

/// Finds the delivery `report` is about. `envelope_recipient` is what the MTA passed, if anything.
pub fn attribute(
    tokens: &Tokens,
    report: &Report,
    envelope_recipient: Option<&str>,
) -> Option<Attribution> {
    attribute_with(&|p, t| tokens.verify(p, t), report, envelope_recipient)
}

/// [`attribute`] with the check a token must pass given as `verify` (so `bounce parse`, which has
/// no key without the database, can still show which delivery a report claims to be about).
pub fn attribute_with(
    verify: &dyn Fn(Purpose, &str) -> Option<DeliveryId>,
    report: &Report,
    envelope_recipient: Option<&str>,
) -> Option<Attribution> {
    let found = |delivery, found_in| Some(Attribution { delivery, found_in });
    for address in envelope(report, envelope_recipient) {
        if let Some(d) = from_verp_with(verify, Purpose::Bounce, address) {
            return found(d, "verp");
        }
    }
    for (name, value) in &report.returned_headers {
        if name.eq_ignore_ascii_case("return-path")
            && let Some(d) = from_verp_with(verify, Purpose::Bounce, value)
        {
            return found(d, "return_path");
        }
        if name.eq_ignore_ascii_case("list-unsubscribe")
            && let Some(d) =
                tokens_after(value, "/u/", false).find_map(|t| verify(Purpose::Unsubscribe, t))
        {
            return found(d, "list_unsubscribe");
        }
    }
    if let Some(d) = tokens_after(&report.text, "+", true).find_map(|t| verify(Purpose::Bounce, t))
    {
        return found(d, "report_text");
    }
    tokens_after(&report.text, "/u/", false)
        .find_map(|t| verify(Purpose::Unsubscribe, t))
        .and_then(|d| found(d, "report_text"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::BounceKind;

    fn report(text: &str, headers: &[(&str, &str)], delivered_to: &[&str]) -> Report {
        Report {
            kind: BounceKind::Bounce,
            recipients: vec![],
            feedback_type: None,
            returned_headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            delivered_to: delivered_to.iter().map(|s| s.to_string()).collect(),
            text: text.into(),
        }
    }

    #[test]
    fn the_envelope_recipient_names_the_delivery() {
        let t = Tokens::new(b"0123456789abcdef0123456789abcdef");
        let verp = format!(
            "bounces+{}@news.example.com",
            t.sign(Purpose::Bounce, DeliveryId(9))
        );
        let a = attribute(&t, &report("", &[], &[]), Some(&verp)).unwrap();
        assert_eq!((a.delivery, a.found_in), (DeliveryId(9), "verp"));
        let a = attribute(&t, &report("", &[], &[&verp.to_uppercase()]), None).unwrap();
        assert_eq!(a.delivery, DeliveryId(9), "MTAs may fold the case");
    }

    #[test]
    fn a_returned_list_unsubscribe_header_names_the_delivery() {
        let t = Tokens::new(b"0123456789abcdef0123456789abcdef");
        let url = format!(
            "<https://news.example.com/u/{}>",
            t.sign(Purpose::Unsubscribe, DeliveryId(4))
        );
        let a = attribute(&t, &report("", &[("List-Unsubscribe", &url)], &[]), None).unwrap();
        assert_eq!(
            (a.delivery, a.found_in),
            (DeliveryId(4), "list_unsubscribe")
        );
    }

    #[test]
    fn forged_or_cross_purpose_tokens_name_nothing() {
        let t = Tokens::new(b"0123456789abcdef0123456789abcdef");
        let other = Tokens::new(b"somebody else's key, 32 bytes!!!");
        let forged = format!(
            "bounces+{}@news.example.com",
            other.sign(Purpose::Bounce, DeliveryId(9))
        );
        // An unsubscribe token used as a VERP address.
        let swapped = format!(
            "bounces+{}@news.example.com",
            t.sign(Purpose::Unsubscribe, DeliveryId(9))
        );
        let text = format!("Message-ID: <herald.1.9@news.example.com>\n{forged}\n{swapped}");
        assert_eq!(
            attribute(&t, &report(&text, &[], &[&forged]), Some(&swapped)),
            None
        );
    }
}
