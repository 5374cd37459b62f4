//! One issue's message, prepared once: static headers written, literal parts of both bodies already
//! quoted-printable encoded. Building a recipient's message is then a concatenation plus the encoding of
//! a few short values.

use super::{
    dkim::{RelaxedBody, Signer},
    encode::{self, display_name, fold, header_text, quoted_printable},
};
use crate::{
    domain::IssueId,
    render::{CompileError, Part, PersonalTemplate, Placeholder, Recipient, Var, escape_html},
    store::{ClaimedDelivery, Issue, List},
    track::Tokens,
};
use std::sync::Arc;

/// What comes first in every body: the MIME preamble.
const PREAMBLE: &str = "This is a multi-part message in MIME format.\r\n\r\n";

/// Signing with the hash of the body's fixed opening already computed.
#[derive(Clone)]
struct Dkim {
    signer: Arc<Signer>,
    /// The relaxed body hash state after the bytes every recipient's body starts with.
    opening: RelaxedBody,
    /// How many body bytes `opening` has consumed.
    opening_len: usize,
}

impl std::fmt::Debug for Dkim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Dkim({:?}, opening {} bytes)",
            self.signer, self.opening_len
        )
    }
}

/// A body part: pre-encoded literal bytes and placeholders.
#[derive(Debug)]
enum Chunk {
    Encoded(Vec<u8>),
    Slot(Placeholder),
}

#[derive(Debug)]
struct EncodedBody {
    chunks: Vec<Chunk>,
    html: bool,
}

impl EncodedBody {
    fn new(template: &PersonalTemplate, html: bool) -> Self {
        let chunks = template
            .parts
            .iter()
            .map(|part| match part {
                Part::Text(t) => {
                    let mut out = Vec::with_capacity(t.len() + t.len() / 20);
                    quoted_printable(t, &mut out);
                    Chunk::Encoded(out)
                }
                Part::Slot(p) => Chunk::Slot(p.clone()),
            })
            .collect();
        Self { chunks, html }
    }

    /// The encoded bytes before the first placeholder, and whether there is no placeholder at all.
    fn opening(&self) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        for chunk in &self.chunks {
            match chunk {
                Chunk::Encoded(bytes) => out.extend_from_slice(bytes),
                Chunk::Slot(_) => return (out, false),
            }
        }
        (out, true)
    }

    fn literal_len(&self) -> usize {
        self.chunks
            .iter()
            .map(|c| {
                if let Chunk::Encoded(b) = c {
                    b.len()
                } else {
                    0
                }
            })
            .sum()
    }

    fn write(&self, recipient: &Recipient<'_>, out: &mut Vec<u8>) {
        for chunk in &self.chunks {
            match chunk {
                Chunk::Encoded(bytes) => out.extend_from_slice(bytes),
                Chunk::Slot(p) => {
                    let value = recipient.value(p);
                    if self.html {
                        quoted_printable(&escape_html(value), out);
                    } else {
                        quoted_printable(value, out);
                    }
                }
            }
        }
    }
}

/// Everything needed to build any recipient's copy of one issue.
#[derive(Debug)]
pub struct MessageTemplate {
    pub issue_id: IssueId,
    /// The list's `herald_messages_total` counters.
    pub counters: crate::metrics::ListCounters,
    /// From, Reply-To, Subject, MIME-Version, List-Id, List-Unsubscribe-Post, Content-Type.
    static_headers: String,
    text: EncodedBody,
    html: EncodedBody,
    domain: String,
    /// Makes Message-IDs unique across installations and database copies (see `Dispatcher`).
    id_tag: String,
    public_url: String,
    /// The envelope sender around its token: `bounces+` and `@domain`.
    bounce_prefix: String,
    bounce_suffix: String,
    text_part_head: String,
    html_part_head: String,
    closing: String,
    /// Bytes to reserve for one message: the literal parts plus room for values.
    size_hint: usize,
    dkim: Option<Dkim>,
    /// Either part links to the reader's pages (`{{ view_url }}`, `{{ manage_url }}`): only then are
    /// their URLs made for each message.
    reader_links: bool,
}

impl MessageTemplate {
    pub fn new(
        issue: &Issue,
        list: &List,
        domain: &str,
        public_url: &str,
        bounce_address: &str,
        id_tag: &str,
        signer: Option<Arc<Signer>>,
    ) -> Result<Self, CompileError> {
        let html = PersonalTemplate::compile(&issue.html_template)?;
        let text = PersonalTemplate::compile(&issue.text_template)?;
        let links = [Var::ViewUrl, Var::ManageUrl];
        let reader_links = html.uses_any(&links) || text.uses_any(&links);
        let boundary = format!("=_herald_{}_{:016x}", issue.id, rand::random::<u64>());
        let from = encode::mailbox(&list.from);
        let mut h = String::with_capacity(512);
        h.push_str(&fold(&format!("From: {from}")));
        if let Some(reply_to) = &list.reply_to {
            h.push_str(&format!("Reply-To: {reply_to}\r\n"));
        }
        h.push_str(&fold(&format!("Subject: {}", header_text(&issue.subject))));
        h.push_str("MIME-Version: 1.0\r\n");
        h.push_str(&fold(&format!(
            "List-Id: {} <{}.{}>",
            display_name(&list.name),
            list.slug,
            domain
        )));
        h.push_str("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
        h.push_str("Precedence: bulk\r\n");
        // Automatic mail: fewer out-of-office replies (RFC 3834; Exchange's own header).
        h.push_str("Auto-Submitted: auto-generated\r\n");
        h.push_str("X-Auto-Response-Suppress: OOF, AutoReply\r\n");
        // Gmail Postmaster Tools groups feedback by these fields: issue, list, sender.
        h.push_str(&format!(
            "Feedback-ID: {}:{}:{}\r\n",
            issue.id, list.slug, domain
        ));
        h.push_str(&format!(
            "Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n"
        ));
        let (local, bounce_domain) = bounce_address
            .rsplit_once('@')
            .unwrap_or((bounce_address, domain));
        let part_head = |kind: &str| {
            format!(
                "--{boundary}\r\nContent-Type: text/{kind}; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
            )
        };
        let text = EncodedBody::new(&text, false);
        let html = EncodedBody::new(&html, true);
        let size_hint = h.len() + text.literal_len() + html.literal_len() + 2048;
        let (text_part_head, html_part_head) = (part_head("plain"), part_head("html"));
        let dkim = signer.map(|signer| {
            // Every body starts the same way up to the first placeholder: hashed once, here.
            let mut opening = PREAMBLE.as_bytes().to_vec();
            opening.extend_from_slice(text_part_head.as_bytes());
            let (text_opening, text_whole) = text.opening();
            opening.extend(text_opening);
            if text_whole {
                opening.extend_from_slice(html_part_head.as_bytes());
                opening.extend(html.opening().0);
            }
            let mut hash = RelaxedBody::new();
            hash.update(&opening);
            Dkim {
                signer,
                opening: hash,
                opening_len: opening.len(),
            }
        });
        Ok(Self {
            reader_links,
            issue_id: issue.id,
            counters: crate::metrics::Metrics::get().list_counters(list.slug.as_str()),
            static_headers: h,
            text_part_head,
            html_part_head,
            dkim,
            closing: format!("--{boundary}--\r\n"),
            size_hint,
            text,
            html,
            domain: domain.to_owned(),
            id_tag: id_tag.to_owned(),
            public_url: public_url.to_owned(),
            bounce_prefix: format!("{local}+"),
            bounce_suffix: format!("@{bounce_domain}"),
        })
    }

    pub fn unsubscribe_url(&self, token: &str) -> String {
        format!("{}/u/{token}", self.public_url)
    }

    /// The envelope sender for a bounce token: `bounces+TOKEN@domain`, so a bounce names its delivery.
    pub fn envelope_sender(&self, bounce_token: &str) -> String {
        [
            self.bounce_prefix.as_str(),
            bounce_token,
            &self.bounce_suffix,
        ]
        .concat()
    }

    /// Messages get DKIM signatures: building one costs a signature (best done off the I/O threads).
    pub fn signs(&self) -> bool {
        self.dkim.is_some()
    }

    /// The complete RFC 5322 message for one recipient (CRLF line endings, 7-bit clean, no line
    /// starting with `.`, DKIM-signed when keys are configured) and its envelope sender. `date` is the
    /// RFC 2822 Date value and `unix_time` the same instant, the signatures' `t=`.
    pub fn build(
        &self,
        tokens: &Tokens,
        delivery: &ClaimedDelivery,
        date: &str,
        unix_time: i64,
    ) -> (Vec<u8>, String) {
        use std::io::Write;
        let pair = tokens.sign_pair(delivery.id);
        let unsubscribe_url = self.unsubscribe_url(&pair.unsubscribe);
        // The reader's pages share the unsubscribe token: each shows or changes only this reader's
        // subscription, which that token already allows.
        let (view_url, manage_url) = if self.reader_links {
            (
                format!("{}/v/{}", self.public_url, pair.unsubscribe),
                format!("{}/m/{}", self.public_url, pair.unsubscribe),
            )
        } else {
            Default::default()
        };
        let recipient = Recipient {
            email: &delivery.email,
            name: delivery.name.as_deref(),
            attributes: &delivery.attributes,
            unsubscribe_url: &unsubscribe_url,
            view_url: &view_url,
            manage_url: &manage_url,
        };
        let mut out = Vec::with_capacity(self.size_hint);
        out.extend_from_slice(self.static_headers.as_bytes());
        match delivery.name.as_deref().filter(|n| !n.trim().is_empty()) {
            Some(name) => {
                let to = fold(&format!("To: {} <{}>", display_name(name), delivery.email));
                out.extend_from_slice(to.as_bytes());
            }
            None => {
                let _ = write!(out, "To: {}\r\n", delivery.email);
            }
        }
        let _ = write!(
            out,
            "Date: {date}\r\nMessage-ID: <herald.{}.{}.{}@{}>\r\nList-Unsubscribe: <{unsubscribe_url}>,\r\n <mailto:{}>\r\n\r\n",
            self.issue_id,
            delivery.id,
            self.id_tag,
            self.domain,
            // The bounce address with the unsubscribe token: mail to it reaches the same intake as
            // bounces, which unsubscribes the reader once the token verifies.
            self.envelope_sender(&pair.unsubscribe)
        );
        let body_start = out.len();
        out.extend_from_slice(PREAMBLE.as_bytes());
        out.extend_from_slice(self.text_part_head.as_bytes());
        self.text.write(&recipient, &mut out);
        out.extend_from_slice(self.html_part_head.as_bytes());
        self.html.write(&recipient, &mut out);
        out.extend_from_slice(self.closing.as_bytes());
        if let Some(dkim) = &self.dkim {
            let signatures = dkim.signer.sign(
                &out,
                body_start,
                dkim.opening.clone(),
                dkim.opening_len,
                unix_time,
            );
            out.splice(0..0, signatures);
        }
        (out, self.envelope_sender(&pair.bounce))
    }
}
