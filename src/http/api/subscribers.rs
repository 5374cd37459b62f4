//! `/api/v1/lists/{list}/subscribers`: the same operations and JSON as `herald subscriber …`. An
//! import is a `text/csv` body, read as it arrives (a million rows are never held in memory).

use super::{ApiJson, ApiQuery, ApiState, Problem, Problems};
use crate::ops::subscribers;
use axum::{
    Json,
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::IntoResponse,
};
use futures_util::TryStreamExt;

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    status: Option<String>,
    /// The previous page's `next`.
    cursor: Option<String>,
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/lists/{list}/subscribers", tag = "subscribers", params(("list" = String, Path, description = "the list's slug"), PageQuery), responses((status = 200, description = "a page of subscribers and the next page's cursor", body = subscribers::Page), Problems))]
pub async fn index(
    State(state): State<ApiState>,
    Path(list): Path<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<impl IntoResponse, Problem> {
    let status = subscribers::status(q.status.as_deref())?;
    let page = subscribers::page(
        &state.store,
        &list,
        status,
        q.cursor.as_deref(),
        q.limit.unwrap_or(super::DEFAULT_PAGE),
    )
    .await?;
    Ok(Json(page))
}

#[utoipa::path(post, path = "/lists/{list}/subscribers", tag = "subscribers", params(("list" = String, Path, description = "the list's slug")), request_body = subscribers::AddSubscriber, responses((status = 201, description = "added", body = subscribers::Added), (status = 200, description = "the address was on the list: its name and attributes updated", body = subscribers::Added), Problems))]
pub async fn add(
    State(state): State<ApiState>,
    Path(list): Path<String>,
    ApiJson(input): ApiJson<subscribers::AddSubscriber>,
) -> Result<impl IntoResponse, Problem> {
    let added =
        subscribers::add(&state.store, &state.config, &list, input, state.clock.now()).await?;
    let status = if added.result == "added" {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(added)))
}

#[utoipa::path(post, path = "/lists/{list}/subscribers/import", tag = "subscribers", params(("list" = String, Path, description = "the list's slug")), request_body(content = String, content_type = "text/csv", description = "a header row with `email`, optional `name`, other columns as attributes"), responses((status = 200, description = "what was added, updated and rejected (with line numbers)", body = subscribers::ImportReport), Problems))]
pub async fn import(
    State(state): State<ApiState>,
    Path(list): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, Problem> {
    let csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/csv"))
        });
    if !csv {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "an import is a CSV body: Content-Type: text/csv",
        ));
    }
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let reader = tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(stream));
    let report = subscribers::import(
        &state.store,
        &state.config,
        &list,
        reader,
        state.clock.now(),
    )
    .await?;
    Ok(Json(report))
}

#[utoipa::path(get, path = "/lists/{list}/subscribers/{email}", tag = "subscribers", params(("list" = String, Path), ("email" = String, Path)), responses((status = 200, description = "one subscriber", body = crate::store::Subscriber), Problems))]
pub async fn show(
    State(state): State<ApiState>,
    Path((list, email)): Path<(String, String)>,
) -> Result<impl IntoResponse, Problem> {
    Ok(Json(subscribers::show(&state.store, &list, &email).await?))
}

#[utoipa::path(post, path = "/lists/{list}/subscribers/{email}/unsubscribe", tag = "subscribers", params(("list" = String, Path), ("email" = String, Path)), responses((status = 200, description = "the subscriber's status afterwards", body = subscribers::Unsubscribed), Problems))]
pub async fn unsubscribe(
    State(state): State<ApiState>,
    Path((list, email)): Path<(String, String)>,
) -> Result<impl IntoResponse, Problem> {
    Ok(Json(
        subscribers::unsubscribe(&state.store, &list, &email, state.clock.now()).await?,
    ))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    status: Option<String>,
    format: Option<crate::ops::export::Format>,
}

/// The whole list as CSV (default) or JSON, streamed a page at a time.
#[utoipa::path(get, path = "/lists/{list}/subscribers/export", tag = "subscribers", params(("list" = String, Path, description = "the list's slug"), ExportQuery), responses((status = 200, description = "every subscriber, streamed: CSV (default) or one JSON array", content((String = "text/csv"), (Vec<crate::store::Subscriber> = "application/json"))), Problems))]
pub async fn export(
    State(state): State<ApiState>,
    Path(list): Path<String>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<impl IntoResponse, Problem> {
    use crate::ops::export;
    let format = q.format.unwrap_or(export::Format::Csv);
    let export = export::Export::start(
        &state.store,
        &list,
        crate::ops::subscribers::status(q.status.as_deref())?,
        format,
    )
    .await?;
    let pieces = futures_util::stream::try_unfold(export, |mut export| async move {
        match export.next().await {
            Ok(Some(piece)) => Ok(Some((piece, export))),
            Ok(None) => Ok(None),
            Err(e) => {
                // The status line is gone: the body breaks off, which a client sees as an error.
                tracing::error!(error = %e, "admin API: export failed midway");
                Err(std::io::Error::other(e.to_string()))
            }
        }
    });
    Ok((
        [(header::CONTENT_TYPE, format.content_type())],
        Body::from_stream(pieces),
    ))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseInput {
    email: String,
}

/// Erases an address from every list (`herald subscriber erase`).
#[utoipa::path(post, path = "/subscribers/erase", tag = "subscribers", request_body = EraseInput, responses((status = 200, description = "what was removed", body = crate::store::Erased), Problems))]
pub async fn erase(
    State(state): State<ApiState>,
    ApiJson(input): ApiJson<EraseInput>,
) -> Result<impl IntoResponse, Problem> {
    Ok(Json(
        subscribers::erase(&state.store, &input.email, state.clock.now()).await?,
    ))
}
