//! Deciding a delivery's fate from how its attempt ended: lettre's `is_transient()` (4xx) and
//! `is_permanent()` (5xx) decide between retry and giving up; a broken connection is retried.

use crate::{config::SendingConfig, store::OutcomeKind};
use chrono::{DateTime, Utc};

/// Why an attempt did not end in a 2xx.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendFailure {
    /// 4xx: try again later.
    Transient(String),
    /// 5xx: the server refused for good.
    Permanent(String),
    /// The session broke or timed out during the transaction: the message may or may not have arrived.
    Connection(String),
    /// Herald cannot send this message at all (say, a non-ASCII address to a server without SMTPUTF8).
    Unsendable(String),
}

impl SendFailure {
    /// The reply or error text.
    pub fn text(&self) -> &str {
        match self {
            Self::Transient(t) | Self::Permanent(t) | Self::Connection(t) | Self::Unsendable(t) => {
                t
            }
        }
    }

    pub fn from_smtp(e: &lettre::transport::smtp::Error) -> Self {
        let text = e.to_string();
        if e.is_permanent() {
            Self::Permanent(text)
        } else if e.is_transient() {
            Self::Transient(text)
        } else if e.is_client() {
            Self::Unsendable(text)
        } else {
            Self::Connection(text)
        }
    }
}

/// The outcome of an attempt that failed, given the attempts made before it.
pub fn outcome_for(
    failure: SendFailure,
    attempts_before: u32,
    sending: &SendingConfig,
    now: DateTime<Utc>,
) -> OutcomeKind {
    let attempt = attempts_before + 1;
    match failure {
        SendFailure::Permanent(reply) | SendFailure::Unsendable(reply) => {
            OutcomeKind::Failed { reply }
        }
        SendFailure::Transient(reply) | SendFailure::Connection(reply)
            if attempt >= sending.max_attempts =>
        {
            OutcomeKind::Failed {
                reply: format!("gave up after {attempt} attempts; last: {reply}"),
            }
        }
        SendFailure::Transient(reply) | SendFailure::Connection(reply) => {
            // base, 2×base, 4×base, … capped at a day.
            let delay = sending
                .retry_base
                .saturating_mul(1 << attempts_before.min(16))
                .min(std::time::Duration::from_secs(86_400));
            let retry_at = now + chrono::Duration::from_std(delay).unwrap_or_default();
            OutcomeKind::Deferred { reply, retry_at }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn transient_failures_back_off_exponentially_then_fail() {
        let mut sending = Config::default().sending;
        sending.max_attempts = 3;
        sending.retry_base = std::time::Duration::from_secs(60);
        let now = Utc::now();
        let first = outcome_for(SendFailure::Transient("451".into()), 0, &sending, now);
        assert_eq!(
            first,
            OutcomeKind::Deferred {
                reply: "451".into(),
                retry_at: now + chrono::Duration::seconds(60)
            }
        );
        let second = outcome_for(SendFailure::Connection("reset".into()), 1, &sending, now);
        assert_eq!(
            second,
            OutcomeKind::Deferred {
                reply: "reset".into(),
                retry_at: now + chrono::Duration::seconds(120)
            }
        );
        assert!(matches!(
            outcome_for(SendFailure::Transient("451".into()), 2, &sending, now),
            OutcomeKind::Failed { .. }
        ));
    }

    #[test]
    fn permanent_failures_fail_at_once_keeping_the_reply() {
        let sending = Config::default().sending;
        let outcome = outcome_for(
            SendFailure::Permanent("550 no such user".into()),
            0,
            &sending,
            Utc::now(),
        );
        assert_eq!(
            outcome,
            OutcomeKind::Failed {
                reply: "550 no such user".into()
            }
        );
    }
}
