//! HTTP edge. The public listener: the readers' pages (one-click unsubscribe, RFC 8058; signup,
//! confirmation, the message in a browser, the subscription page, the archive) and a health check,
//! served with limits that keep hostile clients from starving the sender. The admin listener:
//! `/metrics` and the operator's API.

mod admin;
mod api;
mod archive;
mod limit;
mod pages;
mod reader;
mod server;
mod signup;
mod unsubscribe;

pub use admin::admin_router;
pub use api::ApiState;
pub use server::{Limits, serve};

use crate::{clock::SharedClock, config::Config, store::Store, track::Tokens};
use axum::{Router, http::StatusCode, response::Html, routing::get};
use std::sync::Arc;

/// The public listener's routes; `mailer` wakes the signup confirmations' sender.
pub fn router(
    store: Store,
    tokens: Tokens,
    clock: SharedClock,
    config: Arc<Config>,
    mailer: Arc<tokio::sync::Notify>,
) -> Router {
    let public_url = config.http.public_url.clone();
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .merge(unsubscribe::router(
            store.clone(),
            tokens.clone(),
            clock.clone(),
        ))
        .merge(archive::router(store.clone(), &public_url))
        .merge(reader::router(
            store.clone(),
            tokens.clone(),
            clock.clone(),
            &public_url,
        ))
        .merge(signup::router(store, config, tokens, clock, mailer))
        .fallback(|| async { (StatusCode::NOT_FOUND, Html(pages::not_found())) })
}
