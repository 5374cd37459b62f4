//! Reason and class from an SMTP reply code, an enhanced status and the diagnostic text.
//! (Interim: the full table is being written.)

use crate::domain::{BounceClass, BounceReason, EnhancedStatus};

/// Classifies one failure. Returns the reason, the class, and the enhanced status (as given, or
/// derived from the reason when none was given).
pub fn classify(
    reply_code: Option<u16>,
    status: Option<EnhancedStatus>,
    text: &str,
) -> (BounceReason, BounceClass, Option<EnhancedStatus>) {
    let _ = text;
    let permanent = status
        .map(|s| s.is_permanent())
        .unwrap_or(reply_code.is_some_and(|c| c >= 500));
    let reason = match status.map(|s| (s.subject, s.detail)) {
        Some((1, 1)) => BounceReason::UserUnknown,
        Some((1, 2)) => BounceReason::HostUnknown,
        Some((2, 2)) => BounceReason::MailboxFull,
        _ => BounceReason::Undefined,
    };
    (reason, reason.class(permanent), status)
}
