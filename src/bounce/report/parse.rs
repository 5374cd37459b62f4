//! Reading a returned message into a [`Report`]: complaint formats first (an ARF report is also a
//! multipart/report), then Amazon SES notifications, then RFC 3464 delivery-status fields, then the
//! text of any other bounce, then auto-replies; anything else is `other`.

use super::classify::{Facts, Hint, classify_with};
use super::dsn::{self, DsnRecipient};
use super::mime::{self, Mail};
use super::{RecipientReport, Report, arf, autoreply, returned, scan, ses, vendors};
use crate::domain::{BounceClass, BounceKind, BounceReason, EnhancedStatus, SmtpReply};

/// Input beyond this is not read: a bounce's explanation and headers come first, and a returned
/// attachment of many megabytes says nothing more.
const MAX_INPUT: usize = 4 * 1024 * 1024;
/// The bound on [`Report::text`].
const MAX_REPORT_TEXT: usize = 256 * 1024;

pub fn parse(raw: &[u8]) -> Report {
    let raw = raw.get(..MAX_INPUT).unwrap_or(raw);
    let mail = mime::read(raw);
    let ctx = Context::new(&mail);
    let (kind, recipients, feedback_type) = decide(&ctx);
    Report {
        kind,
        recipients,
        feedback_type,
        returned_headers: ctx.returned_headers.clone(),
        delivered_to: ctx.delivered_to.clone(),
        text: ctx.whole_text(),
    }
}

/// What every reader needs, computed once.
pub(super) struct Context<'m> {
    pub mail: &'m Mail,
    /// The human-readable text parts, joined, line ends normalised.
    pub body: String,
    /// `body` up to the returned original (when it is quoted inline).
    pub report_text: String,
    pub returned_headers: Vec<(String, String)>,
    pub delivered_to: Vec<String>,
    pub subject: String,
    /// Lower-cased local part and whole address of the report's From.
    pub from: String,
}

impl<'m> Context<'m> {
    fn new(mail: &'m Mail) -> Self {
        let mut body = String::new();
        for t in &mail.texts {
            if !body.is_empty() {
                body.push('\n');
            }
            body.push_str(&t.replace("\r\n", "\n"));
        }
        let body = unquote(body);
        let (report_text, inline) = match returned::split_at(&body) {
            Some(at) => (
                body.get(..at).unwrap_or("").to_owned(),
                body.get(at..).unwrap_or(""),
            ),
            None => (body.clone(), ""),
        };
        let returned_headers = match &mail.returned_headers {
            Some(h) if !h.is_empty() => h.clone(),
            _ => returned::quoted_headers(inline),
        };
        let mut delivered_to = Vec::new();
        for name in ["delivered-to", "x-original-to", "to"] {
            for value in mail.headers_named(name) {
                for a in scan::all_addresses(value) {
                    if !delivered_to.contains(&a) {
                        delivered_to.push(a);
                    }
                }
            }
        }
        Context {
            mail,
            report_text,
            returned_headers,
            delivered_to,
            subject: mail.header("subject").unwrap_or("").to_owned(),
            from: mail
                .header("from")
                .map(|f| f.to_lowercase())
                .unwrap_or_default(),
            body,
        }
    }

    pub fn returned_header(&self, name: &str) -> Option<&str> {
        self.returned_headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Addresses that are not failed recipients: the report's own recipients (the sender of the
    /// original), and with `senders` the original's From, Sender and Return-Path too.
    fn not_recipients(&self, senders: bool) -> Vec<String> {
        let mut out = self.delivered_to.clone();
        if senders {
            for name in ["from", "return-path", "sender", "reply-to"] {
                if let Some(a) = self.returned_header(name).and_then(scan::first_address) {
                    out.push(a);
                }
            }
            if let Some(a) = scan::first_address(&self.from) {
                out.push(a);
            }
        }
        out
    }

    fn whole_text(&self) -> String {
        let mut text = String::new();
        let mut push = |s: &str| {
            if text.len() < MAX_REPORT_TEXT {
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(s);
            }
        };
        push(&self.body);
        for s in &self.mail.status_parts {
            push(s);
        }
        for s in &self.mail.feedback_parts {
            push(s);
        }
        if let Some(h) = &self.mail.returned_headers {
            for (n, v) in h {
                push(&format!("{n}: {v}"));
            }
        }
        for s in &self.mail.returned_texts {
            push(s);
        }
        truncate(&mut text, MAX_REPORT_TEXT);
        text
    }
}

/// A report forwarded with every line quoted ("> "): the quoting removed, so that it reads as the
/// original report.
fn unquote(body: String) -> String {
    let (mut lines, mut quoted) = (0usize, 0usize);
    for l in body.lines().filter(|l| !l.trim().is_empty()).take(2_000) {
        lines += 1;
        if l.starts_with('>') {
            quoted += 1;
        }
    }
    if lines < 5 || quoted * 10 < lines * 6 {
        return body;
    }
    let mut out = String::with_capacity(body.len());
    for l in body.lines() {
        let l = l
            .strip_prefix('>')
            .map(|r| r.strip_prefix(' ').unwrap_or(r))
            .unwrap_or(l);
        out.push_str(l);
        out.push('\n');
    }
    out
}

fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

type Decision = (BounceKind, Vec<RecipientReport>, Option<String>);

fn decide(ctx: &Context<'_>) -> Decision {
    if let Some(c) = arf::read(ctx.mail) {
        return complaint(ctx, c);
    }
    if ctx.body.contains("notificationType")
        && let Some(n) = ses::find(&ctx.body)
    {
        return from_ses(n);
    }
    if let Some(d) = from_dsn(ctx) {
        return d;
    }
    let structural = is_structural_bounce(ctx);
    if !structural && autoreply::is_auto_reply(ctx.mail) {
        let address = scan::first_address(&ctx.from);
        return (
            BounceKind::AutoReply,
            vec![simple(address, BounceReason::Vacation, None)],
            None,
        );
    }
    if structural || looks_like_bounce(ctx) {
        return (BounceKind::Bounce, from_text(ctx), None);
    }
    (BounceKind::Other, Vec::new(), None)
}

fn simple(address: Option<String>, reason: BounceReason, action: Option<&str>) -> RecipientReport {
    RecipientReport {
        address,
        status: None,
        reply_code: None,
        class: BounceClass::Soft,
        reason,
        action: action.map(str::to_owned),
        diagnostic: None,
        remote_mta: None,
    }
}

fn complaint(ctx: &Context<'_>, c: arf::Complaint) -> Decision {
    let mut recipients: Vec<RecipientReport> = c
        .recipients
        .into_iter()
        .map(|a| simple(Some(a), BounceReason::Feedback, None))
        .collect();
    if recipients.is_empty() {
        let fallback = ctx.returned_header("to").and_then(scan::first_address);
        recipients.push(simple(fallback, BounceReason::Feedback, None));
    }
    (BounceKind::Complaint, recipients, c.feedback_type)
}

fn from_ses(n: ses::Notification) -> Decision {
    match n {
        ses::Notification::Complaint {
            recipients,
            feedback_type,
        } => {
            let mut list: Vec<RecipientReport> = recipients
                .into_iter()
                .map(|a| simple(Some(a), BounceReason::Feedback, None))
                .collect();
            if list.is_empty() {
                list.push(simple(None, BounceReason::Feedback, None));
            }
            (BounceKind::Complaint, list, feedback_type)
        }
        ses::Notification::Delivery {
            recipients,
            smtp_response,
            reporting_mta,
        } => {
            let reply = smtp_response.as_deref().and_then(SmtpReply::parse);
            let list = recipients
                .into_iter()
                .map(|a| RecipientReport {
                    status: reply.as_ref().and_then(|r| r.enhanced),
                    reply_code: reply.as_ref().map(|r| r.code),
                    diagnostic: smtp_response.clone(),
                    remote_mta: reporting_mta.clone(),
                    ..simple(Some(a), BounceReason::Delivered, Some("delivered"))
                })
                .collect();
            (BounceKind::Delivered, list, None)
        }
        ses::Notification::Bounce {
            permanent,
            sub_type,
            recipients,
            reporting_mta,
        } => {
            let list = recipients
                .into_iter()
                .map(|r| {
                    let diag = r.diagnostic.clone().unwrap_or_default();
                    let status = r.status.as_deref().and_then(EnhancedStatus::parse);
                    let hint = if permanent {
                        Hint::Failed
                    } else {
                        Hint::Delayed
                    };
                    let fields = Fields {
                        address: Some(r.address),
                        status,
                        action: r.action.map(|a| a.to_ascii_lowercase()),
                        diagnostic: diag,
                        diagnostic_type: None,
                        remote_mta: reporting_mta.clone(),
                        extra: vec![sub_type.clone()],
                        hint,
                    };
                    recipient_from(fields)
                })
                .collect();
            (BounceKind::Bounce, list, None)
        }
    }
}

/// What is known about one recipient before classification.
pub(super) struct Fields {
    pub address: Option<String>,
    pub status: Option<EnhancedStatus>,
    pub action: Option<String>,
    pub diagnostic: String,
    pub diagnostic_type: Option<String>,
    pub remote_mta: Option<String>,
    /// More text to classify by when the diagnostic says nothing (the report's explanation).
    pub extra: Vec<String>,
    pub hint: Hint,
}

/// Classifies one recipient: by its diagnostic first, then by the extra texts in order.
pub(super) fn recipient_from(f: Fields) -> RecipientReport {
    let reply = scan::reply_in(&f.diagnostic);
    let status = prefer(f.status, reply.status, reply.code);
    let mut code = reply.code;
    // Success only when the report says so (an action, or a written 2.x.x status), never from a
    // number that happens to look like one in the text.
    let delivered = matches!(
        f.action.as_deref(),
        Some("delivered" | "relayed" | "expanded" | "deliverable")
    ) || (f.action.is_none() && f.status.is_some_and(|s| s.class == 2));
    if delivered {
        return RecipientReport {
            address: f.address,
            status,
            reply_code: code,
            class: BounceClass::Soft,
            reason: BounceReason::Delivered,
            action: f.action.or(Some("delivered".into())),
            diagnostic: non_empty(scan::collapse(&f.diagnostic, 1_000)),
            remote_mta: f.remote_mta,
        };
    }
    let mailer = f
        .diagnostic_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("x-unix"));
    let mut text = f.diagnostic.clone();
    let facts = Facts {
        hint: Some(f.hint),
        context: f.extra.first().map(String::as_str).unwrap_or(""),
        mailer,
        smtp_time: false,
    };
    let mut result = classify_with(code, status, &text, &facts);
    for extra in &f.extra {
        if !matches!(result.0, BounceReason::OnHold | BounceReason::Undefined) {
            break;
        }
        if extra.trim().is_empty() {
            continue;
        }
        let reply = scan::reply_in(extra);
        if code.is_none() {
            code = reply.code;
        }
        let status = prefer(status, reply.status, code);
        text.push('\n');
        text.push_str(extra);
        result = classify_with(code, status, &text, &facts);
    }
    let (reason, class, status) = result;
    let action = f.action.or_else(|| {
        Some(match f.hint {
            Hint::Delayed => "delayed".to_owned(),
            Hint::Failed => "failed".to_owned(),
        })
    });
    let remote_mta = f.remote_mta.or_else(|| scan::remote_mta_in(&f.diagnostic));
    // A text report's block says more than the reply (the address, boilerplate): the server's
    // reply itself, when the block quotes one, is the diagnostic.
    let diagnostic = match reply.line {
        Some(line) if f.diagnostic.len() > 200 => scan::collapse(&line, 1_000),
        _ => scan::collapse(&f.diagnostic, 1_000),
    };
    RecipientReport {
        address: f.address,
        status,
        reply_code: code,
        class,
        reason,
        action,
        diagnostic: non_empty(diagnostic),
        remote_mta,
    }
}

/// The status to believe when the report writes one (a DSN `Status:` field) and the server's reply
/// quotes another: the one whose class agrees with the reply code, else the more specific one
/// (x.0.0 and x.y.0 say less; 4.4.7, 4.7.0, 5.3.x and the x.5.x protocol codes are the writer's
/// own catch-alls; a 5.1.1 of the writer's yields to the server's own non-generic code).
fn prefer(
    written: Option<EnhancedStatus>,
    quoted: Option<EnhancedStatus>,
    reply_code: Option<u16>,
) -> Option<EnhancedStatus> {
    let (w, q) = match (written, quoted) {
        (Some(w), Some(q)) => (w, q),
        (w, q) => return w.or(q),
    };
    if w == q {
        return Some(w);
    }
    if w.class != q.class
        && let Some(c) = reply_code
    {
        let c = (c / 100) as u8;
        if c == w.class {
            return Some(w);
        }
        if c == q.class {
            return Some(q);
        }
    }
    let generic = |s: EnhancedStatus| s.subject == 0 && s.detail == 0;
    let has_zero = |s: EnhancedStatus| s.subject == 0 || s.detail == 0;
    if generic(w) {
        return Some(if generic(q) { w } else { q });
    }
    if has_zero(w) && !has_zero(q) {
        return Some(q);
    }
    if generic(q) {
        return Some(w);
    }
    let catch_all = matches!(
        (w.class, w.subject, w.detail),
        (4, 4, 7) | (4, 7, 0) | (5, 3, _) | (_, 5, 1 | 2 | 4 | 5)
    );
    if catch_all {
        return Some(q);
    }
    match (w.class, w.subject, w.detail) {
        (5, 1, 1) if has_zero(q) || (q.class == 5 && q.subject == 5) => Some(w),
        (5, 1, 1) => Some(q),
        (5, 1, 3) if q.subject == 7 => Some(q),
        _ => Some(w),
    }
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// RFC 3464: a delivery-status part, or the same fields quoted in the text.
fn from_dsn(ctx: &Context<'_>) -> Option<Decision> {
    let mut groups: Vec<DsnRecipient> = Vec::new();
    let mut reporting_mta = None;
    for part in &ctx.mail.status_parts {
        let (m, r) = dsn::read(part);
        reporting_mta = reporting_mta.or(m.reporting_mta);
        groups.extend(r);
    }
    if groups.is_empty() && dsn::mentions_fields(&ctx.report_text.to_ascii_lowercase()) {
        let (m, r) = dsn::read(&ctx.report_text);
        reporting_mta = m.reporting_mta;
        groups = r;
    }
    // One recipient listed twice (Original- then Final-Recipient groups of some writers).
    let mut unique: Vec<DsnRecipient> = Vec::new();
    for g in groups {
        let address = g.address().map(str::to_owned);
        match unique
            .iter_mut()
            .find(|u| u.address().map(str::to_owned) == address)
        {
            Some(u) => {
                if u.diagnostic.is_none() {
                    u.diagnostic = g.diagnostic;
                    u.diagnostic_type = g.diagnostic_type;
                }
                u.status = u.status.take().or(g.status);
                u.action = u.action.take().or(g.action);
                u.remote_mta = u.remote_mta.take().or(g.remote_mta);
            }
            None => unique.push(g),
        }
    }
    if unique.is_empty() {
        return None;
    }
    // The text's own block for each recipient helps when the Diagnostic-Code is missing or vague.
    let blocks = scan::recipients(&ctx.report_text, &[]);
    let delayed_report = is_delay_report(ctx);
    let mut recipients: Vec<RecipientReport> = unique
        .into_iter()
        .map(|g| {
            let address = g.address().map(str::to_owned);
            let hint = match g.action.as_deref() {
                Some("delayed") => Hint::Delayed,
                Some("failed") => Hint::Failed,
                _ if delayed_report => Hint::Delayed,
                _ => Hint::Failed,
            };
            let mut extra = Vec::new();
            if let Some(b) = blocks.iter().find(|b| Some(&b.address) == address.as_ref()) {
                extra.push(b.text.clone());
            }
            extra.push(ctx.report_text.clone());
            extra.push(ctx.subject.clone());
            let diagnostic = g.diagnostic.clone().unwrap_or_default();
            recipient_from(Fields {
                address,
                status: g.status.as_deref().and_then(EnhancedStatus::parse),
                action: g.action.clone(),
                diagnostic,
                diagnostic_type: g.diagnostic_type.clone(),
                remote_mta: g.remote_mta.clone().or_else(|| reporting_mta.clone()),
                extra,
                hint,
            })
        })
        .collect();
    let all_delivered = recipients
        .iter()
        .all(|r| r.reason == BounceReason::Delivered);
    if all_delivered {
        return Some((BounceKind::Delivered, recipients, None));
    }
    recipients.retain(|r| r.reason != BounceReason::Delivered);
    vendors::adjust(ctx, &mut recipients);
    Some((BounceKind::Bounce, recipients, None))
}

/// Subjects and texts of reports that the MTA is still trying.
fn is_delay_report(ctx: &Context<'_>) -> bool {
    let subject = ctx.subject.to_lowercase();
    [
        "delay",
        "warning: could not send",
        "warning: message",
        "still being retried",
    ]
    .iter()
    .any(|p| subject.contains(p))
}

/// Evidence in the message's structure that it is a delivery report.
fn is_structural_bounce(ctx: &Context<'_>) -> bool {
    let mail = ctx.mail;
    if mail.report_type.as_deref() == Some("delivery-status") || !mail.status_parts.is_empty() {
        return true;
    }
    if mail.header("x-failed-recipients").is_some() {
        return true;
    }
    let from = &ctx.from;
    [
        "mailer-daemon",
        "mailer_daemon",
        "postmaster@",
        "post_master@",
        "mail delivery",
        "mail-daemon",
        "maildaemon",
        "mmdf",
        "<>",
    ]
    .iter()
    .any(|p| from.contains(p))
        || from.trim().is_empty() && !ctx.subject.is_empty() && subject_says_bounce(&ctx.subject)
}

fn subject_says_bounce(subject: &str) -> bool {
    let s = subject.to_lowercase();
    [
        "undeliver",
        "undelivered",
        "returned mail",
        "return mail",
        "delivery status",
        "delivery failure",
        "delivery failed",
        "delivery notification",
        "failure notice",
        "failed delivery",
        "mail delivery",
        "mail system error",
        "non remis",
        "nicht zustellbar",
        "unzustellbar",
        "could not send",
        "not delivered",
        "non-deliver",
        "nondeliver",
        "delivery problem",
        "delivery error",
        "delivery report",
        "mail failure",
        "bounce",
        "rejected",
        "returned to sender",
        "message delayed",
        "delayed mail",
        "warning:",
        "error",
        "failed",
        "failure",
        "配信",
        "不達",
        "エラー",
        "送信できません",
        "未送達",
        "退信",
        "недоставлен",
        "не доставлено",
    ]
    .iter()
    .any(|p| s.contains(p))
}

/// Words in the text of a report that no other kind of mail uses together.
fn looks_like_bounce(ctx: &Context<'_>) -> bool {
    if subject_says_bounce(&ctx.subject) {
        return true;
    }
    let lower = ctx.report_text.to_lowercase();
    [
        "could not be delivered",
        "couldn't be delivered",
        "was not delivered",
        "undeliverable",
        "delivery has failed",
        "delivery failed",
        "delivery to the following recipient",
        "permanent error",
        "permanent fatal error",
        "following address(es) failed",
        "wasn't able to deliver",
        "unable to deliver",
        "delivery status notification",
        "transcript of session follows",
        "returned mail",
        "did not reach the following recipient",
        "message you sent",
        "error message below:",
        "invalid user address",
        "not a member of this mailing list",
        "you are not member",
        "duplicated message-id",
    ]
    .iter()
    .any(|p| lower.contains(p))
}

/// A bounce written as text: recipients and their explanations found by scanning.
fn from_text(ctx: &Context<'_>) -> Vec<RecipientReport> {
    let text = &ctx.report_text;
    let exclude = ctx.not_recipients(true);
    let mut found = scan::recipients(text, &exclude);
    let failed_header: Vec<String> = ctx
        .mail
        .headers_named("x-failed-recipients")
        .flat_map(scan::all_addresses)
        .collect();
    if !failed_header.is_empty() {
        // The MTA's own list is authoritative; text blocks for its addresses are kept.
        let mut list = Vec::new();
        for a in &failed_header {
            match found.iter().find(|f| &f.address == a) {
                Some(f) => list.push(f.clone()),
                None => list.push(scan::Found {
                    address: a.clone(),
                    text: text.clone(),
                    own_block: false,
                }),
            }
        }
        if found.iter().all(|f| failed_header.contains(&f.address)) || list.len() >= found.len() {
            found = list;
        }
    }
    if found.is_empty() {
        let exclude = ctx.not_recipients(true);
        found = scan::addresses_in(text, &exclude)
            .into_iter()
            .map(|address| scan::Found {
                address,
                text: text.clone(),
                own_block: false,
            })
            .collect();
    }
    if found.is_empty()
        && let Some(a) = ["to", "x-original-to", "delivered-to"]
            .iter()
            .find_map(|n| ctx.returned_header(n).and_then(scan::first_address))
    {
        found.push(scan::Found {
            address: a,
            text: text.clone(),
            own_block: false,
        });
    }
    let hint = if is_delay_report(ctx) {
        Hint::Delayed
    } else {
        Hint::Failed
    };
    let mut recipients: Vec<RecipientReport> = if found.is_empty() {
        vec![recipient_from(Fields {
            address: None,
            status: None,
            action: None,
            diagnostic: text.clone(),
            diagnostic_type: None,
            remote_mta: None,
            extra: vec![ctx.subject.clone()],
            hint,
        })]
    } else {
        found
            .into_iter()
            .map(|f| {
                let mut extra = Vec::new();
                if f.own_block {
                    extra.push(text.clone());
                }
                extra.push(ctx.subject.clone());
                recipient_from(Fields {
                    address: Some(f.address),
                    status: None,
                    action: None,
                    diagnostic: f.text,
                    diagnostic_type: None,
                    remote_mta: None,
                    extra,
                    hint,
                })
            })
            .collect()
    };
    vendors::adjust(ctx, &mut recipients);
    recipients
}
