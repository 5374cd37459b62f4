//! `/api/v1/lists`: the same operations and JSON as `herald list …`.

use super::{ApiJson, ApiState, Problem};
use crate::ops::lists;
use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
};

pub async fn index(State(state): State<ApiState>) -> Result<impl IntoResponse, Problem> {
    Ok(Json(lists::all(&state.store).await?))
}

pub async fn create(
    State(state): State<ApiState>,
    ApiJson(input): ApiJson<lists::CreateList>,
) -> Result<impl IntoResponse, Problem> {
    let created = lists::create(&state.store, &state.config, input, state.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

pub async fn show(
    State(state): State<ApiState>,
    Path(list): Path<String>,
) -> Result<impl IntoResponse, Problem> {
    Ok(Json(
        lists::show(&state.store, &list, state.clock.now()).await?,
    ))
}

pub async fn update(
    State(state): State<ApiState>,
    Path(list): Path<String>,
    ApiJson(input): ApiJson<lists::UpdateList>,
) -> Result<impl IntoResponse, Problem> {
    Ok(Json(
        lists::update(&state.store, &list, input, state.clock.now()).await?,
    ))
}

pub async fn stats(
    State(state): State<ApiState>,
    Path(list): Path<String>,
) -> Result<impl IntoResponse, Problem> {
    Ok(Json(crate::ops::stats::list(&state.store, &list).await?))
}
