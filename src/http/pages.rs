//! The few pages herald shows readers: plain HTML that works on any phone, no scripts, no tracking.

use crate::{render::escape_html, store::StoreError};
use axum::{
    http::StatusCode,
    response::{Html, IntoResponse, Response},
};

pub fn page(title: &str, body_html: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{}</title>\
         <style>body{{font-family:Georgia,serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1d1d1b;\
         line-height:1.5}}button{{font:inherit;padding:.6rem 1.2rem;border:0;border-radius:4px;background:#9b1c1c;\
         color:#fff;cursor:pointer}}input{{font:inherit;padding:.5rem;width:100%;max-width:24rem;         box-sizing:border-box;border:1px solid #6b6b6b;border-radius:4px}}.error{{color:#9b1c1c}}         .hp{{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}}</style></head><body>{body_html}</body></html>\n",
        escape_html(title)
    )
}

pub fn not_found() -> String {
    page(
        "Not found",
        "<h1>Not found</h1><p>This link is not valid.</p>",
    )
}

/// The 404 page: an unknown path, a token that does not verify, a page that is switched off.
pub fn missing() -> Response {
    (StatusCode::NOT_FOUND, Html(not_found())).into_response()
}

/// A database failure behind `page` (logged), shown as "try again".
pub fn failure(page_name: &str, e: StoreError) -> Response {
    tracing::error!(error = %e, page = page_name, "a reader's page failed");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Html(self::page(
            "Try again",
            "<h1>Please try again in a minute</h1>",
        )),
    )
        .into_response()
}

/// A name typed into a form: trimmed, control characters dropped, at most 200 characters; `None`
/// when nothing is left.
pub fn form_name(raw: &str) -> Option<String> {
    let name: String = raw
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    (!name.is_empty()).then_some(name)
}
