//! Finding where a text report stops and the returned original starts ("----- Original message
//! -----", "------ This is a copy of the message, including all the headers. ------", a bare header
//! block after the explanation, …), so that the original's addresses are not taken for failed
//! recipients, and reading the original's header fields from there.

/// Lines that introduce the returned original (lower-cased, matched inside the trimmed line).
const MARKERS: &[&str] = &[
    "original message follows",
    "original message -----",
    "----- original message",
    "-----original message-----",
    "------- original message",
    "this is a copy of the message",
    "below this line is a copy of the message",
    "enclosed is a copy of the message",
    "unsent message follows",
    "returned message follows",
    "------- returned message",
    "----- returned message",
    "included is a copy of the message header",
    "message headers follow",
    "header of the original message is following",
    "headers of the original message",
    "original message header",
    "original message headers",
    "copy of the original message",
    "the original message was:",
    "the original message headers",
    "original message:",
    "---- message header follows",
    "message header follows",
    "undelivered message headers",
    "undeliverable message headers",
    "the message header was",
    "message truncated",
    "----- message text follows",
    "the header of the original message",
    "--- original message ---",
    "original mail follows",
    "text of the original message",
    "headers of your original message",
    "your message reads (in part)",
    "original message ------",
    "返送されたメッセージ",
    "以下のメッセージ",
    "元のメッセージ",
];

/// Where the returned original starts in `text` (a byte offset at a line start), if anywhere.
pub(super) fn split_at(text: &str) -> Option<usize> {
    let mut offset = 0;
    let mut previous_blank = true;
    let mut lines_seen = 0;
    for line in text.split_inclusive('\n') {
        lines_seen += 1;
        if lines_seen > 4_000 {
            break;
        }
        let start = offset;
        offset += line.len();
        let trimmed = line.trim();
        if trimmed.is_empty() {
            previous_blank = true;
            continue;
        }
        if trimmed.len() < 160 {
            let lower = trimmed.to_lowercase();
            if is_marker(&lower) {
                return Some(start);
            }
        }
        // A bare header block after a blank line: the original quoted without an introduction.
        if previous_blank
            && !line.starts_with([' ', '\t'])
            && starts_header_block(text.get(start..).unwrap_or(""))
        {
            return Some(start);
        }
        previous_blank = false;
    }
    None
}

fn is_marker(lower: &str) -> bool {
    if MARKERS.iter().any(|m| lower.contains(m)) {
        return true;
    }
    // "----- Something about the original message -----" written by a less common MTA.
    let decorated =
        lower.starts_with("---") || lower.starts_with("===") || lower.starts_with("***");
    decorated
        && (lower.contains("original") || lower.contains("copy") || lower.contains("returned"))
        && (lower.contains("message") || lower.contains("mail") || lower.contains("header"))
}

/// Header names that open a quoted original (and are not delivery-status fields).
const HEADER_NAMES: &[&str] = &[
    "return-path",
    "received",
    "delivered-to",
    "dkim-signature",
    "message-id",
    "from",
    "date",
    "subject",
    "to",
    "mime-version",
    "authentication-results",
    "arc-seal",
    "x-received",
    "x-google-dkim-signature",
    "domainkey-signature",
    "content-type",
    "reply-to",
    "sender",
];

fn header_name(line: &str) -> Option<String> {
    let (name, _) = line.split_once(':')?;
    if name.is_empty()
        || name.len() > 40
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return None;
    }
    Some(name.to_ascii_lowercase())
}

/// Whether `text` starts with at least three header lines, among them the ones an original always
/// has (the first being a known name).
fn starts_header_block(text: &str) -> bool {
    let mut names = Vec::new();
    for line in text.lines().take(40) {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if names.is_empty() {
                return false;
            }
            continue;
        }
        match header_name(line) {
            Some(n) => names.push(n),
            None => break,
        }
    }
    let Some(first) = names.first() else {
        return false;
    };
    names.len() >= 3
        && (HEADER_NAMES.contains(&first.as_str()) || first.starts_with("x-"))
        && names.iter().any(|n| {
            matches!(
                n.as_str(),
                "received" | "message-id" | "from" | "subject" | "return-path" | "date"
            )
        })
}

/// The header block of a quoted original that starts at or after `text`'s start: skips the marker
/// line and blank lines, then reads up to the first blank line.
pub(super) fn quoted_headers(text: &str) -> Vec<(String, String)> {
    // Find the first header-looking line within the first few lines.
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if i > 12 {
            return Vec::new();
        }
        let rest = text.get(offset..).unwrap_or("");
        if header_name(line.trim_start()).is_some()
            && !line.starts_with([' ', '\t'])
            && rest.lines().nth(1).is_some()
        {
            let headers = super::mime::headers_from_text(rest);
            if !headers.is_empty() {
                return headers;
            }
        }
        offset += line.len();
    }
    Vec::new()
}
