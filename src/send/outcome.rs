//! Deciding a delivery's fate from how its attempt ended: lettre's `is_transient()` (4xx) and
//! `is_permanent()` (5xx) decide between retry and giving up; a broken connection is retried. A 5xx
//! is also a bounce event, classified like a returned report: a hard one (`550 5.1.1`) stops the
//! subscriber, a soft one is counted, a refusal about the sender (`5.7.x` policy) stops nobody.

use crate::{
    bounce::report::classify,
    config::SendingConfig,
    domain::{AttemptError, BounceClass, BounceReason, SmtpReply},
    store::{OutcomeKind, SmtpBounce},
};
use chrono::{DateTime, Utc};

/// Why an attempt did not end in a 2xx.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendFailure {
    /// 4xx: try again later.
    Transient(SmtpReply),
    /// 5xx: the server refused for good.
    Permanent(SmtpReply),
    /// The session broke or timed out during the transaction (the message may or may not have
    /// arrived), or the local outbox could not be written: tried again later.
    Connection(String),
    /// Herald cannot send this message at all (say, a non-ASCII address to a server without SMTPUTF8).
    Unsendable(String),
    /// The whole message went out but its reply was lost (the connection broke or timed out after the
    /// final dot): probably delivered. Retried once at most.
    Unconfirmed(String),
}

impl SendFailure {
    /// The reply, or the error text.
    pub fn error(&self) -> AttemptError {
        match self {
            Self::Transient(r) | Self::Permanent(r) => AttemptError::Reply(r.clone()),
            Self::Connection(t) | Self::Unconfirmed(t) => AttemptError::Other(t.clone()),
            Self::Unsendable(t) => AttemptError::Unsendable(t.clone()),
        }
    }

    pub fn text(&self) -> String {
        self.error().to_string()
    }

    pub fn from_smtp(e: &lettre::transport::smtp::Error) -> Self {
        if let Some(code) = e.status() {
            // lettre keeps the reply's lines as the error's source.
            let text = std::error::Error::source(e)
                .map(|s| s.to_string())
                .unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let reply = SmtpReply::new(u16::from(code), &lines);
            if e.is_permanent() {
                return Self::Permanent(reply);
            }
            if e.is_transient() {
                return Self::Transient(reply);
            }
        }
        if e.is_client() {
            Self::Unsendable(e.to_string())
        } else {
            Self::Connection(e.to_string())
        }
    }
}

/// The relay asks herald to slow down rather than refusing this recipient: 421 (closing the
/// session), 450/451 with a 4.7.x status (policy: rate limits, "try again later"), 452 4.5.3 or
/// "too many …", and 454. Such a recipient is tried again soon without spending an attempt, and the
/// pace drops (see [`super::RateLimiter`]).
pub fn is_throttle(reply: &SmtpReply) -> bool {
    let policy = reply
        .enhanced
        .is_some_and(|e| e.class == 4 && e.subject == 7);
    let too_many = reply
        .enhanced
        .is_some_and(|e| (e.class, e.subject, e.detail) == (4, 5, 3))
        || reply.text.to_ascii_lowercase().contains("too many");
    match reply.code {
        421 | 454 => true,
        450 | 451 => policy || too_many,
        452 => too_many,
        _ => false,
    }
}

/// The outcome of an attempt that failed, given the attempts made before it and how many of those
/// ended unconfirmed (the message sent, its reply lost).
pub fn outcome_for(
    failure: SendFailure,
    attempts_before: u32,
    unconfirmed_before: u32,
    sending: &SendingConfig,
    now: DateTime<Utc>,
) -> OutcomeKind {
    let attempt = attempts_before + 1;
    if unconfirmed_before > 0 {
        // An earlier copy probably arrived, and this retry did not get through either: stop here
        // rather than mail the reader again and again.
        return OutcomeKind::Unconfirmed {
            error: failure.error(),
        };
    }
    match failure {
        SendFailure::Unconfirmed(text) => OutcomeKind::Deferred {
            error: AttemptError::Other(text),
            retry_at: now + chrono::Duration::from_std(sending.retry_base).unwrap_or_default(),
            unconfirmed: true,
        },
        SendFailure::Permanent(reply) => {
            let (reason, class, status) = classify(Some(reply.code), reply.enhanced, &reply.text);
            OutcomeKind::Failed {
                bounce: Some(SmtpBounce {
                    reason,
                    class,
                    status,
                    reply: reply.clone(),
                }),
                error: AttemptError::Reply(reply),
                gave_up_after: None,
            }
        }
        SendFailure::Unsendable(text) => OutcomeKind::Failed {
            error: AttemptError::Unsendable(text),
            gave_up_after: None,
            bounce: None,
        },
        failure @ (SendFailure::Transient(_) | SendFailure::Connection(_))
            if attempt >= sending.max_attempts =>
        {
            // Giving up on a recipient the server kept refusing with 4xx is what a relay reports as
            // an expired delivery: a soft bounce, counted like one arriving by DSN.
            let bounce = match &failure {
                SendFailure::Transient(reply) => {
                    let (reason, _, status) =
                        classify(Some(reply.code), reply.enhanced, &reply.text);
                    let reason = match reason {
                        BounceReason::Undefined | BounceReason::OnHold => BounceReason::Expired,
                        r => r,
                    };
                    Some(SmtpBounce {
                        reason,
                        class: BounceClass::Soft,
                        status,
                        reply: reply.clone(),
                    })
                }
                _ => None,
            };
            OutcomeKind::Failed {
                error: failure.error(),
                gave_up_after: Some(attempt),
                bounce,
            }
        }
        failure @ (SendFailure::Transient(_) | SendFailure::Connection(_)) => {
            // base, 2×base, 4×base, … capped at a day.
            let delay = sending
                .retry_base
                .saturating_mul(1 << attempts_before.min(16))
                .min(std::time::Duration::from_secs(86_400));
            let retry_at = now + chrono::Duration::from_std(delay).unwrap_or_default();
            OutcomeKind::Deferred {
                error: failure.error(),
                retry_at,
                unconfirmed: false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn reply(line: &str) -> SmtpReply {
        SmtpReply::parse(line).unwrap()
    }

    #[test]
    fn slow_down_replies_are_told_from_other_temporary_failures() {
        for line in [
            "421 4.7.0 Try again later, closing connection",
            "451 4.7.1 Too many messages, slow down",
            "450 4.7.1 rate limited",
            "452 4.5.3 Too many recipients",
            "452 Too many concurrent SMTP connections",
            "454 4.7.0 TLS not available due to local problem",
        ] {
            assert!(is_throttle(&reply(line)), "{line}");
        }
        for line in [
            "451 4.3.0 Local error in processing",
            "452 4.2.2 Mailbox full",
            "450 4.2.0 Mailbox busy",
            "550 5.7.1 Rejected",
        ] {
            assert!(!is_throttle(&reply(line)), "{line}");
        }
    }

    #[test]
    fn transient_failures_back_off_exponentially_then_fail() {
        let mut sending = Config::default().sending;
        sending.max_attempts = 3;
        sending.retry_base = std::time::Duration::from_secs(60);
        let now = Utc::now();
        let first = outcome_for(
            SendFailure::Transient(reply("451 later")),
            0,
            0,
            &sending,
            now,
        );
        assert_eq!(
            first,
            OutcomeKind::Deferred {
                error: AttemptError::Reply(reply("451 later")),
                retry_at: now + chrono::Duration::seconds(60),
                unconfirmed: false,
            }
        );
        let second = outcome_for(SendFailure::Connection("reset".into()), 1, 0, &sending, now);
        assert_eq!(
            second,
            OutcomeKind::Deferred {
                error: AttemptError::Other("reset".into()),
                retry_at: now + chrono::Duration::seconds(120),
                unconfirmed: false,
            }
        );
        let OutcomeKind::Failed {
            gave_up_after: Some(3),
            bounce: Some(b),
            ..
        } = outcome_for(
            SendFailure::Transient(reply("451 later")),
            2,
            0,
            &sending,
            now,
        )
        else {
            panic!("gives up after max_attempts");
        };
        // What a relay would report as an expired delivery: soft, counted.
        assert_eq!(
            (b.class, b.reason),
            (BounceClass::Soft, BounceReason::Expired)
        );
    }

    #[test]
    fn a_lost_reply_after_the_message_is_retried_once_then_recorded_as_unconfirmed() {
        let sending = Config::default().sending;
        let now = Utc::now();
        let lost = || SendFailure::Unconfirmed("no reply after the message was sent".into());
        assert!(matches!(
            outcome_for(lost(), 0, 0, &sending, now),
            OutcomeKind::Deferred {
                unconfirmed: true,
                ..
            }
        ));
        assert!(matches!(
            outcome_for(lost(), 1, 1, &sending, now),
            OutcomeKind::Unconfirmed { .. }
        ));
        assert!(matches!(
            outcome_for(SendFailure::Connection("reset".into()), 1, 1, &sending, now),
            OutcomeKind::Unconfirmed { .. }
        ));
    }

    #[test]
    fn a_user_unknown_refusal_is_a_hard_bounce_and_a_policy_refusal_is_not() {
        let sending = Config::default().sending;
        let outcome = outcome_for(
            SendFailure::Permanent(reply("550 5.1.1 <a@example.com>: user unknown")),
            0,
            0,
            &sending,
            Utc::now(),
        );
        let OutcomeKind::Failed {
            bounce: Some(b),
            error,
            ..
        } = outcome
        else {
            panic!("a 5xx fails at once");
        };
        assert_eq!(
            (b.reason, b.class),
            (BounceReason::UserUnknown, BounceClass::Hard)
        );
        assert_eq!(error.to_string(), "550 5.1.1 <a@example.com>: user unknown");
        let OutcomeKind::Failed {
            bounce: Some(b), ..
        } = outcome_for(
            SendFailure::Permanent(reply(
                "550 5.7.1 Service unavailable; client host blocked using zen.spamhaus.org",
            )),
            0,
            0,
            &sending,
            Utc::now(),
        )
        else {
            panic!("a 5xx fails at once");
        };
        assert_eq!(b.class, BounceClass::Soft);
        assert!(b.reason.is_sender_blocked(), "{:?}", b.reason);
    }
}
