//! Bounce operations: ingest one report, classify files without the database, list recorded events.

use crate::{
    bounce::report::Report,
    clock::SharedClock,
    config::Config,
    domain::{BounceSource, DeliveryId},
    store::{BounceFilter, BounceRow, Store, StoreError},
    track::{BounceIntake, IngestOutcome, PreparedReport, Purpose, Tokens, attribute_with},
};
use std::{io::Read, path::PathBuf};

/// Reads at most `limit` bytes of a report; the rest is dropped (headers and the DSN come first).
pub fn read_report(mut input: impl Read, limit: usize) -> std::io::Result<Vec<u8>> {
    let mut raw = Vec::new();
    input.by_ref().take(limit as u64).read_to_end(&mut raw)?;
    // Drain what is left so the writer (an MTA's pipe) does not see a broken pipe.
    std::io::copy(&mut input, &mut std::io::sink())?;
    Ok(raw)
}

/// Why an ingest did not happen; every one of these means "try again later" to an MTA.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("cannot read the report: {0}")]
    Read(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0:#}")]
    Other(#[from] anyhow::Error),
}

/// Records one report read from `input`, as `herald bounce ingest` does.
pub async fn ingest(
    config: &Config,
    clock: SharedClock,
    input: impl Read,
    envelope_recipient: Option<&str>,
) -> Result<IngestOutcome, IngestError> {
    let raw = read_report(input, config.bounce.max_report_bytes)?;
    let store = Store::open_for_intake(&config.database.url, config.bounce.busy_timeout).await?;
    let result = async {
        let tokens = intake_tokens(config, &store).await?;
        let intake = intake(config, store.clone(), tokens);
        Ok::<_, IngestError>(
            intake
                .ingest(&raw, BounceSource::Pipe, envelope_recipient, clock.now())
                .await?,
        )
    }
    .await;
    store.close().await;
    result
}

/// What `bounce ingest FILE...` did with one file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IngestedFile {
    pub file: PathBuf,
    #[serde(flatten)]
    pub outcome: IngestOutcome,
}

/// Reports recorded per transaction by `bounce ingest FILE...`.
const GROUP: usize = 512;

/// Records each file as one report, in order. A thread reads and prepares the reports (parsing,
/// token checks, hashing, compressing: the CPU half of an ingest) ahead of the writer, which records
/// them in groups of up to [`GROUP`], one transaction each. Stops at the first file that cannot be
/// read or group that cannot be recorded; what was recorded before stays, and a rerun records the
/// rest (the recorded ones come back as duplicates that change nothing).
pub async fn ingest_files(
    config: &Config,
    clock: SharedClock,
    files: &[PathBuf],
    envelope_recipient: Option<&str>,
) -> Result<Vec<IngestedFile>, IngestError> {
    let store = Store::open_for_intake(&config.database.url, config.bounce.busy_timeout).await?;
    let result = async {
        let tokens = intake_tokens(config, &store).await?;
        let intake = intake(config, store.clone(), tokens);
        let (sender, mut prepared) =
            tokio::sync::mpsc::channel::<Result<(PathBuf, PreparedReport), IngestError>>(2 * GROUP);
        let preparer = {
            let (intake, files, max) = (
                intake.clone(),
                files.to_vec(),
                config.bounce.max_report_bytes,
            );
            let envelope = envelope_recipient.map(str::to_owned);
            std::thread::Builder::new()
                .name("herald-bounce-prepare".into())
                .spawn(move || {
                    for file in files {
                        let item = std::fs::File::open(&file)
                            .and_then(|f| read_report(f, max))
                            .map(|raw| {
                                let report =
                                    intake.prepare(&raw, BounceSource::Pipe, envelope.as_deref());
                                (file.clone(), report)
                            })
                            .map_err(|e| {
                                IngestError::Read(std::io::Error::new(
                                    e.kind(),
                                    format!("{}: {e}", file.display()),
                                ))
                            });
                        let failed = item.is_err();
                        // The writer gave up (a database error): stop reading.
                        if sender.blocking_send(item).is_err() || failed {
                            break;
                        }
                    }
                })
                .map_err(IngestError::Read)?
        };
        let mut done = Vec::with_capacity(files.len());
        let mut batch = Vec::with_capacity(GROUP);
        let outcome = loop {
            if prepared.recv_many(&mut batch, GROUP).await == 0 {
                break Ok(());
            }
            let mut paths = Vec::with_capacity(batch.len());
            let mut group = Vec::with_capacity(batch.len());
            let mut unreadable = None;
            for item in batch.drain(..) {
                match item {
                    Ok((file, report)) => {
                        paths.push(file);
                        group.push(report);
                    }
                    Err(e) => {
                        unreadable = Some(e);
                        break;
                    }
                }
            }
            if !group.is_empty() {
                match intake.record(&group, clock.now()).await {
                    Ok(outcomes) => done.extend(
                        paths
                            .into_iter()
                            .zip(outcomes)
                            .map(|(file, outcome)| IngestedFile { file, outcome }),
                    ),
                    Err(e) => break Err(IngestError::Store(e)),
                }
            }
            if let Some(e) = unreadable {
                break Err(e);
            }
        };
        drop(prepared);
        let _ = preparer.join();
        outcome.map(|()| done)
    }
    .await;
    store.close().await;
    result
}

/// The token key for `bounce ingest`: `http.token_secret`, or the one `serve` generated and kept in
/// the database. Never generated here: a new key would make every report unmatched.
async fn intake_tokens(config: &Config, store: &Store) -> Result<Tokens, IngestError> {
    if let Some(secret) = &config.http.token_secret {
        return Ok(Tokens::new(secret.expose().as_bytes()));
    }
    match store.setting("token_secret").await? {
        Some(secret) => Ok(Tokens::new(secret.as_bytes())),
        None => Err(IngestError::Other(anyhow::anyhow!(
            "the database has no token key yet (herald has sent nothing from it): check database.url"
        ))),
    }
}

/// The intake `serve` and `bounce ingest` share.
pub fn intake(config: &Config, store: Store, tokens: Tokens) -> BounceIntake {
    BounceIntake::new(
        store,
        tokens,
        config.bounce.policy.clone(),
        !config.bounce.keep_raw.is_zero(),
    )
}

/// What `bounce parse` prints for one file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ParsedFile {
    pub file: PathBuf,
    #[serde(flatten)]
    pub report: Report,
    pub delivery: Option<ClaimedDelivery>,
}

/// The delivery a report's token claims.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ClaimedDelivery {
    pub delivery_id: DeliveryId,
    pub found_in: &'static str,
    /// Whether the token's signature was checked (only when `http.token_secret` is configured:
    /// `bounce parse` never opens the database, where a generated key lives).
    pub verified: bool,
}

/// Classifies each file without touching the database.
pub fn parse_files(config: &Config, files: &[PathBuf]) -> anyhow::Result<Vec<ParsedFile>> {
    let tokens = config
        .http
        .token_secret
        .as_ref()
        .map(|s| Tokens::new(s.expose().as_bytes()));
    files
        .iter()
        .map(|file| {
            let raw = std::fs::File::open(file)
                .and_then(|f| read_report(f, config.bounce.max_report_bytes))
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let report = crate::track::parse_guarded(&raw);
            let delivery = match &tokens {
                Some(t) => attribute_with(&|p, tok| t.verify(p, tok), &report, None).map(|a| {
                    ClaimedDelivery {
                        delivery_id: a.delivery,
                        found_in: a.found_in,
                        verified: true,
                    }
                }),
                None => attribute_with(
                    &|_: Purpose, tok| Tokens::peek_unverified(tok),
                    &report,
                    None,
                )
                .map(|a| ClaimedDelivery {
                    delivery_id: a.delivery,
                    found_in: a.found_in,
                    verified: false,
                }),
            };
            Ok(ParsedFile {
                file: file.clone(),
                report,
                delivery,
            })
        })
        .collect()
}

/// Recorded events, newest first.
pub async fn list(
    store: &Store,
    list: Option<&str>,
    issue: Option<&str>,
    unmatched: bool,
    limit: u32,
) -> Result<Vec<BounceRow>, super::OpsError> {
    let list = list.map(super::lists::slug).transpose()?;
    if let Some(slug) = &list {
        store.list(slug).await?;
    }
    let issue = issue
        .map(|i| {
            super::issues::id(i.trim_start_matches('#')).map_err(|_| {
                super::OpsError::invalid("issue", format!("`{i}` is not an issue number"))
            })
        })
        .transpose()?;
    Ok(store
        .bounces(&BounceFilter {
            list,
            issue,
            unmatched,
            limit: Some(limit),
        })
        .await?)
}

/// A kept raw report, decompressed.
pub async fn raw_report(store: &Store, id: i64) -> anyhow::Result<Vec<u8>> {
    let deflated = store.bounce_raw(id).await?.ok_or_else(|| {
        anyhow::anyhow!(
            "bounce #{id} has no raw report (not kept, or older than bounce.keep_raw_days)"
        )
    })?;
    Ok(crate::track::inflate(&deflated)?)
}
