//! Queueing an issue: the source is rendered here, once, so that a template or Markdown error (or a
//! source too large or nested too deep to render safely) is refused now, with file, line and reason, and
//! never discovered at send time. What does not stop an issue (an HTML part Gmail clips) comes back as
//! a warning for the operator.

use crate::{
    config::Config,
    domain::{IssueId, ListSlug},
    render::{
        IssueContext, IssueSource, Layouts, RenderError, RenderedIssue, Strictness, render_with,
    },
    store::{List, NewIssue, Store, StoreError},
};
use chrono::{DateTime, Utc};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("--at {0} is in the past")]
    InThePast(String),
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct QueuedIssue {
    pub id: IssueId,
    pub list: String,
    pub subject: String,
    pub state: &'static str,
    /// `None`: at the list's next slot, or at once for a list without a schedule.
    pub send_at: Option<DateTime<Utc>>,
    pub starts: String,
    /// Printed to stderr by `issue queue`, and part of its `--json` document.
    pub warnings: Vec<String>,
}

/// Renders `path` for `list` without storing anything.
pub fn render_for_list(
    config: &Config,
    list: &List,
    path: &Path,
    subject: Option<&str>,
    strictness: Strictness,
) -> Result<RenderedIssue, RenderError> {
    render_source_for_list(config, list, &IssueSource::read(path)?, subject, strictness)
}

/// [`render_for_list`] for a source already read.
pub fn render_source_for_list(
    config: &Config,
    list: &List,
    source: &IssueSource,
    subject: Option<&str>,
    strictness: Strictness,
) -> Result<RenderedIssue, RenderError> {
    let layout = Layouts::new(&config.render.templates_dir).load(&list.layout)?;
    let context = IssueContext {
        list_name: list.name.clone(),
        list_address: list.from.address.to_string(),
        list_language: list.language.to_string(),
        list_postal_address: list
            .postal_address
            .as_ref()
            .map(|a| a.to_string())
            .unwrap_or_default(),
    };
    render_with(source, subject, &context, &layout, strictness)
}

pub async fn queue_issue(
    store: &Store,
    config: &Config,
    slug: &ListSlug,
    path: &Path,
    subject: Option<&str>,
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<QueuedIssue, QueueError> {
    let source = IssueSource::read(path)?;
    queue_source(store, config, slug, &source, subject, at, now).await
}

/// [`queue_issue`] for a source already read (the API's request body); `source.file` names it in
/// errors and in the stored issue.
pub async fn queue_source(
    store: &Store,
    config: &Config,
    slug: &ListSlug,
    source: &IssueSource,
    subject: Option<&str>,
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<QueuedIssue, QueueError> {
    if let Some(at) = at.filter(|at| *at < now - chrono::Duration::seconds(60)) {
        return Err(QueueError::InThePast(at.to_rfc3339()));
    }
    let list = store.list(slug).await?;
    let rendered = render_source_for_list(config, &list, source, subject, Strictness::Queue)?;
    let id = store
        .insert_issue(
            &NewIssue {
                list_id: list.id,
                subject: rendered.subject.clone(),
                preheader: rendered.preheader,
                source_path: source.file.clone(),
                html_template: rendered.html_template,
                text_template: rendered.text_template,
                send_at: at,
            },
            now,
        )
        .await?;
    let starts = match (at, &list.schedule) {
        (Some(at), _) => format!("at {}", at.to_rfc3339()),
        (None, Some(schedule)) => match schedule.next_after(now) {
            Some(slot) => format!(
                "at the list's next slot, {} ({schedule})",
                slot.to_rfc3339()
            ),
            None => format!("at the list's next slot ({schedule})"),
        },
        (None, None) => "as soon as herald serve runs".to_owned(),
    };
    Ok(QueuedIssue {
        id,
        list: slug.to_string(),
        subject: rendered.subject,
        state: "queued",
        send_at: at,
        starts,
        warnings: rendered.warnings,
    })
}
