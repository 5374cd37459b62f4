//! Reason and class from an SMTP reply code, an enhanced status and the diagnostic text.
//!
//! The text is the strongest signal: many MTAs write 5.1.1 or 5.0.0 for every refusal, while the
//! words say what happened. The enhanced status comes next, then the bare reply code. The class is
//! [`BounceReason::class`] of the reason, permanent when the status is 5.x.x or the code 5xx.

use super::patterns::{PRIORITY, reasons_in};
use crate::domain::{BounceClass, BounceReason, EnhancedStatus};

/// Classifies one failure. Returns the reason, the class, and the enhanced status (as given, or
/// derived from the reason when none was given).
///
/// `text` is the server's reply or the MTA's explanation, in any case and with any line breaks: it
/// is lower-cased and whitespace-collapsed here. It may name the SMTP command the refusal answered
/// ("in reply to MAIL FROM command", "after RCPT TO"): a refusal of the envelope sender is
/// `rejected`, not an unknown user.
pub fn classify(
    reply_code: Option<u16>,
    status: Option<EnhancedStatus>,
    text: &str,
) -> (BounceReason, BounceClass, Option<EnhancedStatus>) {
    classify_with(reply_code, status, text, None)
}

/// What the report itself says about the failure beyond code, status and text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Hint {
    /// The MTA gave up (DSN action `failed`, or a text report of a permanent error).
    Failed,
    /// The MTA is still trying (DSN action `delayed`, a delay warning).
    Delayed,
}

/// [`classify`], with the report's own verdict when it gives one.
pub(super) fn classify_with(
    reply_code: Option<u16>,
    status: Option<EnhancedStatus>,
    text: &str,
    hint: Option<Hint>,
) -> (BounceReason, BounceClass, Option<EnhancedStatus>) {
    let lower = normalise(text);
    // A status of 2.x.x on a failure is noise; x.0.0 says nothing beyond the class.
    let status = status.filter(|s| s.class != 2 || hint.is_none());
    let reason = reason_of(reply_code, status, &lower, hint);
    let permanent = match (status, reply_code) {
        (Some(s), _) => s.is_permanent(),
        (None, Some(c)) => (500..600).contains(&c),
        (None, None) => hint == Some(Hint::Failed),
    };
    let class = reason.class(permanent);
    let status = status.or_else(|| derived_status(reason, permanent, reply_code, hint));
    (reason, class, status)
}

/// Lower-cased, runs of whitespace collapsed to one space, bounded.
pub(super) fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_TEXT));
    let mut space = false;
    for c in text.chars() {
        if out.len() >= MAX_TEXT {
            break;
        }
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        for l in c.to_lowercase() {
            out.push(l);
        }
    }
    out
}

/// Diagnostics longer than this are cut: the reason is in the first lines.
const MAX_TEXT: usize = 16 * 1024;

/// The SMTP command a refusal answered, when the text says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Connect,
    Helo,
    MailFrom,
    RcptTo,
    Data,
}

fn command_in(lower: &str) -> Option<Command> {
    const TABLE: &[(&str, Command)] = &[
        ("in reply to end of data", Command::Data),
        ("after end of data", Command::Data),
        ("in reply to data", Command::Data),
        ("after data", Command::Data),
        ("final data", Command::Data),
        ("in reply to rcpt to", Command::RcptTo),
        ("after rcpt to", Command::RcptTo),
        ("rcpt to response", Command::RcptTo),
        ("[rcpt_to]", Command::RcptTo),
        ("in reply to mail from", Command::MailFrom),
        ("after mail from", Command::MailFrom),
        ("mail from response", Command::MailFrom),
        ("[mail_from]", Command::MailFrom),
        ("in reply to ehlo", Command::Helo),
        ("in reply to helo", Command::Helo),
        ("after ehlo", Command::Helo),
        ("after helo", Command::Helo),
        ("after initial connection", Command::Connect),
        ("after connection", Command::Connect),
        ("greeting", Command::Connect),
    ];
    TABLE
        .iter()
        .filter_map(|&(p, c)| lower.find(p).map(|i| (i, c)))
        .min_by_key(|&(i, _)| i)
        .map(|(_, c)| c)
}

/// The reason RFC 3463 gives a status, when it names one.
fn status_reason(s: EnhancedStatus) -> Option<BounceReason> {
    use BounceReason::*;
    Some(match (s.class, s.subject, s.detail) {
        (2, _, _) => Delivered,
        (_, 1, 0 | 1 | 3) if s.class == 5 => UserUnknown,
        (_, 1, 1) => UserUnknown,
        (_, 1, 2) => HostUnknown,
        (_, 1, 4) => Filtered,
        (_, 1, 6) => HasMoved,
        (_, 1, 7 | 8) => Rejected,
        (_, 1, 9) => SystemError,
        (_, 1, 10) => NotAccept,
        (_, 2, 0 | 1 | 4) => Filtered,
        (_, 2, 2) => MailboxFull,
        (_, 2, 3) => ExceedLimit,
        (_, 3, 1) => SystemFull,
        (_, 3, 2) => NotAccept,
        (_, 3, 4) => MessageTooBig,
        (_, 3, _) => SystemError,
        (4, 4, 1 | 7) => Expired,
        (_, 4, 7) => Expired,
        (_, 4, 4) if s.class == 5 => HostUnknown,
        (_, 4, 3) => SystemError,
        (_, 4, 5) => SystemFull,
        (_, 4, _) => NetworkError,
        (_, 5, 2 | 6) => SyntaxError,
        (_, 5, 3) => TooManyConnections,
        (_, 5, _) => SystemError,
        (_, 6, _) => ContentError,
        (4, 7, 1 | 2) => Blocked,
        (_, 7, 13) => Suspend,
        (_, 7, 16) => MessageTooBig,
        (_, 7, 17 | 18) => HasMoved,
        (_, 7, 20..=24 | 26 | 29) => AuthFailure,
        (_, 7, 25) => RequirePtr,
        (_, 7, 27) => NotAccept,
        (_, 7, 28) => SpamDetected,
        (_, 7, 30) => FailedStarttls,
        (_, 7, _) => SecurityError,
        _ => return None,
    })
}

/// Status reasons that are specific enough to stand against the text's weaker matches (the others,
/// like "5.7.1 security" or "5.3.0 system", are used only when the text names nothing).
fn is_specific(r: BounceReason) -> bool {
    use BounceReason::*;
    matches!(
        r,
        UserUnknown
            | HostUnknown
            | HasMoved
            | MailboxFull
            | MessageTooBig
            | ExceedLimit
            | AuthFailure
            | RequirePtr
            | Suspend
            | NotAccept
            | SpamDetected
            | FailedStarttls
            | ContentError
    )
}

fn reason_of(
    reply_code: Option<u16>,
    status: Option<EnhancedStatus>,
    lower: &str,
    hint: Option<Hint>,
) -> BounceReason {
    use BounceReason::*;
    let found = reasons_in(lower);
    let by_status = status.and_then(status_reason);
    if by_status == Some(Delivered) {
        return Delivered;
    }
    let command = command_in(lower);
    // A status of 5.1.1 next to words about relaying, blocking, a full mailbox or the sender is
    // about those: many servers write 5.1.1 (or 5.1.0) for every RCPT refusal.
    let status_user_unknown_contradicted = by_status == Some(UserUnknown)
        && found.iter().any(|r| {
            matches!(
                r,
                NoRelaying | Blocked | MailboxFull | HasMoved | Rejected | NotAccept
            )
        });
    let mut reason = None;
    for &r in PRIORITY {
        let by_text = found.contains(&r);
        let by_code = by_status == Some(r)
            && is_specific(r)
            && !(r == UserUnknown && status_user_unknown_contradicted);
        if by_text || by_code {
            reason = Some(r);
            break;
        }
    }
    // Words about an unknown user next to a 5.1.2 are about the domain ("domain does not exist.").
    if reason == Some(UserUnknown) && by_status == Some(HostUnknown) {
        reason = Some(HostUnknown);
    }
    // A refusal of MAIL FROM is about the sender, whatever else it says; one at the greeting or
    // HELO is about the sending host.
    match command {
        Some(Command::MailFrom)
            if matches!(
                reason,
                None | Some(UserUnknown | Filtered | SecurityError | SystemError)
            ) =>
        {
            reason = Some(Rejected)
        }
        Some(Command::Connect | Command::Helo) if reason.is_none() => reason = Some(Blocked),
        _ => {}
    }
    if let Some(r) = reason {
        return r;
    }
    if let Some(r) = by_status {
        return r;
    }
    if hint == Some(Hint::Delayed) {
        return Expired;
    }
    match reply_code {
        Some(421) => return Blocked,
        Some(452 | 552) if lower.contains("quota") || lower.contains("storage") => {
            return MailboxFull;
        }
        _ => {}
    }
    if lower.is_empty() && reply_code.is_none() {
        Undefined
    } else {
        OnHold
    }
}

/// The RFC 3463 code a reason implies, for reports that give none.
fn derived_status(
    reason: BounceReason,
    permanent: bool,
    reply_code: Option<u16>,
    hint: Option<Hint>,
) -> Option<EnhancedStatus> {
    use BounceReason::*;
    let class = if permanent {
        5
    } else if reply_code.is_some() || hint.is_some() {
        4
    } else {
        return None;
    };
    let (subject, detail) = match reason {
        UserUnknown => (1, 1),
        HostUnknown => (1, 2),
        HasMoved => (1, 6),
        NotAccept => (1, 10),
        MailboxFull => (2, 2),
        ExceedLimit => (2, 3),
        MessageTooBig => (3, 4),
        Filtered | Suspend => (2, 1),
        Blocked | SpamDetected | VirusDetected | PolicyViolation | BadReputation | NoRelaying
        | Speeding => (7, 1),
        Rejected => (1, 8),
        AuthFailure => (7, 26),
        RequirePtr => (7, 25),
        SecurityError => (7, 0),
        FailedStarttls => (7, 10),
        SyntaxError => (5, 2),
        Expired => (4, 7),
        NetworkError => (4, 0),
        SystemError | MailerError => (3, 0),
        SystemFull => (3, 1),
        TooManyConnections => (4, 5),
        NotCompliantRfc | ContentError => (6, 0),
        Delivered => return None,
        Feedback | Vacation | OnHold | Undefined => (0, 0),
    };
    Some(EnhancedStatus {
        class,
        subject,
        detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BounceClass::*, BounceReason::*, SmtpReply};

    fn reply(line: &str) -> (BounceReason, BounceClass, Option<String>) {
        let r = SmtpReply::parse(line).unwrap();
        let (reason, class, status) = classify(Some(r.code), r.enhanced, &r.text);
        (reason, class, status.map(|s| s.to_string()))
    }

    #[test]
    fn an_unknown_user_at_smtp_time_is_hard() {
        assert_eq!(
            reply("550 5.1.1 user unknown"),
            (UserUnknown, Hard, Some("5.1.1".into()))
        );
        assert_eq!(
            reply("550 Requested action not taken: mailbox unavailable"),
            (UserUnknown, Hard, Some("5.1.1".into()))
        );
    }

    #[test]
    fn a_full_mailbox_is_soft_even_when_permanent() {
        assert_eq!(
            reply("552 5.2.2 mailbox full"),
            (MailboxFull, Soft, Some("5.2.2".into()))
        );
        assert_eq!(
            reply("452 4.2.2 The email account that you tried to reach is over quota"),
            (MailboxFull, Soft, Some("4.2.2".into()))
        );
    }

    #[test]
    fn a_blocklisted_sender_is_blocked_and_soft() {
        assert_eq!(
            reply(
                "550 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org"
            ),
            (Blocked, Soft, Some("5.7.1".into()))
        );
    }

    #[test]
    fn relay_access_denied_is_no_relaying_and_soft() {
        assert_eq!(
            reply("554 5.7.1 <a@example.org>: Relay access denied"),
            (NoRelaying, Soft, Some("5.7.1".into()))
        );
    }

    #[test]
    fn dmarc_spf_and_dkim_failures_are_auth_failures() {
        let (reason, class, _) = reply(
            "550 5.7.26 Unauthenticated email from example.com is not accepted due to domain's DMARC policy",
        );
        assert_eq!((reason, class), (AuthFailure, Soft));
        assert_eq!(reply("550 5.7.26 SPF and DKIM fail").0, AuthFailure);
    }

    #[test]
    fn a_missing_status_is_derived_from_the_reason_and_the_code() {
        assert_eq!(
            reply("550 Host unknown"),
            (HostUnknown, Hard, Some("5.1.2".into()))
        );
        assert_eq!(
            reply("452 mailbox is full"),
            (MailboxFull, Soft, Some("4.2.2".into()))
        );
        assert_eq!(
            classify_with(None, None, "retry timeout exceeded", Some(Hint::Failed)),
            (
                Expired,
                Soft,
                Some(EnhancedStatus {
                    class: 5,
                    subject: 4,
                    detail: 7
                })
            )
        );
    }

    #[test]
    fn the_text_outweighs_a_generic_status() {
        // Many servers write 5.1.1 for every RCPT refusal.
        assert_eq!(
            reply("550 5.1.1 <a@example.org>: Recipient address rejected: Relay access denied").0,
            NoRelaying
        );
        assert_eq!(reply("554 5.7.1 Message rejected as spam").0, SpamDetected);
        // And a status that says nothing more than "refused" leaves the reason to the words.
        assert_eq!(reply("550 5.0.0 No such user here").0, UserUnknown);
    }

    #[test]
    fn a_refused_sender_is_rejected_not_an_unknown_user() {
        let (reason, class, _) = classify(
            Some(550),
            None,
            "SMTP error from remote mail server after MAIL FROM:<a@example.org>: 550 unknown user",
        );
        assert_eq!((reason, class), (Rejected, Soft));
    }

    #[test]
    fn a_null_mx_domain_is_hard_only_when_permanent() {
        assert_eq!(reply("556 5.1.10 Recipient address has null MX").1, Hard);
        assert_eq!(
            classify(Some(450), None, "domain does not accept mail (nullMX)").1,
            Soft
        );
    }

    #[test]
    fn nothing_to_go_on_is_on_hold_or_undefined() {
        assert_eq!(classify(None, None, "").0, Undefined);
        assert_eq!(classify(Some(550), None, "go figure").0, OnHold);
    }
}
