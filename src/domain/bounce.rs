//! What a bounce, complaint or auto-reply says, as values: its kind, whether the address is bad for
//! good (hard) or only this time (soft), and why. Stored in the database as the lower-case names.

/// What kind of message came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BounceKind {
    /// A delivery failure (or delay) report: RFC 3464 DSN or an MTA's own text format, or a 5xx
    /// reply herald got while sending.
    Bounce,
    /// A feedback-loop report (ARF, RFC 5965, or a provider's own format): the reader marked the
    /// message as spam.
    Complaint,
    /// An RFC 3834 vacation / out-of-office reply or a challenge-response request.
    AutoReply,
    /// A DSN reporting success (`delivered`, `relayed`, `expanded`).
    Delivered,
    /// Not a report at all.
    Other,
}

stored_enum!(BounceKind, "bounce kind", [
    Bounce => "bounce",
    Complaint => "complaint",
    AutoReply => "auto_reply",
    Delivered => "delivered",
    Other => "other",
]);

/// Hard: the address itself is bad and will stay bad. Soft: anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BounceClass {
    Hard,
    Soft,
}

stored_enum!(BounceClass, "bounce class", [
    Hard => "hard",
    Soft => "soft",
]);

/// Why a message came back. The set follows sisimai's taxonomy (snake-cased), which operators of
/// other bounce processors will recognise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BounceReason {
    /// The mailbox does not exist (5.1.1, "user unknown", "no such user").
    UserUnknown,
    /// The domain does not exist or has no mail server (5.1.2, NXDOMAIN).
    HostUnknown,
    /// The recipient has moved and left no forwarding (5.1.6).
    HasMoved,
    /// The domain accepts no mail (null MX, RFC 7505).
    NotAccept,
    MailboxFull,
    /// A per-recipient or per-sender quota other than storage (too many recipients, messages/day).
    ExceedLimit,
    MessageTooBig,
    /// Refused by the recipient's own filter or settings.
    Filtered,
    /// The sending IP or domain is blocked (blacklist, reputation).
    Blocked,
    SpamDetected,
    VirusDetected,
    PolicyViolation,
    /// The envelope sender was refused.
    Rejected,
    /// SPF, DKIM or DMARC failed.
    AuthFailure,
    /// The sending IP has no (matching) PTR record.
    RequirePtr,
    SecurityError,
    SyntaxError,
    /// Delivery kept failing temporarily until the MTA gave up.
    Expired,
    NetworkError,
    SystemError,
    /// The receiving side's local delivery agent failed.
    MailerError,
    /// The mailbox is disabled or suspended.
    Suspend,
    TooManyConnections,
    /// The report is incomplete; a human should look.
    OnHold,
    /// Relaying denied.
    NoRelaying,
    /// The message is not compliant with RFC 5322.
    NotCompliantRfc,
    ContentError,
    BadReputation,
    /// The receiver asks the sender to slow down.
    Speeding,
    FailedStarttls,
    SystemFull,
    /// A complaint (feedback loop).
    Feedback,
    /// An auto-reply.
    Vacation,
    /// A success report.
    Delivered,
    Undefined,
}

stored_enum!(BounceReason, "bounce reason", [
    UserUnknown => "user_unknown",
    HostUnknown => "host_unknown",
    HasMoved => "has_moved",
    NotAccept => "not_accept",
    MailboxFull => "mailbox_full",
    ExceedLimit => "exceed_limit",
    MessageTooBig => "message_too_big",
    Filtered => "filtered",
    Blocked => "blocked",
    SpamDetected => "spam_detected",
    VirusDetected => "virus_detected",
    PolicyViolation => "policy_violation",
    Rejected => "rejected",
    AuthFailure => "auth_failure",
    RequirePtr => "require_ptr",
    SecurityError => "security_error",
    SyntaxError => "syntax_error",
    Expired => "expired",
    NetworkError => "network_error",
    SystemError => "system_error",
    MailerError => "mailer_error",
    Suspend => "suspend",
    TooManyConnections => "too_many_connections",
    OnHold => "on_hold",
    NoRelaying => "no_relaying",
    NotCompliantRfc => "not_compliant_rfc",
    ContentError => "content_error",
    BadReputation => "bad_reputation",
    Speeding => "speeding",
    FailedStarttls => "failed_starttls",
    SystemFull => "system_full",
    Feedback => "feedback",
    Vacation => "vacation",
    Delivered => "delivered",
    Undefined => "undefined",
]);

impl BounceReason {
    /// Hard or soft, given whether the failure was permanent (a 5.x.x status or 5xx reply). Only a
    /// bad address is hard: an unknown user or host, a moved mailbox, and a domain that accepts no
    /// mail at all when that refusal is permanent. Policy, spam and reputation refusals are soft
    /// even as 5xx: they are about the sender, not the address.
    pub fn class(self, permanent: bool) -> BounceClass {
        match self {
            Self::UserUnknown | Self::HostUnknown | Self::HasMoved => BounceClass::Hard,
            Self::NotAccept if permanent => BounceClass::Hard,
            _ => BounceClass::Soft,
        }
    }

    /// A refusal that is about the sender's reputation or authentication, not the recipient (a
    /// blocklisted IP, spam or policy verdicts, failed SPF/DKIM/DMARC): when many deliveries of one
    /// issue come back with these, the issue pauses.
    pub fn sender_blocked() -> impl Iterator<Item = Self> {
        Self::ALL.iter().copied().filter(|r| r.is_sender_blocked())
    }

    /// See [`BounceReason::sender_blocked`].
    pub fn is_sender_blocked(self) -> bool {
        matches!(
            self,
            Self::Blocked
                | Self::SpamDetected
                | Self::PolicyViolation
                | Self::BadReputation
                | Self::AuthFailure
                | Self::RequirePtr
                | Self::Rejected
                | Self::NoRelaying
                | Self::SecurityError
        )
    }

    /// About this recipient's address or mailbox (it does not exist, moved, is full, suspended,
    /// or its owner's filter refused the message): the same reply for many recipients in a row is
    /// then plausible, unlike a refusal about the sender or the relay.
    pub fn is_about_recipient(self) -> bool {
        matches!(
            self,
            Self::UserUnknown
                | Self::HostUnknown
                | Self::HasMoved
                | Self::NotAccept
                | Self::MailboxFull
                | Self::Suspend
                | Self::Filtered
                | Self::ExceedLimit
        )
    }

    /// Anything about the sender or the message rather than the mailbox: never counted against the
    /// address, so a problem of herald's own sending cannot unsubscribe readers.
    pub fn is_about_sender(self) -> bool {
        self.is_sender_blocked()
            || matches!(
                self,
                Self::ContentError
                    | Self::VirusDetected
                    | Self::NotCompliantRfc
                    | Self::Speeding
                    | Self::TooManyConnections
                    | Self::FailedStarttls
                    | Self::MessageTooBig
                    | Self::SyntaxError
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bad_addresses_are_hard() {
        assert_eq!(BounceReason::UserUnknown.class(false), BounceClass::Hard);
        assert_eq!(BounceReason::NotAccept.class(true), BounceClass::Hard);
        assert_eq!(BounceReason::NotAccept.class(false), BounceClass::Soft);
        assert_eq!(BounceReason::Blocked.class(true), BounceClass::Soft);
        assert_eq!(BounceReason::MailboxFull.class(true), BounceClass::Soft);
    }

    #[test]
    fn names_round_trip() {
        for &r in BounceReason::ALL {
            assert_eq!(r.as_str().parse::<BounceReason>().unwrap(), r);
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
        for &k in BounceKind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
    }
}

/// Where a bounce event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BounceSource {
    /// A 5xx reply while herald was sending.
    Smtp,
    /// `herald bounce ingest`, run by the MTA.
    Pipe,
    Maildir,
    Imap,
}

stored_enum!(BounceSource, "bounce source", [
    Smtp => "smtp",
    Pipe => "pipe",
    Maildir => "maildir",
    Imap => "imap",
]);
