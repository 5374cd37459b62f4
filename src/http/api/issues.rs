//! `/api/v1/issues` and `/api/v1/lists/{list}/issues`: the same operations and JSON as
//! `herald issue …` (`issue show --json` for one issue).

use super::{ApiJson, ApiQuery, ApiState, Problem, Problems};
use crate::ops::issues;
use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
};

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct IssuesQuery {
    list: Option<String>,
}

#[utoipa::path(get, path = "/issues", tag = "issues", params(IssuesQuery), responses((status = 200, description = "issues with their progress", body = Vec<crate::store::IssueSummary>), Problems))]
pub async fn index(
    State(state): State<ApiState>,
    ApiQuery(q): ApiQuery<IssuesQuery>,
) -> Result<impl IntoResponse, Problem> {
    Ok(Json(issues::all(&state.store, q.list.as_deref()).await?))
}

#[utoipa::path(post, path = "/lists/{list}/issues", tag = "issues", params(("list" = String, Path, description = "the list's slug")), request_body = issues::QueueInput, responses((status = 201, description = "the issue queued, as `issue show --json` prints it", body = crate::store::IssueSummary), Problems))]
pub async fn queue(
    State(state): State<ApiState>,
    Path(list): Path<String>,
    ApiJson(input): ApiJson<issues::QueueInput>,
) -> Result<impl IntoResponse, Problem> {
    let queued =
        issues::queue(&state.store, &state.config, &list, input, state.clock.now()).await?;
    for warning in &queued.warnings {
        tracing::warn!(issue_id = %queued.id, %warning, "queued through the API with a warning");
    }
    let issue = issues::show(&state.store, queued.id).await?;
    Ok((StatusCode::CREATED, Json(issue)))
}

#[utoipa::path(get, path = "/issues/{id}", tag = "issues", params(("id" = i64, Path, description = "the issue's number")), responses((status = 200, description = "one issue", body = crate::store::IssueSummary), Problems))]
pub async fn show(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, Problem> {
    Ok(Json(issues::show(&state.store, issues::id(&id)?).await?))
}

#[utoipa::path(post, path = "/issues/{id}/pause", tag = "issues", params(("id" = i64, Path, description = "the issue's number")), responses((status = 200, description = "the issue afterwards", body = crate::store::IssueSummary), Problems))]
pub async fn pause(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, Problem> {
    let id = issues::id(&id)?;
    Ok(Json(
        issues::pause(&state.store, id, state.clock.now()).await?,
    ))
}

#[utoipa::path(post, path = "/issues/{id}/resume", tag = "issues", params(("id" = i64, Path, description = "the issue's number")), responses((status = 200, description = "the issue afterwards", body = crate::store::IssueSummary), Problems))]
pub async fn resume(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, Problem> {
    let id = issues::id(&id)?;
    Ok(Json(
        issues::resume(&state.store, id, state.clock.now()).await?,
    ))
}

#[utoipa::path(post, path = "/issues/{id}/cancel", tag = "issues", params(("id" = i64, Path, description = "the issue's number")), responses((status = 200, description = "the issue afterwards", body = crate::store::IssueSummary), Problems))]
pub async fn cancel(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, Problem> {
    let id = issues::id(&id)?;
    Ok(Json(
        issues::cancel(&state.store, id, state.clock.now()).await?,
    ))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    state: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/issues/{id}/deliveries", tag = "issues", params(("id" = i64, Path, description = "the issue's number"), DeliveriesQuery), responses((status = 200, description = "a page of deliveries and the next page's cursor", body = issues::DeliveryPage), Problems))]
pub async fn deliveries(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<DeliveriesQuery>,
) -> Result<impl IntoResponse, Problem> {
    let id = issues::id(&id)?;
    let filter = issues::delivery_state(q.state.as_deref())?;
    Ok(Json(
        issues::deliveries(
            &state.store,
            id,
            filter,
            q.cursor.as_deref(),
            q.limit.unwrap_or(super::DEFAULT_PAGE),
        )
        .await?,
    ))
}

#[utoipa::path(get, path = "/issues/{id}/stats", tag = "stats", params(("id" = i64, Path, description = "the issue's number")), responses((status = 200, description = "outcome counts and rates", body = crate::ops::stats::IssueStats), Problems))]
pub async fn stats(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, Problem> {
    Ok(Json(
        crate::ops::stats::issue(&state.store, issues::id(&id)?).await?,
    ))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BouncesQuery {
    list: Option<String>,
    issue: Option<String>,
    #[serde(default)]
    unmatched: bool,
    limit: Option<u32>,
}

/// Recorded bounce events and complaints, newest first (`bounce ls --json`).
#[utoipa::path(get, path = "/bounces", tag = "bounces", params(BouncesQuery), responses((status = 200, description = "bounce events and complaints, newest first", body = Vec<crate::store::BounceRow>), Problems))]
pub async fn bounces(
    State(state): State<ApiState>,
    ApiQuery(q): ApiQuery<BouncesQuery>,
) -> Result<impl IntoResponse, Problem> {
    let limit = crate::ops::paging::limit(q.limit.unwrap_or(super::DEFAULT_PAGE))?;
    Ok(Json(
        crate::ops::bounces::list(
            &state.store,
            q.list.as_deref(),
            q.issue.as_deref(),
            q.unmatched,
            limit,
        )
        .await?,
    ))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PreviewQuery {
    /// `html` (default: the page itself), `text`, or `json` (subject, preheader, both parts).
    format: Option<String>,
}

/// The issue as a sample reader gets it.
#[utoipa::path(get, path = "/issues/{id}/preview", tag = "issues", params(("id" = i64, Path, description = "the issue's number"), PreviewQuery), responses((status = 200, description = "the issue as a sample reader gets it", content((String = "text/html"), (String = "text/plain"), (issues::Preview = "application/json"))), Problems))]
pub async fn preview(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<PreviewQuery>,
) -> Result<axum::response::Response, Problem> {
    use axum::http::header;
    let preview = issues::preview(&state.store, &state.config, issues::id(&id)?).await?;
    Ok(match q.format.as_deref().unwrap_or("html") {
        "html" => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            preview.html,
        )
            .into_response(),
        "text" => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            preview.text,
        )
            .into_response(),
        "json" => Json(preview).into_response(),
        other => {
            return Err(crate::ops::OpsError::invalid(
                "format",
                format!("`{other}` is not one of html, text, json"),
            )
            .into());
        }
    })
}
