//! Reason and class from an SMTP reply code, an enhanced status and the diagnostic text.
//!
//! The text is the strongest signal: many MTAs write 5.1.1 or 5.0.0 for every refusal, while the
//! words say what happened. The enhanced status comes next, then the bare reply code. The class is
//! [`BounceReason::class`] of the reason, permanent when the status is 5.x.x or the code 5xx.

use super::patterns::{PRIORITY, reasons_in, user_unknown_decisive};
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
    classify_with(
        reply_code,
        status,
        text,
        &Facts {
            smtp_time: true,
            ..Facts::default()
        },
    )
}

/// What the report itself says about the failure beyond code, status and text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Hint {
    /// The MTA gave up (DSN action `failed`, or a text report of a permanent error).
    Failed,
    /// The MTA is still trying (DSN action `delayed`, a delay warning).
    Delayed,
}

/// The circumstances of one failure, beyond its code, status and text.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Facts<'a> {
    pub hint: Option<Hint>,
    /// More text about this recipient (the report's block for it), where the SMTP command that was
    /// refused may be named when the diagnostic does not say.
    pub context: &'a str,
    /// The diagnostic comes from a local delivery agent (`X-Unix;`), not a remote server.
    pub mailer: bool,
    /// Classifying a reply herald got itself while sending: a refusal naming an unknown user came
    /// at RCPT TO, where such words are to be believed.
    pub smtp_time: bool,
}

/// [`classify`], with what the report says around the diagnostic.
pub(super) fn classify_with(
    reply_code: Option<u16>,
    status: Option<EnhancedStatus>,
    text: &str,
    facts: &Facts<'_>,
) -> (BounceReason, BounceClass, Option<EnhancedStatus>) {
    let lower = normalise(text);
    let hint = facts.hint;
    // A status of 2.x.x on a failure is noise.
    let status = status.filter(|s| s.class != 2 || hint.is_none());
    let context = normalise(facts.context);
    let command = command_in(text, &lower).or_else(|| command_in(facts.context, &context));
    let command = match command {
        None if facts.smtp_time => Some(Command::RcptTo),
        c => c,
    };
    let permanent = match (status, reply_code) {
        (Some(s), _) => s.is_permanent(),
        (None, Some(c)) => (500..600).contains(&c),
        (None, None) => hint == Some(Hint::Failed),
    };
    let mut reason = if facts.mailer {
        mailer_reason(&lower)
    } else {
        reason_of(reply_code, status, &lower, hint, command, &context)
    };
    // "Domain not found" while the MTA keeps trying is a DNS trouble, not a verdict on the domain.
    if reason == BounceReason::HostUnknown && !permanent {
        reason = BounceReason::NetworkError;
    }
    let class = reason.class(permanent);
    let status = status.or_else(|| derived_status(reason, permanent, reply_code, hint));
    (reason, class, status)
}

/// A local delivery agent's failure: a full mailbox, or the agent's own error.
fn mailer_reason(lower: &str) -> BounceReason {
    if reasons_in(lower).contains(&BounceReason::MailboxFull) {
        BounceReason::MailboxFull
    } else {
        BounceReason::MailerError
    }
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

/// The SMTP command a refusal answered, when the text says, in session order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Command {
    Connect,
    Helo,
    MailFrom,
    RcptTo,
    Data,
}

/// The latest session stage the text names: a transcript shows every command up to the refused
/// one. Upper-case command words (`DATA`, `EHLO`) are looked for in the original text, since the
/// lower-case words are ordinary English.
fn command_in(text: &str, lower: &str) -> Option<Command> {
    let mut found = None;
    let mut note = |c: Command| found = found.max(Some(c));
    if [
        "after initial connection",
        "after connection",
        "greeting",
        "connected to",
    ]
    .iter()
    .any(|p| lower.contains(p))
    {
        note(Command::Connect);
    }
    if has_word(text, "EHLO") || has_word(text, "HELO") || lower.contains("my name was rejected") {
        note(Command::Helo);
    }
    if lower.contains("mail from") || lower.contains("[mail_from]") {
        note(Command::MailFrom);
    }
    if has_word(lower, "rcpt")
        || lower.contains("[rcpt_to]")
        || lower.contains("does not like recipient")
    {
        note(Command::RcptTo);
    }
    if has_word(text, "DATA") || lower.contains("end of data") || lower.contains("final data") {
        note(Command::Data);
    }
    found
}

/// `word` in `text` with no letter or digit on either side.
fn has_word(text: &str, word: &str) -> bool {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(i) = text.get(from..).and_then(|t| t.find(word)) {
        let at = from + i;
        let end = at + word.len();
        let before = at.checked_sub(1).and_then(|j| bytes.get(j));
        let after = bytes.get(end);
        let boundary = |b: Option<&u8>| b.is_none_or(|b| !b.is_ascii_alphanumeric() && *b != b'_');
        if boundary(before) && boundary(after) {
            return true;
        }
        from = end;
    }
    false
}

/// The reason RFC 3463 gives a status, when it names one.
fn status_reason(s: EnhancedStatus) -> Option<BounceReason> {
    use BounceReason::*;
    Some(match (s.class, s.subject, s.detail) {
        (2, _, _) => Delivered,
        (_, 1, 0 | 1 | 3) if s.class == 5 => UserUnknown,
        (_, 1, 1) => UserUnknown,
        // Microsoft's 5.1.351 and kin: "Remote server returned unknown recipient".
        (5, 1, 300..) => UserUnknown,
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
    command: Option<Command>,
    context: &str,
) -> BounceReason {
    use BounceReason::*;
    let mut found = reasons_in(lower);
    // "550 : User unknown" with no address is what au/EZweb's content filter answers after DATA:
    // not a verdict on the mailbox.
    let content_filter = lower.contains("550 : user unknown");
    // The report's boilerplate about a missing address is believed only when the server's own
    // words name nothing else ("the address couldn't be found" above "501 5.1.8 Sender address
    // rejected" is Google's template, not a verdict).
    let decisive = !content_filter
        && (user_unknown_decisive(lower)
            || (user_unknown_decisive(context)
                && found.iter().all(|r| *r == UserUnknown)
                && !status
                    .and_then(status_reason)
                    .is_some_and(|r| r == Rejected)));
    if decisive && !found.contains(&UserUnknown) {
        found.push(UserUnknown);
    }
    let by_status = status
        .and_then(status_reason)
        .filter(|r| !(content_filter && *r == UserUnknown));
    if by_status == Some(Delivered) {
        return Delivered;
    }
    // A status of 5.1.1 next to words about anything but the address (relaying, blocking, a full
    // mailbox, the sender, rates) is about those: many servers write 5.1.1 for every RCPT refusal.
    let user_unknown_contradicted = by_status == Some(UserUnknown)
        && found.iter().any(|r| {
            !matches!(
                r,
                UserUnknown
                    | HostUnknown
                    | SystemError
                    | NetworkError
                    | Expired
                    | SecurityError
                    | MailerError
                    | SyntaxError
                    | ContentError
                    | NotCompliantRfc
                    | SystemFull
                    | FailedStarttls
            )
        });
    // Words about an unknown user are believed at RCPT TO, next to a 5.1.x status, or in a vendor's
    // own unambiguous wording; after DATA they come from a content filter posing as a missing
    // mailbox.
    let user_words_believed = command == Some(Command::RcptTo)
        || (by_status == Some(UserUnknown) && !user_unknown_contradicted)
        || decisive;
    let mut reason = None;
    for &r in PRIORITY {
        let by_text = found.contains(&r);
        let by_code = by_status == Some(r)
            && is_specific(r)
            && !(r == UserUnknown && user_unknown_contradicted)
            && !(r == HostUnknown && found.contains(&NetworkError));
        let chosen = match r {
            UserUnknown => by_code || (by_text && user_words_believed),
            Filtered => {
                by_text
                    || (found.contains(&UserUnknown)
                        && !matches!(
                            command,
                            Some(Command::Connect | Command::Helo | Command::MailFrom)
                        ))
            }
            _ => by_text || by_code,
        };
        if chosen {
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
                None | Some(UserUnknown | Filtered | SecurityError | SystemError | HostUnknown)
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
pub(super) fn derived_status(
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
            classify_with(
                None,
                None,
                "retry timeout exceeded",
                &Facts {
                    hint: Some(Hint::Failed),
                    ..Facts::default()
                }
            ),
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
