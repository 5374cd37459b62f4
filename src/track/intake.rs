//! Bounce intake: one returned message in, its events recorded. Shared by `herald bounce ingest`
//! (an MTA pipe) and the Maildir and IMAP pollers of `serve`.
//!
//! The message is parsed, attributed to a delivery by a verified token, and every recipient it names
//! becomes an event ([`BounceIntake::prepare`], no database); then events are committed together
//! with what the policy decides, several reports to a transaction when a batch is at hand
//! ([`BounceIntake::record`]). The
//! caller removes a mailbox message only after this returns `Ok`; a report handed in twice (the MTA
//! retried, or a crash came between the commit and the removal) is recognised by its SHA-256 and
//! changes nothing the second time.

use super::{Attribution, Tokens, attribute, unsubscribe_request};
use crate::{
    bounce::report::{self, RecipientReport, Report},
    domain::{BounceClass, BounceKind, BouncePolicy, BounceReason, BounceSource, DeliveryId, mask},
    store::{NewBounce, NewReport, RecordedBounce, Store, StoreError},
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
    /// A reader's unsubscribe request by mail (List-Unsubscribe `mailto:`), carried out.
    pub unsubscribed: bool,
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

    /// Parses, attributes and records `raw`: [`BounceIntake::prepare`], then
    /// [`BounceIntake::record`]. Fails only when the database does; the caller keeps the message
    /// then (the MTA retries, the mailbox message stays).
    pub async fn ingest(
        &self,
        raw: &[u8],
        source: BounceSource,
        envelope_recipient: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<IngestOutcome, StoreError> {
        let prepared = self.prepare(raw, source, envelope_recipient);
        let mut outcomes = self.record(std::slice::from_ref(&prepared), now).await?;
        Ok(outcomes.pop().expect("one outcome per report"))
    }

    /// All the work of an ingest that needs no database (parsing, token checks, hashing and
    /// compressing the raw report), so that it can run beside the writer.
    pub fn prepare(
        &self,
        raw: &[u8],
        source: BounceSource,
        envelope_recipient: Option<&str>,
    ) -> PreparedReport {
        let report = parse_guarded(raw);
        if let Some(delivery) = unsubscribe_request(&self.tokens, &report, envelope_recipient) {
            return PreparedReport {
                kind: BounceKind::Other,
                attribution: Some(Attribution {
                    delivery,
                    found_in: "unsubscribe_mailto",
                }),
                unsubscribe: Some(delivery),
                report: NewReport {
                    events: vec![],
                    claimed: None,
                },
            };
        }
        let attribution = attribute(&self.tokens, &report, envelope_recipient);
        PreparedReport {
            kind: report.kind,
            attribution,
            unsubscribe: None,
            report: NewReport {
                events: events_of(&report, raw, source, self.keep_raw),
                claimed: attribution.map(|a| (a.delivery, a.found_in)),
            },
        }
    }

    /// Records prepared reports in one transaction (a group commit), with what the policy decides.
    pub async fn record(
        &self,
        prepared: &[PreparedReport],
        now: DateTime<Utc>,
    ) -> Result<Vec<IngestOutcome>, StoreError> {
        let mut unsubscribed = std::collections::HashSet::new();
        for delivery in prepared.iter().filter_map(|p| p.unsubscribe) {
            match self.store.unsubscribe_by_delivery(delivery, now).await {
                Ok(changed) => {
                    tracing::info!(delivery_id = delivery.0, changed, "unsubscribed by mail");
                    unsubscribed.insert(delivery);
                }
                // A genuine token for a delivery that no longer exists: nothing to do.
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        // Borrowed, not copied: a report carries its raw message.
        let reports: Vec<&NewReport> = prepared.iter().map(|p| &p.report).collect();
        let recorded = self
            .store
            .record_reports(&reports, &self.policy, now)
            .await?;
        Ok(prepared
            .iter()
            .zip(recorded)
            .map(|(p, recorded)| {
                // A report handed in again is recognised and changes nothing: not counted again.
                let again = !recorded.is_empty() && recorded.iter().all(|r| r.effect.is_none());
                for (event, r) in p.report.events.iter().zip(&recorded) {
                    if !again {
                        crate::metrics::Metrics::get()
                            .bounces
                            .get_or_create(&crate::metrics::BounceLabels {
                                kind: event.kind.to_string(),
                                class: event.class.to_string(),
                            })
                            .inc();
                    }
                    tracing::info!(
                        source = %event.source,
                        kind = %event.kind,
                        class = %event.class,
                        reason = %event.reason,
                        recipient = %event.recipient.as_deref().map(mask).unwrap_or_default(),
                        issue_id = ?r.issue.map(|i| i.0),
                        effect = ?r.effect.map(|e| e.as_str()),
                        "bounce event"
                    );
                    if let Some(issue) = r.paused {
                        tracing::warn!(issue_id = %issue, "issue paused: too many refusals about the sender (blocked, spam, policy)");
                    }
                }
                IngestOutcome {
                    kind: p.kind,
                    delivery: p.attribution.map(|a| a.delivery),
                    found_in: p.attribution.map(|a| a.found_in),
                    duplicate: again,
                    unsubscribed: p.unsubscribe.is_some_and(|d| unsubscribed.contains(&d)),
                    events: recorded,
                }
            })
            .collect())
    }
}

/// A report ready to record (see [`BounceIntake::prepare`]).
#[derive(Debug, Clone)]
pub struct PreparedReport {
    pub kind: BounceKind,
    pub attribution: Option<Attribution>,
    /// Not a report: a reader's unsubscribe request by mail.
    unsubscribe: Option<DeliveryId>,
    report: NewReport,
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
fn events_of(report: &Report, raw: &[u8], source: BounceSource, keep_raw: bool) -> Vec<NewBounce> {
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
