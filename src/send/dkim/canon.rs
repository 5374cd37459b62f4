//! DKIM "relaxed" canonicalization (RFC 6376 §3.4.2 and §3.4.4): of one header field, and of a body
//! fed in pieces, so the hash state over an issue's fixed opening can be kept and cloned per message.

use ring::digest::{Context, Digest, SHA256};

/// Appends the relaxed form of one header field (`Name: value`, possibly folded, with or without its
/// final CRLF): the name lower-cased, the value unfolded, runs of spaces and tabs made one space,
/// spaces around the colon and at the ends removed, then CRLF.
pub fn relaxed_header(field: &[u8], out: &mut Vec<u8>) {
    let colon = field.iter().position(|&b| b == b':').unwrap_or(field.len());
    let name = field[..colon].trim_ascii_end();
    out.extend(name.iter().map(u8::to_ascii_lowercase));
    out.push(b':');
    let value = field.get(colon + 1..).unwrap_or_default();
    let mut space = false;
    let mut started = false;
    for &b in value {
        match b {
            b'\r' | b'\n' => {}
            b' ' | b'\t' => space = true,
            _ => {
                if space && started {
                    out.push(b' ');
                }
                space = false;
                started = true;
                out.push(b);
            }
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// A SHA-256 over a body in relaxed canonical form, fed in any number of pieces. Cloning it keeps
/// everything fed so far: the hash of an issue's fixed opening is computed once.
#[derive(Clone)]
pub struct RelaxedBody {
    hash: Context,
    /// Spaces or tabs seen on the current line and not yet written (they may end the line).
    space: bool,
    /// Line ends not yet written (trailing empty lines are dropped).
    line_ends: usize,
    /// The previous piece ended with a CR.
    cr: bool,
    /// Something other than line ends was written.
    any: bool,
    /// Output waiting to be hashed, so the hash is updated in blocks.
    buffer: Vec<u8>,
}

impl Default for RelaxedBody {
    fn default() -> Self {
        Self::new()
    }
}

impl RelaxedBody {
    pub fn new() -> Self {
        Self {
            hash: Context::new(&SHA256),
            space: false,
            line_ends: 0,
            cr: false,
            any: false,
            buffer: Vec::with_capacity(8192 + 1024),
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        let mut i = 0;
        while i < bytes.len() {
            if self.buffer.len() >= 8192 {
                self.hash.update(&self.buffer);
                self.buffer.clear();
            }
            // With nothing pending, a run without tabs, CRs or two spaces in a row (a single space
            // between two other bytes stays as it is) is its own canonical form: copied whole.
            if !self.cr && !self.space && self.line_ends == 0 {
                let end = plain_run(bytes, i);
                if end > i {
                    self.buffer.extend_from_slice(&bytes[i..end]);
                    self.any = true;
                    i = end;
                    continue;
                }
            }
            let b = bytes[i];
            i += 1;
            if self.cr {
                self.cr = false;
                if b == b'\n' {
                    // Spaces before the line end are dropped; the line end waits.
                    self.space = false;
                    self.line_ends += 1;
                    continue;
                }
                self.content(b'\r');
            }
            match b {
                b'\r' => self.cr = true,
                b' ' | b'\t' => self.space = true,
                _ => self.content(b),
            }
        }
    }

    fn content(&mut self, b: u8) {
        for _ in 0..std::mem::take(&mut self.line_ends) {
            self.buffer.extend_from_slice(b"\r\n");
        }
        if std::mem::take(&mut self.space) {
            self.buffer.push(b' ');
        }
        self.buffer.push(b);
        self.any = true;
    }

    /// The body hash: the canonical body ends with exactly one CRLF (none when it is empty).
    pub fn finish(mut self) -> Digest {
        if self.cr {
            self.content(b'\r');
        }
        if self.any {
            self.buffer.extend_from_slice(b"\r\n");
        }
        self.hash.update(&self.buffer);
        self.hash.finish()
    }
}

/// The end of the run from `from` that relaxed canonicalization leaves as it is: no tab, no CR, and
/// a space only between two bytes that are neither.
fn plain_run(bytes: &[u8], from: usize) -> usize {
    let mut end = from;
    loop {
        match memchr::memchr3(b' ', b'\t', b'\r', &bytes[end..]) {
            None => return bytes.len(),
            Some(p) => {
                let at = end + p;
                match bytes.get(at + 1) {
                    Some(next) if bytes[at] == b' ' && !matches!(next, b' ' | b'\t' | b'\r') => {
                        end = at + 2;
                    }
                    _ => return at,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(s: &str) -> String {
        let mut out = Vec::new();
        relaxed_header(s.as_bytes(), &mut out);
        String::from_utf8(out).unwrap()
    }

    /// The reference: canonicalise the whole body as RFC 6376 §3.4.4 describes it, line by line.
    fn reference(body: &[u8]) -> Vec<u8> {
        let text = String::from_utf8_lossy(body).into_owned();
        let mut lines: Vec<String> = text
            .split("\r\n")
            .map(|line| {
                let mut out = String::new();
                let mut space = false;
                for c in line.chars() {
                    if c == ' ' || c == '\t' {
                        space = true;
                    } else {
                        if space {
                            out.push(' ');
                        }
                        space = false;
                        out.push(c);
                    }
                }
                out
            })
            .collect();
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        if lines.is_empty() {
            return Vec::new();
        }
        (lines.join("\r\n") + "\r\n").into_bytes()
    }

    fn hash(pieces: &[&[u8]]) -> Vec<u8> {
        let mut body = RelaxedBody::new();
        for p in pieces {
            body.update(p);
        }
        body.finish().as_ref().to_vec()
    }

    #[test]
    fn headers_are_unfolded_and_spaces_collapsed() {
        assert_eq!(
            header("Subject:  Hello \t world  \r\n"),
            "subject:Hello world\r\n"
        );
        assert_eq!(
            header("List-Unsubscribe: <https://x/u/a>,\r\n <mailto:b@x>\r\n"),
            "list-unsubscribe:<https://x/u/a>, <mailto:b@x>\r\n"
        );
        assert_eq!(header("To :x@y"), "to:x@y\r\n");
    }

    #[test]
    fn the_rfc_example_body() {
        // RFC 6376 §3.4.6: " C \r\nD \t E\r\n\r\n\r\n" becomes " C\r\nD E\r\n".
        let want = ring::digest::digest(&SHA256, b" C\r\nD E\r\n");
        assert_eq!(hash(&[b" C \r\nD \t E\r\n\r\n\r\n"]), want.as_ref());
    }

    #[test]
    fn an_empty_body_hashes_as_empty() {
        let want = ring::digest::digest(&SHA256, b"");
        assert_eq!(hash(&[b""]), want.as_ref());
        assert_eq!(hash(&[b"\r\n\r\n"]), want.as_ref());
    }

    proptest::proptest! {
        #[test]
        fn pieces_hash_like_the_whole_canonical_body(
            body in proptest::collection::vec(proptest::sample::select(vec![b'a', b' ', b'\t', b'\r', b'\n', b'=', b'.']), 0..200),
            cut in 0usize..200,
        ) {
            let cut = cut.min(body.len());
            let want = ring::digest::digest(&SHA256, &reference(&body));
            proptest::prop_assert_eq!(hash(&[&body[..cut], &body[cut..]]), want.as_ref().to_vec());
            let mut cloned = RelaxedBody::new();
            cloned.update(&body[..cut]);
            let mut rest = cloned.clone();
            rest.update(&body[cut..]);
            let got = rest.finish();
            proptest::prop_assert_eq!(got.as_ref(), want.as_ref());
        }
    }
}
