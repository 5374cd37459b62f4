//! Generic reading of a text report (no delivery-status fields): which lines name a failed
//! recipient, and which text around them explains the failure; SMTP replies, enhanced status codes
//! and the remote host quoted in that text.
//!
//! MTAs lay their reports out in a handful of ways: the address alone on a line and the reason
//! indented under it (Exim, Gmail, qmail's `<a@b>:`), the address followed by the reason on the same
//! line (Postfix's `<a@b>: host … said: …`, Sendmail's `<a@b>... User unknown`), a session
//! transcript (`>>> RCPT To:<a@b>` / `<<< 550 …`), or a sentence ("could not be delivered to
//! <a@b>"). Lines naming an address are found first; each recipient's text runs from its line to the
//! next such line.

use crate::domain::EnhancedStatus;
use regex::Regex;
use std::sync::LazyLock;

/// A recipient found in a text report.
#[derive(Debug, Clone)]
pub(super) struct Found {
    pub address: String,
    /// The lines about this recipient (all of its blocks, joined).
    pub text: String,
    /// Whether the address was found on a line of its own / a labelled line (true), or only in a
    /// sentence or elsewhere (false): the text is then the whole report.
    pub own_block: bool,
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)[a-z0-9!#$%&'*+/=?^_`{|}~.-]{1,128}@[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?){1,10}",
    )
    .expect("address pattern compiles")
});

/// Labels that may precede a recipient address at the start of a line (lower-case).
const LABELS: &[&str] = &[
    "failed recipient:",
    "failed recipients:",
    "original recipient:",
    "recipient address:",
    "recipient:",
    "recipients:",
    "bad recipient:",
    "unknown recipient:",
    "address:",
    "addressee:",
    "e-mail address:",
    "email address:",
    "mailbox:",
    "user:",
    "for:",
    "delivery to:",
    "unable to deliver to:",
    "could not deliver to:",
    "failed to deliver to:",
    "invalid recipient:",
    "destinataire:",
    "destinatario:",
    "empfänger:",
    "宛先:",
    "宛先 :",
    "宛先：",
];

/// Labels of lines that name a recipient but belong to a transcript or a quoted header: they add
/// text to a recipient found elsewhere, and only name recipients when nothing better is there.
const WEAK_LABELS: &[&str] = &["rcpt to:", "to:", ">>> rcpt to:", "rcpt to: "];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineKind {
    Strong,
    Weak,
}

/// Addresses never taken for a failed recipient when found in running text.
fn is_system_address(addr: &str) -> bool {
    let local = addr.split('@').next().unwrap_or("");
    matches!(
        local,
        "mailer-daemon" | "postmaster" | "mail-daemon" | "maildaemon" | "noreply" | "no-reply"
    )
}

/// Clean an address found in text: lower-cased, without surrounding punctuation.
fn clean(addr: &str) -> String {
    addr.trim_matches(['.', '-', '\'', '`'])
        .trim_start_matches([
            '=', '/', '!', '#', '$', '%', '&', '*', '+', '?', '^', '{', '|', '}', '~',
        ])
        .to_lowercase()
}

/// What a line says about a recipient address: (kind, address, rest of the line after it).
fn address_line(line: &str) -> Option<(LineKind, String, String)> {
    let t = line.trim();
    if t.is_empty() || t.len() > 1_000 || !t.contains('@') {
        return None;
    }
    let m = EMAIL.find(t)?;
    let before = t.get(..m.start())?;
    let rest = t.get(m.end()..).unwrap_or("").to_owned();
    let address = clean(m.as_str());
    if !address.contains('@') {
        return None;
    }
    let lead = before
        .trim_start_matches(['*', '-', '•', '#', ' ', '\t'])
        .trim_end_matches(['<', '"', '\'', '(', '[', ' ', '\t'])
        .to_lowercase();
    let lead = lead.trim_end_matches(['<', '"', ' ']);
    if lead.is_empty() {
        // An address that opens a local part with a quote is not at the start after all.
        return Some((LineKind::Strong, address, rest));
    }
    if LABELS
        .iter()
        .any(|l| lead == *l || lead == l.trim_end_matches(':'))
    {
        return Some((LineKind::Strong, address, rest));
    }
    if WEAK_LABELS
        .iter()
        .any(|l| lead == l.trim() || lead.ends_with(l.trim()))
    {
        // ">>> RCPT To:" and friends.
        return Some((LineKind::Weak, address, rest));
    }
    // "550 5.1.1 <a@b>... User unknown", "<<< 550 <a@b>: no such user", "(reason: 550 …)".
    let lead = lead
        .trim_start_matches("<<<")
        .trim_start_matches("(reason:")
        .trim();
    if lead.len() >= 3
        && lead
            .as_bytes()
            .first()
            .is_some_and(|b| matches!(b, b'4' | b'5'))
        && lead
            .get(..3)
            .is_some_and(|c| c.bytes().all(|b| b.is_ascii_digit()))
        && lead.len() <= 24
    {
        return Some((LineKind::Weak, address, rest));
    }
    None
}

/// Finds the recipients named in `text` (the report's explanation, without the returned
/// original). `exclude` holds addresses that are not recipients (the report's own recipient, the
/// original's sender).
pub(super) fn recipients(text: &str, exclude: &[String]) -> Vec<Found> {
    let lines: Vec<&str> = text.lines().take(3_000).collect();
    let mut hits: Vec<(usize, LineKind, String)> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some((kind, address, _)) = address_line(line)
            && !exclude.contains(&address)
        {
            hits.push((i, kind, address));
        }
    }
    let strong: Vec<&String> = hits
        .iter()
        .filter(|h| h.1 == LineKind::Strong)
        .map(|h| &h.2)
        .collect();
    // Weak lines name recipients only when no line names one more clearly, or when they name one
    // of those.
    let usable: Vec<&(usize, LineKind, String)> = if strong.is_empty() {
        hits.iter().collect()
    } else {
        hits.iter()
            .filter(|h| h.1 == LineKind::Strong || strong.contains(&&h.2))
            .collect()
    };
    let mut found: Vec<Found> = Vec::new();
    for (n, (line_no, _, address)) in usable.iter().enumerate() {
        let end = usable.get(n + 1).map(|h| h.0).unwrap_or(lines.len());
        let block = block_text(&lines, *line_no, end);
        match found.iter_mut().find(|f| &f.address == address) {
            Some(f) => {
                if f.text.len() < 32 * 1024 {
                    f.text.push('\n');
                    f.text.push_str(&block);
                }
            }
            None => found.push(Found {
                address: address.clone(),
                text: block,
                own_block: true,
            }),
        }
    }
    found
}

/// Lines `start..end`, at most 80 of them.
fn block_text(lines: &[&str], start: usize, end: usize) -> String {
    let end = end.min(start + 80).min(lines.len());
    lines.get(start..end).unwrap_or(&[]).join("\n")
}

/// Addresses anywhere in `text`, in order, without duplicates or excluded ones; those written in
/// angle brackets first when there are any ("delivering your mail to <a@b>").
pub(super) fn addresses_in(text: &str, exclude: &[String]) -> Vec<String> {
    let mut bracketed = Vec::new();
    let mut bare = Vec::new();
    for m in EMAIL.find_iter(text).take(200) {
        let address = clean(m.as_str());
        if exclude.contains(&address) || is_system_address(&address) {
            continue;
        }
        let before = text.get(..m.start()).unwrap_or("");
        let lower_before: String = before
            .chars()
            .rev()
            .take(12)
            .collect::<String>()
            .chars()
            .rev()
            .collect::<String>()
            .to_lowercase();
        // The envelope sender in a transcript is not a recipient.
        if lower_before.contains("from:") || lower_before.contains("from <") {
            continue;
        }
        let list = if before.ends_with('<') {
            &mut bracketed
        } else {
            &mut bare
        };
        if !list.contains(&address) {
            list.push(address);
        }
    }
    if bracketed.is_empty() {
        bare
    } else {
        bracketed
    }
}

/// The first address in a header value (`Name <a@b>`, `a@b, c@d`).
pub(super) fn first_address(value: &str) -> Option<String> {
    EMAIL.find(value).map(|m| clean(m.as_str()))
}

/// All addresses in a header value.
pub(super) fn all_addresses(value: &str) -> Vec<String> {
    EMAIL
        .find_iter(value)
        .take(50)
        .map(|m| clean(m.as_str()))
        .collect()
}

/// An SMTP reply quoted in a text: the code, the enhanced status written next to it (or anywhere
/// in the text), and the reply from the code to the end of its paragraph.
#[derive(Debug, Clone, Default)]
pub(super) struct Reply {
    pub code: Option<u16>,
    pub status: Option<EnhancedStatus>,
    pub line: Option<String>,
}

/// Finds the first failure reply (4xx/5xx) in `text`.
pub(super) fn reply_in(text: &str) -> Reply {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i + 3 <= bytes.len() {
        let b = bytes[i];
        if (b == b'4' || b == b'5')
            && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_digit)
            && is_code_start(bytes, i)
            && is_code_end(bytes, i + 3)
        {
            let code: u16 = text.get(i..i + 3).and_then(|c| c.parse().ok()).unwrap_or(0);
            let after = text.get(i + 3..).unwrap_or("");
            let status = status_after(after).or_else(|| best_status(text));
            let line = paragraph_from(text, i);
            return Reply {
                code: Some(code),
                status,
                line: Some(line),
            };
        }
        i += 1;
    }
    Reply {
        code: None,
        status: best_status(text),
        line: None,
    }
}

fn is_code_start(bytes: &[u8], i: usize) -> bool {
    if i == 0 {
        return true;
    }
    let p = bytes[i - 1];
    if !(p == b' '
        || p == b'\t'
        || p == b'\n'
        || p == b':'
        || p == b';'
        || p == b'>'
        || p == b'"'
        || p == b'('
        || p == b'\''
        || p == b'='
        || p == b'<')
    {
        return false;
    }
    // "12:34:550" or "1.2.550" are not codes; a time's seconds are two digits anyway.
    !(p == b':' && i >= 2 && bytes[i - 2].is_ascii_digit())
}

fn is_code_end(bytes: &[u8], j: usize) -> bool {
    match bytes.get(j) {
        None => true,
        Some(b' ' | b'\t' | b'\r' | b'\n' | b')' | b',' | b'"' | b'\'') => true,
        // "550-5.7.1 …" continuation lines.
        Some(b'-') => bytes
            .get(j + 1)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b' '),
        _ => false,
    }
}

/// An enhanced status right after a reply code (`550 5.1.1`, `550-5.7.26`, `550 #5.1.1`).
fn status_after(after: &str) -> Option<EnhancedStatus> {
    let t = after.trim_start_matches(['-', ' ', '\t', '#', '(']);
    let word: String = t
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    EnhancedStatus::parse(word.trim_end_matches('.'))
}

/// The first failure status (4.x.x or 5.x.x) in `text`; a success status only when there is no
/// other.
pub(super) fn best_status(text: &str) -> Option<EnhancedStatus> {
    let mut success = None;
    for w in text
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .take(20_000)
    {
        if let Some(s) = EnhancedStatus::parse(w.trim_end_matches('.')) {
            if s.class != 2 {
                return Some(s);
            }
            success.get_or_insert(s);
        }
    }
    success
}

/// The text from byte `i` to the end of its paragraph (blank line), at most 20 lines.
fn paragraph_from(text: &str, i: usize) -> String {
    let mut start = i;
    while start > 0 && !text.is_char_boundary(start) {
        start -= 1;
    }
    let rest = text.get(start..).unwrap_or("");
    let mut out = String::new();
    for line in rest.lines().take(20) {
        if line.trim().is_empty() {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(line.trim());
    }
    out
}

static REMOTE_MTA: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:\bhost\s+|while talking to\s+|remote host\s+|\bserver\s+|connecting to\s+|\bby\s+)([a-z0-9][a-z0-9.-]{0,200}\.[a-z]{2,63})\.?\s*(?:\[[0-9a-f.:]{3,45}\])?\s*(?:said|:|refused|\(|\[|returned|responded|replied)",
    )
    .expect("remote MTA pattern compiles")
});

/// The remote server named in a report text ("host mx.example.org[192.0.2.1] said:").
pub(super) fn remote_mta_in(text: &str) -> Option<String> {
    let text = text.get(..text.len().min(16 * 1024)).unwrap_or(text);
    REMOTE_MTA
        .captures(text)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().trim_end_matches('.').to_lowercase())
}

/// Whitespace collapsed, at most `max` bytes (on a character boundary).
pub(super) fn collapse(text: &str, max: usize) -> String {
    let mut out = String::new();
    for w in text.split_whitespace() {
        if out.len() + w.len() + 1 > max {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}
