//! Understanding a returned message without touching the database: what kind of report it is, which
//! recipients it names, and for each the enhanced status, hard/soft class and reason.
//!
//! [`parse`] never panics and never fails: anything it cannot read is a [`Report`] of kind `other`.

mod arf;
mod autoreply;
mod classify;
mod dsn;
mod mime;
mod parse;
mod patterns;
mod returned;
mod scan;
mod ses;
mod vendors;

pub use classify::classify;
pub use parse::parse;

use crate::domain::{BounceClass, BounceKind, BounceReason, EnhancedStatus};

/// What one returned message says.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Report {
    pub kind: BounceKind,
    /// In the order the report lists them.
    pub recipients: Vec<RecipientReport>,
    /// For complaints: the ARF `Feedback-Type` (abuse, fraud, …) when the report gives one.
    pub feedback_type: Option<String>,
    /// Headers of the returned original message (from a message/rfc822 or text/rfc822-headers part,
    /// or quoted inline in the text), unfolded and decoded, in order. Empty when none came back.
    #[serde(skip)]
    pub returned_headers: Vec<(String, String)>,
    /// Where the report itself was delivered to, best first: its Delivered-To, X-Original-To and To
    /// header values (used when the MTA does not pass the envelope recipient).
    #[serde(skip)]
    pub delivered_to: Vec<String>,
    /// The decoded text of the whole message (all text parts and returned headers), bounded in size:
    /// the last place to look for a token.
    #[serde(skip)]
    pub text: String,
}

/// One recipient a report names.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RecipientReport {
    /// Lower-cased; `None` when the report names no address for this failure.
    pub address: Option<String>,
    /// The RFC 3463 code as written, or derived from the reply code and text when the report has none.
    pub status: Option<EnhancedStatus>,
    /// The SMTP reply code quoted in the report (550, 452, …).
    pub reply_code: Option<u16>,
    pub class: BounceClass,
    pub reason: BounceReason,
    /// The DSN action (`failed`, `delayed`, `delivered`, `relayed`, `expanded`) as written or implied.
    pub action: Option<String>,
    /// The remote server's reply or the MTA's explanation, whitespace-collapsed.
    pub diagnostic: Option<String>,
    pub remote_mta: Option<String>,
}
