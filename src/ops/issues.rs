//! Issue operations: queue a source, show, list, pause, resume, cancel. Every state change goes
//! through the store's guarded moves (the domain's table of allowed moves decides).

use super::{OpsError, error::one_of, lists, paging};
use crate::{
    config::Config,
    domain::{DeliveryState, IssueId, IssueState},
    queue::{QueueError, QueuedIssue, queue_source},
    render::{IssueSource, SourceKind},
    store::{DeliveryRow, IssueSummary, Store},
};
use chrono::{DateTime, Utc};

/// A source to queue: `POST /api/v1/lists/{list}/issues`.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueInput {
    /// The issue's Markdown (with optional front matter) or MJML.
    pub source: String,
    pub format: Format,
    #[serde(default)]
    pub subject: Option<String>,
    /// RFC 3339 start time; default: the list's next slot, or at once.
    #[serde(default)]
    pub send_at: Option<String>,
}

#[derive(Debug, Clone, Copy, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Markdown,
    Mjml,
}

/// An issue id from outside.
pub fn id(raw: &str) -> Result<IssueId, OpsError> {
    raw.parse::<IssueId>()
        .map_err(|e| OpsError::invalid("id", e))
}

/// An RFC 3339 time from outside.
pub fn time(field: &str, raw: &str) -> Result<DateTime<Utc>, OpsError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            OpsError::invalid(
                field,
                format!("`{raw}` is not an RFC 3339 time such as 2026-12-01T09:00:00+01:00 ({e})"),
            )
        })
}

fn queue_error(e: QueueError) -> OpsError {
    match e {
        QueueError::Render(e) => OpsError::invalid("source", e),
        QueueError::InThePast(at) => OpsError::invalid("send_at", format!("{at} is in the past")),
        QueueError::Store(e) => e.into(),
    }
}

/// Queues `input` for `list`; refused (with file, line and reason) when it does not render.
pub async fn queue(
    store: &Store,
    config: &Config,
    list: &str,
    input: QueueInput,
    now: DateTime<Utc>,
) -> Result<QueuedIssue, OpsError> {
    let slug = lists::slug(list)?;
    let at = input
        .send_at
        .as_deref()
        .map(|a| time("send_at", a))
        .transpose()?;
    let (file, kind) = match input.format {
        Format::Markdown => ("request.md", SourceKind::Markdown),
        Format::Mjml => ("request.mjml", SourceKind::Mjml),
    };
    let source = IssueSource::parse(file, kind, &input.source)
        .map_err(|e| OpsError::invalid("source", e))?;
    queue_source(
        store,
        config,
        &slug,
        &source,
        input.subject.as_deref(),
        at,
        now,
    )
    .await
    .map_err(queue_error)
}

pub async fn show(store: &Store, id: IssueId) -> Result<IssueSummary, OpsError> {
    Ok(store.issue_summary(id).await?)
}

pub async fn all(store: &Store, list: Option<&str>) -> Result<Vec<IssueSummary>, OpsError> {
    let list = match list {
        Some(l) => Some(store.list(&lists::slug(l)?).await?.id),
        None => None,
    };
    Ok(store.issue_summaries(list).await?)
}

pub async fn pause(
    store: &Store,
    id: IssueId,
    now: DateTime<Utc>,
) -> Result<IssueSummary, OpsError> {
    store
        .move_issue(id, IssueState::Paused, Some("paused by the operator"), now)
        .await?;
    show(store, id).await
}

pub async fn resume(
    store: &Store,
    id: IssueId,
    now: DateTime<Utc>,
) -> Result<IssueSummary, OpsError> {
    store.resume_issue(id, now).await?;
    show(store, id).await
}

pub async fn cancel(
    store: &Store,
    id: IssueId,
    now: DateTime<Utc>,
) -> Result<IssueSummary, OpsError> {
    store
        .move_issue(
            id,
            IssueState::Cancelled,
            Some("cancelled by the operator"),
            now,
        )
        .await?;
    show(store, id).await
}

/// One page of an issue's deliveries; `next` is the cursor of the next page, if there is one.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DeliveryPage {
    pub deliveries: Vec<DeliveryRow>,
    pub next: Option<String>,
}

/// A delivery `state` filter from outside.
pub fn delivery_state(raw: Option<&str>) -> Result<Option<DeliveryState>, OpsError> {
    raw.map(|s| one_of("state", s, DeliveryState::ALL))
        .transpose()
}

pub async fn deliveries(
    store: &Store,
    id: IssueId,
    state: Option<DeliveryState>,
    cursor: Option<&str>,
    limit: u32,
) -> Result<DeliveryPage, OpsError> {
    store.issue(id).await?;
    let (after, limit) = (paging::after(cursor)?, paging::limit(limit)?);
    let deliveries = store
        .deliveries_page(id, state, after, i64::from(limit))
        .await?;
    let next = paging::next(&deliveries, limit, |d| d.id.0);
    Ok(DeliveryPage { deliveries, next })
}

/// The sample reader previews are personalised for.
pub fn sample_reader<'a>(
    attributes: &'a std::collections::BTreeMap<String, String>,
    unsubscribe_url: &'a str,
) -> crate::render::Recipient<'a> {
    crate::render::Recipient {
        email: "reader@example.com",
        name: Some("Ada Reader"),
        attributes,
        unsubscribe_url,
        view_url: unsubscribe_url,
        manage_url: unsubscribe_url,
    }
}

/// An issue as a sample reader would get it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Preview {
    #[schema(value_type = i64)]
    pub id: IssueId,
    pub subject: String,
    pub preheader: Option<String>,
    pub html: String,
    pub text: String,
}

pub async fn preview(store: &Store, config: &Config, id: IssueId) -> Result<Preview, OpsError> {
    let issue = store.issue(id).await?;
    let attributes = std::collections::BTreeMap::new();
    let unsubscribe_url = format!("{}/u/preview", config.http.public_url);
    let reader = sample_reader(&attributes, &unsubscribe_url);
    let compile = |t: &str| {
        crate::render::PersonalTemplate::compile(t)
            .map_err(|e| OpsError::Internal(format!("the stored issue does not compile: {e}")))
    };
    Ok(Preview {
        id,
        html: compile(&issue.html_template)?.render(&reader, true),
        text: compile(&issue.text_template)?.render(&reader, false),
        subject: issue.subject,
        preheader: issue.preheader,
    })
}
