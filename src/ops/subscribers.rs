//! Subscriber operations: add one, import a CSV stream, page through a list, show, unsubscribe.

use super::{OpsError, csv_rows, error::one_of, lists, paging};
use crate::{
    config::Config,
    domain::{EmailAddress, SubscriberStatus},
    store::{Erased, ImportRow, List, Store, Subscriber},
};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// Rows per import transaction.
const IMPORT_CHUNK: usize = 10_000;
pub use super::paging::MAX_PAGE;

/// One subscriber as given: `herald subscriber add`, or `POST /api/v1/lists/{list}/subscribers`.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddSubscriber {
    pub email: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Added {
    pub email: String,
    pub list: String,
    /// `added`, or `updated` when the address was on the list already.
    pub result: &'static str,
}

/// What an import did; rejected rows carry their line numbers and reasons.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub list: String,
    pub added: u64,
    pub updated: u64,
    pub rejected: usize,
    /// The first 1,000 rejected rows; `rejected` counts them all.
    pub rejected_rows: Vec<csv_rows::Rejected>,
}

/// One page of a list's subscribers; `next` is the cursor of the next page, if there is one.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Page {
    pub subscribers: Vec<Subscriber>,
    pub next: Option<String>,
}

/// An address from outside, international (non-ASCII local part) only when the relay takes it.
pub fn address(config: &Config, raw: &str) -> Result<EmailAddress, OpsError> {
    let parsed = if config.smtp.smtputf8 {
        EmailAddress::parse_international(raw)
    } else {
        EmailAddress::parse(raw)
    };
    parsed.map_err(|e| OpsError::invalid("email", e))
}

/// An address to look up: any that could have been stored (a non-ASCII local part is found even when
/// `smtp.smtputf8` was turned off since).
fn stored_address(raw: &str) -> Result<EmailAddress, OpsError> {
    EmailAddress::parse_international(raw).map_err(|e| OpsError::invalid("email", e))
}

async fn list(store: &Store, slug: &str) -> Result<List, OpsError> {
    Ok(store.list(&lists::slug(slug)?).await?)
}

/// Adds `input` to `list`, or updates the name and attributes of the address already there (never
/// re-activating one that left).
pub async fn add(
    store: &Store,
    config: &Config,
    slug: &str,
    input: AddSubscriber,
    now: DateTime<Utc>,
) -> Result<Added, OpsError> {
    let list = list(store, slug).await?;
    let email = address(config, &input.email)?;
    if let Some(key) = input.attributes.keys().find(|k| k.trim().is_empty()) {
        return Err(OpsError::invalid(
            "attributes",
            format!("`{key}` is not an attribute name"),
        ));
    }
    if store.erasures().await?.contains(&email) {
        return Err(OpsError::invalid("email", csv_rows::ERASED));
    }
    let row = ImportRow::new(email.clone(), input.name, input.attributes)
        .map_err(|reason| OpsError::invalid("subscriber", format!("{email}: {reason}")))?;
    // The same add-or-update as an import, for one row.
    let importer = store.bulk_import(list.id, now)?;
    importer.write(vec![row]).await?;
    let counts = importer.finish().await?;
    Ok(Added {
        email: email.to_string(),
        list: list.slug.to_string(),
        result: if counts.added == 1 {
            "added"
        } else {
            "updated"
        },
    })
}

/// Imports the CSV read from `input` into `list`, a chunk at a time (a million rows never sit in
/// memory). Blocking reads: `input` is read on a blocking thread.
pub async fn import(
    store: &Store,
    config: &Config,
    slug: &str,
    input: impl std::io::Read + Send + 'static,
    now: DateTime<Utc>,
) -> Result<ImportReport, OpsError> {
    let list = list(store, slug).await?;
    let erased = store.erasures().await?;
    let importer = store.bulk_import(list.id, now)?;
    let smtputf8 = config.smtp.smtputf8;
    // Parsing reads `input` on a blocking thread, a chunk ahead of the writer.
    let (chunks, mut parsed) = tokio::sync::mpsc::channel(1);
    let parser = tokio::task::spawn_blocking(move || {
        csv_rows::read(
            std::io::BufReader::with_capacity(1 << 16, input),
            IMPORT_CHUNK,
            smtputf8,
            &erased,
            |chunk| {
                chunks
                    .blocking_send(chunk)
                    .map_err(|_| anyhow::anyhow!("the import writer stopped"))
            },
        )
    });
    let mut written = Ok(());
    while let Some(chunk) = parsed.recv().await {
        written = importer.write(chunk).await;
        if written.is_err() {
            break;
        }
    }
    // Ends the parser at its next chunk if the writer stopped.
    drop(parsed);
    let read = parser
        .await
        .map_err(|e| OpsError::Internal(format!("the import stopped: {e}")))?;
    // The writer's own error, if it stopped, says more than the failed hand-over.
    let counts = importer.finish().await?;
    written?;
    let rejected = read.map_err(|e| OpsError::invalid("csv", format!("{e:#}")))?;
    Ok(ImportReport {
        list: list.slug.to_string(),
        added: counts.added,
        updated: counts.updated,
        rejected: rejected.total,
        rejected_rows: rejected.rows,
    })
}

/// A `status` filter from outside.
pub fn status(raw: Option<&str>) -> Result<Option<SubscriberStatus>, OpsError> {
    raw.map(|s| one_of("status", s, SubscriberStatus::ALL))
        .transpose()
}

/// Up to `limit` subscribers after `cursor` (from the previous page's `next`).
pub async fn page(
    store: &Store,
    slug: &str,
    status: Option<SubscriberStatus>,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page, OpsError> {
    let list = list(store, slug).await?;
    let (after, limit) = (paging::after(cursor)?, paging::limit(limit)?);
    let subscribers = store
        .subscribers_page(list.id, status, after, limit)
        .await?;
    let next = paging::next(&subscribers, limit, |s| s.id.0);
    Ok(Page { subscribers, next })
}

pub async fn show(store: &Store, slug: &str, email: &str) -> Result<Subscriber, OpsError> {
    let list = list(store, slug).await?;
    Ok(store.subscriber(list.id, &stored_address(email)?).await?)
}

/// What an operator's unsubscribe did.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Unsubscribed {
    pub email: String,
    pub list: String,
    /// False when the subscriber had already left (unsubscribed, bounced or complained).
    pub changed: bool,
    #[schema(value_type = String)]
    pub status: SubscriberStatus,
}

pub async fn unsubscribe(
    store: &Store,
    slug: &str,
    email: &str,
    now: DateTime<Utc>,
) -> Result<Unsubscribed, OpsError> {
    let list = list(store, slug).await?;
    let email = stored_address(email)?;
    let changed = store.unsubscribe_address(list.id, &email, now).await?;
    let now_status = store.subscriber(list.id, &email).await?.status;
    Ok(Unsubscribed {
        email: email.to_string(),
        list: list.slug.to_string(),
        changed,
        status: now_status,
    })
}

/// Erases `email` from every list (`herald subscriber erase`, `POST /api/v1/subscribers/erase`):
/// their subscriber rows, deliveries and the personal parts of their bounce records go; a salted hash
/// stays so that no import brings the address back.
pub async fn erase(store: &Store, email: &str, now: DateTime<Utc>) -> Result<Erased, OpsError> {
    let email = stored_address(email)?;
    Ok(store.erase(&email, now).await?)
}
