//! Walking the MIME tree of a returned message (decoded by `mail-parser`, charsets included) into
//! what the report readers need: the report's own headers, its human-readable text, its
//! machine-readable parts (delivery-status, feedback-report) and the returned original.

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

/// Caps that keep the work per message bounded whatever comes in.
const MAX_PARTS: usize = 64;
const MAX_PART_TEXT: usize = 256 * 1024;

/// One message, taken apart.
#[derive(Debug, Default)]
pub(super) struct Mail {
    /// The report's own header fields in order: lower-cased name, decoded value.
    pub headers: Vec<(String, String)>,
    /// `type/subtype` of the top level, lower-cased.
    pub content_type: String,
    /// The `report-type` parameter of a top-level multipart/report, lower-cased.
    pub report_type: Option<String>,
    /// Human-readable text parts outside any returned message, in order (HTML turned into text when a
    /// part has no plain alternative).
    pub texts: Vec<String>,
    /// message/delivery-status parts (and their global and text variants).
    pub status_parts: Vec<String>,
    /// message/feedback-report parts.
    pub feedback_parts: Vec<String>,
    /// Header fields of the first returned message (message/rfc822 or rfc822-headers part).
    pub returned_headers: Option<Vec<(String, String)>>,
    /// Text of the returned messages (for the report's `text`, and vendor formats that put their
    /// notification inside one).
    pub returned_texts: Vec<String>,
}

impl Mail {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

pub(super) fn read(raw: &[u8]) -> Mail {
    let mut mail = Mail::default();
    let Some(message) = MessageParser::default().parse(raw) else {
        // Not even a header block: what there is, as text.
        mail.texts.push(capped_lossy(raw));
        return mail;
    };
    mail.headers = header_pairs(&message);
    if let Some(ct) = message.root_part().content_type() {
        mail.content_type = mime_name(ct.ctype(), ct.subtype());
        mail.report_type = ct.attribute("report-type").map(|r| r.to_ascii_lowercase());
    }
    let mut walker = Walker {
        mail: &mut mail,
        parts_seen: 0,
    };
    walker.walk(&message, 0, false);
    if mail.texts.is_empty() && mail.status_parts.is_empty() && mail.feedback_parts.is_empty() {
        // A multipart whose declared boundary never occurs (it happens: MTAs that rewrite one
        // and not the other), or a body mail-parser could not place: the raw body as text.
        let body_start = memchr::memmem::find(raw, b"\r\n\r\n")
            .map(|i| i + 4)
            .or_else(|| memchr::memmem::find(raw, b"\n\n").map(|i| i + 2));
        if let Some(body) = body_start.and_then(|i| raw.get(i..)) {
            mail.texts.push(capped_lossy(body));
        }
    }
    mail
}

struct Walker<'m> {
    mail: &'m mut Mail,
    parts_seen: usize,
}

impl Walker<'_> {
    /// Visits part `id` of `message`; `returned` says we are inside a returned original. Every visit
    /// counts against [`MAX_PARTS`], which also bounds the recursion.
    fn walk(&mut self, message: &Message<'_>, id: usize, returned: bool) {
        self.parts_seen += 1;
        if self.parts_seen > MAX_PARTS {
            return;
        }
        let Some(part) = message.parts.get(id) else {
            return;
        };
        let (ctype, subtype) = part
            .content_type()
            .map(|ct| {
                (
                    ct.ctype().to_ascii_lowercase(),
                    ct.subtype().unwrap_or("").to_ascii_lowercase(),
                )
            })
            .unwrap_or_else(|| ("text".into(), "plain".into()));
        match &part.body {
            PartType::Multipart(children) => {
                // In an alternative, the plain text is enough when there is one.
                let alternative = subtype == "alternative";
                let mut had_plain = false;
                for &child in children {
                    let child = child as usize;
                    if alternative && had_plain {
                        let is_html = message
                            .parts
                            .get(child)
                            .is_some_and(|p| matches!(p.body, PartType::Html(_)));
                        if is_html {
                            continue;
                        }
                    }
                    if alternative
                        && message
                            .parts
                            .get(child)
                            .is_some_and(|p| matches!(p.body, PartType::Text(_)))
                    {
                        had_plain = true;
                    }
                    self.walk(message, child, returned);
                }
            }
            PartType::Message(inner) => {
                if !returned && self.mail.returned_headers.is_none() {
                    self.mail.returned_headers = Some(header_pairs(inner));
                }
                // The returned message's own parts: text only, for the record.
                self.walk(inner, 0, true);
            }
            PartType::Text(text) => {
                let text = capped(text);
                self.text_part(&ctype, &subtype, text, returned);
            }
            PartType::Html(html) => {
                let text = mail_parser::decoders::html::html_to_text(capped(html));
                self.text_part(&ctype, &subtype, &text, returned);
            }
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
                let text = capped_lossy(bytes);
                self.text_part(&ctype, &subtype, &text, returned);
            }
        }
    }

    fn text_part(&mut self, ctype: &str, subtype: &str, text: &str, returned: bool) {
        if returned {
            // A forwarded report's own delivery-status still names its recipients.
            if subtype.contains("delivery-status") {
                self.mail.status_parts.push(text.into());
            } else if ctype == "text" {
                self.mail.returned_texts.push(text.to_owned());
            }
            return;
        }
        match (ctype, subtype) {
            (_, s) if s.contains("delivery-status") => self.mail.status_parts.push(text.into()),
            (_, "feedback-report") => self.mail.feedback_parts.push(text.into()),
            (_, "rfc822-headers") | ("message", "rfc822" | "global") | ("message", "partial") => {
                if self.mail.returned_headers.is_none() {
                    self.mail.returned_headers = Some(headers_from_text(text));
                }
                self.mail.returned_texts.push(text.into());
            }
            ("text", _) => self.mail.texts.push(text.into()),
            // JSON notifications (Amazon SES) and other textual attachments some MTAs send.
            ("application", "json") => self.mail.texts.push(text.into()),
            _ => {}
        }
    }
}

fn mime_name(ctype: &str, subtype: Option<&str>) -> String {
    let mut name = ctype.to_ascii_lowercase();
    if let Some(s) = subtype {
        name.push('/');
        name.push_str(&s.to_ascii_lowercase());
    }
    name
}

fn capped(text: &str) -> &str {
    if text.len() <= MAX_PART_TEXT {
        return text;
    }
    let mut end = MAX_PART_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn capped_lossy(bytes: &[u8]) -> String {
    let bytes = bytes.get(..MAX_PART_TEXT).unwrap_or(bytes);
    String::from_utf8_lossy(bytes).into_owned()
}

/// A message's header fields as (lower-cased name, value): unstructured values decoded (RFC 2047),
/// the others as written, unfolded.
pub(super) fn header_pairs(message: &Message<'_>) -> Vec<(String, String)> {
    let Some(root) = message.parts.first() else {
        return Vec::new();
    };
    root.headers
        .iter()
        .take(500)
        .map(|h| {
            let name = h.name.as_str().to_ascii_lowercase();
            let decoded = match &h.value {
                mail_parser::HeaderValue::Text(t) => Some(t.to_string()),
                mail_parser::HeaderValue::TextList(list) => Some(
                    list.iter()
                        .map(|t| t.as_ref())
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                _ => None,
            };
            let value = decoded.unwrap_or_else(|| {
                let raw = message
                    .raw_message
                    .get(h.offset_start as usize..h.offset_end as usize)
                    .unwrap_or_default();
                unfold(&String::from_utf8_lossy(raw))
            });
            (name, value)
        })
        .collect()
}

/// Header fields written as text (a text/rfc822-headers part, or quoted in a report's body): parsed
/// by the same reader, so encoded words are decoded the same way.
pub(super) fn headers_from_text(text: &str) -> Vec<(String, String)> {
    let text = text.trim_start_matches(['\r', '\n']);
    // Only the header block: a body would make mail-parser look for MIME parts.
    let end = text
        .find("\n\n")
        .or_else(|| text.find("\r\n\r\n"))
        .unwrap_or(text.len());
    let mut block = text.get(..end).unwrap_or(text).to_owned();
    block.push_str("\n\n");
    MessageParser::default()
        .parse_headers(block.as_bytes())
        .map(|m| header_pairs(&m))
        .unwrap_or_default()
}

/// Folded header text on one line, trimmed.
pub(super) fn unfold(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, line) in value.split('\n').enumerate() {
        let line = line.trim_end_matches('\r');
        if i > 0 {
            out.push(' ');
            out.push_str(line.trim_start());
        } else {
            out.push_str(line);
        }
    }
    out.trim().to_owned()
}
