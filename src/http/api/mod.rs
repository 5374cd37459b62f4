//! The operator's API: JSON under `/api/v1` on the admin listener (`admin.listen`, loopback by
//! default; never on the public one), behind bearer tokens (`herald token create`). Each handler
//! calls the operation the CLI calls (`crate::ops`), so both return the same JSON; errors are RFC
//! 9457 problems.

mod auth;
mod issues;
mod lists;
mod problem;
mod subscribers;

pub use problem::Problem;

use crate::{clock::SharedClock, config::Config, store::Store};
use axum::{
    Router,
    extract::{FromRequest, Request, rejection::JsonRejection},
    http::StatusCode,
    middleware,
    routing::{get, post},
};
use std::sync::Arc;

/// Rows per page unless `limit` says otherwise.
pub const DEFAULT_PAGE: u32 = 100;

#[derive(Clone)]
pub struct ApiState {
    pub store: Store,
    pub config: Arc<Config>,
    pub clock: SharedClock,
    failures: Arc<auth::Failures>,
}

impl ApiState {
    pub fn new(store: Store, config: Arc<Config>, clock: SharedClock) -> Self {
        Self {
            store,
            config,
            clock,
            failures: Arc::default(),
        }
    }
}

/// `/api/v1/…`, every route behind a token.
pub fn router(state: ApiState) -> Router {
    let api = Router::new()
        .route("/lists", get(lists::index).post(lists::create))
        .route("/lists/{list}", get(lists::show).patch(lists::update))
        .route("/lists/{list}/issues", post(issues::queue))
        .route("/issues", get(issues::index))
        .route("/issues/{id}", get(issues::show))
        .route("/issues/{id}/pause", post(issues::pause))
        .route("/issues/{id}/resume", post(issues::resume))
        .route("/issues/{id}/cancel", post(issues::cancel))
        .route("/issues/{id}/deliveries", get(issues::deliveries))
        .route("/issues/{id}/stats", get(issues::stats))
        .route("/issues/{id}/preview", get(issues::preview))
        .route("/lists/{list}/stats", get(lists::stats))
        .route("/bounces", get(issues::bounces))
        .route("/subscribers/erase", post(subscribers::erase))
        .route(
            "/lists/{list}/subscribers",
            get(subscribers::index).post(subscribers::add),
        )
        .route(
            "/lists/{list}/subscribers/import",
            post(subscribers::import),
        )
        .route("/lists/{list}/subscribers/export", get(subscribers::export))
        .route("/lists/{list}/subscribers/{email}", get(subscribers::show))
        .route(
            "/lists/{list}/subscribers/{email}/unsubscribe",
            post(subscribers::unsubscribe),
        )
        .fallback(|| async { Problem::new(StatusCode::NOT_FOUND, "no such API path") })
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .with_state(state);
    Router::new().nest("/api/v1", api)
}

/// A JSON body whose refusal is a problem document naming what is wrong (axum's own is plain text).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => {
                let status = match &rejection {
                    JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    JsonRejection::JsonDataError(_) => StatusCode::UNPROCESSABLE_ENTITY,
                    _ => StatusCode::BAD_REQUEST,
                };
                Err(Problem::new(status, rejection.body_text()))
            }
        }
    }
}
