//! `/api/v1/lists`: the same operations and JSON as `herald list …`.

use super::{ApiJson, ApiState, Problem, Problems};
use crate::ops::lists;
use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
};

#[utoipa::path(get, path = "/lists", tag = "lists", responses((status = 200, description = "every list with its subscriber counts", body = Vec<crate::store::ListSummary>), Problems))]
pub async fn index(State(state): State<ApiState>) -> Result<impl IntoResponse, Problem> {
    Ok(Json(lists::all(&state.store).await?))
}

#[utoipa::path(post, path = "/lists", tag = "lists", request_body = lists::CreateList, responses((status = 201, description = "the list made", body = lists::Created), Problems))]
pub async fn create(
    State(state): State<ApiState>,
    ApiJson(input): ApiJson<lists::CreateList>,
) -> Result<impl IntoResponse, Problem> {
    let created = lists::create(&state.store, &state.config, input, state.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/lists/{list}", tag = "lists", params(("list" = String, Path, description = "the list's slug")), responses((status = 200, description = "one list", body = lists::ListView), Problems))]
pub async fn show(
    State(state): State<ApiState>,
    Path(list): Path<String>,
) -> Result<impl IntoResponse, Problem> {
    Ok(Json(
        lists::show(&state.store, &list, state.clock.now()).await?,
    ))
}

#[utoipa::path(patch, path = "/lists/{list}", tag = "lists", params(("list" = String, Path, description = "the list's slug")), request_body = lists::UpdateList, responses((status = 200, description = "the list changed", body = lists::ListView), Problems))]
pub async fn update(
    State(state): State<ApiState>,
    Path(list): Path<String>,
    ApiJson(input): ApiJson<lists::UpdateList>,
) -> Result<impl IntoResponse, Problem> {
    Ok(Json(
        lists::update(&state.store, &list, input, state.clock.now()).await?,
    ))
}

#[utoipa::path(get, path = "/lists/{list}/stats", tag = "stats", params(("list" = String, Path, description = "the list's slug")), responses((status = 200, description = "subscribers by status, issues by state", body = crate::ops::stats::ListStats), Problems))]
pub async fn stats(
    State(state): State<ApiState>,
    Path(list): Path<String>,
) -> Result<impl IntoResponse, Problem> {
    Ok(Json(crate::ops::stats::list(&state.store, &list).await?))
}
