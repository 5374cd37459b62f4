//! herald: a lenient tokenizer reading MJML as mjml 4 does (mjml 4 parses with htmlparser2, an HTML
//! parser), in place of `htmlparser::Tokenizer` (an XML tokenizer, which refuses unquoted attribute
//! values, attributes without a space between them, `--` inside a comment, a `<` in text…, and
//! panics on some malformed conditional comments). It yields the same `htmlparser::Token`s, with
//! byte offsets into the original text, and never fails:
//!
//! - `<name …>` / `<name …/>` / `</name …>`: a tag name starts with an ASCII letter and runs to
//!   whitespace, `/` or `>`; a tag that the text ends inside of is dropped, as htmlparser2 does.
//! - Attributes: `name`, `name=value`, `name="value"`, `name='value'`; an unquoted value runs to
//!   whitespace or `>`; no space is needed between attributes; a lone `/` is skipped.
//! - `<!-- … -->` is one comment, whatever it holds (`--`, a conditional comment); an unclosed one
//!   runs to the end. `<!…>`, `<?…>` (doctype, XML declaration, processing instruction), `<![CDATA[…]]>`
//!   and `</` not followed by a letter are skipped, as mjml 4 ignores them.
//! - `<script>`, `<style>` and `<title>` hold text up to their closing tag.
//! - Any other `<` is text.
//!
//! Tag names are lower-cased as htmlparser2 does, by [`lower_tag_names`], on a copy of the text
//! that the tokenizer reads (ASCII only, so every byte offset stays); the content of mjml's ending
//! tags is taken from the text as written.

use std::borrow::Cow;

use htmlparser::{ElementEnd, Error, StrSpan, Stream, Token};

/// The span `start..end` of `text`, with its offset.
pub(crate) fn span(text: &str, start: usize, end: usize) -> StrSpan<'_> {
    let mut stream = Stream::from_substr(text, start..end);
    stream.advance(end - start);
    stream.slice_back(start)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Between tags.
    Text,
    /// Inside a start tag, after its name; the tag ends at `end` (its `>`). `raw_text` is the
    /// name's range when the element holds text up to its closing tag.
    Tag {
        end: usize,
        raw_text: Option<(usize, usize)>,
    },
    /// After `<script>`, `<style>` or `<title>` (the name's range): text up to `</name`.
    RawText { name: (usize, usize) },
}

/// The lenient tokenizer. `Clone` is cheap: it is a position in the text.
#[derive(Clone, Debug)]
pub struct Lexer<'a> {
    text: &'a str,
    pos: usize,
    state: State,
}

impl<'a> From<&'a str> for Lexer<'a> {
    fn from(text: &'a str) -> Self {
        let pos = if text.starts_with('\u{feff}') { 3 } else { 0 };
        Self {
            text,
            pos,
            state: State::Text,
        }
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\t' | b'\r' | b'\x0c')
}

/// Splits `name` at its first `:` into prefix and local name, as `htmlparser` does.
fn qname(text: &str, start: usize, end: usize) -> (StrSpan<'_>, StrSpan<'_>) {
    match text[start..end].find(':') {
        Some(i) if i > 0 && start + i + 1 < end => {
            (span(text, start, start + i), span(text, start + i + 1, end))
        }
        _ => (span(text, start, start), span(text, start, end)),
    }
}

/// Whether `text` may have a tag whose name starts with `mj` (as `mjml` and every MJML element's
/// does) and has an upper-case ASCII letter: the only names whose case changes how mrml reads the
/// document (HTML names are compared ignoring case).
fn may_have_upper_case_mj_tag(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    while let Some(lt) = b[i..].iter().position(|&c| c == b'<') {
        let mut at = i + lt + 1;
        if b.get(at) == Some(&b'/') {
            at += 1;
        }
        if b.get(at..at + 2)
            .is_some_and(|n| n.eq_ignore_ascii_case(b"mj"))
            && b[at..]
                .iter()
                .take_while(|&&c| !is_space(c) && !matches!(c, b'/' | b'>'))
                .any(u8::is_ascii_uppercase)
        {
            return true;
        }
        i = at;
    }
    false
}

/// herald: `text` with the names of its start and end tags in lower case, as htmlparser2 reads them
/// for mjml 4 (`<MJ-TEXT>` is `mj-text`). Only ASCII letters change, so offsets into the copy are
/// offsets into `text`. Borrowed (no copy, no second pass) unless an MJML tag name has an upper-case
/// letter.
pub fn lower_tag_names(text: &str) -> Cow<'_, str> {
    if !may_have_upper_case_mj_tag(text) {
        return Cow::Borrowed(text);
    }
    let mut lowered = text.to_owned();
    for token in Lexer::from(text) {
        let (prefix, local) = match token {
            Ok(Token::ElementStart { prefix, local, .. })
            | Ok(Token::ElementEnd {
                end: ElementEnd::Close(prefix, local),
                ..
            }) => (prefix, local),
            _ => continue,
        };
        // An empty prefix is an empty span at the name's start.
        lowered[prefix.start()..local.end()].make_ascii_lowercase();
    }
    Cow::Owned(lowered)
}

impl<'a> Lexer<'a> {
    /// The text this reads.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// Byte offset of the next token.
    pub fn pos(&self) -> usize {
        self.pos
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// The offset of the `>` that ends the tag whose name ends at `from`, skipping quoted values as
    /// the attribute rules below read them; `None` when the text ends first.
    fn tag_end(&self, from: usize) -> Option<usize> {
        let b = self.bytes();
        let mut i = from;
        loop {
            // Before an attribute name.
            while i < b.len() && (is_space(b[i]) || b[i] == b'/') {
                i += 1;
            }
            if i >= b.len() {
                return None;
            }
            if b[i] == b'>' {
                return Some(i);
            }
            // The name: at least one byte, then up to `=`, `/`, `>` or whitespace.
            i += 1;
            while i < b.len() && !matches!(b[i], b'=' | b'/' | b'>') && !is_space(b[i]) {
                i += 1;
            }
            let mut j = i;
            while j < b.len() && is_space(b[j]) {
                j += 1;
            }
            if j < b.len() && b[j] == b'=' {
                j += 1;
                while j < b.len() && is_space(b[j]) {
                    j += 1;
                }
                match b.get(j) {
                    Some(&q @ (b'"' | b'\'')) => {
                        let close = b[j + 1..].iter().position(|&c| c == q)?;
                        i = j + 1 + close + 1;
                    }
                    Some(_) => {
                        while j < b.len() && b[j] != b'>' && !is_space(b[j]) {
                            j += 1;
                        }
                        i = j;
                    }
                    None => return None,
                }
            }
        }
    }

    /// One attribute, `/>` or `>` of the tag ending at `end`.
    fn in_tag(&mut self, end: usize, raw_text: Option<(usize, usize)>) -> Token<'a> {
        let b = self.bytes();
        let text = self.text;
        let mut i = self.pos;
        while i < end && (is_space(b[i]) || b[i] == b'/') {
            if b[i] == b'/' {
                // `/`, then only whitespace up to `>`: self-closed (htmlparser2's
                // `recognizeSelfClosing`); a `/` before anything else is skipped.
                let mut k = i + 1;
                while k < end && is_space(b[k]) {
                    k += 1;
                }
                if k == end {
                    self.pos = end + 1;
                    self.state = State::Text;
                    return Token::ElementEnd {
                        end: ElementEnd::Empty,
                        span: span(text, i, end + 1),
                    };
                }
            }
            i += 1;
        }
        if i >= end {
            self.pos = end + 1;
            self.state = match raw_text {
                Some(name) => State::RawText { name },
                None => State::Text,
            };
            return Token::ElementEnd {
                end: ElementEnd::Open,
                span: span(text, end, end + 1),
            };
        }
        let name_start = i;
        i += 1;
        while i < end && !matches!(b[i], b'=' | b'/' | b'>') && !is_space(b[i]) {
            i += 1;
        }
        let name_end = i;
        let mut j = i;
        while j < end && is_space(b[j]) {
            j += 1;
        }
        let mut value = None;
        let mut attr_end = name_end;
        if j < end && b[j] == b'=' {
            j += 1;
            while j < end && is_space(b[j]) {
                j += 1;
            }
            match b.get(j) {
                Some(&q @ (b'"' | b'\'')) if j < end => {
                    // `tag_end` found the closing quote before `end`.
                    let close = b[j + 1..end]
                        .iter()
                        .position(|&c| c == q)
                        .map_or(end, |k| j + 1 + k);
                    value = Some(span(text, j + 1, close));
                    attr_end = (close + 1).min(end);
                }
                _ => {
                    let start = j;
                    while j < end && !is_space(b[j]) {
                        j += 1;
                    }
                    value = Some(span(text, start, j));
                    attr_end = j;
                }
            }
        }
        self.pos = attr_end;
        let (prefix, local) = qname(text, name_start, name_end);
        Token::Attribute {
            prefix,
            local,
            value,
            span: span(text, name_start, attr_end),
        }
    }

    /// Text up to the next `<` that starts markup, from `from`.
    fn text_end(&self, from: usize) -> usize {
        let b = self.bytes();
        let mut i = from;
        while let Some(lt) = b[i..].iter().position(|&c| c == b'<') {
            let at = i + lt;
            match b.get(at + 1) {
                Some(c) if c.is_ascii_alphabetic() || matches!(c, b'/' | b'!' | b'?') => return at,
                _ => i = at + 1,
            }
        }
        b.len()
    }

    fn next_token(&mut self) -> Option<Token<'a>> {
        let text = self.text;
        let b = self.bytes();
        loop {
            if self.pos >= b.len() {
                return None;
            }
            match self.state {
                State::Tag { end, raw_text } => return Some(self.in_tag(end, raw_text)),
                State::RawText {
                    name: (name_start, name_end),
                } => {
                    self.state = State::Text;
                    let name = &text[name_start..name_end];
                    let start = self.pos;
                    let mut i = start;
                    let close = loop {
                        match b[i..].windows(2).position(|w| w == b"</") {
                            Some(k) => {
                                let at = i + k;
                                let after = at + 2 + name.len();
                                if text
                                    .get(at + 2..after)
                                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
                                    && b.get(after)
                                        .is_none_or(|&c| is_space(c) || matches!(c, b'/' | b'>'))
                                {
                                    break at;
                                }
                                i = at + 2;
                            }
                            None => break b.len(),
                        }
                    };
                    self.pos = close;
                    if close > start {
                        return Some(Token::Text {
                            text: span(text, start, close),
                        });
                    }
                }
                State::Text => {
                    let start = self.pos;
                    if b[start] != b'<' || self.text_end(start) != start {
                        let end = self.text_end(start);
                        self.pos = end;
                        return Some(Token::Text {
                            text: span(text, start, end),
                        });
                    }
                    let rest = &b[start..];
                    if rest.starts_with(b"<!--") {
                        let (inner_end, end) = match text[start + 4..].find("-->") {
                            Some(k) => (start + 4 + k, start + 4 + k + 3),
                            None => (b.len(), b.len()),
                        };
                        self.pos = end;
                        return Some(Token::Comment {
                            text: span(text, start + 4, inner_end),
                            span: span(text, start, end),
                        });
                    }
                    if rest.starts_with(b"<![CDATA[") {
                        self.pos = text[start..].find("]]>").map_or(b.len(), |k| start + k + 3);
                        continue;
                    }
                    if rest[1] == b'!' || rest[1] == b'?' {
                        self.pos = b[start..]
                            .iter()
                            .position(|&c| c == b'>')
                            .map_or(b.len(), |k| start + k + 1);
                        continue;
                    }
                    if rest[1] == b'/' {
                        let name_start = start + 2;
                        if !b.get(name_start).is_some_and(u8::is_ascii_alphabetic) {
                            self.pos = b[start..]
                                .iter()
                                .position(|&c| c == b'>')
                                .map_or(b.len(), |k| start + k + 1);
                            continue;
                        }
                        let mut i = name_start;
                        while i < b.len() && !is_space(b[i]) && !matches!(b[i], b'/' | b'>') {
                            i += 1;
                        }
                        let Some(gt) = b[i..].iter().position(|&c| c == b'>') else {
                            self.pos = b.len();
                            return None;
                        };
                        let (prefix, local) = qname(text, name_start, i);
                        self.pos = i + gt + 1;
                        return Some(Token::ElementEnd {
                            end: ElementEnd::Close(prefix, local),
                            span: span(text, start, self.pos),
                        });
                    }
                    // `<` and a letter: a start tag.
                    let name_start = start + 1;
                    let mut i = name_start;
                    while i < b.len() && !is_space(b[i]) && !matches!(b[i], b'/' | b'>') {
                        i += 1;
                    }
                    let Some(end) = self.tag_end(i) else {
                        self.pos = b.len();
                        return None;
                    };
                    let name = &text[name_start..i];
                    let raw_text = ["script", "style", "title"]
                        .iter()
                        .any(|n| n.eq_ignore_ascii_case(name))
                        .then_some((name_start, i));
                    self.pos = i;
                    self.state = State::Tag { end, raw_text };
                    let (prefix, local) = qname(text, name_start, i);
                    return Some(Token::ElementStart {
                        prefix,
                        local,
                        span: span(text, start, i),
                    });
                }
            }
        }
    }
}

impl<'a> Iterator for Lexer<'a> {
    type Item = Result<Token<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_token().map(Ok)
    }
}
