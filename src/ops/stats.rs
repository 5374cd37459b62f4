//! Stats summaries for scripts and dashboards: an issue's outcome counts and rates, a list's
//! subscribers by status and its issues by state. Read from the same rows `issue show` and
//! `list ls` count.

use super::{OpsError, lists};
use crate::{
    domain::{DeliveryState, IssueId},
    store::Store,
};
use std::collections::BTreeMap;

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct IssueStats {
    #[schema(value_type = i64)]
    pub id: IssueId,
    pub list: String,
    pub state: String,
    pub recipients: i64,
    /// Not settled yet: pending, sending, deferred.
    pub open: i64,
    pub sent: i64,
    pub failed: i64,
    pub bounced: i64,
    pub skipped: i64,
    pub complaints: i64,
    /// Of the settled deliveries, the share the server accepted (`sent`, later `bounced` ones included).
    pub delivered_rate: Option<f64>,
    /// Of the accepted messages, the share that came back as a bounce.
    pub bounce_rate: Option<f64>,
    /// Of the accepted messages, the share a reader reported as spam.
    pub complaint_rate: Option<f64>,
}

fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0)
}

pub async fn issue(store: &Store, id: IssueId) -> Result<IssueStats, OpsError> {
    let s = store.issue_summary(id).await?;
    let n = |state| s.count(state);
    let (sent, bounced) = (n(DeliveryState::Sent), n(DeliveryState::Bounced));
    let accepted = sent + bounced;
    let settled = s.total() - s.open() - n(DeliveryState::Skipped);
    Ok(IssueStats {
        id: s.id,
        list: s.list.clone(),
        state: s.state.to_string(),
        recipients: s.total(),
        open: s.open(),
        sent,
        failed: n(DeliveryState::Failed),
        bounced,
        skipped: n(DeliveryState::Skipped),
        complaints: s.complaints,
        delivered_rate: share(accepted, settled),
        bounce_rate: share(bounced, accepted),
        complaint_rate: share(s.complaints, accepted),
    })
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ListStats {
    pub list: String,
    pub subscribers: BTreeMap<String, i64>,
    pub issues: BTreeMap<String, i64>,
    /// Messages accepted by the server over all the list's issues.
    pub sent: i64,
    pub complaints: i64,
}

pub async fn list(store: &Store, slug: &str) -> Result<ListStats, OpsError> {
    let slug = lists::slug(slug)?;
    let list = store.list(&slug).await?;
    let summary = store
        .list_summaries()
        .await?
        .into_iter()
        .find(|l| l.slug == list.slug.as_str())
        .ok_or_else(|| OpsError::NotFound(format!("list {slug}")))?;
    let mut issues: BTreeMap<String, i64> = BTreeMap::new();
    let (mut sent, mut complaints) = (0, 0);
    for i in store.issue_summaries(Some(list.id)).await? {
        *issues.entry(i.state.to_string()).or_default() += 1;
        sent += i.count(DeliveryState::Sent) + i.count(DeliveryState::Bounced);
        complaints += i.complaints;
    }
    Ok(ListStats {
        list: slug.to_string(),
        subscribers: summary.subscribers,
        issues,
        sent,
        complaints,
    })
}
