//! Bounce intake: one returned message in, its events recorded. Shared by `herald bounce ingest`
//! (an MTA pipe) and the Maildir and IMAP pollers of `serve`.
//!
//! The message is parsed, attributed to a delivery by a verified token, and every recipient it names
//! becomes an event, all committed in one transaction together with what the policy decides. The
//! caller removes a mailbox message only after this returns `Ok`; a report handed in twice (the MTA
//! retried, or a crash came between the commit and the removal) is recognised by its SHA-256 and
//! changes nothing the second time.

use super::{Tokens, attribute};
use crate::{
    bounce::report::{self, RecipientReport, Report},
    domain::{BounceClass, BounceKind, BouncePolicy, BounceReason, BounceSource, DeliveryId, mask},
    store::{NewBounce, RecordedBounce, Store, StoreError},
};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::io::Write;

#[derive(Clone)]
pub struct BounceIntake {
    store: Store,
    tokens: Tokens,
    policy: BouncePolicy,
    /// Keep the raw report at all (`bounce.keep_raw_days` > 0).
    keep_raw: bool,
}

/// What one ingested message was and did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IngestOutcome {
    pub kind: BounceKind,
    /// The delivery its token names; `None`: unmatched, nobody was changed.
    pub delivery: Option<DeliveryId>,
    pub found_in: Option<&'static str>,
    pub events: Vec<RecordedBounce>,
    /// The same report was recorded before.
    pub duplicate: bool,
}

impl BounceIntake {
    pub fn new(store: Store, tokens: Tokens, policy: BouncePolicy, keep_raw: bool) -> Self {
        Self {
            store,
            tokens,
            policy,
            keep_raw,
        }
    }

    /// Makes every recorded report durable before the caller removes the mailbox messages it came
    /// from.
    pub async fn sync_to_disk(&self) -> Result<(), StoreError> {
        self.store.sync_to_disk().await
    }

    /// Parses, attributes and records `raw`. Fails only when the database does; the caller keeps
    /// the message then (the MTA retries, the mailbox message stays).
    pub async fn ingest(
        &self,
        raw: &[u8],
        source: BounceSource,
        envelope_recipient: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<IngestOutcome, StoreError> {
        let report = parse_guarded(raw);
        let attribution = attribute(&self.tokens, &report, envelope_recipient);
        let subscriber_email = match attribution {
            Some(a) => match self.store.recipient_of(a.delivery).await {
                Ok(r) => Some(r.email),
                Err(StoreError::NotFound(_)) => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        let events = events_of(
            &report,
            raw,
            source,
            attribution.map(|a| (a.delivery, a.found_in)),
            subscriber_email.as_deref(),
            self.keep_raw,
        );
        let recorded = self
            .store
            .record_bounces(&events, &self.policy, now)
            .await?;
        let duplicate = !recorded.is_empty() && recorded.iter().all(|r| r.effect.is_none());
        for (event, r) in events.iter().zip(&recorded) {
            tracing::info!(
                source = %source,
                kind = %event.kind,
                class = %event.class,
                reason = %event.reason,
                recipient = %event.recipient.as_deref().map(mask).unwrap_or_default(),
                delivery_id = ?event.delivery.map(|d| d.0 .0),
                effect = ?r.effect.map(|e| e.as_str()),
                "bounce event"
            );
            if let Some(issue) = r.paused {
                tracing::warn!(issue_id = %issue, "issue paused: too many refusals about the sender (blocked, spam, policy)");
            }
        }
        Ok(IngestOutcome {
            kind: report.kind,
            delivery: attribution.map(|a| a.delivery),
            found_in: attribution.map(|a| a.found_in),
            events: recorded,
            duplicate,
        })
    }
}

/// [`report::parse`], with a panic (a parser bug) turned into a report of kind `other`: the raw
/// message is still recorded and a mailbox message moved aside, and the daemon goes on.
pub fn parse_guarded(raw: &[u8]) -> Report {
    std::panic::catch_unwind(|| report::parse(raw)).unwrap_or_else(|_| {
        tracing::error!(
            bytes = raw.len(),
            "the bounce parser failed on a message; it is kept as `other`"
        );
        Report {
            kind: BounceKind::Other,
            recipients: vec![],
            feedback_type: None,
            returned_headers: vec![],
            delivered_to: vec![],
            text: String::new(),
        }
    })
}

/// The events of one report: one per recipient (at least one, so that every message is counted).
/// The verified delivery goes to the recipient that is its subscriber, else to the first failed one.
fn events_of(
    report: &Report,
    raw: &[u8],
    source: BounceSource,
    delivery: Option<(DeliveryId, &'static str)>,
    subscriber_email: Option<&str>,
    keep_raw: bool,
) -> Vec<NewBounce> {
    let sha = hex(&Sha256::digest(raw));
    let placeholder;
    let recipients: &[RecipientReport] = if report.recipients.is_empty() {
        placeholder = [RecipientReport {
            address: None,
            status: None,
            reply_code: None,
            class: BounceClass::Soft,
            reason: default_reason(report.kind),
            action: None,
            diagnostic: None,
            remote_mta: None,
        }];
        &placeholder
    } else {
        &report.recipients
    };
    let is_failure = |r: &RecipientReport| {
        !matches!(
            r.action.as_deref().map(str::to_ascii_lowercase).as_deref(),
            Some("delayed" | "delivered" | "relayed" | "expanded")
        )
    };
    let attributed = recipients
        .iter()
        .position(|r| {
            subscriber_email.is_some_and(|e| {
                r.address
                    .as_deref()
                    .is_some_and(|a| a.eq_ignore_ascii_case(e))
            })
        })
        .or_else(|| recipients.iter().position(is_failure))
        .unwrap_or(0);
    let raw_deflated = keep_raw.then(|| deflate(raw));
    recipients
        .iter()
        .enumerate()
        .map(|(i, r)| NewBounce {
            source,
            kind: report.kind,
            class: r.class,
            reason: r.reason,
            status: r.status,
            reply_code: r.reply_code,
            action: r.action.clone(),
            diagnostic: r.diagnostic.clone(),
            remote_mta: r.remote_mta.clone(),
            recipient: r.address.clone(),
            delivery: delivery.filter(|_| i == attributed),
            is_failure: is_failure(r),
            report: Some((sha.clone(), i as u32)),
            raw_deflated: if i == 0 { raw_deflated.clone() } else { None },
        })
        .collect()
}

fn default_reason(kind: BounceKind) -> BounceReason {
    match kind {
        BounceKind::Complaint => BounceReason::Feedback,
        BounceKind::AutoReply => BounceReason::Vacation,
        BounceKind::Delivered => BounceReason::Delivered,
        BounceKind::Bounce => BounceReason::OnHold,
        BounceKind::Other => BounceReason::Undefined,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The raw report, deflate-compressed (about 4:1 for text reports).
pub fn deflate(raw: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(raw);
    encoder.finish().unwrap_or_default()
}

/// The inverse of [`deflate`], for showing a kept report.
pub fn inflate(deflated: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut decoder = flate2::write::DeflateDecoder::new(Vec::new());
    decoder.write_all(deflated)?;
    decoder.finish()
}
