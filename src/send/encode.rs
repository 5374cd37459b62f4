//! Quoted-printable bodies and RFC 2047 headers, written by hand so that the literal parts of an issue
//! are encoded once and only the per-recipient values are encoded per message.

/// Appends `text` as quoted-printable, lines ending CRLF, lines at most 76 characters. The output always
/// ends at column 0 (with a soft line break if needed), so encoded pieces can be concatenated.
pub fn quoted_printable(text: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let bytes = text.as_bytes();
    let mut column = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        if b == b'\n' {
            out.extend_from_slice(b"\r\n");
            column = 0;
            i += 1;
            continue;
        }
        let at_line_end = matches!(bytes.get(i + 1), None | Some(b'\n') | Some(b'\r'));
        let mut literal =
            (b == b' ' || b == b'\t') && !at_line_end || (33..=126).contains(&b) && b != b'=';
        if column + if literal { 1 } else { 3 } > 75 {
            out.extend_from_slice(b"=\r\n");
            column = 0;
        }
        // A `.` never starts a line, so the message needs no SMTP dot-stuffing.
        if b == b'.' && column == 0 {
            literal = false;
        }
        let width = if literal { 1 } else { 3 };
        if literal {
            out.push(b);
        } else {
            out.extend_from_slice(&[b'=', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
        }
        column += width;
        i += 1;
    }
    if column > 0 {
        out.extend_from_slice(b"=\r\n");
    }
}

/// A header value: as is when it is printable ASCII, else RFC 2047 encoded words (UTF-8, base64).
pub fn header_text(value: &str) -> String {
    if value.bytes().all(|b| (32..=126).contains(&b)) {
        return value.to_owned();
    }
    use base64::Engine;
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in value.chars() {
        // 39 bytes of UTF-8 → 52 base64 characters: a 64-character encoded word, within RFC 2047's 75
        // and short enough to follow `Subject: ` on a folded line of at most 78.
        if chunk.len() + c.len_utf8() > 39 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(chunk);
    }
    words
        .iter()
        .map(|w| {
            format!(
                "=?UTF-8?B?{}?=",
                base64::engine::general_purpose::STANDARD.encode(w)
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Folds one header field (`Name: value`, no line end) so its lines stay within 78 characters where
/// possible (RFC 5322 §2.1.1): a line break goes before a space, never inside a word, so a line only
/// runs longer when one word (a long URL) does. Returns the field with its final CRLF.
pub fn fold(field: &str) -> String {
    const LIMIT: usize = 78;
    let mut out = String::with_capacity(field.len() + 8);
    let mut column = 0;
    for (i, word) in field.split(' ').enumerate() {
        if i > 0 {
            // Never right after the field name: some parsers want a value on the first line.
            if column + 1 + word.len() > LIMIT && i > 1 {
                out.push_str("\r\n");
                column = 0;
            }
            out.push(' ');
            column += 1;
        }
        out.push_str(word);
        column += word.len();
    }
    out.push_str("\r\n");
    out
}

/// A display name for From/To: quoted when it holds specials, encoded when not ASCII.
pub fn display_name(name: &str) -> String {
    // Control characters (CR, LF…) never reach a header; an absurdly long name is cut so the header
    // line stays well under SMTP's 998-character limit.
    let name: String = name.chars().filter(|c| !c.is_control()).take(200).collect();
    if !name.is_ascii() {
        return header_text(&name);
    }
    // `=?` would let an ASCII name pose as an encoded word; quoted, clients show it as typed.
    if !name.contains("=?")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " !#$%&'*+-/=?^_`{|}~".contains(c))
    {
        name
    } else {
        format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// A From (or To) value for `mailbox`: its display name made header-safe, then the address.
pub fn mailbox(mailbox: &crate::domain::Mailbox) -> String {
    match &mailbox.name {
        Some(name) => format!("{} <{}>", display_name(name), mailbox.address),
        None => mailbox.address.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qp(s: &str) -> String {
        let mut out = Vec::new();
        quoted_printable(s, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn qp_escapes_equals_non_ascii_and_trailing_space() {
        assert_eq!(qp("a=b é \nx"), "a=3Db =C3=A9=20\r\nx=\r\n");
    }

    #[test]
    fn qp_never_starts_a_line_with_a_dot() {
        assert_eq!(qp(".\n.x"), "=2E\r\n=2Ex=\r\n");
        for line in qp(&"a.".repeat(200)).split("\r\n") {
            assert!(!line.starts_with('.'), "{line}");
        }
    }

    #[test]
    fn qp_lines_never_exceed_76_characters() {
        let long = "word ".repeat(100) + &"é".repeat(50);
        for line in qp(&long).split("\r\n") {
            assert!(line.len() <= 76, "{} chars: {line}", line.len());
        }
    }

    #[test]
    fn headers_encode_only_when_needed() {
        assert_eq!(header_text("Plain subject"), "Plain subject");
        assert_eq!(header_text("Café"), "=?UTF-8?B?Q2Fmw6k=?=");
        assert_eq!(display_name("Lee, Ann"), "\"Lee, Ann\"");
        assert_eq!(
            display_name("=?UTF-8?B?QWRtaW4=?="),
            "\"=?UTF-8?B?QWRtaW4=?=\""
        );
        assert_eq!(
            display_name("Ann\r\nBcc: x@example.com"),
            "\"AnnBcc: x@example.com\""
        );
        assert_eq!(display_name(&"n".repeat(5000)).len(), 200);
    }

    #[test]
    fn folding_keeps_lines_within_78_and_unfolds_to_the_same_field() {
        let subject = format!(
            "Subject: {}",
            header_text(&"Überraschung in der Zeitung ".repeat(6))
        );
        let name = format!(
            "From: {} <news@example.com>",
            display_name(&"Ann Lee, ".repeat(20))
        );
        for field in [subject, name, "To: a@b".to_owned()] {
            let folded = fold(&field);
            assert!(folded.ends_with("\r\n"));
            for line in folded.trim_end().split("\r\n") {
                assert!(line.len() <= 78, "{} chars: {line}", line.len());
            }
            assert_eq!(folded.trim_end().replace("\r\n", ""), field);
        }
        let url = format!(
            "List-Unsubscribe: <https://example.com/u/{}>",
            "t".repeat(90)
        );
        assert_eq!(
            fold(&url),
            url.clone() + "\r\n",
            "one long word stays whole"
        );
    }
}
