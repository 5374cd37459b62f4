//! The admin listener (`admin.listen`, loopback by default, never the public one): `/metrics` for
//! Prometheus, and the operator's API under `/api/v1` (`super::api`).

use crate::{
    domain::IssueState,
    metrics::{CONTENT_TYPE, DeliveryLabels, Metrics},
    store::Store,
};
use axum::{Router, extract::State, http::header, response::IntoResponse, routing::get};

pub fn admin_router(api: super::api::ApiState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(api.store.clone())
        .merge(super::api::router(api))
}

async fn metrics(State(store): State<Store>) -> impl IntoResponse {
    // What the database knows, read now: the issues being sent, by delivery state.
    let mut deliveries = Vec::new();
    if let Ok(sending) = store.issues_in_state(IssueState::Sending).await {
        for issue in sending {
            let Ok(summary) = store.issue_summary(issue.id).await else {
                continue;
            };
            for (state, n) in &summary.deliveries {
                deliveries.push((
                    DeliveryLabels {
                        issue: issue.id.to_string(),
                        list: summary.list.clone(),
                        state: (*state).to_owned(),
                    },
                    *n,
                ));
            }
        }
    }
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        Metrics::get().render(&deliveries),
    )
}
