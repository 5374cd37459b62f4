//! The operator's API: JSON under `/api/v1` on the admin listener (`admin.listen`, loopback by
//! default; never on the public one), behind bearer tokens (`herald token create`). Each handler
//! calls the operation the CLI calls (`crate::ops`), so both return the same JSON; errors are RFC
//! 9457 problems.

mod auth;
mod issues;
mod lists;
mod problem;
mod subscribers;

pub use problem::{Problem, Problems};

use crate::{clock::SharedClock, config::Config, store::Store};
use axum::{
    Router,
    extract::{FromRequest, Request, rejection::JsonRejection},
    http::StatusCode,
    middleware,
    routing::get,
};
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

/// Rows per page unless `limit` says otherwise.
pub const DEFAULT_PAGE: u32 = 100;

#[derive(Clone)]
pub struct ApiState {
    pub store: Store,
    pub config: Arc<Config>,
    pub clock: SharedClock,
    failures: Arc<crate::http::limit::PerClient>,
}

impl ApiState {
    pub fn new(store: Store, config: Arc<Config>, clock: SharedClock) -> Self {
        Self {
            store,
            config,
            clock,
            failures: Arc::new(auth::failures()),
        }
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "herald operator API",
        description = "Lists, subscribers, issues, bounces and stats of a herald installation: the \
                       operations of the `herald` CLI, with the same JSON. Bearer tokens come from \
                       `herald token create NAME [--read-only]`. Errors are RFC 9457 problems."
    ),
    components(schemas(Problem)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
    }
}

/// The routes and the OpenAPI document, made from the same annotations: a route exists exactly when
/// the document lists it.
fn routes() -> (Router<ApiState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(lists::index, lists::create))
        .routes(routes!(lists::show, lists::update))
        .routes(routes!(lists::stats))
        .routes(routes!(subscribers::index, subscribers::add))
        .routes(routes!(subscribers::import))
        .routes(routes!(subscribers::export))
        .routes(routes!(subscribers::show))
        .routes(routes!(subscribers::unsubscribe))
        .routes(routes!(subscribers::erase))
        .routes(routes!(issues::queue))
        .routes(routes!(issues::index))
        .routes(routes!(issues::show))
        .routes(routes!(issues::pause))
        .routes(routes!(issues::resume))
        .routes(routes!(issues::cancel))
        .routes(routes!(issues::deliveries))
        .routes(routes!(issues::stats))
        .routes(routes!(issues::preview))
        .routes(routes!(issues::bounces))
        .split_for_parts()
}

/// The OpenAPI 3.1 document of `/api/v1`, as served at `/api/v1/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = routes().1;
    doc.servers = Some(vec![utoipa::openapi::Server::new("/api/v1")]);
    doc
}

/// `/api/v1/…`, every route behind a token except the OpenAPI document.
pub fn router(state: ApiState) -> Router {
    let document = openapi();
    let api = routes()
        .0
        .fallback(|| async { Problem::new(StatusCode::NOT_FOUND, "no such API path") })
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .route(
            "/openapi.json",
            get(move || {
                let document = document.clone();
                async move { axum::Json(document) }
            }),
        )
        .with_state(state);
    Router::new().nest("/api/v1", api)
}

/// A query string whose refusal (an unknown parameter, `limit=abc`) is a problem document.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequestParts<S>
    for ApiQuery<T>
{
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(q)| Self(q))
            .map_err(|r| Problem::new(StatusCode::UNPROCESSABLE_ENTITY, r.body_text()))
    }
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
                    // Too large (413) and the like: the status axum chose.
                    other => other.status(),
                };
                Err(Problem::new(status, rejection.body_text()))
            }
        }
    }
}
