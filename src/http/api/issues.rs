//! `/api/v1/issues` and `/api/v1/lists/{list}/issues`: the same operations and JSON as
//! `herald issue …` (`issue show --json` for one issue).

use super::{ApiJson, ApiState, Problem};
use crate::ops::issues;
use axum::{
    Json,
    extract::{Path, Query, State},
    http::StatusCode,
    response::IntoResponse,
};

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuesQuery {
    list: Option<String>,
}

pub async fn index(
    State(state): State<ApiState>,
    Query(q): Query<IssuesQuery>,
) -> Result<impl IntoResponse, Problem> {
    Ok(Json(issues::all(&state.store, q.list.as_deref()).await?))
}

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

pub async fn show(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, Problem> {
    Ok(Json(issues::show(&state.store, issues::id(&id)?).await?))
}

pub async fn pause(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, Problem> {
    let id = issues::id(&id)?;
    Ok(Json(
        issues::pause(&state.store, id, state.clock.now()).await?,
    ))
}

pub async fn resume(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, Problem> {
    let id = issues::id(&id)?;
    Ok(Json(
        issues::resume(&state.store, id, state.clock.now()).await?,
    ))
}

pub async fn cancel(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, Problem> {
    let id = issues::id(&id)?;
    Ok(Json(
        issues::cancel(&state.store, id, state.clock.now()).await?,
    ))
}
